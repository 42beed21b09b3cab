//! Tickets as the app and `tillctl tickets` show them: the recent list with where each stands
//! with the back office, and one ticket's detail with how much of each line its refunds already
//! returned and how much is left to refund.

use rusqlite::Connection;
use serde::Serialize;
use till_protocol::pricing::{Discount, TaxFigures, TicketTotals};
use till_protocol::{Approval, Operator, Tender, Ticket, TicketKind};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::item_state::ItemSyncState;
use crate::register::QuoteLine;

use super::rows::{self, TicketSummary};

/// Most tickets one list returns.
pub const MAX_LIST: u32 = 1000;
const DAY_MS: i64 = 86_400_000;

/// A ticket in the app's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "TicketSummary"))]
pub struct ListedTicket {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub total: i64,
    pub created_at_ms: i64,
    pub sync_state: ItemSyncState,
    pub server_number: Option<u64>,
    pub reverses: Option<Uuid>,
    /// The first void or refund of this sale.
    pub reversed_by: Option<Uuid>,
    /// Who rang it up (none on a till without employees).
    pub operator: Option<Operator>,
}

impl From<TicketSummary> for ListedTicket {
    fn from(t: TicketSummary) -> Self {
        ListedTicket {
            id: t.id,
            number: t.number,
            kind: t.kind,
            total: t.total,
            created_at_ms: t.created_at_ms,
            sync_state: ItemSyncState::of_outbox(t.sync_state.as_deref()),
            server_number: t.server_number,
            reverses: t.reverses,
            reversed_by: t.reversed_by,
            operator: t.operator,
        }
    }
}

/// Midnight UTC of the day `now_ms` falls in (the till keeps no time-zone database).
fn start_of_day(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(DAY_MS)
}

/// The most recent tickets, newest first, at most `limit` (1 to [`MAX_LIST`]); with
/// `today_only`, only those of today (UTC) among them.
pub fn recent(
    conn: &Connection,
    limit: u32,
    today_only: bool,
    clock: &dyn Clock,
) -> Result<Vec<ListedTicket>> {
    if limit == 0 || limit > MAX_LIST {
        return Err(CoreError::InvalidValue(format!(
            "limit must be between 1 and {MAX_LIST}"
        )));
    }
    let since = today_only.then(|| start_of_day(clock.now_ms()));
    Ok(rows::list(conn, limit, None)?
        .into_iter()
        .filter(|t| since.is_none_or(|s| t.created_at_ms >= s))
        .map(ListedTicket::from)
        .collect())
}

/// One line of a ticket, with how much of it was already returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "TicketDetailLine"))]
pub struct DetailLine {
    /// 1-based, as refunds name it.
    pub line_no: u32,
    #[serde(flatten)]
    pub line: QuoteLine,
    /// How many of this line its voids and refunds already returned.
    pub refunded_quantity: i64,
    /// How many of this line may still be refunded (none on a void or refund).
    pub left_to_refund: i64,
}

/// One ticket with its lines, figures, tenders and where it stands with the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketDetail {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub created_at_ms: i64,
    pub customer_id: Option<Uuid>,
    pub reverses: Option<Uuid>,
    /// The first void or refund of this sale.
    pub reversed_by: Option<Uuid>,
    /// Every void and refund of this sale, oldest first.
    pub reversals: Vec<Uuid>,
    /// Who rang it up (none on a till without employees).
    pub operator: Option<Operator>,
    /// The manager's approval it needed, if any.
    pub approval: Option<Approval>,
    pub lines: Vec<DetailLine>,
    pub ticket_discount: Option<Discount>,
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    pub tenders: Vec<Tender>,
    pub sync_state: ItemSyncState,
    pub server_number: Option<u64>,
    pub failure_reason: Option<String>,
}

/// The ticket `id` in detail; `ticket_not_found` when there is none.
pub fn detail(conn: &Connection, id: Uuid) -> Result<TicketDetail> {
    let ticket = rows::load(conn, id)?.ok_or_else(|| CoreError::TicketNotFound(id.to_string()))?;
    detail_of(conn, ticket)
}

/// The ticket numbered `number` on this till in detail; `ticket_not_found` when there is none.
pub fn detail_by_number(conn: &Connection, number: u64) -> Result<TicketDetail> {
    let ticket = rows::load_by_number(conn, number)?
        .ok_or_else(|| CoreError::TicketNotFound(number.to_string()))?;
    detail_of(conn, ticket)
}

/// The ticket named by its number, id or receipt barcode ([`super::lookup`]) in detail.
pub fn detail_by_code(conn: &Connection, code: &str) -> Result<TicketDetail> {
    detail_of(conn, super::lookup(conn, code)?)
}

fn detail_of(conn: &Connection, t: Ticket) -> Result<TicketDetail> {
    let reversals = super::reversals(conn, t.id)?;
    let summary = rows::summary(conn, t.id)?;
    let returned = super::returned(&t.lines, &reversals);
    let is_sale = t.kind == TicketKind::Sale;
    let lines = t
        .lines
        .into_iter()
        .zip(returned)
        .enumerate()
        .map(|(i, (line, back))| DetailLine {
            line_no: u32::try_from(i + 1).unwrap_or(u32::MAX),
            left_to_refund: if is_sale {
                line.quantity - back.quantity
            } else {
                0
            },
            line: QuoteLine::from(line),
            refunded_quantity: back.quantity,
        })
        .collect();
    Ok(TicketDetail {
        id: t.id,
        number: t.number,
        kind: t.kind,
        created_at_ms: t.created_at_ms,
        customer_id: t.customer_id,
        reverses: t.reverses,
        reversed_by: reversals.first().map(|r| r.id),
        reversals: reversals.iter().map(|r| r.id).collect(),
        operator: t.operator,
        approval: t.approval,
        lines,
        ticket_discount: t.ticket_discount,
        taxes: t.taxes,
        totals: t.totals,
        tenders: t.tenders,
        sync_state: ItemSyncState::of_outbox(
            summary.as_ref().and_then(|s| s.sync_state.as_deref()),
        ),
        server_number: summary.and_then(|s| s.server_number),
        failure_reason: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_starts_at_midnight_utc() {
        assert_eq!(start_of_day(DAY_MS * 3 + 5), DAY_MS * 3);
        assert_eq!(start_of_day(DAY_MS * 3), DAY_MS * 3);
        assert_eq!(start_of_day(-1), -DAY_MS, "before 1970 too");
    }
}
