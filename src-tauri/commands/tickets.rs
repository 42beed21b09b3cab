//! Today's tickets and one ticket's detail, each with where it stands with the back office.

use tauri::State;
use till_core::clock::{Clock, SystemClock};
use till_core::error::CoreError;
use till_core::tickets;
use till_protocol::Ticket;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{self, ItemSyncState};
use crate::terminal::AppState;

/// Most tickets one list returns.
const MAX_LIST: u32 = 1000;
const DAY_MS: i64 = 86_400_000;

/// Maps the outbox state of a ticket's mutation to what the UI shows. No outbox row means it
/// was applied long enough ago to be pruned.
pub fn item_state(outbox_state: Option<&str>) -> ItemSyncState {
    match outbox_state {
        Some("pending") | Some("in_flight") => ItemSyncState::Pending,
        Some("failed") | Some("discarded") => ItemSyncState::Failed,
        Some("conflict") => ItemSyncState::Conflict,
        Some(_) | None => ItemSyncState::Synced,
    }
}

/// The most recent tickets, newest first. With `today_only`, only those since midnight UTC
/// (the till keeps no time-zone database).
#[tauri::command]
pub async fn tickets_list(
    state: State<'_, AppState>,
    limit: Input<u32>,
    today_only: Input<bool>,
) -> CmdResult<Vec<ipc::TicketSummary>> {
    let limit = limit.into_inner();
    let today_only = today_only.into_inner();
    if limit == 0 || limit > MAX_LIST {
        return Err(AppError::invalid_input(format!(
            "limit must be between 1 and {MAX_LIST}"
        )));
    }
    let since = today_only.then(|| {
        let now = SystemClock.now_ms();
        now - now.rem_euclid(DAY_MS)
    });
    let list = state
        .terminal()?
        .db(move |c| tickets::list(c, limit, None))
        .await?;
    Ok(list
        .into_iter()
        .filter(|t| since.is_none_or(|s| t.created_at_ms >= s))
        .map(|t| ipc::TicketSummary {
            id: t.id,
            number: t.number,
            kind: t.kind,
            total: t.total,
            created_at_ms: t.created_at_ms,
            sync_state: item_state(t.sync_state.as_deref()),
            server_number: t.server_number,
            reverses: t.reverses,
            reversed_by: t.reversed_by,
        })
        .collect())
}

fn detail(
    t: Ticket,
    reversed_by: Option<Ticket>,
    sync: ItemSyncState,
    server_number: Option<u64>,
) -> ipc::TicketDetail {
    let lines = t
        .lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            // A sale is reversed at most once; a void returns every line, a refund the lines
            // it carries (matched by product and price, in order).
            let refunded_quantity = match &reversed_by {
                Some(r) if r.kind == till_protocol::TicketKind::Void => l.quantity,
                Some(r) => r
                    .lines
                    .iter()
                    .filter(|x| x.product_id == l.product_id && x.unit_price == l.unit_price)
                    .map(|x| x.quantity)
                    .sum::<i64>()
                    .min(l.quantity),
                None => 0,
            };
            ipc::TicketDetailLine {
                line_no: u32::try_from(i + 1).unwrap_or(u32::MAX),
                product_id: l.product_id,
                sku: l.sku,
                name: l.name,
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_rate_bp: l.tax_rate_bp,
                discount: l.discount,
                gross: l.figures.gross,
                line_discount: l.figures.line_discount,
                ticket_discount: l.figures.ticket_discount,
                amount: l.figures.amount,
                tax: l.figures.tax,
                total: l.figures.total,
                refunded_quantity,
            }
        })
        .collect();
    ipc::TicketDetail {
        id: t.id,
        number: t.number,
        kind: t.kind,
        created_at_ms: t.created_at_ms,
        customer_id: t.customer_id,
        reverses: t.reverses,
        reversed_by: reversed_by.map(|r| r.id),
        lines,
        ticket_discount: t.ticket_discount,
        taxes: t.taxes,
        totals: t.totals,
        tenders: t.tenders,
        sync_state: sync,
        server_number,
        failure_reason: None,
    }
}

#[tauri::command]
pub async fn ticket_detail(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
) -> CmdResult<ipc::TicketDetail> {
    let ticket_id = ticket_id.into_inner();
    let id = uuid::Uuid::parse_str(ticket_id.trim())
        .map_err(|_| AppError::invalid_input(format!("ticket {ticket_id:?} is not a valid id")))?;
    state
        .terminal()?
        .db(move |c| {
            let ticket =
                tickets::load(c, id)?.ok_or_else(|| CoreError::TicketNotFound(id.to_string()))?;
            let reversal = match tickets::reversed_by(c, id)? {
                Some(r) => tickets::load(c, r)?,
                None => None,
            };
            let summary = tickets::summary(c, id)?;
            let sync = item_state(summary.as_ref().and_then(|s| s.sync_state.as_deref()));
            let server_number = summary.and_then(|s| s.server_number);
            Ok::<_, AppError>(detail(ticket, reversal, sync, server_number))
        })
        .await
}
