//! Ring-up: quotes, commits, tenders, voids and refunds, and every bad input refused with its
//! code and without a trace.

mod common;

use common::{cart_of, footprint, open, products, NOW};
use till_core::demo::{self, DemoRng};
use till_core::outbox::{self, OutboxState};
use till_core::tickets::RefundLine;
use till_core::{cart, catalog, journal, tickets, Cart, CoreError, TenderInput};
use till_protocol::pricing::{self, Discount, MAX_LINES, MAX_QUANTITY, MAX_UNIT_PRICE};
use till_protocol::{Mutation, MutationBody, Product, Tender, Ticket, TicketKind};
use uuid::Uuid;

fn cash(tendered: i64) -> Vec<TenderInput> {
    vec![TenderInput::Cash { tendered }]
}

/// Refund lines from `(line_no, quantity)` pairs.
fn back(pairs: &[(usize, i64)]) -> Vec<RefundLine> {
    pairs
        .iter()
        .map(|&(line_no, quantity)| RefundLine { line_no, quantity })
        .collect()
}

/// The whole of each named line of `sale`.
fn whole(sale: &Ticket, line_nos: &[usize]) -> Vec<RefundLine> {
    line_nos
        .iter()
        .map(|&n| RefundLine::whole(sale, n).expect("the sale has that line"))
        .collect()
}

/// What the back office does with a ticket it receives: prices its lines again with the one
/// pricing rule and compares every figure.
fn reprices_exactly(t: &Ticket) -> bool {
    let input = t.price_input();
    match pricing::price(&input) {
        Ok(p) => {
            p.lines == t.lines.iter().map(|l| l.figures).collect::<Vec<_>>()
                && p.taxes == t.taxes
                && p.totals == t.totals
        }
        Err(_) => false,
    }
}

/// `amount × part / whole` rounded half-up, worked out independently of the core.
fn half_up(amount: i64, part: i64, whole: i64) -> i64 {
    let (floor, rest) = (amount * part / whole, amount * part % whole);
    if 2 * rest >= whole {
        floor + 1
    } else {
        floor
    }
}

#[test]
fn a_commit_records_exactly_what_was_quoted() {
    let (_dir, _store, mut conn) = open();
    let products = products(&conn);
    let mut rng = DemoRng::new(7);
    for _ in 0..60 {
        let lines = 1 + rng.below(8) as usize;
        let cart = demo::cart(&mut rng, &products, lines);
        let quote = cart::quote(&conn, &cart).expect("a demo cart quotes");
        let tenders = demo::tenders(&mut rng, quote.totals.total);
        let ticket =
            tickets::commit(&mut conn, &cart, &tenders, None, None, &NOW).expect("commits");
        assert_eq!(ticket.lines, quote.lines, "lines and figures as quoted");
        assert_eq!(ticket.taxes, quote.taxes, "taxes as quoted");
        assert_eq!(ticket.totals, quote.totals, "totals as quoted");
        let line_sum: i64 = ticket.lines.iter().map(|l| l.figures.total).sum();
        assert_eq!(
            ticket.totals.total, line_sum,
            "total is the sum of the lines"
        );
        let tax_sum: i64 = ticket.taxes.iter().map(|t| t.tax).sum();
        assert_eq!(
            ticket.totals.tax_total, tax_sum,
            "tax total is the sum per rate"
        );
        let counted: i64 = ticket.tenders.iter().map(Tender::counted).sum();
        assert_eq!(
            counted, ticket.totals.total,
            "tenders count exactly the total"
        );
        let reloaded = tickets::load(&conn, ticket.id)
            .expect("loads")
            .expect("present");
        assert_eq!(
            reloaded, ticket,
            "the stored rows rebuild the committed ticket"
        );
    }
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn inclusive_prices_extract_tax_per_rate() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let standard = ps
        .iter()
        .find(|p| p.tax_category == "standard")
        .expect("a standard-rate product");
    let zero = ps
        .iter()
        .find(|p| p.tax_category == "zero")
        .expect("a zero-rate product");
    let cart = cart_of(&[(standard, 2), (zero, 1)]);
    let ticket =
        tickets::commit(&mut conn, &cart, &cash(100_000), None, None, &NOW).expect("commits");
    let gross = standard.unit_price * 2 + zero.unit_price;
    assert_eq!(
        ticket.totals.total, gross,
        "inclusive prices are what is paid"
    );
    let std_tax = ticket
        .taxes
        .iter()
        .find(|t| t.rate_bp == 2000)
        .expect("20 %");
    // tax = round_half_up(sum × 2000 / 12000)
    let sum = standard.unit_price * 2;
    assert_eq!(std_tax.tax, (2 * sum * 2000 + 12000) / (2 * 12000));
    assert_eq!(std_tax.base + std_tax.tax, sum);
    let zero_tax = ticket.taxes.iter().find(|t| t.rate_bp == 0).expect("0 %");
    assert_eq!(zero_tax.tax, 0);
}

