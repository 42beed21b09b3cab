//! Shifts: a till with employees sells only in an open shift; the float, its tickets and cash
//! movements make the Z report, which is an event in the journal's hash chain.

mod common;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use common::{cart_of, open, products, NOW};
use rusqlite::Connection;
use till_core::journal::{self, BreakKind};
use till_core::shifts::{self, ReconciliationState};
use till_core::{signin, tickets, ErrorCode, TenderInput};
use till_protocol::shift::CashMovementKind;
use till_protocol::{ApprovalAction, Employee, Operator, Role};
use uuid::Uuid;

fn hire(conn: &Connection, name: &str, role: Role, pin: &str) -> Operator {
    let salt = SaltString::from_b64("dGlsbHRlc3RzYWx0").expect("a salt");
    let pin_hash = Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .expect("hashes")
        .to_string();
    let e = Employee {
        id: Uuid::now_v7(),
        name: name.into(),
        role,
        pin_hash,
        disabled: false,
    };
    till_core::employees::upsert(conn, &e).expect("hires");
    Operator {
        id: e.id,
        name: name.into(),
    }
}

fn sell(conn: &mut Connection, tender: TenderInput) -> till_core::Result<till_protocol::Ticket> {
    let ps = products(conn);
    let cashier = till_core::employees::list(conn)?
        .first()
        .map(|e| e.operator());
    tickets::commit(
        conn,
        &cart_of(&[(&ps[0], 1)]),
        &[tender],
        cashier,
        None,
        &NOW,
    )
}

fn cash() -> TenderInput {
    TenderInput::Cash {
        tendered: 1_000_000,
    }
}

#[test]
fn a_till_without_employees_sells_without_a_shift() {
    let (_dir, _store, mut conn) = open();
    let sale = sell(&mut conn, cash()).expect("sells as before shifts");
    assert_eq!(sale.shift_id, None);
    assert!(shifts::show(&conn).expect("reads").is_none());
}

#[test]
fn a_shift_counts_its_tickets_and_cash_into_its_z_report_in_the_journal() {
    let (_dir, _store, mut conn) = open();
    let ana = hire(&conn, "Ana", Role::Cashier, "1111");
    hire(&conn, "Mia", Role::Manager, "9999");
    let refused = sell(&mut conn, cash()).expect_err("no shift is open");
    assert_eq!(refused.code(), ErrorCode::NoOpenShift);

    let opened = shifts::open(&mut conn, &ana, 10_000, &NOW).expect("opens");
    assert_eq!((opened.z_number, opened.float), (1, 10_000));
    let again = shifts::open(&mut conn, &ana, 0, &NOW).expect_err("one shift at a time");
    assert_eq!(again.code(), ErrorCode::ShiftAlreadyOpen);

    let by_cash = sell(&mut conn, cash()).expect("sells in the shift");
    assert_eq!(by_cash.shift_id, Some(opened.shift_id));
    let ps = products(&conn);
    let price = tickets::commit(
        &mut conn,
        &cart_of(&[(&ps[0], 1)]),
        &[cash()],
        Some(ana.clone()),
        None,
        &NOW,
    )
    .expect("sells")
    .totals
    .total;
    let by_card = sell(
        &mut conn,
        TenderInput::Card {
            amount: price,
            approval_ref: "A-1".into(),
            last4: None,
        },
    )
    .expect("sells by card");
    assert_eq!(
        journal::shift_of(&conn, by_card.id).expect("reads"),
        Some(opened.shift_id)
    );
    shifts::cash_move(
        &mut conn,
        CashMovementKind::CashIn,
        2_000,
        "change",
        &ana,
        None,
        &NOW,
    )
    .expect("cash in");
    shifts::cash_move(
        &mut conn,
        CashMovementKind::CashOut,
        500,
        "drop",
        &ana,
        None,
        &NOW,
    )
    .expect("cash out");
    let approval = signin::approve(
        &mut conn,
        Some("9999"),
        ApprovalAction::NoSale,
        shifts::NO_SALE_REASON,
        &NOW,
    )
    .expect("a manager approves");
    shifts::cash_move(
        &mut conn,
        CashMovementKind::NoSale,
        0,
        shifts::NO_SALE_REASON,
        &ana,
        Some(approval),
        &NOW,
    )
    .expect("no sale");

    let x = shifts::show(&conn).expect("reads").expect("an open shift");
    assert_eq!(x.state, "open");
    assert_eq!((x.tickets, x.cash_sales), (3, 2 * price));
    assert_eq!(x.expected_cash, 10_000 + 2 * price + 2_000 - 500);

    let z = shifts::close(&mut conn, &ana, x.expected_cash - 100, &NOW).expect("closes");
    assert_eq!(z.difference, Some(-100), "the drawer is 100 short");
    assert_eq!(z.reconciliation, ReconciliationState::Pending);
    assert_eq!(z.closed_by, Some(ana.clone()));
    let refused = sell(&mut conn, cash()).expect_err("the shift is closed");
    assert_eq!(refused.code(), ErrorCode::NoOpenShift);

    let v = journal::verify(&mut conn).expect("verifies");
    assert!(v.holds(), "{:?}", v.broken);
    assert_eq!((v.tickets, v.events, v.z_reports), (3, 5, 1));

    let next = shifts::open(&mut conn, &ana, 0, &NOW).expect("opens the next");
    assert_eq!(next.z_number, 2, "Z numbers are gapless");
    let closed = shifts::list_closed(&conn, 10).expect("lists");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].counted_cash, Some(x.expected_cash - 100));
}

