//! Shared set-up for the core's integration tests: a store in a temp dir, never the user's.

#![allow(dead_code)]

use rusqlite::Connection;
use till_core::clock::FixedClock;
use till_core::{catalog, Cart, CartLine, Store};
use till_protocol::Product;

pub const NOW: FixedClock = FixedClock(1_763_000_000_000);

pub fn open() -> (tempfile::TempDir, Store, Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("a fresh store opens");
    let conn = store.connect().expect("connects");
    (dir, store, conn)
}

pub fn products(conn: &Connection) -> Vec<Product> {
    catalog::active_products(conn).expect("lists products")
}

pub fn cart_of(items: &[(&Product, i64)]) -> Cart {
    Cart {
        lines: items
            .iter()
            .map(|(p, q)| CartLine {
                product_id: p.id,
                quantity: *q,
                discount: None,
                unit_price: None,
            })
            .collect(),
        ticket_discount: None,
        customer_id: None,
    }
}

/// Row counts of every table a commit writes, to prove a refused input changed nothing.
pub fn footprint(conn: &Connection) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "tickets",
        "ticket_lines",
        "ticket_taxes",
        "tenders",
        "journal",
        "outbox",
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("counts");
        out.push((table.to_string(), n.to_string()));
    }
    let counters: i64 = conn
        .query_row("SELECT sum(value) FROM counters", [], |r| r.get(0))
        .expect("sums");
    out.push(("counters".into(), counters.to_string()));
    let hlc: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'hlc_last'", [], |r| {
            r.get(0)
        })
        .ok();
    out.push(("hlc".into(), hlc.unwrap_or_default()));
    out
}
