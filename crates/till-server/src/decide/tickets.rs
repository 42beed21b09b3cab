//! Sales, voids and refunds: whether a ticket may be stored, and what a reversal of a stored
//! sale gets. A sale is reversed by the till that sold it, or by another till of a store that
//! allows cross-till returns, whose reversal is then checked line by line against the sale. A
//! sale may be refunded in parts, each part within what is left of its lines ([`LeftToReturn`]);
//! a reversal beyond that, a void after a refund, or anything after a void is stored all the
//! same, as a disputed reversal: the cash left the drawer, so the books count it until a manager
//! settles it ([`super::disputes`]). Its unit tests are in `tickets_tests.rs`.

use till_protocol::card::looks_like_card_number;
use till_protocol::pricing::price;
use till_protocol::{MutationBody, Outcome, ReversalInfo, Tender, Ticket, TicketKind};
use uuid::Uuid;

use super::{text, Rejection};

/// Checks a ticket the way the back office must before storing it: no string over its cap or
/// holding a control character ([`text`]), the kind matches the mutation, every figure is what the one pricing rule gives, the tenders cover the total
/// exactly, and no card data beyond the last four digits travels.
pub fn check_ticket(expected: TicketKind, ticket: &Ticket) -> Result<(), Rejection> {
    text::check_ticket(ticket).map_err(|r| Rejection::new(r.code, r.message))?;
    if ticket.kind != expected {
        return Err(Rejection::new(
            "kind_mismatch",
            format!(
                "a {:?} mutation must carry a {:?} ticket, not {:?}",
                expected, expected, ticket.kind
            ),
        ));
    }
    match (expected, ticket.reverses) {
        (TicketKind::Sale, Some(_)) => {
            return Err(Rejection::new(
                "invalid_reverses",
                "a sale cannot reverse another ticket",
            ))
        }
        (TicketKind::Void | TicketKind::Refund, None) => {
            return Err(Rejection::new(
                "invalid_reverses",
                "a void or refund must name the ticket it reverses",
            ))
        }
        _ => {}
    }
    if ticket.number == 0 || ticket.number > i64::MAX as u64 {
        return Err(Rejection::new(
            "invalid_ticket_number",
            format!("ticket number {} is out of range", ticket.number),
        ));
    }
    let currency = &ticket.currency;
    if currency.code.len() != 3
        || !currency.code.bytes().all(|b| b.is_ascii_uppercase())
        || currency.exponent > 4
    {
        return Err(Rejection::new(
            "invalid_currency",
            format!(
                "currency {} with exponent {} is not valid",
                currency.code.chars().take(8).collect::<String>(),
                currency.exponent
            ),
        ));
    }
    check_figures(ticket)?;
    check_tenders(ticket)
}

fn check_figures(ticket: &Ticket) -> Result<(), Rejection> {
    let input = ticket.price_input();
    let priced = price(&input).map_err(|e| Rejection::new(e.code(), e.to_string()))?;
    for (i, (line, figures)) in ticket.lines.iter().zip(&priced.lines).enumerate() {
        if line.figures != *figures {
            return Err(Rejection::new(
                "totals_mismatch",
                format!(
                    "line {}: the terminal sent {:?}, the pricing rule gives {:?}",
                    i + 1,
                    line.figures,
                    figures
                ),
            ));
        }
    }
    if ticket.taxes != priced.taxes {
        return Err(Rejection::new(
            "totals_mismatch",
            format!(
                "taxes: the terminal sent {:?}, the pricing rule gives {:?}",
                ticket.taxes, priced.taxes
            ),
        ));
    }
    if ticket.totals != priced.totals {
        return Err(Rejection::new(
            "totals_mismatch",
            format!(
                "totals: the terminal sent {:?}, the pricing rule gives {:?}",
                ticket.totals, priced.totals
            ),
        ));
    }
    Ok(())
}

fn check_tenders(ticket: &Ticket) -> Result<(), Rejection> {
    if ticket.tenders.len() > 100 {
        return Err(Rejection::new("invalid_tender", "too many tenders"));
    }
    let mut counted: i128 = 0;
    for (i, tender) in ticket.tenders.iter().enumerate() {
        let n = i + 1;
        match tender {
            Tender::Cash { tendered, change } => {
                if *tendered < 0 || *change < 0 || change > tendered {
                    return Err(Rejection::new(
                        "invalid_tender",
                        format!("tender {n}: cash {tendered} with change {change} is not valid"),
                    ));
                }
            }
            Tender::Card {
                amount,
                approval_ref,
                last4,
            } => {
                if *amount < 0 {
                    return Err(Rejection::new(
                        "invalid_tender",
                        format!("tender {n}: a card amount cannot be negative"),
                    ));
                }
                if let Some(last4) = last4 {
                    if last4.is_empty()
                        || last4.len() > 4
                        || !last4.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(Rejection::new(
                            "invalid_card_data",
                            format!("tender {n}: last4 must be one to four digits"),
                        ));
                    }
                }
                if approval_ref.len() > text::MAX_APPROVAL_REF
                    || looks_like_card_number(approval_ref)
                {
                    return Err(Rejection::new(
                        "invalid_card_data",
                        format!("tender {n}: the approval reference must not hold a card number"),
                    ));
                }
            }
        }
        counted += i128::from(tender.counted());
    }
    if counted != i128::from(ticket.totals.total) {
        return Err(Rejection::new(
            "tenders_mismatch",
            format!(
                "the tenders count {counted}, the ticket total is {}",
                ticket.totals.total
            ),
        ));
    }
    Ok(())
}