#[test]
fn cash_change_is_computed_and_recorded() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 1)]);
    let total = cart::quote(&conn, &cart).expect("quotes").totals.total;
    let ticket =
        tickets::commit(&mut conn, &cart, &cash(total + 1234), None, None, &NOW).expect("commits");
    assert_eq!(
        ticket.tenders,
        vec![Tender::Cash {
            tendered: total + 1234,
            change: 1234
        }]
    );
}

#[test]
fn a_card_tender_keeps_only_the_approval_and_last_four() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 1)]);
    let total = cart::quote(&conn, &cart).expect("quotes").totals.total;
    let card = vec![TenderInput::Card {
        amount: total,
        approval_ref: "AUTH-778812".into(),
        last4: Some("4242".into()),
    }];
    let ticket = tickets::commit(&mut conn, &cart, &card, None, None, &NOW).expect("commits");
    assert_eq!(
        ticket.tenders,
        vec![Tender::Card {
            amount: total,
            approval_ref: "AUTH-778812".into(),
            last4: Some("4242".into())
        }]
    );
}

#[test]
fn a_commit_writes_ticket_journal_and_outbox_together() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let mut numbers = Vec::new();
    for i in 0..5 {
        let cart = cart_of(&[(&ps[i], 1), (&ps[i + 1], 2)]);
        let t =
            tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
        numbers.push(t.number);
        let entry = outbox::get(&conn, t.number)
            .expect("reads")
            .expect("each sale has its mutation");
        assert_eq!(entry.state, OutboxState::Pending);
        assert_eq!(entry.kind, "ticket_created");
        let m: Mutation = serde_json::from_slice(&entry.payload).expect("payload is a Mutation");
        assert_eq!(m.seq, entry.seq);
        assert_eq!(m.id, entry.mutation_id);
        assert_eq!(
            m.body,
            MutationBody::TicketCreated(t.clone()),
            "the mutation carries the ticket as committed"
        );
        assert_eq!(
            serde_json::to_vec(&m).expect("serializes"),
            entry.payload,
            "the stored payload is the exact bytes to send"
        );
    }
    assert_eq!(
        numbers,
        vec![1, 2, 3, 4, 5],
        "ticket numbers are gapless from 1"
    );
    assert_eq!(outbox::counts(&conn).expect("counts").pending, 5);
}

#[test]
fn hlc_stamps_grow_even_at_a_fixed_wall_clock() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 1)]);
    let a = tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
    let b = tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
    assert!(b.hlc > a.hlc, "two events never share or reverse a stamp");
}

