//! Committing tickets: a sale from a cart, a void or refund of an earlier sale. Each commit is
//! ONE immediate transaction that writes the ticket, its lines, taxes and tenders, its journal
//! entry and its outbox mutation; it either all lands on disk or none of it does. Tickets are
//! never edited: a void or refund is a new ticket whose `reverses` names the original, and a
//! sale is reversed at most once.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::pricing::{Discount, LineFigures, TaxFigures, TicketTotals};
use till_protocol::{Currency, Hlc, MutationBody, Tender, Ticket, TicketKind, TicketLine};
use uuid::Uuid;

use crate::cart::{self, Cart, Quote};
use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::tender::{self, TenderInput};
use crate::{counters, hlc, journal, outbox};

/// Rings up `cart` paid by `tenders`: prices it against the current catalog, checks the tenders
/// cover the total and records the sale. Returns the ticket exactly as committed (and as sent).
pub fn commit(
    conn: &mut Connection,
    cart: &Cart,
    tenders: &[TenderInput],
    clock: &dyn Clock,
) -> Result<Ticket> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let quote = cart::quote(&tx, cart)?;
    let tenders = tender::settle(tenders, quote.totals.total)?;
    let ticket = record(&tx, TicketKind::Sale, None, quote, tenders, clock)?;
    tx.commit()?;
    tracing::debug!(
        number = ticket.number,
        total = ticket.totals.total,
        "sale committed"
    );
    Ok(ticket)
}

/// Voids a whole sale: a new `void` ticket with the same lines and figures, paying back the
/// way the sale was paid (cash back as cash, card back to the same approval).
pub fn void(conn: &mut Connection, original: Uuid, clock: &dyn Clock) -> Result<Ticket> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sale = reversible(&tx, original)?;
    let tenders = payback(&sale.tenders, sale.totals.total);
    let quote = Quote {
        currency: sale.currency,
        prices_include_tax: sale.prices_include_tax,
        customer_id: sale.customer_id,
        lines: sale.lines,
        ticket_discount: sale.ticket_discount,
        taxes: sale.taxes,
        totals: sale.totals,
    };
    let ticket = record(&tx, TicketKind::Void, Some(original), quote, tenders, clock)?;
    tx.commit()?;
    Ok(ticket)
}

/// One line of a refund: which line of the sale (1-based) and how many of its units go back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    pub line_no: usize,
    pub quantity: i64,
}

impl RefundLine {
    /// The whole of line `line_no` of `sale`, if it has that line.
    pub fn whole(sale: &Ticket, line_no: usize) -> Option<RefundLine> {
        let line = sale.lines.get(line_no.checked_sub(1)?)?;
        Some(RefundLine {
            line_no,
            quantity: line.quantity,
        })
    }
}

