//! What a sale queues for the printer, in its own commit: a cash sale the drawer kick and, with
//! printing after payment on, its receipt; a sale that fails or a till without a printer nothing.

mod common;

use common::{cart_of, open, products, NOW};
use rusqlite::Connection;
use till_core::printer::{self, Target};
use till_core::{tickets, TenderInput};

/// The kinds of the jobs waiting, in order.
fn queued(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT kind FROM print_jobs WHERE printed_at_ms IS NULL ORDER BY id")
        .expect("prepares");
    stmt.query_map([], |r| r.get(0))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads")
}

fn sell(conn: &mut Connection, tender: TenderInput) {
    let ps = products(conn);
    tickets::commit(conn, &cart_of(&[(&ps[0], 1)]), &[tender], None, None, &NOW).expect("commits");
}

fn cash() -> TenderInput {
    TenderInput::Cash {
        tendered: 1_000_000,
    }
}

#[test]
fn a_till_without_a_printer_queues_nothing() {
    let (_dir, _store, mut conn) = open();
    assert_eq!(
        printer::settings(&conn).expect("reads").target,
        Target::None
    );
    sell(&mut conn, cash());
    assert!(
        queued(&conn).is_empty(),
        "nothing waits for a printer that is not there"
    );
}

#[test]
fn a_cash_sale_queues_the_drawer_kick_then_its_receipt_in_its_commit() {
    let (_dir, _store, mut conn) = open();
    printer::set_target(&conn, "tcp://127.0.0.1:9").expect("sets");
    sell(&mut conn, cash());
    assert_eq!(
        queued(&conn),
        ["drawer_kick"],
        "the drawer opens; no receipt unless asked"
    );
    printer::set_auto(&conn, true).expect("sets");
    sell(&mut conn, cash());
    assert_eq!(queued(&conn), ["drawer_kick", "drawer_kick", "receipt"]);
    let status = printer::status(&conn).expect("reads");
    assert_eq!(status.queued, 1, "a drawer kick is not a receipt waiting");
}

#[test]
fn a_failed_sale_queues_nothing() {
    let (_dir, _store, mut conn) = open();
    printer::set_target(&conn, "tcp://127.0.0.1:9").expect("sets");
    printer::set_auto(&conn, true).expect("sets");
    let ps = products(&conn);
    let short = tickets::commit(
        &mut conn,
        &cart_of(&[(&ps[0], 1)]),
        &[TenderInput::Cash { tendered: 1 }],
        None,
        None,
        &NOW,
    );
    assert!(short.is_err(), "a short tender is refused");
    assert!(
        queued(&conn).is_empty(),
        "a sale that did not commit prints nothing"
    );
}

#[test]
fn a_receipt_printed_again_is_a_copy_even_when_asked_for_the_original() {
    let (_dir, _store, mut conn) = open();
    printer::set_target(&conn, "tcp://127.0.0.1:9").expect("sets");
    sell(&mut conn, cash());
    printer::queue_reprint(&conn, "1", false, 0).expect("queues");
    assert_eq!(
        queued(&conn),
        ["drawer_kick", "receipt"],
        "the first is the original"
    );
    printer::queue_reprint(&conn, "1", false, 0).expect("queues");
    assert_eq!(
        queued(&conn),
        ["drawer_kick", "receipt", "copy"],
        "one original per ticket: the second says COPY"
    );
}
