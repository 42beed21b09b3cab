//! The register: quote a cart, the change due on cash and what a split tender leaves to pay,
//! ring up, void and refund. A ring-up is a local commit on the UI's own connection; it never
//! waits for the network or for a sync. What needs a manager's approval is the core's decision
//! (`approvals`): the shell only passes on the manager's PIN the approval dialog took, and the
//! command answers `approval_required` until it is given.

use tauri::State;
use till_core::approvals::{self, Needed};
use till_core::clock::SystemClock;
use till_core::{register, tickets};
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{Cart, CommittedTicket, QuoteView, RefundLine, TenderBalance, TenderInput};
use crate::terminal::AppState;

#[tauri::command]
pub async fn quote(state: State<'_, AppState>, cart: Input<Cart>) -> CmdResult<QuoteView> {
    let cart = cart.into_inner();
    state
        .terminal()?
        .db(move |c| register::quote(c, &cart))
        .await
}

/// The change due when `tendered` cash pays `total`; `insufficient_tender`, naming both
/// amounts in the store's currency, when it does not cover it.
#[tauri::command]
pub async fn change_due(
    state: State<'_, AppState>,
    total: Input<i64>,
    tendered: Input<i64>,
) -> CmdResult<i64> {
    let (total, tendered) = (total.into_inner(), tendered.into_inner());
    state
        .terminal()?
        .db(move |c| register::change_due(c, total, tendered))
        .await
}

/// What `tenders` leave to pay of `total`, and the change on their cash.
#[tauri::command]
pub async fn tender_balance(
    state: State<'_, AppState>,
    total: Input<i64>,
    tenders: Input<Vec<TenderInput>>,
) -> CmdResult<TenderBalance> {
    let (total, tenders) = (total.into_inner(), tenders.into_inner());
    state
        .terminal()?
        .db(move |c| register::tender_balance(c, total, &tenders))
        .await
}

/// Commits a sale locally (ticket, journal, outbox, and the sale in progress cleared, in one
/// transaction), then nudges the sync engine. Returns as soon as the sale is on disk. A price
/// override or a discount above the store's limit needs `approve_pin`, a manager's.
#[tauri::command]
pub async fn ring_up(
    state: State<'_, AppState>,
    cart: Input<Cart>,
    tenders: Input<Vec<TenderInput>>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<CommittedTicket> {
    let (cart, tenders) = (cart.into_inner(), tenders.into_inner());
    let approve_pin = approve_pin.into_inner();
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| {
            let needed = approvals::for_cart(c, &cart)?;
            let approval =
                approvals::obtain(c, needed.as_ref(), approve_pin.as_deref(), &SystemClock)?;
            tickets::commit(c, &cart, &tenders, operator, approval, &SystemClock)
        })
        .await?;
    tracing::info!(
        number = ticket.number,
        total = ticket.totals.total,
        "sale rung up"
    );
    terminal.local_write();
    Ok(CommittedTicket::from(&ticket))
}

pub fn parse_id(what: &str, id: &str) -> CmdResult<Uuid> {
    Uuid::parse_str(id.trim())
        .map_err(|_| AppError::invalid_input(format!("{what} {id:?} is not a valid id")))
}

/// What a reversal of the sale `sale` needs approved (`needed` given its number), with the
/// cashier's `reason` added to what the approval records.
fn reversal_needed(
    c: &till_core::sync::Connection,
    sale: Uuid,
    needed: fn(u64) -> Needed,
    reason: &str,
) -> till_core::Result<Needed> {
    let number = tickets::lookup(c, &sale.to_string())?.number;
    Ok(because(needed(number), reason))
}

/// `needed`, its reason followed by the one the cashier gave, if any.
pub fn because(needed: Needed, reason: &str) -> Needed {
    match reason.trim() {
        "" => needed,
        why => Needed {
            reason: format!("{}: {why}", needed.reason),
            ..needed
        },
    }
}

/// Voids a whole sale, for `reason`, with a manager's `approve_pin`.
#[tauri::command]
pub async fn void_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
    reason: Input<String>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<CommittedTicket> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    let (reason, approve_pin) = (reason.into_inner(), approve_pin.into_inner());
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| {
            let needed = reversal_needed(c, id, Needed::void, &reason)?;
            let approval =
                approvals::obtain(c, Some(&needed), approve_pin.as_deref(), &SystemClock)?;
            tickets::void(c, id, operator, approval, &SystemClock)
        })
        .await?;
    tracing::info!(number = ticket.number, voids = %id, "sale voided");
    terminal.local_write();
    Ok(CommittedTicket::from(&ticket))
}

/// Refunds some units of some lines of a sale, for `reason`, with a manager's `approve_pin`.
/// The core works out what each returned unit paid and pays it back the way the sale was paid.
#[tauri::command]
pub async fn refund_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
    lines: Input<Vec<RefundLine>>,
    reason: Input<String>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<CommittedTicket> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    let lines = lines.into_inner();
    let (reason, approve_pin) = (reason.into_inner(), approve_pin.into_inner());
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| {
            let needed = reversal_needed(c, id, Needed::refund, &reason)?;
            let approval =
                approvals::obtain(c, Some(&needed), approve_pin.as_deref(), &SystemClock)?;
            tickets::refund(c, id, &lines, operator, approval, &SystemClock)
        })
        .await?;
    tracing::info!(number = ticket.number, refunds = %id, "sale refunded");
    terminal.local_write();
    Ok(CommittedTicket::from(&ticket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cashiers_reason_follows_what_the_approval_is_for() {
        let void = because(Needed::void(12), "  customer changed their mind ");
        assert_eq!(
            void.reason,
            "void of ticket 12: customer changed their mind"
        );
        assert_eq!(
            because(Needed::refund(12), "   "),
            Needed::refund(12),
            "a blank reason adds nothing"
        );
    }
}
