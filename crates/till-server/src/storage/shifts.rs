//! A till's shifts as its push brings them, written once over [`Tx`]: a shift opened, cash
//! moved in its drawer, and its close, reconciled with what the back office holds for it. What
//! each gets is [`crate::decide::shifts`]'s call.

use till_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use uuid::Uuid;

use super::push::Applied;
use super::tx::Tx;
use crate::decide::shifts;

/// Stores a shift `terminal_id` opened.
pub(super) async fn open<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    opened: &ShiftOpened,
) -> Result<Applied, T::Error> {
    let existing = tx.shift(opened.shift_id).await?;
    if let Err(refused) = shifts::open(existing.as_ref(), opened) {
        return Ok(Err(refused));
    }
    let server_id = tx.insert_shift(terminal_id, opened).await?;
    Ok(Ok(shifts::applied(server_id)))
}

/// Stores cash moved in the drawer of an open shift of `terminal_id`.
pub(super) async fn move_cash<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    moved: &CashMoved,
) -> Result<Applied, T::Error> {
    let shift = tx.shift(moved.shift_id).await?;
    let movements = tx.cash_movements(moved.shift_id).await?;
    if let Err(refused) = shifts::move_cash(shift.as_ref(), terminal_id, moved, &movements) {
        return Ok(Err(refused));
    }
    tx.insert_cash_movement(moved).await?;
    Ok(Ok(shifts::applied(shift.map_or(0, |s| s.server_id))))
}

/// Closes a shift of `terminal_id`, reconciled with the tickets and cash movements held for it;
/// the close is kept whether it matches or not.
pub(super) async fn close<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    closed: &ShiftClosed,
) -> Result<Applied, T::Error> {
    let shift = tx.shift(closed.shift_id).await?;
    let held = tx.shift_tickets(terminal_id, closed.shift_id).await?;
    let movements = tx.cash_movements(closed.shift_id).await?;
    let reconciled = match shifts::close(shift.as_ref(), terminal_id, closed, &held, &movements) {
        Ok(reconciled) => reconciled,
        Err(refused) => return Ok(Err(refused)),
    };
    tx.close_shift(closed, &reconciled).await?;
    Ok(Ok(reconciled.outcome(shift.map_or(0, |s| s.server_id))))
}
