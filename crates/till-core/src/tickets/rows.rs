//! How a ticket is written to its tables (the ticket, its lines, taxes and tenders) and read back
//! exactly as committed, and the summaries the ticket lists show.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use till_protocol::pricing::{LineFigures, TaxFigures, TicketTotals};
use till_protocol::{Approval, Currency, Hlc, Operator, Tender, Ticket, TicketKind, TicketLine};
use uuid::Uuid;

use crate::error::{CoreError, Result};

fn kind_str(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Void => "void",
        TicketKind::Refund => "refund",
    }
}

pub(super) fn parse_kind(s: &str) -> Result<TicketKind> {
    match s {
        "sale" => Ok(TicketKind::Sale),
        "void" => Ok(TicketKind::Void),
        "refund" => Ok(TicketKind::Refund),
        other => Err(CoreError::Database(format!(
            "unknown ticket kind {other:?}"
        ))),
    }
}

pub(super) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| CoreError::Database(format!("bad id {s:?}: {e}")))
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| CoreError::Database(format!("{v} is out of range")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| CoreError::Database(format!("{v} is negative")))
}

/// A value of a JSON column (a discount, an approval), or NULL.
fn to_json<T: Serialize>(value: &Option<T>) -> Result<Option<String>> {
    value
        .as_ref()
        .map(|v| serde_json::to_string(v).map_err(|e| CoreError::Database(e.to_string())))
        .transpose()
}

/// A JSON column's value (`what` names it in the error), or `None` for NULL.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: Option<String>) -> Result<Option<T>> {
    s.map(|s| {
        serde_json::from_str(&s).map_err(|e| CoreError::Database(format!("{what} {s:?}: {e}")))
    })
    .transpose()
}

/// The operator stored as its id and name (both or neither: the table checks it).
fn operator(id: Option<String>, name: Option<String>) -> Result<Option<Operator>> {
    match (id, name) {
        (Some(id), Some(name)) => Ok(Some(Operator {
            id: parse_uuid(&id)?,
            name,
        })),
        _ => Ok(None),
    }
}

pub(super) fn insert(tx: &Connection, t: &Ticket) -> Result<()> {
    let id = t.id.to_string();
    tx.prepare_cached(
        "INSERT INTO tickets (id, number, kind, reverses, created_at_ms, hlc_wall_ms, hlc_counter,
             hlc_node, currency_code, currency_exponent, prices_include_tax, customer_id,
             ticket_discount, subtotal, discount_total, tax_total, total, journal_hash,
             operator_id, operator_name, approval)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21)",
    )?
    .execute(params![
        id,
        to_i64(t.number)?,
        kind_str(t.kind),
        t.reverses.map(|u| u.to_string()),
        t.created_at_ms,
        t.hlc.wall_ms,
        t.hlc.counter,
        t.hlc.node.to_string(),
        t.currency.code,
        t.currency.exponent,
        t.prices_include_tax,
        t.customer_id.map(|u| u.to_string()),
        to_json(&t.ticket_discount)?,
        t.totals.subtotal,
        t.totals.discount_total,
        t.totals.tax_total,
        t.totals.total,
        t.journal_hash,
        t.operator.as_ref().map(|o| o.id.to_string()),
        t.operator.as_ref().map(|o| o.name.as_str()),
        to_json(&t.approval)?,
    ])?;
    let mut line_stmt = tx.prepare_cached(
        "INSERT INTO ticket_lines (ticket_id, line_no, product_id, sku, name, quantity, unit_price,
             tax_category, tax_rate_bp, discount, gross, line_discount, ticket_discount, amount,
             tax, total)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (i, l) in t.lines.iter().enumerate() {
        let f = &l.figures;
        line_stmt.execute(params![
            id,
            i + 1,
            l.product_id.to_string(),
            l.sku,
            l.name,
            l.quantity,
            l.unit_price,
            l.tax_category,
            l.tax_rate_bp,
            to_json(&l.discount)?,
            f.gross,
            f.line_discount,
            f.ticket_discount,
            f.amount,
            f.tax,
            f.total,
        ])?;
    }
    let mut tax_stmt = tx.prepare_cached(
        "INSERT INTO ticket_taxes (ticket_id, rate_bp, base, tax) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for tax in &t.taxes {
        tax_stmt.execute(params![id, tax.rate_bp, tax.base, tax.tax])?;
    }
    let mut tender_stmt = tx.prepare_cached(
        "INSERT INTO tenders (ticket_id, position, kind, amount, change, approval_ref, last4)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, tender) in t.tenders.iter().enumerate() {
        match tender {
            Tender::Cash { tendered, change } => {
                tender_stmt.execute(params![
                    id,
                    i + 1,
                    "cash",
                    tendered,
                    change,
                    None::<String>,
                    None::<String>
                ])?;
            }
            Tender::Card {
                amount,
                approval_ref,
                last4,
            } => {
                tender_stmt.execute(params![id, i + 1, "card", amount, 0, approval_ref, last4])?;
            }
        }
    }
    Ok(())
}

