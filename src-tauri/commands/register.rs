//! The register: quote a cart, the change due on cash, ring up, void and refund. A ring-up is a
//! local commit on the UI's own connection; it never waits for the network or for a sync.

use tauri::State;
use till_core::clock::SystemClock;
use till_core::{register, tickets};
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{Cart, CommittedTicket, QuoteView, RefundLine, TenderInput};
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

/// Commits a sale locally (ticket, journal, outbox in one transaction), then nudges the sync
/// engine. Returns as soon as the sale is on disk.
#[tauri::command]
pub async fn ring_up(
    state: State<'_, AppState>,
    cart: Input<Cart>,
    tenders: Input<Vec<TenderInput>>,
) -> CmdResult<CommittedTicket> {
    let (cart, tenders) = (cart.into_inner(), tenders.into_inner());
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| tickets::commit(c, &cart, &tenders, operator, None, &SystemClock))
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

#[tauri::command]
pub async fn void_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
) -> CmdResult<CommittedTicket> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| tickets::void(c, id, operator, None, &SystemClock))
        .await?;
    tracing::info!(number = ticket.number, voids = %id, "sale voided");
    terminal.local_write();
    Ok(CommittedTicket::from(&ticket))
}

/// Refunds some units of some lines of a sale. The core works out what each returned unit
/// paid and pays it back the way the sale was paid.
#[tauri::command]
pub async fn refund_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
    lines: Input<Vec<RefundLine>>,
) -> CmdResult<CommittedTicket> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    let lines = lines.into_inner();
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let ticket = terminal
        .db(move |c| tickets::refund(c, id, &lines, operator, None, &SystemClock))
        .await?;
    tracing::info!(number = ticket.number, refunds = %id, "sale refunded");
    terminal.local_write();
    Ok(CommittedTicket::from(&ticket))
}
