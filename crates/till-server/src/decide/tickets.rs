//! Sales, voids and refunds: whether a ticket may be stored, and what a reversal of a stored
//! sale gets. A sale is reversed by the till that sold it, or by another till of a store that
//! allows cross-till returns, whose reversal is then checked line by line against the sale. A
//! reversal of a sale already reversed is stored all the same, as a disputed reversal: the cash
//! left the drawer, so the books count it until a manager settles it (the refund stands, or the
//! cash came back and a counter-sale counts it in again).

use till_protocol::pricing::price;
use till_protocol::{
    DisputeSettled, DisputeSettlement, Outcome, ReversalInfo, Tender, Ticket, TicketKind,
};
use uuid::Uuid;

use super::{text, Rejection};

/// Checks a ticket the way the back office must before storing it: no string over its cap
/// ([`text`]), the kind matches the mutation, every figure is what the one pricing rule gives, the tenders cover the total
/// exactly, and no card data beyond the last four digits travels.
pub fn check_ticket(expected: TicketKind, ticket: &Ticket) -> Result<(), Rejection> {
    text::check_ticket(ticket).map_err(|message| Rejection::new("text_too_long", message))?;
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

/// Whether `text` holds a run of 13 or more digits (spaces and dashes ignored): a full card
/// number (PAN) that must never reach the back office.
fn looks_like_card_number(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 13 {
                return true;
            }
        } else if c != ' ' && c != '-' {
            run = 0;
        }
    }
    false
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

/// One line of a stored sale, as a reversal of another till is checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoldLine {
    pub product_id: Uuid,
    pub quantity: i64,
}

/// Who sends a reversal, what the store allows it, and the lines of the sale it names as
/// stored (empty when the sale is unknown).
#[derive(Debug, Clone, Copy)]
pub struct ReversalFacts<'a> {
    pub terminal_id: Uuid,
    pub cross_till_returns: bool,
    pub sold: &'a [SoldLine],
}

/// What to do with a void or refund of a known ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reversal {
    /// Refused for good.
    Reject(Rejection),
    /// The sale was reversed before, by `first`: store this one as a disputed reversal, counted
    /// and flagged for a manager ([`disputed`]); the sale stays reversed by `first`.
    Disputed { first: Uuid },
    /// Store the reversal and mark the sale reversed by it.
    Insert,
}

/// Decides a `kind` reversal (`ticket`, already checked by [`check_ticket`]) of the ticket
/// `original_id`, given that ticket as stored (`None`: unknown to the server) and `facts`. Only
/// the till that made a sale reverses it, unless the store allows cross-till returns; a void
/// returns the whole sale, a refund at most the sale, and a reversal from another till returns
/// only products of the sale, in at most the quantities sold. A sale is reversed once: a further
/// reversal that passes those checks is disputed, stored and counted all the same.
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
    match original.reversed_by {
        Some(first) => Reversal::Disputed { first },
        None => Reversal::Insert,
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

/// A disputed reversal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDispute {
    /// The dispute's row.
    pub server_id: i64,
    /// The till that made the disputed reversal.
    pub terminal_id: Uuid,
    /// The disputed reversal's total.
    pub total: i64,
    /// How it was settled; `None` while open.
    pub settlement: Option<String>,
}

/// A disputed reversal as it is recorded when its reversal is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDispute {
    pub reversal_id: Uuid,
    pub sale_id: Uuid,
    pub first_id: Uuid,
    pub terminal_id: Uuid,
    pub total: i64,
}

/// How a dispute is closed: `settlement` (`refund_stands` or `cash_came_back`), the counter-sale
/// of the cash that came back, who decided and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeClosed {
    pub settlement: &'static str,
    pub counter_sale: Option<Uuid>,
    pub by: String,
    pub why: Option<String>,
}

/// What a terminal's counter-sale is, as a dispute settlement checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSale {
    pub ticket: StoredTicket,
    /// It already counts back the cash of another dispute.
    pub used: bool,
}

/// Longest name of who settled a dispute, or reason given, in characters (as the till checks
/// them).
pub const MAX_ATTRIBUTION: usize = 500;

/// A settlement names who decided and may say why, each in at most [`MAX_ATTRIBUTION`]
/// characters.
fn check_attribution(settled: &DisputeSettled) -> Result<(), String> {
    if settled.by.trim().is_empty() {
        return Err("a settlement names who decided".into());
    }
    text::check("who decided", &settled.by, MAX_ATTRIBUTION)?;
    match &settled.why {
        Some(why) => text::check("the reason", why, MAX_ATTRIBUTION),
        None => Ok(()),
    }
}