/// Stock moves of a ticket: a sale takes goods out, a void or refund puts them back.
pub fn stock_deltas(ticket: &Ticket) -> Vec<(Uuid, i64)> {
    let sign = match ticket.kind {
        TicketKind::Sale => -1,
        TicketKind::Void | TicketKind::Refund => 1,
    };
    ticket
        .lines
        .iter()
        .map(|l| (l.product_id, sign * l.quantity))
        .collect()
}

/// A ticket as stored, as far as the reversal rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTicket {
    pub server_id: i64,
    pub kind: TicketKind,
    pub terminal_id: Uuid,
    pub total: i64,
    /// The void or refund that reversed this sale, if any.
    pub reversed_by: Option<Uuid>,
}

/// The ticket whose stored figures the result of a mutation with `body` echoes: one the back
/// office holds after it (applied or disputed, now or before).
pub fn echoed(body: &MutationBody, outcome: &Outcome) -> Option<Uuid> {
    let held = match outcome {
        Outcome::Duplicate { original } => original.as_ref(),
        other => other,
    };
    if !matches!(held, Outcome::Applied { .. } | Outcome::Disputed { .. }) {
        return None;
    }
    match body {
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => Some(t.id),
        _ => None,
    }
}

/// A ticket whose id the server already stored: a ticket is received once, whatever mutation
/// carries it.
pub fn duplicate(ticket_id: Uuid, server_id: i64) -> Rejection {
    Rejection::new(
        "duplicate_ticket",
        format!("ticket {ticket_id} was already received (server id {server_id})"),
    )
}

/// The sale a void or refund reverses.
pub fn reversed_id(ticket: &Ticket) -> Result<Uuid, Rejection> {
    ticket
        .reverses
        .ok_or_else(|| Rejection::new("invalid_reverses", "no original ticket named"))
}

/// One line of a stored ticket, as a reversal is checked against the sale and its earlier
/// reversals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoldLine {
    pub product_id: Uuid,
    pub unit_price: i64,
    pub quantity: i64,
}

/// A void or refund of a sale, stored before (accepted or disputed), with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierReversal {
    pub kind: TicketKind,
    pub lines: Vec<SoldLine>,
}

/// Who sends a reversal, what the store allows it, the lines of the sale it names as stored
/// (empty when the sale is unknown), and the reversals of that sale stored before, in the order
/// stored.
#[derive(Debug, Clone, Copy)]
pub struct ReversalFacts<'a> {
    pub terminal_id: Uuid,
    pub cross_till_returns: bool,
    pub sold: &'a [SoldLine],
    pub earlier: &'a [EarlierReversal],
}

/// What is left to return of each line of a sale after its earlier refunds.
///
/// A returned line maps onto the sale's lines by product id and unit price: its quantity is
/// taken from the first such sale line (in line order) with something left, the rest from the
/// next, and so on. The till's refund line keeps the product and unit price of the sale line it
/// returns, so a refund of the same product at two prices (a price changed between two sales
/// lines) returns from the line of that price. Quantities count, not money: a part refund pays
/// back its pro-rata share of the line rounded half-up, so parts may add up to a minor unit
/// more than the line, and that is no reason to dispute them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftToReturn<'a> {
    sold: &'a [SoldLine],
    left: Vec<i64>,
}

impl<'a> LeftToReturn<'a> {
    /// The whole `sold` sale, less what `earlier` returned (a return beyond what was left, of a
    /// disputed reversal, takes what there was).
    pub fn after(sold: &'a [SoldLine], earlier: &[EarlierReversal]) -> Self {
        let mut left = LeftToReturn {
            sold,
            left: sold.iter().map(|l| l.quantity.max(0)).collect(),
        };
        for line in earlier.iter().flat_map(|r| &r.lines) {
            left.take(line);
        }
        left
    }

    /// Takes `line` from what is left; the quantity it could not take (0: all of it fitted).
    fn take(&mut self, line: &SoldLine) -> i64 {
        let mut wanted = line.quantity.max(0);
        for (sold, left) in self.sold.iter().zip(&mut self.left) {
            if wanted == 0 {
                break;
            }
            if sold.product_id == line.product_id && sold.unit_price == line.unit_price {
                let taken = wanted.min(*left);
                *left -= taken;
                wanted -= taken;
            }
        }
        wanted
    }

    /// Whether every line of `ticket` fits in what is left, taken one after the other.
    pub fn fits(mut self, ticket: &Ticket) -> bool {
        ticket.lines.iter().all(|l| {
            l.quantity >= 1
                && self.take(&SoldLine {
                    product_id: l.product_id,
                    unit_price: l.unit_price,
                    quantity: l.quantity,
                }) == 0
        })
    }
}

