//! Committing tickets: a sale from a cart, a void or refund of an earlier sale. Each commit is
//! ONE immediate transaction that writes the ticket, its lines, taxes and tenders, its journal
//! entry and its outbox mutation; it either all lands on disk or none of it does. Tickets are
//! never edited: a void or refund is a new ticket whose `reverses` names the original. A sale
//! may be refunded several times, each time up to what is left of each line; a void takes back
//! the whole sale, so only a sale nothing was returned from can be voided. Each ticket names
//! who rang it up and the manager's approval it needed ([`crate::approvals`]). The print jobs a
//! ticket makes (its drawer kick, its receipt) are queued in its transaction ([`printer`]).

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::pricing::Discount;
use till_protocol::{Approval, MutationBody, Operator, Tender, Ticket, TicketKind, TicketLine};
use uuid::Uuid;

use crate::approvals::{self, Needed};
use crate::cart::{self, Cart, Quote};
use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::tender::{self, TenderInput};
use crate::{counters, hlc, journal, outbox, parked, printer, settings, shifts};

mod returns;
mod rows;
pub mod view;

pub use returns::{returned, reversals, Returned, ReturnedLine, Reversal};
use rows::insert;
pub use rows::{count, count_sales, list, load, load_by_number, summary, TicketSummary};

/// Rings up `cart` paid by `tenders`: prices it against the current catalog, checks the tenders
/// cover the total and records the sale as rung up by `operator`. On a till with employees
/// someone must be signed in, and a price override or a discount above the till's limit needs
/// `approval` (see [`approvals::for_quote`]). The register's sale in progress is cleared in the
/// same transaction, so a crash right after the commit never brings a paid sale back. Returns the
/// ticket exactly as committed (and as sent).
pub fn commit(
    conn: &mut Connection,
    cart: &Cart,
    tenders: &[TenderInput],
    operator: Option<Operator>,
    approval: Option<Approval>,
    clock: &dyn Clock,
) -> Result<Ticket> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let quote = cart::quote(&tx, cart)?;
    let needed = approvals::for_quote(&quote, settings::discount_approval_above_pct(&tx)?);
    let approval = approvals::check(&tx, operator.as_ref(), needed.as_ref(), approval)?;
    let tenders = tender::settle(tenders, quote.totals.total, &quote.currency)?;
    let entry = Entry {
        kind: TicketKind::Sale,
        reverses: None,
        operator,
        approval,
    };
    let ticket = record(&tx, entry, quote, tenders, clock)?;
    parked::clear_current(&tx)?;
    printer::on_ticket(&tx, &ticket, ticket.created_at_ms)?;
    tx.commit()?;
    tracing::debug!(
        number = ticket.number,
        total = ticket.totals.total,
        "sale committed"
    );
    Ok(ticket)
}

/// Voids a whole sale: a new `void` ticket with the same lines and figures, paying back the
/// way the sale was paid (cash back as cash, card back to the same approval). Only a sale
/// nothing was returned from yet can be voided (`already_reversed` otherwise, naming its first
/// reversal). On a till with employees it needs a manager's `approval` of the void.
pub fn void(
    conn: &mut Connection,
    original: Uuid,
    operator: Option<Operator>,
    approval: Option<Approval>,
    clock: &dyn Clock,
) -> Result<Ticket> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sale = sale(&tx, original)?;
    if let Some(first) = reversals(&tx, original)?.first() {
        return Err(CoreError::AlreadyReversed {
            ticket_id: original,
            by: first.id,
        });
    }
    let needed = Needed::void(sale.number);
    let approval = approvals::check(&tx, operator.as_ref(), Some(&needed), approval)?;
    let tenders = payback(&sale.tenders, 0, sale.totals.total);
    let quote = Quote {
        currency: sale.currency,
        prices_include_tax: sale.prices_include_tax,
        customer_id: sale.customer_id,
        lines: sale.lines,
        ticket_discount: sale.ticket_discount,
        taxes: sale.taxes,
        totals: sale.totals,
        overrides: Vec::new(),
    };
    let entry = Entry {
        kind: TicketKind::Void,
        reverses: Some(original),
        operator,
        approval,
    };
    let ticket = record(&tx, entry, quote, tenders, clock)?;
    printer::on_ticket(&tx, &ticket, ticket.created_at_ms)?;
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