/// Decides a manager's settlement of a disputed reversal sent by `terminal_id`, given the
/// dispute as stored and, for cash that came back, its counter-sale as stored. Only the till
/// that made the disputed reversal settles it, once; a counter-sale is a sale of that till of
/// exactly the disputed total, counting back one dispute's cash.
pub fn settle_dispute(
    settled: &DisputeSettled,
    terminal_id: Uuid,
    dispute: Option<&StoredDispute>,
    counter: Option<&CounterSale>,
) -> Result<DisputeClosed, Rejection> {
    check_attribution(settled).map_err(|message| Rejection::new("invalid_settlement", message))?;
    let reversal = settled.reversal_id;
    let Some(dispute) = dispute.filter(|d| d.terminal_id == terminal_id) else {
        return Err(Rejection::new(
            "unknown_dispute",
            format!("this till made no disputed reversal {reversal}"),
        ));
    };
    if let Some(how) = &dispute.settlement {
        return Err(Rejection::new(
            "dispute_settled",
            format!("the disputed reversal {reversal} was settled before ({how})"),
        ));
    }
    let counter_sale = match settled.settlement {
        DisputeSettlement::RefundStands => None,
        DisputeSettlement::CashCameBack { counter_sale } => {
            let fits = counter.is_some_and(|c| {
                !c.used
                    && c.ticket.kind == TicketKind::Sale
                    && c.ticket.terminal_id == terminal_id
                    && c.ticket.total == dispute.total
            });
            if !fits {
                return Err(Rejection::new(
                    "counter_mismatch",
                    format!(
                        "the cash of {reversal} ({}) comes back as a sale of this till of that \
                         total, counting back no other dispute; {counter_sale} is not one",
                        dispute.total
                    ),
                ));
            }
            Some(counter_sale)
        }
    };
    Ok(DisputeClosed {
        settlement: match settled.settlement {
            DisputeSettlement::RefundStands => "refund_stands",
            DisputeSettlement::CashCameBack { .. } => "cash_came_back",
        },
        counter_sale,
        by: settled.by.clone(),
        why: settled.why.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn stored(kind: TicketKind, total: i64, reversed_by: Option<Uuid>) -> StoredTicket {
        StoredTicket {
            server_id: 1,
            kind,
            terminal_id: Uuid::now_v7(),
            total,
            reversed_by,
        }
    }

    /// The facts of a reversal sent by the till that made `original`.
    fn by_seller(original: Option<&StoredTicket>) -> ReversalFacts<'static> {
        ReversalFacts {
            terminal_id: original.map_or(Uuid::nil(), |o| o.terminal_id),
            cross_till_returns: false,
            sold: &[],
        }
    }

    fn code(decision: Reversal) -> &'static str {
        match decision {
            Reversal::Reject(r) => r.code,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn card_numbers_are_spotted_in_free_text() {
        assert!(looks_like_card_number("4111 1111 1111 1111"));
        assert!(looks_like_card_number("ref-4111111111111111"));
        assert!(!looks_like_card_number("APPROVED-123456"));
    }

    #[test]
    fn a_sample_sale_and_its_refund_pass_the_ticket_checks() {
        let sale = sample::sale(1);
        assert_eq!(check_ticket(TicketKind::Sale, &sale), Ok(()));
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        assert_eq!(check_ticket(TicketKind::Refund, &refund), Ok(()));
        assert_eq!(
            check_ticket(TicketKind::Sale, &refund).map_err(|r| r.code),
            Err("kind_mismatch")
        );
    }

    #[test]
    fn a_reversal_of_an_unreversed_sale_is_stored() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        let original = stored(TicketKind::Sale, sale.totals.total, None);
        assert_eq!(
            reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&original),
                by_seller(Some(&original))
            ),
            Reversal::Insert
        );
        let void = sample::reversal(TicketKind::Void, 2, &sale);
        assert_eq!(
            reversal(
                TicketKind::Void,
                &void,
                sale.id,
                Some(&original),
                by_seller(Some(&original))
            ),
            Reversal::Insert
        );
    }

    #[test]
    fn a_second_reversal_is_stored_as_disputed_naming_the_first() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 3, &sale);
        let first = Uuid::now_v7();
        let original = stored(TicketKind::Sale, sale.totals.total, Some(first));
        assert_eq!(
            reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&original),
                by_seller(Some(&original))
            ),
            Reversal::Disputed { first },
            "a sale is reversed once; the cash of a second reversal left the drawer all the same"
        );
        let first_refund = stored(TicketKind::Refund, 250, None);
        let info = first_reversal(first, &first_refund, first_refund.terminal_id);
        assert_eq!(info.ticket_id, first);
        assert_eq!(info.kind, TicketKind::Refund);
        assert_eq!(info.terminal_id, Some(first_refund.terminal_id));
        assert_eq!(info.total, Some(250));
        assert_eq!(
            disputed(7, 12, info.clone()),
            Outcome::Disputed {
                server_id: 7,
                server_number: Some(12),
                first: info
            }
        );
    }

    #[test]
    fn a_second_reversal_beyond_the_sale_is_refused_not_disputed() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 3, &sale);
        let original = stored(
            TicketKind::Sale,
            sale.totals.total - 1,
            Some(Uuid::now_v7()),
        );
        assert_eq!(
            code(reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&original),
                by_seller(Some(&original))
            )),
            "refund_exceeds_sale"
        );
    }

    fn settlement(settlement: DisputeSettlement) -> DisputeSettled {
        DisputeSettled {
            reversal_id: Uuid::now_v7(),
            settlement,
            by: "manager-1".into(),
            why: Some("the customer brought it back".into()),
        }
    }

    /// An open dispute of `till`'s, of 250.
    fn open_dispute(till: Uuid) -> StoredDispute {
        StoredDispute {
            server_id: 3,
            terminal_id: till,
            total: 250,
            settlement: None,
        }
    }

    #[test]
    fn a_dispute_is_settled_once_by_the_till_that_made_it() {
        let till = Uuid::now_v7();
        let open = open_dispute(till);
        let stands = settlement(DisputeSettlement::RefundStands);
        let closed = settle_dispute(&stands, till, Some(&open), None).expect("settles");
        assert_eq!(
            (closed.settlement, closed.counter_sale, closed.by.as_str()),
            ("refund_stands", None, "manager-1")
        );
        let code = |r: Result<DisputeClosed, Rejection>| r.map_err(|r| r.code).err();
        assert_eq!(
            code(settle_dispute(&stands, Uuid::now_v7(), Some(&open), None)),
            Some("unknown_dispute"),
            "another till's dispute is not this till's to settle"
        );
        assert_eq!(
            code(settle_dispute(&stands, till, None, None)),
            Some("unknown_dispute")
        );
        let settled = StoredDispute {
            settlement: Some("refund_stands".into()),
            ..open.clone()
        };
        assert_eq!(
            code(settle_dispute(&stands, till, Some(&settled), None)),
            Some("dispute_settled")
        );
        let nobody = DisputeSettled {
            by: " ".into(),
            ..stands
        };
        assert_eq!(
            code(settle_dispute(&nobody, till, Some(&open), None)),
            Some("invalid_settlement"),
            "who decided is recorded"
        );
    }

    #[test]
    fn cash_that_came_back_is_counted_in_by_a_sale_of_the_same_till_and_total() {
        let till = Uuid::now_v7();
        let open = open_dispute(till);
        let counter_id = Uuid::now_v7();
        let back = settlement(DisputeSettlement::CashCameBack {
            counter_sale: counter_id,
        });
        let counter = CounterSale {
            ticket: StoredTicket {
                terminal_id: till,
                ..stored(TicketKind::Sale, 250, None)
            },
            used: false,
        };
        let closed = settle_dispute(&back, till, Some(&open), Some(&counter)).expect("settles");
        assert_eq!(closed.settlement, "cash_came_back");
        assert_eq!(closed.counter_sale, Some(counter_id));
        assert_eq!(closed.why.as_deref(), Some("the customer brought it back"));
        let wrong = [
            None,
            Some(CounterSale {
                used: true,
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    total: 249,
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    kind: TicketKind::Refund,
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    terminal_id: Uuid::now_v7(),
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
        ];
        for c in &wrong {
            assert_eq!(
                settle_dispute(&back, till, Some(&open), c.as_ref()).map_err(|r| r.code),
                Err("counter_mismatch"),
                "{c:?}"
            );
        }
    }

    #[test]
    fn reversals_of_unknown_tickets_and_of_reversals_are_rejected() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        assert_eq!(
            code(reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                None,
                by_seller(None)
            )),
            "unknown_ticket"
        );
        let a_refund = stored(TicketKind::Refund, sale.totals.total, None);
        assert_eq!(
            code(reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&a_refund),
                by_seller(Some(&a_refund))
            )),
            "not_a_sale",
            "only sales can be reversed"
        );
    }

    #[test]
    fn a_void_returns_the_whole_sale_and_a_refund_at_most_the_sale() {
        let sale = sample::sale(1);
        let void = sample::reversal(TicketKind::Void, 2, &sale);
        let bigger = stored(TicketKind::Sale, sale.totals.total + 1, None);
        assert_eq!(
            code(reversal(
                TicketKind::Void,
                &void,
                sale.id,
                Some(&bigger),
                by_seller(Some(&bigger))
            )),
            "void_mismatch"
        );
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        let smaller = stored(TicketKind::Sale, sale.totals.total - 1, None);
        assert_eq!(
            code(reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&smaller),
                by_seller(Some(&smaller))
            )),
            "refund_exceeds_sale"
        );
        assert_eq!(
            reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&bigger),
                by_seller(Some(&bigger))
            ),
            Reversal::Insert,
            "a partial refund is allowed"
        );
    }

    #[test]
    fn a_reversal_must_name_its_sale_and_a_stored_ticket_is_a_duplicate() {
        let mut refund = sample::reversal(TicketKind::Refund, 2, &sample::sale(1));
        refund.reverses = None;
        assert_eq!(
            reversed_id(&refund).map_err(|r| r.code),
            Err("invalid_reverses")
        );
        let duplicate = duplicate(refund.id, 42);
        assert_eq!(duplicate.code, "duplicate_ticket");
        assert!(
            duplicate.message.contains("server id 42"),
            "{}",
            duplicate.message
        );
    }

    #[test]
    fn a_sale_takes_goods_out_and_a_refund_puts_them_back() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        for ((product, out), (same, back)) in
            stock_deltas(&sale).into_iter().zip(stock_deltas(&refund))
        {
            assert_eq!(product, same);
            assert!(out < 0, "a sale takes goods out");
            assert_eq!(back, -out, "a refund puts them back");
        }
    }

    #[test]
    fn another_tills_sale_is_not_yours_unless_the_store_allows_cross_till_returns() {
        let sale = sample::sale(1);
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        let original = stored(TicketKind::Sale, sale.totals.total, Some(Uuid::now_v7()));
        let sold = sold_lines(&sale);
        let other = ReversalFacts {
            terminal_id: Uuid::now_v7(),
            cross_till_returns: false,
            sold: &sold,
        };
        assert_eq!(
            code(reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&original),
                other
            )),
            "not_your_sale",
            "refused before anything about the sale, even that it was reversed, is told"
        );
        let allowed = ReversalFacts {
            cross_till_returns: true,
            ..other
        };
        assert!(matches!(
            reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&original),
                allowed
            ),
            Reversal::Disputed { .. }
        ));
        let unreversed = stored(TicketKind::Sale, sale.totals.total, None);
        assert_eq!(
            reversal(
                TicketKind::Refund,
                &refund,
                sale.id,
                Some(&unreversed),
                allowed
            ),
            Reversal::Insert
        );
    }

    fn sold_lines(ticket: &Ticket) -> Vec<SoldLine> {
        ticket
            .lines
            .iter()
            .map(|l| SoldLine {
                product_id: l.product_id,
                quantity: l.quantity,
            })
            .collect()
    }

    #[test]
    fn a_cross_till_refund_returns_only_products_of_the_sale_in_at_most_the_quantities_sold() {
        let sale = sample::sale(1);
        let original = stored(TicketKind::Sale, i64::MAX, None);
        let decide = |refund: &Ticket, sold: &[SoldLine]| {
            let facts = ReversalFacts {
                terminal_id: Uuid::now_v7(),
                cross_till_returns: true,
                sold,
            };
            reversal(TicketKind::Refund, refund, sale.id, Some(&original), facts)
        };
        let refund = sample::reversal(TicketKind::Refund, 2, &sale);
        let mut sold = sold_lines(&sale);
        sold[0].product_id = Uuid::now_v7();
        assert_eq!(code(decide(&refund, &sold)), "not_on_sale");
        let mut sold = sold_lines(&sale);
        sold[1].quantity -= 1;
        assert_eq!(code(decide(&refund, &sold)), "quantity_exceeds_sale");
        let mut twice = refund.clone();
        twice.lines.push(twice.lines[0].clone());
        let sold = sold_lines(&sale);
        assert_eq!(
            code(decide(&twice, &sold)),
            "quantity_exceeds_sale",
            "two lines of one product count together"
        );
        assert_eq!(decide(&refund, &sold), Reversal::Insert);
    }

    #[test]
    fn a_conflict_tells_another_till_neither_the_first_reversals_till_nor_its_total() {
        let first = stored(TicketKind::Refund, 250, None);
        let first_id = Uuid::now_v7();
        let info = first_reversal(first_id, &first, Uuid::now_v7());
        assert_eq!(info.ticket_id, first_id, "the first reversal is named");
        assert_eq!(info.kind, TicketKind::Refund);
        assert_eq!(info.terminal_id, None);
        assert_eq!(info.total, None);
    }
}
