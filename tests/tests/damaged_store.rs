//! A till's `till.db` is damaged on disk while it holds sales the back office already has and
//! sales it does not: the damage is caught before anything is written onto it (`status` exits 4),
//! the damaged file is set aside untouched, the till goes on selling into a fresh store, sync
//! waits, and `tillctl recover` salvages the unsynced sales, which reach the back office exactly
//! once (a second `recover` queues nothing). Two kinds of damage: the one seen in a shop (an index
//! that lost the outbox's pending rows, so the sync engine would never see those sales), bytes
//! flipped at seeded offsets of the store's index pages, and one letter of a product's tax
//! category changed in place, which no structural check sees: only the page's checksum does.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use serde_json::Value;
use till_core::store::DB_FILE;
use till_e2e::*;

const SYNCED: usize = 10;
const UNSYNCED: usize = 8;

struct Shop {
    server_dir: tempfile::TempDir,
    _server: Server,
    till: tempfile::TempDir,
    terminal_id: String,
}

/// A till whose first sales reached the back office and whose last ones did not.
async fn shop_with_unsynced_sales() -> Shop {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-damaged").await;
    let till = tempfile::tempdir().expect("temp dir");
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till.path(), &["ring-up", "--demo", &SYNCED.to_string()]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    tillctl_ok(till.path(), &["ring-up", "--demo", &UNSYNCED.to_string()]).await;
    Shop {
        server_dir,
        _server: server,
        till,
        terminal_id,
    }
}

/// Rewrites index `name` so that it lacks the outbox's pending rows, as a damaged page would,
/// leaving its definition as it was.
fn lose_pending_rows_from_index(db: &Path, name: &str) {
    let original: String = Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT sql FROM sqlite_schema WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
        })
        .expect("the index exists");
    let set_sql = |sql: &str| {
        let conn = Connection::open(db).expect("opens");
        conn.execute_batch("PRAGMA writable_schema = ON")
            .expect("writable schema");
        conn.execute(
            "UPDATE sqlite_schema SET sql = ?1 WHERE name = ?2",
            [sql, name],
        )
        .expect("rewrites the definition");
    };
    set_sql(&format!("{original} WHERE state <> 'pending'"));
    Connection::open(db)
        .and_then(|c| c.execute_batch(&format!("REINDEX {name}")))
        .expect("rebuilds the index without the pending rows");
    set_sql(&original);
}

/// Flips `count` bytes at seeded offsets inside the store's index pages.
fn flip_index_bytes(db: &Path, seed: u64, count: usize) {
    let (page_size, roots): (u64, Vec<u64>) = {
        let conn = Connection::open(db).expect("opens");
        let page_size: u64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let mut stmt = conn
            .prepare("SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND rootpage > 1")
            .expect("prepares");
        let roots = stmt
            .query_map([], |r| r.get(0))
            .expect("lists")
            .collect::<rusqlite::Result<_>>()
            .expect("reads");
        (page_size, roots)
    };
    let mut bytes = std::fs::read(db).expect("reads");
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..count {
        let page = roots[rng.gen_range(0..roots.len())];
        let offset = (page - 1) * page_size + rng.gen_range(0..page_size);
        bytes[offset as usize] ^= rng.gen_range(1..=255u8);
    }
    std::fs::write(db, bytes).expect("writes the damaged file");
}

/// Changes the case of one letter of a product's tax category where the catalog keeps it: a
/// change SQLite's own checks cannot see (the row is well formed and the column has no index)
/// and the journal does not cover.
fn change_a_tax_category(db: &Path) {
    let (page_size, leaves, name, tax): (usize, Vec<usize>, String, String) = {
        let conn = Connection::open(db).expect("opens");
        let page_size = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let mut stmt = conn
            .prepare("SELECT pageno FROM dbstat WHERE name = 'products' AND pagetype = 'leaf'")
            .expect("prepares");
        let leaves = stmt
            .query_map([], |r| r.get(0))
            .expect("lists")
            .collect::<rusqlite::Result<_>>()
            .expect("reads");
        let (name, tax) = conn
            .query_row(
                "SELECT name, tax_category FROM products ORDER BY sku LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a product");
        (page_size, leaves, name, tax)
    };
    let find = |hay: &[u8], needle: &str| {
        hay.windows(needle.len())
            .position(|w| w == needle.as_bytes())
    };
    let mut bytes = std::fs::read(db).expect("reads");
    let at = leaves
        .iter()
        .find_map(|&page| {
            let page = &bytes[(page - 1) * page_size..page * page_size];
            let row = find(page, &name)?;
            let tax_at = find(&page[row..], &tax)?;
            Some((page.as_ptr() as usize - bytes.as_ptr() as usize) + row + tax_at)
        })
        .expect("the product is on a leaf page of the catalog");
    bytes[at] ^= 0x20;
    std::fs::write(db, bytes).expect("writes the damaged file");
}

/// The files the damaged store was set aside as.
fn set_aside(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("lists the data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{DB_FILE}.damaged-"))
                    && !n.ends_with("-wal")
                    && !n.ends_with("-shm")
            })
        })
        .collect();
    found.sort();
    found
}

async fn server_tickets(shop: &Shop) -> (Value, Value) {
    let stats = stats(shop.server_dir.path()).await;
    let terminal = terminal_stats(&stats, &shop.terminal_id);
    (stats, terminal)
}

