//! The journal's hash chain holds over normal use and names the first broken link when a
//! ticket is edited, deleted or reordered behind the till's back.

mod common;

use common::{cart_of, open, products, NOW};
use rusqlite::Connection;
use till_core::journal::{self, BreakKind};
use till_core::{tickets, TenderInput};

fn ring_up(conn: &mut Connection, n: usize) {
    let ps = products(conn);
    for i in 0..n {
        tickets::commit(
            conn,
            &cart_of(&[(&ps[i], 1), (&ps[i + 10], 2)]),
            &[TenderInput::Cash {
                tendered: 1_000_000,
            }],
            None,
            None,
            &NOW,
        )
        .expect("commits");
    }
}

fn first_break(conn: &mut Connection) -> (u64, BreakKind) {
    let v = journal::verify(conn).expect("verifies");
    let b = v.broken.expect("the tampering must be detected");
    (b.ticket_number, b.kind)
}

#[test]
fn the_chain_holds_over_sales_voids_and_refunds() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 6);
    let t2 = tickets::load_by_number(&conn, 2)
        .expect("loads")
        .expect("exists");
    tickets::void(&mut conn, t2.id, None, None, &NOW).expect("voids");
    let v = journal::verify(&mut conn).expect("verifies");
    assert!(v.holds(), "{:?}", v.broken);
    assert_eq!(v.verified, 7);
}

#[test]
fn an_edited_line_is_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    conn.execute(
        "UPDATE ticket_lines SET quantity = quantity + 1
         WHERE ticket_id = (SELECT id FROM tickets WHERE number = 3)",
        [],
    )
    .expect("tampers");
    assert_eq!(first_break(&mut conn), (3, BreakKind::Edited));
}

#[test]
fn an_edited_total_or_tender_is_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    conn.execute("UPDATE tickets SET total = total - 1 WHERE number = 4", [])
        .expect("tampers");
    assert_eq!(first_break(&mut conn), (4, BreakKind::Edited));
    conn.execute("UPDATE tickets SET total = total + 1 WHERE number = 4", [])
        .expect("restores");
    assert!(journal::verify(&mut conn).expect("verifies").holds());
    conn.execute(
        "UPDATE tenders SET change = change + 100
         WHERE ticket_id = (SELECT id FROM tickets WHERE number = 2)",
        [],
    )
    .expect("tampers");
    assert_eq!(first_break(&mut conn), (2, BreakKind::Edited));
}

fn delete_ticket(conn: &Connection, number: u64) {
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         DELETE FROM ticket_lines WHERE ticket_id = (SELECT id FROM tickets WHERE number = {number});
         DELETE FROM ticket_taxes WHERE ticket_id = (SELECT id FROM tickets WHERE number = {number});
         DELETE FROM tenders WHERE ticket_id = (SELECT id FROM tickets WHERE number = {number});
         DELETE FROM journal WHERE ticket_number = {number};
         DELETE FROM tickets WHERE number = {number};
         PRAGMA foreign_keys = ON;"
    ))
    .expect("deletes");
}

#[test]
fn a_deleted_ticket_is_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    delete_ticket(&conn, 3);
    assert_eq!(first_break(&mut conn), (3, BreakKind::Missing));
}

#[test]
fn a_deleted_last_ticket_is_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    delete_ticket(&conn, 5);
    assert_eq!(first_break(&mut conn), (5, BreakKind::Missing));
}

#[test]
fn a_ticket_deleted_but_journaled_is_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 4);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DELETE FROM ticket_lines WHERE ticket_id = (SELECT id FROM tickets WHERE number = 2);
         DELETE FROM tickets WHERE number = 2;
         PRAGMA foreign_keys = ON;",
    )
    .expect("deletes");
    assert_eq!(first_break(&mut conn), (2, BreakKind::Missing));
}

#[test]
fn swapped_ticket_numbers_are_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    conn.execute_batch(
        "UPDATE tickets SET number = 1000 WHERE number = 2;
         UPDATE tickets SET number = 2 WHERE number = 3;
         UPDATE tickets SET number = 3 WHERE number = 1000;",
    )
    .expect("reorders");
    assert_eq!(first_break(&mut conn), (2, BreakKind::Reordered));
}

#[test]
fn swapped_journal_entries_are_named() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 5);
    // Swap everything about tickets 3 and 4 consistently: numbers and journal positions.
    conn.execute_batch(
        "UPDATE tickets SET number = 1000 WHERE number = 3;
         UPDATE tickets SET number = 3 WHERE number = 4;
         UPDATE tickets SET number = 4 WHERE number = 1000;
         UPDATE journal SET position = 1000, ticket_number = 1000 WHERE position = 3;
         UPDATE journal SET position = 3, ticket_number = 3 WHERE position = 4;
         UPDATE journal SET position = 4, ticket_number = 4 WHERE position = 1000;",
    )
    .expect("reorders");
    assert_eq!(first_break(&mut conn), (3, BreakKind::Reordered));
}

/// Puts the store back to the schema of a Till from before receipts (version 12): no print
/// queue, store settings without an address or a tax id, sync cycles without their costs and
/// customers without tags or points.
fn as_before_printing(conn: &Connection) {
    conn.execute_batch(
        "DROP TABLE print_jobs;
         ALTER TABLE customers DROP COLUMN tags;
         ALTER TABLE customers DROP COLUMN loyalty_points;
         ALTER TABLE sync_cycles DROP COLUMN bytes_sent;
         ALTER TABLE sync_cycles DROP COLUMN bytes_received;
         ALTER TABLE sync_cycles DROP COLUMN requests;
         ALTER TABLE sync_cycles DROP COLUMN latency_p50_ms;
         ALTER TABLE sync_cycles DROP COLUMN latency_p99_ms;
         ALTER TABLE sync_cycles DROP COLUMN verify;
         ALTER TABLE store_settings DROP COLUMN address;
         ALTER TABLE store_settings DROP COLUMN tax_id;
         PRAGMA user_version = 12;",
    )
    .expect("rewinds the schema");
}