#[test]
fn an_edited_z_report_breaks_the_chain_at_its_entry() {
    let (_dir, _store, mut conn) = open();
    let ana = hire(&conn, "Ana", Role::Cashier, "1111");
    shifts::open(&mut conn, &ana, 1_000, &NOW).expect("opens");
    sell(&mut conn, cash()).expect("sells");
    shifts::close(&mut conn, &ana, 5_000, &NOW).expect("closes");
    conn.execute(
        "UPDATE journal SET event = replace(event, '\"counted_cash\":5000', '\"counted_cash\":9000')
         WHERE event LIKE '%shift_closed%'",
        [],
    )
    .expect("tampers");
    let b = journal::verify(&mut conn)
        .expect("verifies")
        .broken
        .expect("the tampering must be detected");
    assert_eq!(
        (b.position, b.kind, b.event),
        (3, BreakKind::Edited, Some("shift_closed"))
    );
    assert_eq!(b.ticket_number, 2, "the number the next ticket takes");
}

#[test]
fn moving_a_ticket_to_another_shift_breaks_the_chain() {
    let (_dir, _store, mut conn) = open();
    let ana = hire(&conn, "Ana", Role::Cashier, "1111");
    shifts::open(&mut conn, &ana, 0, &NOW).expect("opens");
    sell(&mut conn, cash()).expect("sells");
    conn.execute(
        "UPDATE journal SET shift_id = NULL WHERE ticket_number = 1",
        [],
    )
    .expect("tampers");
    let b = journal::verify(&mut conn)
        .expect("verifies")
        .broken
        .expect("detected");
    assert_eq!((b.ticket_number, b.kind), (1, BreakKind::Edited));
}

#[test]
fn a_lockout_is_an_event_in_the_journal() {
    let (_dir, _store, mut conn) = open();
    hire(&conn, "Ana", Role::Cashier, "1111");
    for _ in 0..signin::WRONG_PINS_BEFORE_LOCKOUT {
        assert!(signin::sign_in(&mut conn, "0000", &NOW).is_err());
    }
    let event: String = conn
        .query_row("SELECT event FROM journal WHERE position = 1", [], |r| {
            r.get(0)
        })
        .expect("one entry");
    assert!(event.contains("pin_lockout"), "{event}");
    let v = journal::verify(&mut conn).expect("verifies");
    assert!(v.holds(), "{:?}", v.broken);
    assert_eq!(v.events, 1);
}