/// Refunds part of a sale: `quantity` units of each named line (each line at most once, at
/// most its own quantity). The refund ticket's line pays back the pro-rata share of what the
/// sale's line cost after its own discount and its share of the ticket discount, rounded
/// half-up, so a line never pays back more than it cost and a whole line pays back exactly its
/// amount. That share is carried as a fixed line discount and the refund has no ticket
/// discount, so `till_protocol::pricing::price` reproduces every figure (the back office
/// re-prices it). The money goes back the way the sale was paid (see [`payback`]). A sale is
/// reversed at most once.
pub fn refund(
    conn: &mut Connection,
    original: Uuid,
    lines: &[RefundLine],
    clock: &dyn Clock,
) -> Result<Ticket> {
    if lines.is_empty() {
        return Err(CoreError::InvalidInput(
            "a refund needs at least one line".into(),
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sale = reversible(&tx, original)?;
    let mut chosen: Vec<Option<i64>> = vec![None; sale.lines.len()];
    for l in lines {
        let n = l.line_no;
        let (slot, line) = match n
            .checked_sub(1)
            .and_then(|i| Some((chosen.get_mut(i)?, sale.lines.get(i)?)))
        {
            Some(found) => found,
            None => {
                return Err(CoreError::InvalidInput(format!(
                    "ticket {} has no line {n}",
                    sale.number
                )))
            }
        };
        if slot.is_some() {
            return Err(CoreError::InvalidInput(format!(
                "line {n} is named twice in the refund"
            )));
        }
        if !(1..=line.quantity).contains(&l.quantity) {
            return Err(CoreError::InvalidInput(format!(
                "line {n}: a refund returns 1 to {} of {}, not {}",
                line.quantity, line.name, l.quantity
            )));
        }
        *slot = Some(l.quantity);
    }
    let lines = sale
        .lines
        .iter()
        .zip(chosen)
        .filter_map(|(line, quantity)| quantity.map(|q| refund_line(line, q)))
        .collect::<Result<Vec<_>>>()?;
    let quote = cart::priced(
        sale.currency,
        sale.prices_include_tax,
        sale.customer_id,
        lines,
        None,
    )?;
    let tenders = payback(&sale.tenders, quote.totals.total);
    let ticket = record(
        &tx,
        TicketKind::Refund,
        Some(original),
        quote,
        tenders,
        clock,
    )?;
    tx.commit()?;
    Ok(ticket)
}

/// `quantity` units of the sale's `line` at its unit price, discounted down to the pro-rata
/// share of the line's amount: `amount × quantity / line quantity`, rounded half-up. Its
/// figures are filled in by the pricing rule.
fn refund_line(line: &TicketLine, quantity: i64) -> Result<TicketLine> {
    let gross = line
        .unit_price
        .checked_mul(quantity)
        .ok_or(till_protocol::pricing::PricingError::Overflow)?;
    let amount = if quantity == line.quantity {
        line.figures.amount
    } else {
        pro_rata(line.figures.amount, quantity, line.quantity)?
    };
    let discount = gross - amount;
    Ok(TicketLine {
        quantity,
        discount: (discount > 0).then_some(Discount::Amount { minor: discount }),
        ..line.clone()
    })
}

/// `amount × part / whole`, rounded half-up, for non-negative `amount` and `0 < part ≤ whole`.
fn pro_rata(amount: i64, part: i64, whole: i64) -> Result<i64> {
    if amount < 0 || part <= 0 || whole < part {
        return Err(CoreError::Database(format!(
            "cannot take {part}/{whole} of {amount}"
        )));
    }
    let (a, p, w) = (i128::from(amount), i128::from(part), i128::from(whole));
    i64::try_from((2 * a * p + w) / (2 * w))
        .map_err(|_| till_protocol::pricing::PricingError::Overflow.into())
}

/// How `total` goes back to a customer who paid with `paid`: through the same tenders in their
/// order, each at most what it counted (cash handed back exactly, no change; card to the same
/// approval). A reversal never exceeds its sale, so the sale's tenders always cover it.
fn payback(paid: &[Tender], total: i64) -> Vec<Tender> {
    let mut left = total;
    let mut out = Vec::new();
    for t in paid {
        let part = t.counted().min(left);
        if part <= 0 {
            continue;
        }
        left -= part;
        out.push(match t {
            Tender::Cash { .. } => Tender::Cash {
                tendered: part,
                change: 0,
            },
            Tender::Card {
                approval_ref,
                last4,
                ..
            } => Tender::Card {
                amount: part,
                approval_ref: approval_ref.clone(),
                last4: last4.clone(),
            },
        });
    }
    if left > 0 {
        out.push(Tender::Cash {
            tendered: left,
            change: 0,
        });
    }
    out
}

/// The sale `id`, if it exists, is a sale and was not reversed yet.
fn reversible(conn: &Connection, id: Uuid) -> Result<Ticket> {
    let sale = load(conn, id)?.ok_or_else(|| CoreError::TicketNotFound(id.to_string()))?;
    if sale.kind != TicketKind::Sale {
        return Err(CoreError::NotReversible(id));
    }
    if let Some(by) = reversed_by(conn, id)? {
        return Err(CoreError::AlreadyReversed { ticket_id: id, by });
    }
    Ok(sale)
}

/// The ticket that reversed `id` on this terminal, if any.
pub fn reversed_by(conn: &Connection, id: Uuid) -> Result<Option<Uuid>> {
    let by: Option<String> = conn
        .prepare_cached("SELECT id FROM tickets WHERE reverses = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    by.map(|s| parse_uuid(&s)).transpose()
}

/// Numbers, stamps, hashes and writes a priced ticket with its journal entry and outbox
/// mutation, inside the caller's write transaction.
fn record(
    tx: &Connection,
    kind: TicketKind,
    reverses: Option<Uuid>,
    quote: Quote,
    tenders: Vec<Tender>,
    clock: &dyn Clock,
) -> Result<Ticket> {
    let now = clock.now_ms();
    let number = counters::next(tx, counters::TICKET)?;
    let stamp = hlc::tick(tx, now)?;
    let mut ticket = Ticket {
        id: Uuid::now_v7(),
        number,
        kind,
        reverses,
        created_at_ms: now,
        hlc: stamp,
        currency: quote.currency,
        prices_include_tax: quote.prices_include_tax,
        customer_id: quote.customer_id,
        lines: quote.lines,
        ticket_discount: quote.ticket_discount,
        taxes: quote.taxes,
        totals: quote.totals,
        tenders,
        journal_hash: String::new(),
    };
    let prev = journal::last_hash(tx)?;
    ticket.journal_hash = journal::chain_hash(&prev, &ticket)?;
    insert(tx, &ticket)?;
    journal::append(tx, &ticket, &prev)?;
    let body = match kind {
        TicketKind::Sale => MutationBody::TicketCreated(ticket.clone()),
        TicketKind::Void => MutationBody::TicketVoided(ticket.clone()),
        TicketKind::Refund => MutationBody::TicketRefunded(ticket.clone()),
    };
    outbox::enqueue(tx, body, stamp, now)?;
    Ok(ticket)
}

fn kind_str(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Void => "void",
        TicketKind::Refund => "refund",
    }
}

fn parse_kind(s: &str) -> Result<TicketKind> {
    match s {
        "sale" => Ok(TicketKind::Sale),
        "void" => Ok(TicketKind::Void),
        "refund" => Ok(TicketKind::Refund),
        other => Err(CoreError::Database(format!(
            "unknown ticket kind {other:?}"
        ))),
    }
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| CoreError::Database(format!("bad id {s:?}: {e}")))
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| CoreError::Database(format!("{v} is out of range")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| CoreError::Database(format!("{v} is negative")))
}

fn discount_json(d: &Option<Discount>) -> Result<Option<String>> {
    d.as_ref()
        .map(|d| serde_json::to_string(d).map_err(|e| CoreError::Database(e.to_string())))
        .transpose()
}

fn parse_discount(s: Option<String>) -> Result<Option<Discount>> {
    s.map(|s| {
        serde_json::from_str(&s).map_err(|e| CoreError::Database(format!("discount {s:?}: {e}")))
    })
    .transpose()
}

fn insert(tx: &Connection, t: &Ticket) -> Result<()> {
    let id = t.id.to_string();
    tx.prepare_cached(
        "INSERT INTO tickets (id, number, kind, reverses, created_at_ms, hlc_wall_ms, hlc_counter,
             hlc_node, currency_code, currency_exponent, prices_include_tax, customer_id,
             ticket_discount, subtotal, discount_total, tax_total, total, journal_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
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
        discount_json(&t.ticket_discount)?,
        t.totals.subtotal,
        t.totals.discount_total,
        t.totals.tax_total,
        t.totals.total,
        t.journal_hash,
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
            discount_json(&l.discount)?,
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
     subtotal, discount_total, tax_total, total, journal_hash";

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
                discount: parse_discount(r.get(7)?)?,
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
        ticket_discount: parse_discount(h.ticket_discount)?,
        taxes,
        totals: h.totals,
        tenders,
        journal_hash: h.journal_hash,
    })
}

/// A line of the ticket list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub reverses: Option<Uuid>,
    /// The void or refund that reversed this sale, if any.
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
}

/// The columns of a [`TicketSummary`]: the ticket, the ticket that reversed it, its outbox
/// state and, once pushed, the back office's number for it (`ticket_sync`, written by the sync
/// engine when the server applies it).
const SUMMARY_SELECT: &str =
    "SELECT t.id, t.number, t.kind, t.reverses, r.id, t.created_at_ms, t.currency_code,
         t.currency_exponent, t.total,
         (SELECT count(*) FROM ticket_lines l WHERE l.ticket_id = t.id),
         (SELECT o.state FROM outbox o WHERE o.entity_id = t.id ORDER BY o.seq DESC LIMIT 1),
         s.server_number
     FROM tickets t
     LEFT JOIN tickets r ON r.reverses = t.id
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