#[test]
fn a_void_is_a_new_ticket_and_takes_back_a_sale_once() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 1), (&ps[1], 3)]);
    let sale =
        tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
    let void = tickets::void(&mut conn, sale.id, None, None, &NOW).expect("voids");
    assert_eq!(void.kind, TicketKind::Void);
    assert_eq!(void.reverses, Some(sale.id));
    assert_eq!(void.number, sale.number + 1);
    assert_eq!(void.totals, sale.totals);
    assert_eq!(
        tickets::load(&conn, sale.id).expect("loads"),
        Some(sale.clone()),
        "the original is never edited"
    );
    let entry = outbox::get(&conn, 2).expect("reads").expect("queued");
    assert_eq!(entry.kind, "ticket_voided");

    let before = footprint(&conn);
    let err = tickets::void(&mut conn, sale.id, None, None, &NOW).expect_err("a second void");
    assert_eq!(err.code(), "already_reversed");
    let err = tickets::refund(&mut conn, sale.id, &whole(&sale, &[1]), None, None, &NOW)
        .expect_err("a refund of a voided sale");
    assert_eq!(err.code(), "already_reversed");
    let err = tickets::void(&mut conn, void.id, None, None, &NOW).expect_err("voiding a void");
    assert_eq!(err.code(), "not_reversible");
    let err =
        tickets::void(&mut conn, Uuid::now_v7(), None, None, &NOW).expect_err("no such ticket");
    assert_eq!(err.code(), "ticket_not_found");
    assert_eq!(footprint(&conn), before, "refused reversals change nothing");
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn a_refund_carries_the_chosen_lines_and_their_discount_share() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let mut cart = cart_of(&[(&ps[0], 2), (&ps[1], 1), (&ps[2], 4)]);
    cart.ticket_discount = Some(Discount::Percent { bp: 1000 });
    let sale =
        tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
    let refund = tickets::refund(&mut conn, sale.id, &whole(&sale, &[1, 3]), None, None, &NOW)
        .expect("refunds");
    assert_eq!(refund.kind, TicketKind::Refund);
    assert_eq!(refund.reverses, Some(sale.id));
    assert_eq!(refund.lines.len(), 2);
    let expected: i64 = [0, 2].iter().map(|&i| sale.lines[i].figures.amount).sum();
    let amounts: i64 = refund.lines.iter().map(|l| l.figures.amount).sum();
    assert_eq!(
        amounts, expected,
        "the refund pays back what those lines cost"
    );
    assert_eq!(
        outbox::get(&conn, 2).expect("reads").expect("queued").kind,
        "ticket_refunded"
    );
    assert!(
        reprices_exactly(&refund),
        "the back office accepts its figures"
    );
    assert_eq!(
        refund.tenders,
        vec![Tender::Cash {
            tendered: expected,
            change: 0
        }],
        "cash goes back exactly, with no change"
    );
    let err = tickets::refund(&mut conn, sale.id, &whole(&sale, &[1]), None, None, &NOW)
        .expect_err("a line refunded whole has nothing left");
    assert_eq!(err.code(), "nothing_left_to_refund");
    assert!(err.to_string().starts_with("line 1: 0 of "), "{err}");
    let rest = tickets::refund(&mut conn, sale.id, &whole(&sale, &[2]), None, None, &NOW)
        .expect("a second refund takes back the rest of the sale");
    assert_eq!(
        refund.totals.total + rest.totals.total,
        sale.totals.total,
        "the refunds of a whole sale pay back exactly what it cost"
    );
    let err = tickets::void(&mut conn, sale.id, None, None, &NOW)
        .expect_err("a void takes back a whole sale nothing was returned from");
    assert_eq!(err.code(), "already_reversed");
}

#[test]
fn a_refund_names_valid_lines_once_and_at_most_their_quantity() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let sale = tickets::commit(
        &mut conn,
        &cart_of(&[(&ps[0], 2)]),
        &cash(1_000_000),
        None,
        None,
        &NOW,
    )
    .expect("commits");
    let before = footprint(&conn);
    for pairs in [
        &[][..],
        &[(2, 1)][..],
        &[(0, 1)][..],
        &[(1, 1), (1, 1)][..],
        &[(1, 0)][..],
        &[(1, -1)][..],
        &[(1, 3)][..],
        &[(usize::MAX, 1)][..],
    ] {
        let err = tickets::refund(&mut conn, sale.id, &back(pairs), None, None, &NOW)
            .expect_err("bad line selection");
        assert_eq!(err.code(), "invalid_input", "{pairs:?}");
    }
    assert_eq!(footprint(&conn), before, "refused refunds change nothing");
}

