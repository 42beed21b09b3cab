//! Sales, voids and refunds: whether a ticket may be stored, and what a reversal of a stored
//! sale gets. A sale is reversed by the till that sold it, or by another till of a store that
//! allows cross-till returns, whose reversal is then checked line by line against the sale.

use till_protocol::pricing::price;
use till_protocol::{
    ConflictCurrent, ConflictReason, Outcome, ReversalInfo, Tender, Ticket, TicketKind,
};
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
    /// The sale was reversed before, by `first`: a conflict naming it ([`already_reversed`]).
    Conflict { first: Uuid },
    /// Store the reversal and mark the sale reversed by it.
    Insert,
}

/// Decides a `kind` reversal (`ticket`, already checked by [`check_ticket`]) of the ticket
/// `original_id`, given that ticket as stored (`None`: unknown to the server) and `facts`. Only
/// the till that made a sale reverses it, unless the store allows cross-till returns; a sale is
/// reversed at most once; a void returns the whole sale, a refund at most the sale, and a
/// reversal from another till returns only products of the sale, in at most the quantities sold.
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
    if let Some(first) = original.reversed_by {
        return Reversal::Conflict { first };
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
    Reversal::Insert
}

/// Every line of a reversal names a product of the sale, and no product is returned in more
/// than the quantity sold. (A sale is reversed at most once, so nothing of it was returned
/// before: what is left to return is what was sold.)
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

/// The conflict a second reversal of a sale gets: it names the first one, `first` as stored.
/// The till that made the first reversal (`asking`) is also told its total; another till only
/// learns that the sale was reversed, by which ticket and how, never another till's details.
pub fn already_reversed(first_id: Uuid, first: &StoredTicket, asking: Uuid) -> Outcome {
    let own = first.terminal_id == asking;
    Outcome::Conflict {
        reason: ConflictReason::AlreadyReversed,
        current: Some(ConflictCurrent::Reversal(ReversalInfo {
            ticket_id: first_id,
            kind: first.kind,
            terminal_id: own.then_some(first.terminal_id),
            total: own.then_some(first.total),
        })),
    }
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
    fn a_second_reversal_is_a_conflict_naming_the_first() {
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
            Reversal::Conflict { first },
            "a sale is reversed at most once"
        );
        let first_refund = stored(TicketKind::Refund, 250, None);
        match already_reversed(first, &first_refund, first_refund.terminal_id) {
            Outcome::Conflict {
                reason: ConflictReason::AlreadyReversed,
                current: Some(ConflictCurrent::Reversal(info)),
            } => {
                assert_eq!(info.ticket_id, first);
                assert_eq!(info.kind, TicketKind::Refund);
                assert_eq!(info.terminal_id, Some(first_refund.terminal_id));
                assert_eq!(info.total, Some(250));
            }
            other => panic!("expected an already_reversed conflict, got {other:?}"),
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
            Reversal::Conflict { .. }
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
        match already_reversed(first_id, &first, Uuid::now_v7()) {
            Outcome::Conflict {
                current: Some(ConflictCurrent::Reversal(info)),
                ..
            } => {
                assert_eq!(info.ticket_id, first_id, "the first reversal is named");
                assert_eq!(info.kind, TicketKind::Refund);
                assert_eq!(info.terminal_id, None);
                assert_eq!(info.total, None);
            }
            other => panic!("expected an already_reversed conflict, got {other:?}"),
        }
    }
}
