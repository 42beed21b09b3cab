//! The ticket checks and reversal decisions of `tickets.rs`, as specifications: a ticket the
//! pricing rule agrees with passes, card data never travels, and a sale is reversed once, by its
//! own till or, where the store allows it, by another till within what was sold.

use till_protocol::card::looks_like_card_number;
use till_protocol::{Outcome, Tender, Ticket, TicketKind};
use uuid::Uuid;

use super::tickets::*;
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
        earlier: &[],
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
    assert!(looks_like_card_number("4111  1111  1111  1111"));
    assert!(looks_like_card_number("4111.1111.1111.1111"));
}

#[test]
fn a_card_number_however_written_in_an_approval_reference_is_invalid_card_data() {
    for approval_ref in ["4111  1111  1111  1111", "4111.1111.1111.1111"] {
        let mut sale = sample::sale(1);
        sale.tenders = vec![Tender::Card {
            amount: sale.totals.total,
            approval_ref: approval_ref.into(),
            last4: None,
        }];
        let refused =
            check_ticket(TicketKind::Sale, &sale).expect_err("never stored with a card number");
        assert_eq!(refused.code, "invalid_card_data", "{approval_ref}");
    }
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
    for ((product, out), (same, back)) in stock_deltas(&sale).into_iter().zip(stock_deltas(&refund))
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
    let refunded = [earlier(TicketKind::Refund, &sale)];
    let other = ReversalFacts {
        terminal_id: Uuid::now_v7(),
        cross_till_returns: false,
        sold: &sold,
        earlier: &refunded,
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
            unit_price: l.unit_price,
            quantity: l.quantity,
        })
        .collect()
}

/// A reversal of `kind` stored before, returning the lines of `ticket`.
fn earlier(kind: TicketKind, ticket: &Ticket) -> EarlierReversal {
    EarlierReversal {
        kind,
        lines: sold_lines(ticket),
    }
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
            earlier: &[],
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

/// Decides `kind` reversal `ticket` of `sale` by its own till, after `earlier`.
fn after_earlier(
    kind: TicketKind,
    ticket: &Ticket,
    sale: &Ticket,
    earlier: &[EarlierReversal],
) -> Reversal {
    let first = earlier.first().map(|_| Uuid::from_u128(1));
    let original = stored(TicketKind::Sale, sale.totals.total, first);
    let sold = sold_lines(sale);
    let facts = ReversalFacts {
        terminal_id: original.terminal_id,
        cross_till_returns: false,
        sold: &sold,
        earlier,
    };
    reversal(kind, ticket, sale.id, Some(&original), facts)
}

#[test]
fn two_part_refunds_within_the_sale_are_accepted_and_a_third_beyond_the_rest_is_disputed() {
    let sale = sample::sale(2);
    let q: Vec<i64> = sale.lines.iter().map(|l| l.quantity).collect();
    assert!(q[0] >= 2, "line 1 sells more than one: {q:?}");
    let one = sample::part_refund(&sale, 10, &[1, 0, 0, 0, 0]);
    assert_eq!(
        after_earlier(TicketKind::Refund, &one, &sale, &[]),
        Reversal::Insert
    );
    let rest_of_line_one = sample::part_refund(&sale, 11, &[q[0] - 1, q[1], 0, 0, 0]);
    let done = [earlier(TicketKind::Refund, &one)];
    assert_eq!(
        after_earlier(TicketKind::Refund, &rest_of_line_one, &sale, &done),
        Reversal::Insert,
        "a second part refund within what the first left is accepted"
    );
    let done = [
        done[0].clone(),
        earlier(TicketKind::Refund, &rest_of_line_one),
    ];
    let again = sample::part_refund(&sale, 12, &[1, 0, 0, 0, 0]);
    assert_eq!(
        after_earlier(TicketKind::Refund, &again, &sale, &done),
        Reversal::Disputed {
            first: Uuid::from_u128(1)
        },
        "line 1 was returned whole already: a third refund of it is beyond the rest"
    );
    let line_three = sample::part_refund(&sale, 12, &[0, 0, q[2], 0, 0]);
    assert_eq!(
        after_earlier(TicketKind::Refund, &line_three, &sale, &done),
        Reversal::Insert,
        "line 3 is untouched"
    );
}

#[test]
fn a_refund_line_returns_from_the_sale_line_of_its_product_and_unit_price_in_line_order() {
    let product = Uuid::from_u128(7);
    let line = |unit_price, quantity| SoldLine {
        product_id: product,
        unit_price,
        quantity,
    };
    let sold = [line(100, 1), line(200, 1), line(100, 2)];
    let earlier = [EarlierReversal {
        kind: TicketKind::Refund,
        lines: vec![line(100, 2)],
    }];
    let refund = |unit_price, quantity| {
        let lines = [sample::SampleLine::new(product, unit_price, quantity, 2000)];
        sample::ticket(TicketKind::Refund, 2, None, &lines, None).expect("prices")
    };
    assert!(
        LeftToReturn::after(&sold, &earlier).fits(&refund(100, 1)),
        "two of the three at 100 came back: one is left, across lines 1 and 3"
    );
    assert!(!LeftToReturn::after(&sold, &earlier).fits(&refund(100, 2)));
    assert!(
        LeftToReturn::after(&sold, &earlier).fits(&refund(200, 1)),
        "the line at another price is its own"
    );
    assert!(!LeftToReturn::after(&sold, &earlier).fits(&refund(150, 1)));
}

#[test]
fn a_void_after_a_refund_and_anything_after_a_void_stay_disputed() {
    let sale = sample::sale(2);
    let one = sample::part_refund(&sale, 10, &[1, 0, 0, 0, 0]);
    let refunded = [earlier(TicketKind::Refund, &one)];
    let void = sample::reversal(TicketKind::Void, 11, &sale);
    assert!(matches!(
        after_earlier(TicketKind::Void, &void, &sale, &refunded),
        Reversal::Disputed { .. }
    ));
    let voided = [earlier(TicketKind::Void, &sale)];
    let mut nothing_voided = voided.clone();
    nothing_voided[0].lines.clear();
    assert!(
        matches!(
            after_earlier(TicketKind::Refund, &one, &sale, &nothing_voided),
            Reversal::Disputed { .. }
        ),
        "after a void, even a refund of what is left is disputed"
    );
}

#[test]
fn only_a_ticket_the_back_office_holds_echoes_its_stored_figures() {
    let ticket = sample::sale(1);
    let id = ticket.id;
    let sale = till_protocol::MutationBody::TicketCreated(ticket);
    let applied = Outcome::Applied {
        server_id: 1,
        server_number: Some(1),
        version: 1,
    };
    let replayed = Outcome::Duplicate {
        original: Box::new(applied.clone()),
    };
    let refused = Outcome::Rejected {
        code: "invalid_ticket".into(),
        message: "no lines".into(),
    };
    assert_eq!(echoed(&sale, &applied), Some(id));
    assert_eq!(echoed(&sale, &replayed), Some(id), "a replay echoes too");
    assert_eq!(
        echoed(&sale, &refused),
        None,
        "nothing stored, nothing echoed"
    );
    let customer = till_protocol::MutationBody::CustomerDeleted(till_protocol::CustomerDeleted {
        id: Uuid::now_v7(),
        base_version: 1,
        base: None,
    });
    assert_eq!(
        echoed(&customer, &applied),
        None,
        "only tickets have figures"
    );
}