#[test]
fn a_partial_refund_of_a_discounted_line_pays_back_its_share_and_reprices_exactly() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let mut cart = cart_of(&[(&ps[0], 3), (&ps[1], 7), (&ps[2], 1)]);
    cart.lines[0].discount = Some(Discount::Percent { bp: 1250 });
    cart.lines[1].discount = Some(Discount::Amount { minor: 5 });
    cart.ticket_discount = Some(Discount::Percent { bp: 333 });
    let sale =
        tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("commits");
    assert!(
        sale.lines[0].figures.ticket_discount > 0,
        "the line carries a ticket-discount share"
    );

    let refund = tickets::refund(
        &mut conn,
        sale.id,
        &back(&[(1, 1), (2, 3)]),
        None,
        None,
        &NOW,
    )
    .expect("refunds");
    assert_eq!(refund.kind, TicketKind::Refund);
    assert_eq!(refund.reverses, Some(sale.id));
    let quantities: Vec<i64> = refund.lines.iter().map(|l| l.quantity).collect();
    assert_eq!(quantities, vec![1, 3], "the quantities asked for");
    for (line, (orig, q)) in refund
        .lines
        .iter()
        .zip([(&sale.lines[0], 1), (&sale.lines[1], 3)])
    {
        assert_eq!(line.product_id, orig.product_id);
        assert_eq!(line.unit_price, orig.unit_price, "at the price paid");
        assert_eq!(
            line.figures.amount,
            half_up(orig.figures.amount, q, orig.quantity),
            "{q} of {}: the pro-rata share of what the line cost, rounded half-up",
            orig.quantity
        );
        assert!(
            line.figures.amount < orig.figures.amount,
            "a part costs less"
        );
    }
    assert!(
        reprices_exactly(&refund),
        "the pricing rule reproduces every figure the refund carries"
    );
    assert!(refund.totals.total < sale.totals.total);
    assert!(refund.totals.tax_total <= sale.totals.tax_total);
    assert_eq!(
        refund.tenders,
        vec![Tender::Cash {
            tendered: refund.totals.total,
            change: 0
        }],
        "the refund's total goes back in cash, exactly"
    );
    assert_eq!(
        tickets::load(&conn, refund.id).expect("loads"),
        Some(refund.clone()),
        "stored as committed"
    );
    let err = tickets::refund(&mut conn, sale.id, &back(&[(1, 3)]), None, None, &NOW)
        .expect_err("one of three units was refunded: two are left");
    assert_eq!(err.code(), "nothing_left_to_refund");
    let mut refunds = vec![refund];
    for pairs in [&[(3, 1)][..], &[(1, 1), (2, 2)][..], &[(1, 1), (2, 2)][..]] {
        let more = tickets::refund(&mut conn, sale.id, &back(pairs), None, None, &NOW)
            .expect("a further refund of what is left");
        assert!(
            reprices_exactly(&more),
            "the back office accepts its figures"
        );
        refunds.push(more);
    }
    for (i, line) in sale.lines.iter().enumerate() {
        let paid_back: i64 = refunds
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|l| l.product_id == line.product_id)
            .map(|l| l.figures.amount)
            .sum();
        assert_eq!(
            paid_back,
            line.figures.amount,
            "line {}: partial refunds of all of it pay back exactly what it cost",
            i + 1
        );
    }
    let err = tickets::refund(&mut conn, sale.id, &back(&[(2, 1)]), None, None, &NOW)
        .expect_err("everything is back");
    assert_eq!(err.code(), "nothing_left_to_refund");
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn a_refund_goes_back_the_way_the_sale_was_paid() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 4)]);
    let total = cart::quote(&conn, &cart).expect("quotes").totals.total;
    let card = TenderInput::Card {
        amount: total - 1,
        approval_ref: "AUTH-77".into(),
        last4: Some("4242".into()),
    };
    let sale = tickets::commit(
        &mut conn,
        &cart,
        &[card, TenderInput::Cash { tendered: 500 }],
        None,
        None,
        &NOW,
    )
    .expect("commits");
    let refund =
        tickets::refund(&mut conn, sale.id, &back(&[(1, 2)]), None, None, &NOW).expect("refunds");
    assert_eq!(
        refund.tenders,
        vec![Tender::Card {
            amount: refund.totals.total,
            approval_ref: "AUTH-77".into(),
            last4: Some("4242".into()),
        }],
        "half the goods go back to the card that paid for most of them"
    );
}