const TICKET_COLUMNS: &str =
    "id, number, kind, reverses, created_at_ms, hlc_wall_ms, hlc_counter, \
     hlc_node, currency_code, currency_exponent, prices_include_tax, customer_id, ticket_discount, \
     subtotal, discount_total, tax_total, total, journal_hash, operator_id, operator_name, approval, \
     (SELECT j.shift_id FROM journal j WHERE j.ticket_id = tickets.id)";

/// A ticket's own row, before its lines, taxes and tenders are attached.
struct Head {
    id: String,
    number: i64,
    kind: String,
    reverses: Option<String>,
    created_at_ms: i64,
    hlc_wall_ms: i64,
    hlc_counter: u32,
    hlc_node: String,
    currency_code: String,
    currency_exponent: u8,
    prices_include_tax: bool,
    customer_id: Option<String>,
    ticket_discount: Option<String>,
    totals: TicketTotals,
    journal_hash: String,
    operator_id: Option<String>,
    operator_name: Option<String>,
    approval: Option<String>,
    /// Kept in the ticket's journal entry, whose hash covers it.
    shift_id: Option<String>,
}

fn head_from_row(r: &Row<'_>) -> rusqlite::Result<Head> {
    Ok(Head {
        id: r.get(0)?,
        number: r.get(1)?,
        kind: r.get(2)?,
        reverses: r.get(3)?,
        created_at_ms: r.get(4)?,
        hlc_wall_ms: r.get(5)?,
        hlc_counter: r.get(6)?,
        hlc_node: r.get(7)?,
        currency_code: r.get(8)?,
        currency_exponent: r.get(9)?,
        prices_include_tax: r.get(10)?,
        customer_id: r.get(11)?,
        ticket_discount: r.get(12)?,
        totals: TicketTotals {
            subtotal: r.get(13)?,
            discount_total: r.get(14)?,
            tax_total: r.get(15)?,
            total: r.get(16)?,
        },
        journal_hash: r.get(17)?,
        operator_id: r.get(18)?,
        operator_name: r.get(19)?,
        approval: r.get(20)?,
        shift_id: r.get(21)?,
    })
}

/// A ticket rebuilt from its rows, exactly as it was committed (the journal relies on this).
pub fn load(conn: &Connection, id: Uuid) -> Result<Option<Ticket>> {
    let head = conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"
        ))?
        .query_row([id.to_string()], head_from_row)
        .optional()?;
    head.map(|h| assemble(conn, h)).transpose()
}

/// The ticket with this number.
pub fn load_by_number(conn: &Connection, number: u64) -> Result<Option<Ticket>> {
    let head = conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE number = ?1"
        ))?
        .query_row([to_i64(number)?], head_from_row)
        .optional()?;
    head.map(|h| assemble(conn, h)).transpose()
}

fn assemble(conn: &Connection, h: Head) -> Result<Ticket> {
    let mut lines = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT product_id, sku, name, quantity, unit_price, tax_category, tax_rate_bp,
                 discount, gross, line_discount, ticket_discount, amount, tax, total
             FROM ticket_lines WHERE ticket_id = ?1 ORDER BY line_no",
        )?;
        let mut rows = stmt.query([&h.id])?;
        while let Some(r) = rows.next()? {
            let product_id: String = r.get(0)?;
            lines.push(TicketLine {
                product_id: parse_uuid(&product_id)?,
                sku: r.get(1)?,
                name: r.get(2)?,
                quantity: r.get(3)?,
                unit_price: r.get(4)?,
                tax_category: r.get(5)?,
                tax_rate_bp: r.get(6)?,
                discount: from_json("discount", r.get(7)?)?,
                figures: LineFigures {
                    gross: r.get(8)?,
                    line_discount: r.get(9)?,
                    ticket_discount: r.get(10)?,
                    amount: r.get(11)?,
                    tax: r.get(12)?,
                    total: r.get(13)?,
                },
            });
        }
    }
    let mut taxes = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT rate_bp, base, tax FROM ticket_taxes WHERE ticket_id = ?1 ORDER BY rate_bp",
        )?;
        let rows = stmt.query_map([&h.id], |r| {
            Ok(TaxFigures {
                rate_bp: r.get(0)?,
                base: r.get(1)?,
                tax: r.get(2)?,
            })
        })?;
        for t in rows {
            taxes.push(t?);
        }
    }
    let mut tenders = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT kind, amount, change, approval_ref, last4 FROM tenders
             WHERE ticket_id = ?1 ORDER BY position",
        )?;
        let mut rows = stmt.query([&h.id])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(0)?;
            tenders.push(match kind.as_str() {
                "cash" => Tender::Cash {
                    tendered: r.get(1)?,
                    change: r.get(2)?,
                },
                _ => Tender::Card {
                    amount: r.get(1)?,
                    approval_ref: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    last4: r.get(4)?,
                },
            });
        }
    }
    Ok(Ticket {
        id: parse_uuid(&h.id)?,
        number: to_u64(h.number)?,
        kind: parse_kind(&h.kind)?,
        reverses: h.reverses.as_deref().map(parse_uuid).transpose()?,
        created_at_ms: h.created_at_ms,
        hlc: Hlc {
            wall_ms: h.hlc_wall_ms,
            counter: h.hlc_counter,
            node: parse_uuid(&h.hlc_node)?,
        },
        currency: Currency {
            code: h.currency_code,
            exponent: h.currency_exponent,
        },
        prices_include_tax: h.prices_include_tax,
        customer_id: h.customer_id.as_deref().map(parse_uuid).transpose()?,
        lines,
        ticket_discount: from_json("discount", h.ticket_discount)?,
        taxes,
        totals: h.totals,
        tenders,
        journal_hash: h.journal_hash,
        operator: operator(h.operator_id, h.operator_name)?,
        approval: from_json("approval", h.approval)?,
        shift_id: h.shift_id.as_deref().map(parse_uuid).transpose()?,
    })
}