/// Refunds part of a sale: `quantity` units of each named line, each line named at most once
/// and for at most what its earlier refunds left (`nothing_left_to_refund` naming the line
/// otherwise); a sale can be refunded again until every line is back, but not once voided
/// (`already_reversed`). Each refund line pays back its share of what the sale's line cost
/// after its own discount and its share of the ticket discount: the units returned so far,
/// these included, are worth `amount × returned / quantity` rounded half-up, less what earlier
/// refunds of the line paid back, so the refunds of a line never pay back more than it cost and
/// all of it back pays exactly its amount. That share is carried as a fixed line discount and
/// the refund has no ticket discount, so `till_protocol::pricing::price` reproduces every figure
/// (the back office re-prices it). The money goes back the way the sale was paid, after what
/// earlier refunds paid back (see [`payback`]). On a till with employees it needs a manager's
/// `approval` of the refund.
pub fn refund(
    conn: &mut Connection,
    original: Uuid,
    lines: &[RefundLine],
    operator: Option<Operator>,
    approval: Option<Approval>,
    clock: &dyn Clock,
) -> Result<Ticket> {
    if lines.is_empty() {
        return Err(CoreError::InvalidInput(
            "a refund needs at least one line".into(),
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sale = sale(&tx, original)?;
    let earlier = reversals(&tx, original)?;
    if let Some(void) = earlier.iter().find(|r| r.kind == TicketKind::Void) {
        return Err(CoreError::AlreadyReversed {
            ticket_id: original,
            by: void.id,
        });
    }
    let back = returned(&sale.lines, &earlier);
    let chosen = chosen_lines(&sale, &back, lines)?;
    let needed = Needed::refund(sale.number);
    let approval = approvals::check(&tx, operator.as_ref(), Some(&needed), approval)?;
    let refund_lines = chosen
        .iter()
        .map(|&(i, quantity)| refund_line(&sale.lines[i], back[i], quantity))
        .collect::<Result<Vec<_>>>()?;
    let quote = cart::priced(
        sale.currency,
        sale.prices_include_tax,
        sale.customer_id,
        refund_lines,
        None,
    )?;
    let paid_back: i64 = earlier.iter().map(|r| r.total).sum();
    let tenders = payback(&sale.tenders, paid_back, quote.totals.total);
    let entry = Entry {
        kind: TicketKind::Refund,
        reverses: Some(original),
        operator,
        approval,
    };
    let ticket = record(&tx, entry, quote, tenders, clock)?;
    let from_lines: Vec<usize> = chosen.iter().map(|&(i, _)| i + 1).collect();
    returns::record_sources(&tx, ticket.id, &from_lines)?;
    printer::on_ticket(&tx, &ticket, ticket.created_at_ms)?;
    tx.commit()?;
    Ok(ticket)
}

/// The sale's lines a refund names, as (index, quantity) in the sale's order: each line of the
/// sale at most once, each for 1 up to what `back` (what earlier refunds returned) left of it.
fn chosen_lines(
    sale: &Ticket,
    back: &[Returned],
    lines: &[RefundLine],
) -> Result<Vec<(usize, i64)>> {
    let mut chosen: Vec<Option<i64>> = vec![None; sale.lines.len()];
    for l in lines {
        let n = l.line_no;
        let Some(i) = n.checked_sub(1).filter(|&i| i < sale.lines.len()) else {
            return Err(CoreError::InvalidInput(format!(
                "ticket {} has no line {n}",
                sale.number
            )));
        };
        let line = &sale.lines[i];
        if chosen[i].is_some() {
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
        let left = line.quantity - back[i].quantity;
        if l.quantity > left {
            return Err(CoreError::NothingLeftToRefund {
                line_no: n,
                name: line.name.clone(),
                left,
                asked: l.quantity,
            });
        }
        chosen[i] = Some(l.quantity);
    }
    Ok(chosen
        .into_iter()
        .enumerate()
        .filter_map(|(i, q)| q.map(|q| (i, q)))
        .collect())
}

/// What a receipt's barcode holds for its ticket: the ticket's id, which [`lookup`] reads back.
pub fn receipt_code(ticket: &Ticket) -> String {
    ticket.id.to_string()
}

/// The ticket a person names by its number on this till (`12` or `#12`), its id, or what its
/// receipt's barcode holds ([`receipt_code`]); `ticket_not_found` naming the text otherwise.
pub fn lookup(conn: &Connection, code: &str) -> Result<Ticket> {
    let code = code.trim();
    let found = match code.strip_prefix('#').unwrap_or(code).parse::<u64>() {
        Ok(number) => load_by_number(conn, number)?,
        Err(_) => match Uuid::parse_str(code) {
            Ok(id) => load(conn, id)?,
            Err(_) => None,
        },
    };
    found.ok_or_else(|| CoreError::TicketNotFound(code.to_owned()))
}

/// The counter-entry of a disputed reversal whose cash came back: a sale of `reversal`'s lines
/// at its figures, paid in as it paid out, committed like any sale (its number, journal entry and
/// outbox mutation) inside the caller's transaction. It counts the money back in here and in the
/// back office, and puts the goods the reversal returned out of stock again.
pub(crate) fn counter_sale(
    tx: &Connection,
    reversal: &Ticket,
    operator: Option<Operator>,
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
        overrides: Vec::new(),
    };
    let entry = Entry {
        kind: TicketKind::Sale,
        reverses: None,
        operator,
        approval: None,
    };
    record(tx, entry, quote, reversal.tenders.clone(), clock)
}

/// `quantity` more units of the sale's `line`, of which `back` was already returned, at its unit
/// price, discounted down to their share of the line's amount: what the units returned by now
/// are worth (`amount × units / line quantity`, rounded half-up) less what was paid back for the
/// earlier ones. Its figures are filled in by the pricing rule.
fn refund_line(line: &TicketLine, back: Returned, quantity: i64) -> Result<TicketLine> {
    let gross = line
        .unit_price
        .checked_mul(quantity)
        .ok_or(till_protocol::pricing::PricingError::Overflow)?;
    let worth = pro_rata(line.figures.amount, back.quantity + quantity, line.quantity)?;
    let amount = (worth - back.amount).clamp(0, gross);
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

/// How `total` goes back to a customer who paid with `paid`, after `paid_back` went back by
/// earlier refunds: through the same tenders in their order, each at most what it counted less
/// what earlier refunds took from it in that same order (cash handed back exactly, no change;
/// card to the same approval). The refunds of a sale never exceed it, so the sale's tenders
/// always cover them.
fn payback(paid: &[Tender], paid_back: i64, total: i64) -> Vec<Tender> {
    let mut taken = paid_back;
    let mut left = total;
    let mut out = Vec::new();
    for t in paid {
        let already = taken.clamp(0, t.counted());
        taken -= already;
        let part = (t.counted() - already).min(left);
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

/// The sale `id`: `ticket_not_found` when there is none, `not_reversible` when it is a void or
/// refund.
fn sale(conn: &Connection, id: Uuid) -> Result<Ticket> {
    let sale = load(conn, id)?.ok_or_else(|| CoreError::TicketNotFound(id.to_string()))?;
    if sale.kind != TicketKind::Sale {
        return Err(CoreError::NotReversible(id));
    }
    Ok(sale)
}

/// Writes back a ticket salvaged from a damaged store, exactly as it was committed, with its
/// journal entry (linking to `prev_hash`), inside the caller's write transaction. The caller has
/// checked that the ticket hashes to its entry.
pub(crate) fn restore(tx: &Connection, ticket: &Ticket, prev_hash: &str) -> Result<()> {
    insert(tx, ticket)?;
    journal::append(tx, ticket, prev_hash)
}

/// What a ticket records beside its figures: what it is, the sale it reverses, who rang it up
/// and the approval it needed.
struct Entry {
    kind: TicketKind,
    reverses: Option<Uuid>,
    operator: Option<Operator>,
    approval: Option<Approval>,
}

/// Numbers, stamps, hashes and writes a priced ticket with its journal entry and outbox
/// mutation (sent as made by the ticket's operator), inside the caller's write transaction.
fn record(
    tx: &Connection,
    entry: Entry,
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
        kind: entry.kind,
        reverses: entry.reverses,
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
        operator: entry.operator,
        approval: entry.approval,
        shift_id: shifts::for_ticket(tx)?,
    };
    let prev = journal::last_hash(tx)?;
    ticket.journal_hash = journal::chain_hash(&prev, &ticket)?;
    insert(tx, &ticket)?;
    journal::append(tx, &ticket, &prev)?;
    let body = match ticket.kind {
        TicketKind::Sale => MutationBody::TicketCreated(ticket.clone()),
        TicketKind::Void => MutationBody::TicketVoided(ticket.clone()),
        TicketKind::Refund => MutationBody::TicketRefunded(ticket.clone()),
    };
    outbox::enqueue(tx, body, ticket.operator.clone(), stamp, now)?;
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::pricing::LineFigures;

    fn card(amount: i64) -> Tender {
        Tender::Card {
            amount,
            approval_ref: "A1".into(),
            last4: None,
        }
    }

    fn cash(tendered: i64) -> Tender {
        Tender::Cash {
            tendered,
            change: 0,
        }
    }

    fn line(unit_price: i64, quantity: i64, amount: i64) -> TicketLine {
        TicketLine {
            product_id: Uuid::nil(),
            sku: "S".into(),
            name: "Scone".into(),
            quantity,
            unit_price,
            tax_category: "standard".into(),
            tax_rate_bp: 0,
            discount: None,
            figures: LineFigures {
                gross: unit_price * quantity,
                line_discount: unit_price * quantity - amount,
                ticket_discount: 0,
                amount,
                tax: 0,
                total: amount,
            },
        }
    }

    /// What a refund line pays back before tax: its gross less its fixed discount.
    fn paid_for(l: &TicketLine) -> i64 {
        let gross = l.unit_price * l.quantity;
        match l.discount {
            Some(Discount::Amount { minor }) => gross - minor,
            _ => gross,
        }
    }

    fn sale_of(lines: Vec<TicketLine>) -> Ticket {
        Ticket {
            id: Uuid::nil(),
            number: 1,
            kind: TicketKind::Sale,
            reverses: None,
            created_at_ms: 0,
            hlc: till_protocol::Hlc {
                wall_ms: 0,
                counter: 0,
                node: Uuid::nil(),
            },
            currency: till_protocol::Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            customer_id: None,
            lines,
            ticket_discount: None,
            taxes: Vec::new(),
            totals: till_protocol::pricing::TicketTotals {
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
    fn each_refund_pays_back_through_what_earlier_refunds_left_of_the_tenders() {
        let paid = [card(50), cash(70)];
        assert_eq!(payback(&paid, 0, 60), vec![card(50), cash(10)]);
        assert_eq!(
            payback(&paid, 60, 40),
            vec![cash(40)],
            "the card was paid back whole by the first refund"
        );
        assert_eq!(payback(&paid, 30, 30), vec![card(20), cash(10)]);
    }

    #[test]
    fn refunds_of_a_line_unit_by_unit_pay_back_exactly_its_amount() {
        let sold = line(100, 3, 200);
        let mut back = Returned::default();
        let mut amounts = Vec::new();
        for _ in 0..3 {
            let r = refund_line(&sold, back, 1).expect("a unit");
            let amount = paid_for(&r);
            assert!((0..=r.unit_price).contains(&amount), "{amount}");
            amounts.push(amount);
            back.quantity += 1;
            back.amount += amount;
        }
        assert_eq!(amounts, vec![67, 66, 67]);
        assert_eq!(amounts.iter().sum::<i64>(), 200, "never more, never less");
    }

    #[test]
    fn a_refund_names_each_line_once_and_at_most_what_is_left() {
        let sale = sale_of(vec![line(100, 3, 300), line(50, 1, 50)]);
        let back = [
            Returned {
                quantity: 2,
                amount: 200,
            },
            Returned::default(),
        ];
        let ask = |pairs: &[(usize, i64)]| {
            let lines: Vec<RefundLine> = pairs
                .iter()
                .map(|&(line_no, quantity)| RefundLine { line_no, quantity })
                .collect();
            chosen_lines(&sale, &back, &lines)
        };
        assert_eq!(
            ask(&[(2, 1), (1, 1)]).ok(),
            Some(vec![(0, 1), (1, 1)]),
            "in the sale's order"
        );
        let err = ask(&[(1, 2)]).expect_err("one is left");
        assert_eq!(err.code(), crate::ErrorCode::NothingLeftToRefund);
        assert_eq!(
            err.to_string(),
            "line 1: 1 of Scone are left to refund, not 2"
        );
        assert_eq!(
            ask(&[(2, 1), (2, 1)]).map_err(|e| e.code()).err(),
            Some(crate::ErrorCode::InvalidInput)
        );
        assert_eq!(
            ask(&[(3, 1)]).map_err(|e| e.code()).err(),
            Some(crate::ErrorCode::InvalidInput)
        );
    }
}