fn expect_refused(
    conn: &mut rusqlite::Connection,
    cart: &Cart,
    tenders: &[TenderInput],
    code: &str,
) -> CoreError {
    let before = footprint(conn);
    let err = tickets::commit(conn, cart, tenders, None, None, &NOW).expect_err(code);
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(
        footprint(conn),
        before,
        "a refused {code} must change nothing"
    );
    err
}

fn inactive(conn: &rusqlite::Connection) -> Product {
    let demo = catalog::demo().expect("demo");
    let p = demo
        .products
        .into_iter()
        .find(|p| !p.active)
        .expect("the demo has inactive products");
    assert!(catalog::product(conn, p.id).expect("reads").is_some());
    p
}

#[test]
fn every_bad_input_is_refused_with_its_code_and_changes_nothing() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let p = &ps[0];
    let ok = cash(1_000_000);
    // Something committed first, so "nothing changed" is measured against a used store.
    tickets::commit(&mut conn, &cart_of(&[(p, 1)]), &ok, None, None, &NOW).expect("commits");

    expect_refused(&mut conn, &cart_of(&[]), &ok, "empty_cart");
    for q in [0, -1, -9_999_999, MAX_QUANTITY + 1, i64::MAX, i64::MIN] {
        expect_refused(&mut conn, &cart_of(&[(p, q)]), &ok, "invalid_quantity");
    }
    let ghost = Product {
        id: Uuid::now_v7(),
        ..p.clone()
    };
    expect_refused(&mut conn, &cart_of(&[(&ghost, 1)]), &ok, "unknown_product");
    let off = inactive(&conn);
    expect_refused(&mut conn, &cart_of(&[(&off, 1)]), &ok, "inactive_product");
    let stranger = Cart {
        customer_id: Some(Uuid::now_v7()),
        ..cart_of(&[(p, 1)])
    };
    expect_refused(&mut conn, &stranger, &ok, "unknown_customer");
    let too_many: Vec<(&Product, i64)> = vec![(p, 1); MAX_LINES + 1];
    expect_refused(&mut conn, &cart_of(&too_many), &ok, "too_many_lines");
    expect_refused(
        &mut conn,
        &cart_of(&[(p, 1)]),
        &cash(1),
        "insufficient_tender",
    );
    expect_refused(&mut conn, &cart_of(&[(p, 1)]), &[], "insufficient_tender");
    let pan = vec![TenderInput::Card {
        amount: p.unit_price,
        approval_ref: "4111 1111 1111 1111".into(),
        last4: None,
    }];
    expect_refused(
        &mut conn,
        &cart_of(&[(p, 1)]),
        &pan,
        "card_number_forbidden",
    );
    let pan_last4 = vec![TenderInput::Card {
        amount: p.unit_price,
        approval_ref: "OK-1".into(),
        last4: Some("4111111111111111".into()),
    }];
    expect_refused(
        &mut conn,
        &cart_of(&[(p, 1)]),
        &pan_last4,
        "card_number_forbidden",
    );
    let mut bad_discount = cart_of(&[(p, 1)]);
    bad_discount.ticket_discount = Some(Discount::Percent { bp: 10_001 });
    expect_refused(&mut conn, &bad_discount, &ok, "invalid_discount");

    // A product priced at the limit, in absurd quantity, overflows the largest total.
    let pricey = Product {
        id: Uuid::now_v7(),
        sku: "PRICEY".into(),
        unit_price: MAX_UNIT_PRICE,
        ..p.clone()
    };
    catalog::upsert_product(&conn, &pricey).expect("adds");
    expect_refused(
        &mut conn,
        &cart_of(&[(&pricey, MAX_QUANTITY)]),
        &ok,
        "amount_overflow",
    );
    let huge = vec![TenderInput::Cash { tendered: i64::MAX }];
    expect_refused(&mut conn, &cart_of(&[(p, 1)]), &huge, "invalid_input");
}

