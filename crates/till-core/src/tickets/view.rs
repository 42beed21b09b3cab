//! Tickets as the app and `tillctl tickets` show them: the recent list with where each stands
//! with the back office, and one ticket's detail with how much of each line was already returned.

use rusqlite::Connection;
use serde::Serialize;
use till_protocol::pricing::{Discount, TaxFigures, TicketTotals};
use till_protocol::{Tender, Ticket, TicketKind, TicketLine};
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
    pub reversed_by: Option<Uuid>,
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
    /// How many of this line a void or refund already returned.
    pub refunded_quantity: i64,
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
    pub reversed_by: Option<Uuid>,
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

fn detail_of(conn: &Connection, t: Ticket) -> Result<TicketDetail> {
    let reversal = match super::reversed_by(conn, t.id)? {
        Some(r) => rows::load(conn, r)?,
        None => None,
    };
    let summary = rows::summary(conn, t.id)?;
    let refunded = refunded_quantities(&t.lines, reversal.as_ref());
    let lines = t
        .lines
        .into_iter()
        .zip(refunded)
        .enumerate()
        .map(|(i, (line, refunded_quantity))| DetailLine {
            line_no: u32::try_from(i + 1).unwrap_or(u32::MAX),
            line: QuoteLine::from(line),
            refunded_quantity,
        })
        .collect();
    Ok(TicketDetail {
        id: t.id,
        number: t.number,
        kind: t.kind,
        created_at_ms: t.created_at_ms,
        customer_id: t.customer_id,
        reverses: t.reverses,
        reversed_by: reversal.map(|r| r.id),
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

/// How many units of each of a sale's `lines` its `reversal` returned. A void returns every line
/// whole. A refund's lines are the refunded lines of the sale in the sale's order, each with its
/// sale line's product and unit price and at most its quantity (see [`super::refund`]), so each
/// is matched to the first line after the previous match it can come from. Two lines of the same
/// product at the same price cannot be told apart: the earlier one is counted first.
pub fn refunded_quantities(lines: &[TicketLine], reversal: Option<&Ticket>) -> Vec<i64> {
    match reversal {
        None => vec![0; lines.len()],
        Some(r) if r.kind == TicketKind::Void => lines.iter().map(|l| l.quantity).collect(),
        Some(r) => {
            let mut out = vec![0; lines.len()];
            let mut next = 0;
            for returned in &r.lines {
                let from = (next..lines.len()).find(|&i| {
                    let line = &lines[i];
                    line.product_id == returned.product_id
                        && line.unit_price == returned.unit_price
                        && returned.quantity <= line.quantity
                });
                if let Some(i) = from {
                    out[i] = returned.quantity;
                    next = i + 1;
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::pricing::LineFigures;
    use till_protocol::{Currency, Hlc};

    fn line(product: u128, unit_price: i64, quantity: i64) -> TicketLine {
        TicketLine {
            product_id: Uuid::from_u128(product),
            sku: format!("SKU{product}"),
            name: format!("Product {product}"),
            quantity,
            unit_price,
            tax_category: "standard".into(),
            tax_rate_bp: 2000,
            discount: None,
            figures: LineFigures {
                gross: unit_price * quantity,
                line_discount: 0,
                ticket_discount: 0,
                amount: unit_price * quantity,
                tax: 0,
                total: unit_price * quantity,
            },
        }
    }

    fn reversal(kind: TicketKind, lines: Vec<TicketLine>) -> Ticket {
        Ticket {
            id: Uuid::nil(),
            number: 2,
            kind,
            reverses: Some(Uuid::nil()),
            created_at_ms: 0,
            hlc: Hlc {
                wall_ms: 0,
                counter: 0,
                node: Uuid::nil(),
            },
            currency: Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            customer_id: None,
            lines,
            ticket_discount: None,
            taxes: Vec::new(),
            totals: TicketTotals {
                subtotal: 0,
                discount_total: 0,
                tax_total: 0,
                total: 0,
            },
            tenders: Vec::new(),
            journal_hash: String::new(),
            operator: None,
            approval: None,
            shift_id: None,
        }
    }

    #[test]
    fn nothing_is_returned_before_a_reversal_and_everything_by_a_void() {
        let sale = [line(1, 100, 2), line(2, 50, 3)];
        assert_eq!(refunded_quantities(&sale, None), [0, 0]);
        let void = reversal(TicketKind::Void, sale.to_vec());
        assert_eq!(refunded_quantities(&sale, Some(&void)), [2, 3]);
    }

    #[test]
    fn a_refund_counts_each_returned_line_against_the_line_it_came_from() {
        let sale = [line(1, 100, 2), line(2, 50, 3), line(3, 70, 1)];
        let refund = reversal(TicketKind::Refund, vec![line(2, 50, 1), line(3, 70, 1)]);
        assert_eq!(refunded_quantities(&sale, Some(&refund)), [0, 1, 1]);
    }

    #[test]
    fn the_same_product_on_two_lines_is_not_counted_twice() {
        let sale = [line(1, 100, 1), line(2, 50, 1), line(1, 100, 3)];
        let refund = reversal(TicketKind::Refund, vec![line(1, 100, 2)]);
        assert_eq!(
            refunded_quantities(&sale, Some(&refund)),
            [0, 0, 2],
            "two units can only come from the line that had three"
        );
        let both = reversal(TicketKind::Refund, vec![line(1, 100, 1), line(1, 100, 3)]);
        assert_eq!(refunded_quantities(&sale, Some(&both)), [1, 0, 3]);
    }

    #[test]
    fn today_starts_at_midnight_utc() {
        assert_eq!(start_of_day(DAY_MS * 3 + 5), DAY_MS * 3);
        assert_eq!(start_of_day(DAY_MS * 3), DAY_MS * 3);
        assert_eq!(start_of_day(-1), -DAY_MS, "before 1970 too");
    }
}