/// Puts the store back to the schema before the journal kept events (the journal as 0001 made
/// it, no shift tables, no push chain), as a till that predates shifts has it.
fn as_before_shifts(conn: &Connection) {
    as_before_printing(conn);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE journal_old (
             position      INTEGER PRIMARY KEY,
             ticket_id     TEXT NOT NULL UNIQUE REFERENCES tickets (id),
             ticket_number INTEGER NOT NULL,
             prev_hash     TEXT NOT NULL,
             hash          TEXT NOT NULL
         ) STRICT;
         INSERT INTO journal_old SELECT position, ticket_id, ticket_number, prev_hash, hash
         FROM journal;
         DROP TABLE journal;
         ALTER TABLE journal_old RENAME TO journal;
         DROP TABLE push_chain;
         DELETE FROM meta WHERE key = 'push_chain_base';
         DROP TABLE current_sale;
         DROP TABLE parked_sales;
         DROP TABLE cash_movements;
         DROP TABLE shifts;
         DELETE FROM counters WHERE name = 'z_number';
         PRAGMA user_version = 8;
         PRAGMA foreign_keys = ON;",
    )
    .expect("rewinds the schema");
}

fn entries(conn: &Connection) -> Vec<(i64, String, String)> {
    let mut stmt = conn
        .prepare("SELECT position, prev_hash, hash FROM journal ORDER BY position")
        .expect("prepares");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads")
}

#[test]
fn a_journal_made_before_events_verifies_byte_for_byte_after_the_migration() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 4);
    let t2 = tickets::load_by_number(&conn, 2)
        .expect("loads")
        .expect("exists");
    tickets::void(&mut conn, t2.id, None, None, &NOW).expect("voids");
    let before = entries(&conn);
    as_before_shifts(&conn);
    till_core::migrations::migrate(&mut conn).expect("migrates");
    assert_eq!(
        entries(&conn),
        before,
        "every entry keeps its position and hashes"
    );
    let v = journal::verify(&mut conn).expect("verifies");
    assert!(v.holds(), "{:?}", v.broken);
    assert_eq!((v.verified, v.tickets, v.events), (5, 5, 0));
    ring_up(&mut conn, 1);
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

/// Puts the store back to the schema of a Till from before operators and shifts (version 7):
/// tickets without operator columns, lines without the line a refund returns.
fn as_before_operators(conn: &Connection) {
    as_before_shifts(conn);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE tickets_7 AS SELECT id, number, kind, reverses, created_at_ms, hlc_wall_ms,
             hlc_counter, hlc_node, currency_code, currency_exponent, prices_include_tax,
             customer_id, ticket_discount, subtotal, discount_total, tax_total, total,
             journal_hash
         FROM tickets;
         DROP TABLE tickets;
         ALTER TABLE tickets_7 RENAME TO tickets;
         ALTER TABLE ticket_lines DROP COLUMN returns_line;
         ALTER TABLE outbox_actions DROP COLUMN approval;
         PRAGMA user_version = 7;
         PRAGMA foreign_keys = ON;",
    )
    .expect("rewinds the schema");
}

#[test]
fn a_damaged_store_written_by_an_older_till_is_salvaged_from_its_rows() {
    let (dir, _store, mut conn) = open();
    ring_up(&mut conn, 3);
    // Every sale reached the back office long ago: the queue no longer carries them, so only
    // their rows can bring them back.
    conn.execute_batch("DELETE FROM outbox_payload")
        .expect("empties the queue's payloads");
    as_before_operators(&conn);
    drop(conn);
    let clock = till_core::clock::FixedClock(10);
    let fresh = till_core::recover::set_aside(dir.path(), "a test", &clock).expect("sets aside");
    let report = till_core::recover::recover(&fresh, None, &clock).expect("salvages");
    assert_eq!(report.tickets, 3, "{report:?}");
    assert!(report.unreadable_tickets.is_empty(), "{report:?}");
    let mut conn = fresh.connect().expect("connects");
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn a_till_upgraded_with_sales_queued_begins_its_push_chain_at_the_next_mutation() {
    let (_dir, _store, mut conn) = open();
    ring_up(&mut conn, 2);
    as_before_printing(&conn);
    // As a till before the push chain: no table, payloads without links.
    conn.execute_batch(
        "DROP TABLE push_chain;
         DELETE FROM meta WHERE key = 'push_chain_base';
         UPDATE outbox_payload SET payload = CAST(json_remove(payload, '$.link') AS BLOB);
         PRAGMA user_version = 11;",
    )
    .expect("rewinds the schema");
    till_core::migrations::migrate(&mut conn).expect("migrates");
    let queued: Vec<u8> = conn
        .query_row(
            "SELECT payload FROM outbox_payload WHERE seq = 1",
            [],
            |r| r.get(0),
        )
        .expect("still queued");
    assert!(
        !String::from_utf8_lossy(&queued).contains("\"link\""),
        "a queued payload is never rewritten"
    );
    ring_up(&mut conn, 1);
    let chain = till_core::push_chain::verify(&mut conn).expect("verifies");
    assert!(chain.holds(), "{chain:?}");
    assert_eq!(chain.checked, 1, "the chain begins after the queue");
    assert_eq!(chain.head.map(|h| h.seq), Some(3));
    assert_eq!(
        till_core::push_chain::head(&conn)
            .expect("reads")
            .map(|h| h.seq),
        Some(3),
        "the head a push names"
    );
}