#[test]
fn malformed_or_unknown_cart_fields_are_invalid_input() {
    let id = Uuid::now_v7();
    for json in [
        format!(r#"{{"lines":[{{"product_id":"{id}","quantity":1}}],"coupon":"X"}}"#),
        format!(r#"{{"lines":[{{"product_id":"{id}","quantity":1,"price":1}}]}}"#),
        r#"{"lines":[{"product_id":"not-a-uuid","quantity":1}]}"#.to_string(),
        r#"{"lines":[{"product_id":1}"#.to_string(),
        r#"{"lines":[{"quantity":1.5}]}"#.to_string(),
    ] {
        let err = Cart::from_json(&json).expect_err("refused");
        assert_eq!(err.code(), "invalid_input", "{json}");
    }
    let ok = format!(r#"{{"lines":[{{"product_id":"{id}","quantity":2}}]}}"#);
    assert_eq!(Cart::from_json(&ok).expect("parses").lines[0].quantity, 2);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::cell::RefCell;

    fn discount() -> impl Strategy<Value = Option<Discount>> {
        prop_oneof![
            3 => Just(None),
            1 => (0u32..=10_000).prop_map(|bp| Some(Discount::Percent { bp })),
            1 => (0i64..=200).prop_map(|minor| Some(Discount::Amount { minor })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the cart, a commit records the quote's figures, totals add up, tenders
        /// count exactly the total, and a full refund pays back exactly the sale.
        #[test]
        fn committed_figures_equal_the_quote_and_add_up(
            picks in proptest::collection::vec((0usize..1000, 1i64..=20, discount()), 1..12),
            ticket_discount in discount(),
            extra_cash in 0i64..10_000,
        ) {
            thread_local! {
                static STORE: RefCell<Option<(tempfile::TempDir, rusqlite::Connection)>> =
                    const { RefCell::new(None) };
            }
            STORE.with(|cell| {
                let mut slot = cell.borrow_mut();
                let (_, conn) = slot.get_or_insert_with(|| {
                    let (dir, _store, conn) = open();
                    (dir, conn)
                });
                let ps = products(conn);
                let cart = Cart {
                    lines: picks
                        .iter()
                        .map(|(i, q, d)| till_core::CartLine {
                            product_id: ps[i % ps.len()].id,
                            quantity: *q,
                            discount: *d,
                            unit_price: None,
                        })
                        .collect(),
                    ticket_discount,
                    customer_id: None,
                };
                let quote = match cart::quote(conn, &cart) {
                    Ok(q) => q,
                    // A fixed discount larger than a line is refused; nothing to commit.
                    Err(e) => {
                        prop_assert_eq!(e.code(), "invalid_discount");
                        return Ok(());
                    }
                };
                let total = quote.totals.total;
                let sale = tickets::commit(conn, &cart, &cash(total + extra_cash), None, None, &NOW)
                    .expect("a quotable cart commits");
                prop_assert_eq!(&sale.lines, &quote.lines);
                prop_assert_eq!(&sale.taxes, &quote.taxes);
                prop_assert_eq!(sale.totals, quote.totals);
                prop_assert_eq!(sale.totals.total, sale.lines.iter().map(|l| l.figures.total).sum::<i64>());
                prop_assert_eq!(sale.totals.tax_total, sale.taxes.iter().map(|t| t.tax).sum::<i64>());
                prop_assert_eq!(sale.tenders.clone(), vec![Tender::Cash { tendered: total + extra_cash, change: extra_cash }]);
                let all: Vec<usize> = (1..=sale.lines.len()).collect();
                let refund = tickets::refund(conn, sale.id, &whole(&sale, &all), None, None, &NOW)
                    .expect("a full refund is accepted");
                prop_assert_eq!(refund.totals.total, sale.totals.total, "a full refund pays back the sale");
                prop_assert_eq!(refund.totals.tax_total, sale.totals.tax_total);
                prop_assert!(reprices_exactly(&refund), "the back office accepts a full refund");

                // The same cart again, refunded in part: some units of some lines.
                let sale = tickets::commit(conn, &cart, &cash(total + extra_cash), None, None, &NOW)
                    .expect("commits again");
                let pairs: Vec<(usize, i64)> = sale
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !(i + extra_cash as usize).is_multiple_of(3) || *i == 0)
                    .map(|(i, l)| (i + 1, 1 + (extra_cash + i as i64) % l.quantity))
                    .collect();
                let refund = tickets::refund(conn, sale.id, &back(&pairs), None, None, &NOW)
                    .expect("a partial refund is accepted");
                prop_assert!(reprices_exactly(&refund), "the back office accepts a partial refund");
                for (line, (n, q)) in refund.lines.iter().zip(&pairs) {
                    let orig = &sale.lines[n - 1];
                    prop_assert_eq!(line.figures.amount, half_up(orig.figures.amount, *q, orig.quantity));
                    prop_assert!(line.figures.amount <= orig.figures.amount, "a line never pays back more than it cost");
                }
                prop_assert!(refund.totals.total <= sale.totals.total, "never more than the sale");
                prop_assert!(refund.totals.tax_total <= sale.totals.tax_total);
                prop_assert!(refund.totals.discount_total <= sale.totals.discount_total);
                let counted: i64 = refund.tenders.iter().map(Tender::counted).sum();
                prop_assert_eq!(counted, refund.totals.total, "tenders count exactly the refund");
                Ok(())
            })?;
        }
    }
}

#[test]
fn a_ticket_shows_the_server_number_once_the_back_office_applied_it() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let first = tickets::commit(
        &mut conn,
        &cart_of(&[(&ps[0], 1)]),
        &cash(1_000_000),
        None,
        None,
        &NOW,
    )
    .expect("commits");
    let second = tickets::commit(
        &mut conn,
        &cart_of(&[(&ps[1], 1)]),
        &cash(1_000_000),
        None,
        None,
        &NOW,
    )
    .expect("commits");
    let summary = tickets::summary(&conn, first.id)
        .expect("reads")
        .expect("present");
    assert_eq!(
        summary.server_number, None,
        "not pushed yet: no server number"
    );

    // What the sync engine records when the server applies the sale.
    till_core::sync::push::record_ticket(&conn, first.id, 77, Some(4_321), 1, NOW.0)
        .expect("records");
    let list = tickets::list(&conn, 10, None).expect("lists");
    let numbers: Vec<(u64, Option<u64>)> =
        list.iter().map(|t| (t.number, t.server_number)).collect();
    assert_eq!(
        numbers,
        vec![(second.number, None), (first.number, Some(4_321))],
        "the list joins each ticket to its server identity, and only its own"
    );
    let summary = tickets::summary(&conn, first.id)
        .expect("reads")
        .expect("present");
    assert_eq!(summary.server_number, Some(4_321), "the detail read agrees");
    assert_eq!(summary.id, first.id);
    assert_eq!(
        tickets::summary(&conn, Uuid::now_v7()).expect("reads"),
        None,
        "an unknown ticket has no summary"
    );
}