/// The damage is caught, selling goes on, and `recover` delivers every unsynced sale once.
async fn caught_set_aside_and_recovered(shop: &Shop, damaged: Vec<u8>, what: &str) {
    let dir = shop.till.path();
    let db = dir.join(DB_FILE);
    let status = run_tillctl(dir, &["status", "--json"]).await;
    assert_eq!(
        status.code,
        Some(4),
        "{what}: status reports the damage: {}",
        status.stderr
    );
    assert!(
        status.stderr.contains("(database_corrupt)"),
        "{}",
        status.stderr
    );
    assert_eq!(
        std::fs::read(&db).expect("reads"),
        damaged,
        "{what}: status writes nothing onto a damaged store"
    );

    // A fixed seed: the catalog taken over from a damaged store keeps what its pages said, so a
    // random cart could pick the product whose tax category the damage changed.
    let sold = tillctl_ok(dir, &["ring-up", "--demo", "2", "--seed", "7"]).await;
    let numbers: Vec<u64> = sold.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(
        numbers,
        [
            SYNCED as u64 + UNSYNCED as u64 + 1,
            SYNCED as u64 + UNSYNCED as u64 + 2
        ],
        "{what}: the till sells on, numbering after the damaged store's tickets"
    );
    let aside = set_aside(dir);
    assert_eq!(
        aside.len(),
        1,
        "{what}: the damaged store is set aside: {aside:?}"
    );
    assert_eq!(
        std::fs::read(&aside[0]).expect("reads"),
        damaged,
        "{what}: the damaged file is kept exactly as it was"
    );
    let st = status_json(dir).await;
    assert_eq!(
        st["store_damaged"]["file"].as_str(),
        aside[0].to_str(),
        "{what}: status names the damaged file: {st}"
    );
    assert!(st["store_damaged"]["recovered"].is_null(), "{st}");
    let early = run_tillctl(dir, &["sync", "--until-drained", "--timeout", "30"]).await;
    assert!(
        !early.ok && early.stderr.contains("tillctl recover"),
        "{what}: sync waits for the salvage: {}",
        early.stderr
    );

    let report: Value = serde_json::from_str(tillctl_ok(dir, &["recover", "--json"]).await.trim())
        .expect("recover --json prints JSON");
    assert_eq!(
        report["unreadable_tickets"],
        Value::Array(vec![]),
        "{what}: every ticket is salvaged: {report}"
    );
    assert_eq!(
        report["queued"], UNSYNCED,
        "{what}: the unsynced sales are queued: {report}"
    );
    tillctl_ok(dir, &["sync", "--until-drained", "--timeout", "60"]).await;
    let again: Value =
        serde_json::from_str(tillctl_ok(dir, &["recover", "--json"]).await.trim()).expect("JSON");
    assert_eq!(
        again["queued"], 0,
        "{what}: a second recover queues nothing: {again}"
    );
    tillctl_ok(dir, &["sync", "--until-drained", "--timeout", "60"]).await;

    let (stats, terminal) = server_tickets(shop).await;
    assert_eq!(stats["duplicates"], 0, "{what}: nothing twice: {stats}");
    assert_eq!(stats["gaps"], 0, "{what}: nothing skipped: {stats}");
    assert_eq!(
        terminal["sales"].as_u64(),
        Some((SYNCED + UNSYNCED + 2) as u64),
        "{what}: every sale, synced before or salvaged, and the new ones, is on the server once: \
         {terminal}"
    );
    let st = status_json(dir).await;
    assert_eq!(st["pending"], 0, "{st}");
    assert_eq!(st["failed"], 0, "{st}");
    assert_eq!(st["tickets"], SYNCED + UNSYNCED + 2, "{st}");
    let verify = run_tillctl(dir, &["verify-journal"]).await;
    assert!(
        verify.ok,
        "{what}: the journal chain is whole again: {}",
        verify.stderr
    );
}

async fn status_json(dir: &Path) -> Value {
    status(dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_that_lost_the_pending_sales_is_caught_and_the_sales_recovered() {
    let shop = shop_with_unsynced_sales().await;
    let db = shop.till.path().join(DB_FILE);
    lose_pending_rows_from_index(&db, "outbox_state");
    let hidden: i64 = Connection::open(&db)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
        })
        .expect("counts");
    assert_eq!(
        hidden, 0,
        "the sync engine would never see the unsynced sales"
    );
    let damaged = std::fs::read(&db).expect("reads");
    caught_set_aside_and_recovered(&shop, damaged, "an index without the pending rows").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_flipped_in_the_index_pages_are_caught_and_the_sales_recovered() {
    let seed = std::env::var("TILL_DAMAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40u64);
    let shop = shop_with_unsynced_sales().await;
    let db = shop.till.path().join(DB_FILE);
    flip_index_bytes(&db, seed, 40);
    let damaged = std::fs::read(&db).expect("reads");
    caught_set_aside_and_recovered(&shop, damaged, &format!("40 flipped bytes (seed {seed})"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_changed_in_a_tax_category_is_caught_by_its_page_checksum() {
    let shop = shop_with_unsynced_sales().await;
    let db = shop.till.path().join(DB_FILE);
    change_a_tax_category(&db);
    let quick: String = Connection::open(&db)
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
        .expect("checks");
    assert_eq!(quick, "ok", "SQLite's own check sees nothing wrong");
    let damaged = std::fs::read(&db).expect("reads");
    let status = run_tillctl(shop.till.path(), &["status"]).await;
    assert!(
        status
            .stderr
            .contains("does not match its checksum: its bytes changed on disk"),
        "the damage is named in words: {}",
        status.stderr
    );
    caught_set_aside_and_recovered(&shop, damaged, "a letter of a tax category").await;
}