/// A line of the ticket list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub reverses: Option<Uuid>,
    /// The first void or refund of this sale, if any.
    pub reversed_by: Option<Uuid>,
    pub created_at_ms: i64,
    pub currency: Currency,
    pub total: i64,
    pub lines: u64,
    /// The outbox state of this ticket's latest mutation (`pending`, `applied`…): after a
    /// retry, the retried one.
    pub sync_state: Option<String>,
    /// The back office's number for this ticket, once the server has applied it.
    pub server_number: Option<u64>,
    /// Who rang it up (none on a till without employees).
    pub operator: Option<Operator>,
    /// The manager's approval it needed, if any.
    pub approval: Option<Approval>,
}

/// The columns of a [`TicketSummary`]: the ticket, the first ticket that reversed it, its outbox
/// state and, once pushed, the back office's number for it (`ticket_sync`, written by the sync
/// engine when the server applies it).
const SUMMARY_SELECT: &str = "SELECT t.id, t.number, t.kind, t.reverses,
         (SELECT r.id FROM tickets r WHERE r.reverses = t.id ORDER BY r.number LIMIT 1),
         t.created_at_ms, t.currency_code, t.currency_exponent, t.total,
         (SELECT count(*) FROM ticket_lines l WHERE l.ticket_id = t.id),
         (SELECT o.state FROM outbox o WHERE o.entity_id = t.id ORDER BY o.seq DESC LIMIT 1),
         s.server_number, t.operator_id, t.operator_name, t.approval
     FROM tickets t
     LEFT JOIN ticket_sync s ON s.ticket_id = t.id";

fn summary_from_row(r: &Row<'_>) -> Result<TicketSummary> {
    let id: String = r.get(0)?;
    let kind: String = r.get(2)?;
    let reverses: Option<String> = r.get(3)?;
    let reversed_by: Option<String> = r.get(4)?;
    let server_number: Option<i64> = r.get(11)?;
    Ok(TicketSummary {
        id: parse_uuid(&id)?,
        number: to_u64(r.get(1)?)?,
        kind: parse_kind(&kind)?,
        reverses: reverses.as_deref().map(parse_uuid).transpose()?,
        reversed_by: reversed_by.as_deref().map(parse_uuid).transpose()?,
        created_at_ms: r.get(5)?,
        currency: Currency {
            code: r.get(6)?,
            exponent: r.get(7)?,
        },
        total: r.get(8)?,
        lines: to_u64(r.get(9)?)?,
        sync_state: r.get(10)?,
        server_number: server_number.map(to_u64).transpose()?,
        operator: operator(r.get(12)?, r.get(13)?)?,
        approval: from_json("approval", r.get(14)?)?,
    })
}

/// The most recent tickets, newest first, at most `limit`; with `before`, only tickets numbered
/// below it (for paging).
pub fn list(conn: &Connection, limit: u32, before: Option<u64>) -> Result<Vec<TicketSummary>> {
    let before = before.map(to_i64).transpose()?.unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "{SUMMARY_SELECT} WHERE t.number < ?1 ORDER BY t.number DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![before, limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(summary_from_row(r)?);
    }
    Ok(out)
}

/// One ticket's summary (its sync state and server number beside its figures), if it exists.
pub fn summary(conn: &Connection, id: Uuid) -> Result<Option<TicketSummary>> {
    let mut stmt = conn.prepare_cached(&format!("{SUMMARY_SELECT} WHERE t.id = ?1"))?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(summary_from_row).transpose()
}

/// How many tickets the store holds.
pub fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM tickets")?
        .query_row([], |r| r.get(0))?;
    to_u64(n)
}

/// How many of the store's tickets are sales.
pub fn count_sales(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM tickets WHERE kind = 'sale'")?
        .query_row([], |r| r.get(0))?;
    to_u64(n)
}