/// What to do with a void or refund of a known ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reversal {
    /// Refused for good.
    Reject(Rejection),
    /// The sale was reversed before, first by `first`, and this reversal goes beyond what is
    /// left (or is a void after a refund, or follows a void): store it as a disputed reversal,
    /// counted and flagged for a manager ([`disputed`]); the sale stays reversed by `first`.
    Disputed { first: Uuid },
    /// Store the reversal and mark the sale reversed by it, unless an earlier part refund did
    /// (the sale names its first reversal).
    Insert,
}

/// Decides a `kind` reversal (`ticket`, already checked by [`check_ticket`]) of the ticket
/// `original_id`, given that ticket as stored (`None`: unknown to the server) and `facts`. Only
/// the till that made a sale reverses it, unless the store allows cross-till returns; a void
/// returns the whole sale, a refund at most the sale, and a reversal from another till returns
/// only products of the sale, in at most the quantities sold. A sale is refunded in parts while
/// each part fits in what its earlier refunds left ([`LeftToReturn`]); a further reversal that
/// passes those checks but not that one, a void after a refund and anything after a void are
/// disputed, stored and counted all the same.
pub fn reversal(
    kind: TicketKind,
    ticket: &Ticket,
    original_id: Uuid,
    original: Option<&StoredTicket>,
    facts: ReversalFacts<'_>,
) -> Reversal {
    let Some(original) = original else {
        return Reversal::Reject(Rejection::new(
            "unknown_ticket",
            format!("ticket {original_id} is not known to the server"),
        ));
    };
    if original.kind != TicketKind::Sale {
        return Reversal::Reject(Rejection::new(
            "not_a_sale",
            format!(
                "ticket {original_id} is a {:?}, only sales can be reversed",
                original.kind
            ),
        ));
    }
    let cross_till = original.terminal_id != facts.terminal_id;
    if cross_till && !facts.cross_till_returns {
        return Reversal::Reject(Rejection::new(
            "not_your_sale",
            format!(
                "ticket {original_id} was sold by another till, and this store does not allow \
                 cross-till returns"
            ),
        ));
    }
    if kind == TicketKind::Void && ticket.totals.total != original.total {
        return Reversal::Reject(Rejection::new(
            "void_mismatch",
            format!(
                "a void must return the whole sale ({}), not {}",
                original.total, ticket.totals.total
            ),
        ));
    }
    if ticket.totals.total > original.total {
        return Reversal::Reject(Rejection::new(
            "refund_exceeds_sale",
            format!(
                "the refund ({}) exceeds the sale ({})",
                ticket.totals.total, original.total
            ),
        ));
    }
    if cross_till {
        if let Err(r) = check_lines_against_sale(ticket, facts.sold) {
            return Reversal::Reject(r);
        }
    }
    let Some(first) = original.reversed_by else {
        return Reversal::Insert;
    };
    let only_refunds =
        kind == TicketKind::Refund && facts.earlier.iter().all(|r| r.kind == TicketKind::Refund);
    if only_refunds && LeftToReturn::after(facts.sold, facts.earlier).fits(ticket) {
        Reversal::Insert
    } else {
        Reversal::Disputed { first }
    }
}

/// Every line of a reversal names a product of the sale, and no product is returned in more
/// than the quantity sold.
fn check_lines_against_sale(ticket: &Ticket, sold: &[SoldLine]) -> Result<(), Rejection> {
    let mut left: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
    for line in sold {
        *left.entry(line.product_id).or_default() += line.quantity;
    }
    for (i, line) in ticket.lines.iter().enumerate() {
        let n = i + 1;
        let Some(remaining) = left.get_mut(&line.product_id) else {
            return Err(Rejection::new(
                "not_on_sale",
                format!("line {n}: product {} is not on the sale", line.product_id),
            ));
        };
        if line.quantity < 1 || line.quantity > *remaining {
            return Err(Rejection::new(
                "quantity_exceeds_sale",
                format!(
                    "line {n}: {} of product {} returned, {} left of the sale",
                    line.quantity, line.product_id, remaining
                ),
            ));
        }
        *remaining -= line.quantity;
    }
    Ok(())
}

/// The first reversal of a sale, `first` as stored, as a later reversal's answer names it. The
/// till that made it (`asking`) is also told its total; another till only learns that the sale
/// was reversed, by which ticket and how, never another till's details.
pub fn first_reversal(first_id: Uuid, first: &StoredTicket, asking: Uuid) -> ReversalInfo {
    let own = first.terminal_id == asking;
    ReversalInfo {
        ticket_id: first_id,
        kind: first.kind,
        terminal_id: own.then_some(first.terminal_id),
        total: own.then_some(first.total),
    }
}

/// The answer to a disputed reversal, stored as `server_id` and `server_number`: it names the
/// reversal that came first.
pub fn disputed(server_id: i64, server_number: u64, first: ReversalInfo) -> Outcome {
    Outcome::Disputed {
        server_id,
        server_number: Some(server_number),
        first,
    }
}
