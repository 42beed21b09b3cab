//! Committing tickets: a sale from a cart, a void or refund of an earlier sale. Each commit is
//! ONE immediate transaction that writes the ticket, its lines, taxes and tenders, its journal
//! entry and its outbox mutation; it either all lands on disk or none of it does. Tickets are
//! never edited: a void or refund is a new ticket whose `reverses` names the original, and a
//! sale is reversed at most once.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::pricing::Discount;
use till_protocol::{MutationBody, Tender, Ticket, TicketKind, TicketLine};
use uuid::Uuid;

use crate::cart::{self, Cart, Quote};
use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::tender::{self, TenderInput};
use crate::{counters, hlc, journal, outbox, shifts};

mod rows;
pub mod view;

pub use rows::{count, count_sales, list, load, load_by_number, summary, TicketSummary};
use rows::{insert, parse_uuid};

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
    let tenders = tender::settle(tenders, quote.totals.total, &quote.currency)?;
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// The counter-entry of a disputed reversal whose cash came back: a sale of `reversal`'s lines
/// at its figures, paid in as it paid out, committed like any sale (its number, journal entry and
/// outbox mutation) inside the caller's transaction. It counts the money back in here and in the
/// back office, and puts the goods the reversal returned out of stock again.
pub(crate) fn counter_sale(
    tx: &Connection,
    reversal: &Ticket,
    clock: &dyn Clock,
) -> Result<Ticket> {
    let quote = Quote {
        currency: reversal.currency.clone(),
        prices_include_tax: reversal.prices_include_tax,
        customer_id: reversal.customer_id,
        lines: reversal.lines.clone(),
        ticket_discount: reversal.ticket_discount,
        taxes: reversal.taxes.clone(),
        totals: reversal.totals,
    };
    record(
        tx,
        TicketKind::Sale,
        None,
        quote,
        reversal.tenders.clone(),
        clock,
    )
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

/// Writes back a ticket salvaged from a damaged store, exactly as it was committed, with its
/// journal entry (linking to `prev_hash`), inside the caller's write transaction. The caller has
/// checked that the ticket hashes to its entry.
pub(crate) fn restore(tx: &Connection, ticket: &Ticket, prev_hash: &str) -> Result<()> {
    insert(tx, ticket)?;
    journal::append(tx, ticket, prev_hash)
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
        operator: None,
        approval: None,
        shift_id: shifts::for_ticket(tx)?,
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
    outbox::enqueue(tx, body, None, stamp, now)?;
    Ok(ticket)
}
