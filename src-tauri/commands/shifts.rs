//! The drawer and its shifts: open with a float, cash in and out, a drawer opened without a sale,
//! the count at the close and its Z report, and the closed shifts with where each stands with the
//! back office. Every step is recorded by the employee signed in; the figures are the core's
//! (`ShiftView`, passed through as it is).

use tauri::State;
use till_core::cash;
use till_core::clock::SystemClock;
use till_core::{register, shifts, signin, CoreError};
use till_protocol::shift::CashMovementKind;
use till_protocol::{ApprovalAction, Operator};

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{CashCount, ShiftView};
use crate::terminal::{AppState, Terminal};

/// Who records a shift's step: the employee signed in. A till without employees keeps no shifts.
async fn employee(terminal: &std::sync::Arc<Terminal>) -> CmdResult<Operator> {
    terminal.operator().await?.ok_or_else(|| {
        AppError::invalid_input("this till has no employees: it sells without shifts")
    })
}

/// The open shift's X report, or else the last closed shift's Z report; `null` before the first.
#[tauri::command]
pub async fn shift_current(state: State<'_, AppState>) -> CmdResult<Option<ShiftView>> {
    state.terminal()?.db(|c| shifts::show(c)).await
}

/// Opens a shift with `float` counted into the drawer.
#[tauri::command]
pub async fn shift_open(state: State<'_, AppState>, float: Input<i64>) -> CmdResult<ShiftView> {
    let float = float.into_inner();
    let terminal = state.terminal()?;
    let by = employee(&terminal).await?;
    let view = terminal
        .db(move |c| shifts::open(c, &by, float, &SystemClock))
        .await?;
    terminal.local_write();
    Ok(view)
}

/// Records cash moved in or out of the drawer outside a sale; answers the X report after it.
async fn move_cash(
    state: State<'_, AppState>,
    kind: CashMovementKind,
    amount: i64,
    reason: String,
) -> CmdResult<ShiftView> {
    let terminal = state.terminal()?;
    let by = employee(&terminal).await?;
    let view = terminal
        .db(move |c| {
            shifts::cash_move(c, kind, amount, &reason, &by, None, &SystemClock)?;
            shifts::show(c)?.ok_or(CoreError::NoOpenShift)
        })
        .await?;
    terminal.local_write();
    Ok(view)
}

#[tauri::command]
pub async fn shift_cash_in(
    state: State<'_, AppState>,
    amount: Input<i64>,
    reason: Input<String>,
) -> CmdResult<ShiftView> {
    let kind = CashMovementKind::CashIn;
    move_cash(state, kind, amount.into_inner(), reason.into_inner()).await
}

#[tauri::command]
pub async fn shift_cash_out(
    state: State<'_, AppState>,
    amount: Input<i64>,
    reason: Input<String>,
) -> CmdResult<ShiftView> {
    let kind = CashMovementKind::CashOut;
    move_cash(state, kind, amount.into_inner(), reason.into_inner()).await
}

/// Records the drawer opened without a sale, for `reason`, with a manager's `approve_pin`.
#[tauri::command]
pub async fn no_sale(
    state: State<'_, AppState>,
    reason: Input<String>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<()> {
    let (reason, approve_pin) = (reason.into_inner(), approve_pin.into_inner());
    let terminal = state.terminal()?;
    let by = employee(&terminal).await?;
    terminal
        .db(move |c| {
            let reason = match reason.trim() {
                "" => shifts::NO_SALE_REASON,
                why => why,
            };
            let pin = approve_pin.as_deref();
            let approval = signin::approve(c, pin, ApprovalAction::NoSale, reason, &SystemClock)?;
            let kind = CashMovementKind::NoSale;
            shifts::cash_move(c, kind, 0, reason, &by, Some(approval), &SystemClock).map(drop)
        })
        .await?;
    terminal.local_write();
    Ok(())
}

/// The notes and coins of the store's currency, largest first, for counting the drawer.
#[tauri::command]
pub async fn cash_denominations(state: State<'_, AppState>) -> CmdResult<Vec<i64>> {
    state
        .terminal()?
        .db(|c| register::cash_denominations(c))
        .await
}

/// What a count of notes and coins comes to.
#[tauri::command]
pub async fn count_cash(counts: Input<Vec<CashCount>>) -> CmdResult<i64> {
    Ok(cash::total(&counts.into_inner())?)
}

/// Closes the open shift with the cash `counted` in the drawer: its Z report.
#[tauri::command]
pub async fn shift_close(state: State<'_, AppState>, counted: Input<i64>) -> CmdResult<ShiftView> {
    let counted = counted.into_inner();
    let terminal = state.terminal()?;
    let by = employee(&terminal).await?;
    let view = terminal
        .db(move |c| shifts::close(c, &by, counted, &SystemClock))
        .await?;
    terminal.local_write();
    Ok(view)
}

/// The last `limit` closed shifts, newest first, each with its reconciliation.
#[tauri::command]
pub async fn shifts_closed(
    state: State<'_, AppState>,
    limit: Input<u32>,
) -> CmdResult<Vec<ShiftView>> {
    let limit = limit.into_inner();
    state
        .terminal()?
        .db(move |c| shifts::list_closed(c, limit))
        .await
}
