//! The ticket views the app and `tillctl tickets` show: each line of a sale with how much of it a
//! refund or void already returned, and where the ticket stands with the back office.

mod common;

use common::*;
use till_core::item_state::ItemSyncState;
use till_core::tickets::{self, view, RefundLine};
use till_core::TenderInput;

fn cash(tendered: i64) -> Vec<TenderInput> {
    vec![TenderInput::Cash { tendered }]
}

#[test]
fn a_refunded_line_shows_what_went_back_and_the_others_nothing() {
    let (_dir, _store, mut conn) = open();
    let p = products(&conn);
    let cart = cart_of(&[(&p[0], 2), (&p[1], 3), (&p[2], 1)]);
    let sale =
        tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("sells");
    let before = view::detail(&conn, sale.id).expect("shows");
    let none: Vec<i64> = before.lines.iter().map(|l| l.refunded_quantity).collect();
    assert_eq!(none, [0, 0, 0], "nothing returned yet");
    assert_eq!(
        before.sync_state,
        ItemSyncState::Pending,
        "queued for the office"
    );

    let lines = [RefundLine {
        line_no: 2,
        quantity: 2,
    }];
    let refund = tickets::refund(&mut conn, sale.id, &lines, None, None, &NOW).expect("refunds");
    let after = view::detail_by_number(&conn, sale.number).expect("shows");
    let returned: Vec<i64> = after.lines.iter().map(|l| l.refunded_quantity).collect();
    assert_eq!(returned, [0, 2, 0], "only line 2, and only the two units");
    assert_eq!(after.reversed_by, Some(refund.id));
    let line_nos: Vec<u32> = after.lines.iter().map(|l| l.line_no).collect();
    assert_eq!(line_nos, [1, 2, 3], "numbered as refunds name them");
}

#[test]
fn a_voided_sale_shows_every_line_returned() {
    let (_dir, _store, mut conn) = open();
    let p = products(&conn);
    let cart = cart_of(&[(&p[0], 2), (&p[1], 1)]);
    let sale =
        tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW).expect("sells");
    tickets::void(&mut conn, sale.id, None, None, &NOW).expect("voids");
    let detail = view::detail(&conn, sale.id).expect("shows");
    let returned: Vec<i64> = detail.lines.iter().map(|l| l.refunded_quantity).collect();
    assert_eq!(returned, [2, 1]);
}

#[test]
fn the_list_is_newest_first_and_bounded() {
    let (_dir, _store, mut conn) = open();
    let p = products(&conn);
    for _ in 0..3 {
        tickets::commit(
            &mut conn,
            &cart_of(&[(&p[0], 1)]),
            &cash(1_000_000),
            None,
            None,
            &NOW,
        )
        .expect("sells");
    }
    let list = view::recent(&conn, 2, false, &NOW).expect("lists");
    let numbers: Vec<u64> = list.iter().map(|t| t.number).collect();
    assert_eq!(numbers, [3, 2]);
    let today = view::recent(&conn, 10, true, &NOW).expect("lists");
    assert_eq!(today.len(), 3, "sold today, by the same clock");
    let e = view::recent(&conn, 0, false, &NOW).expect_err("a limit of 0");
    assert_eq!(e.code(), "invalid_input");
    assert_eq!(e.to_string(), "limit must be between 1 and 1000");
    assert_eq!(
        view::detail_by_number(&conn, 99).expect_err("no 99").code(),
        "ticket_not_found"
    );
}
