//! The store: migrations from an empty file, refusal of a newer schema, detection of a damaged
//! file (left untouched), identity, several connections, and the catalog queries.

mod common;

use std::io::{Seek, SeekFrom, Write};

use common::{cart_of, open, products, NOW};
use till_core::store::DB_FILE;
use till_core::{catalog, config, migrations, status, tickets, Store, TenderInput};
use till_protocol::CatalogSnapshot;

#[test]
fn a_fresh_data_dir_gets_the_latest_schema_and_the_demo_catalog() {
    let (dir, store, conn) = open();
    assert!(dir.path().join(DB_FILE).exists());
    assert_eq!(
        migrations::current_version(&conn).expect("reads"),
        migrations::latest_version()
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(mode, "wal", "the store runs in WAL mode");
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(sync, 2, "synchronous=FULL so a commit is durable");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("reads");
    assert_eq!(fk, 1, "foreign keys are enforced");
    let settings = catalog::settings(&conn).expect("the demo catalog is loaded");
    assert_eq!(settings.currency.code, "EUR");
    assert_eq!(settings.currency.exponent, 2);
    assert!(products(&conn).len() >= 150);
    assert_eq!(
        config::get(&conn, &config::DEVICE_ID).expect("reads"),
        Some(store.device_id())
    );
}

#[test]
fn reopening_keeps_the_device_id_and_does_not_reload_the_catalog() {
    let (dir, store, conn) = open();
    let p = products(&conn)[0].clone();
    catalog::delete_product(&conn, p.id).expect("deletes");
    drop(conn);
    let again = Store::open(dir.path()).expect("reopens");
    assert_eq!(
        again.device_id(),
        store.device_id(),
        "identity survives restarts"
    );
    let conn = again.connect().expect("connects");
    assert!(
        catalog::product(&conn, p.id).expect("reads").is_none(),
        "an existing catalog is never replaced by the demo"
    );
}

#[test]
fn a_database_from_a_newer_till_is_refused() {
    let (dir, _store, conn) = open();
    conn.pragma_update(None, "user_version", migrations::latest_version() + 1)
        .expect("bumps");
    drop(conn);
    let err = Store::open(dir.path()).expect_err("a newer schema must be refused");
    assert_eq!(err.code(), "schema_too_new", "{err}");
}

#[test]
fn a_damaged_database_is_reported_and_left_untouched() {
    let (dir, store, mut conn) = open();
    let ps = products(&conn);
    for i in 0..200 {
        let cart = cart_of(&[(&ps[i % ps.len()], 1), (&ps[(i * 7) % ps.len()], 2)]);
        tickets::commit(
            &mut conn,
            &cart,
            &[TenderInput::Cash {
                tendered: 1_000_000,
            }],
            None,
            None,
            &NOW,
        )
        .expect("commits");
    }
    drop(conn);
    drop(store);
    let path = dir.path().join(DB_FILE);
    assert!(
        !dir.path().join(format!("{DB_FILE}-wal")).exists(),
        "closing the last connection checkpoints the WAL into the file"
    );
    let len = std::fs::metadata(&path).expect("stat").len();
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("opens");
        f.seek(SeekFrom::Start(len / 2 / 4096 * 4096))
            .expect("seeks");
        f.write_all(&[0xA5; 8192]).expect("writes garbage");
        f.sync_all().expect("syncs");
    }
    let damaged = std::fs::read(&path).expect("reads");
    let err = Store::open(dir.path()).expect_err("a damaged file must be refused");
    assert_eq!(err.code(), "database_corrupt", "{err}");
    assert_eq!(
        std::fs::read(&path).expect("reads"),
        damaged,
        "a damaged database is never overwritten"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DB_FILE);
    std::fs::write(&path, vec![0x42; 16 * 1024]).expect("writes");
    let err = Store::open(dir.path()).expect_err("garbage must be refused");
    assert_eq!(err.code(), "database_corrupt", "{err}");
    assert_eq!(std::fs::read(&path).expect("reads"), vec![0x42; 16 * 1024]);
}

#[test]
fn a_second_connection_sees_commits_and_can_write_too() {
    let (_dir, store, mut a) = open();
    let mut b = store.connect().expect("a second connection");
    let ps = products(&a);
    let pay = [TenderInput::Cash {
        tendered: 1_000_000,
    }];
    let t1 =
        tickets::commit(&mut a, &cart_of(&[(&ps[0], 1)]), &pay, None, None, &NOW).expect("commits");
    let t2 =
        tickets::commit(&mut b, &cart_of(&[(&ps[1], 1)]), &pay, None, None, &NOW).expect("commits");
    assert_eq!(
        (t1.number, t2.number),
        (1, 2),
        "numbers stay gapless across connections"
    );
    let st = status::read(&mut a).expect("reads");
    assert_eq!(st.tickets, 2);
    assert_eq!(st.sync.pending, 2);
    assert_eq!(st.sync.state.name(), "idle");
    assert_eq!(st.sync.last_success_at_ms, None);
}

#[test]
fn commits_from_several_threads_stay_gapless() {
    let (_dir, store, conn) = open();
    let ps = products(&conn);
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let store = store.clone();
            let p = ps[k].clone();
            std::thread::spawn(move || {
                let mut c = store.connect().expect("connects");
                for _ in 0..10 {
                    tickets::commit(
                        &mut c,
                        &cart_of(&[(&p, 1)]),
                        &[TenderInput::Cash {
                            tendered: 1_000_000,
                        }],
                        None,
                        None,
                        &till_core::SystemClock,
                    )
                    .expect("commits");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread finishes");
    }
    let mut conn = conn;
    let numbers: Vec<i64> = conn
        .prepare("SELECT number FROM tickets ORDER BY number")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("reads");
    assert_eq!(numbers, (1..=40).collect::<Vec<_>>());
    assert!(till_core::journal::verify(&mut conn)
        .expect("verifies")
        .holds());
}

#[test]
fn the_catalog_answers_searches_barcodes_and_categories() {
    let (_dir, _store, conn) = open();
    let hits = catalog::search(&conn, "CROISSANT", None, 10).expect("searches");
    assert!(hits.len() >= 2, "search ignores case");
    assert!(hits
        .iter()
        .all(|p| p.name.to_lowercase().contains("croissant")));
    assert_eq!(
        catalog::search(&conn, "a", None, 3)
            .expect("searches")
            .len(),
        3,
        "limited"
    );
    let drinks = catalog::search(&conn, "a", Some("Hot drinks"), 200).expect("searches");
    assert!(
        !drinks.is_empty() && drinks.iter().all(|p| p.category == "Hot drinks"),
        "a search within a category finds only that category's products"
    );
    let by_sku = catalog::search(&conn, "bak-001", None, 10).expect("searches");
    assert_eq!(by_sku.len(), 1, "SKUs are searchable");
    let p = &by_sku[0];
    let barcode = p.barcode.clone().expect("has a barcode");
    assert_eq!(
        catalog::by_barcode(&conn, &barcode)
            .expect("looks up")
            .as_ref(),
        Some(p)
    );
    let cats = catalog::categories(&conn).expect("lists");
    assert!(cats.contains(&"Bakery".to_string()));
    let bakery = catalog::products_in_category(&conn, "Bakery").expect("lists");
    assert!(bakery.iter().all(|q| q.category == "Bakery" && q.active));
    assert!(
        catalog::search(&conn, "%", None, 10)
            .expect("searches")
            .is_empty(),
        "% is literal"
    );
}

#[test]
fn a_snapshot_replaces_the_whole_catalog_atomically() {
    let (_dir, _store, mut conn) = open();
    let mut snap: CatalogSnapshot = catalog::demo().expect("demo");
    snap.products.truncate(3);
    snap.settings.store_name = "Corner Shop".into();
    let tx = conn.transaction().expect("begins");
    catalog::apply_snapshot(&tx, &snap).expect("applies");
    tx.commit().expect("commits");
    assert_eq!(
        catalog::settings(&conn).expect("reads").store_name,
        "Corner Shop"
    );
    let n: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(n, 3);

    let mut dup = snap.clone();
    dup.products.push(dup.products[0].clone());
    let tx = conn.transaction().expect("begins");
    let err = catalog::apply_snapshot(&tx, &dup).expect_err("duplicate ids");
    assert_eq!(err.code(), "invalid_input");
}

#[test]
fn a_full_disk_refuses_the_sale_cleanly_and_the_till_carries_on() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let pay = [TenderInput::Cash {
        tendered: 1_000_000,
    }];
    let cart = cart_of(&[(&ps[0], 1), (&ps[1], 1), (&ps[2], 1)]);
    tickets::commit(&mut conn, &cart, &pay, None, None, &NOW).expect("commits");
    // The database may not grow by a single page: SQLite reports SQLITE_FULL, as on a full disk.
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("reads");
    let mut full = 0;
    let before = common::footprint(&conn);
    conn.pragma_update(None, "max_page_count", pages)
        .expect("caps");
    for _ in 0..200 {
        match tickets::commit(&mut conn, &cart, &pay, None, None, &NOW) {
            Ok(_) => continue,
            Err(e) => {
                assert_eq!(e.code(), "disk_full", "{e}");
                full += 1;
                break;
            }
        }
    }
    assert_eq!(full, 1, "the capped database must fill up");
    let after_fail = common::footprint(&conn);
    conn.pragma_update(None, "max_page_count", 1_073_741_823i64)
        .expect("uncaps");
    assert!(
        after_fail[0].1 >= before[0].1,
        "sales committed before the disk filled are kept"
    );
    let t = tickets::commit(&mut conn, &cart, &pay, None, None, &NOW)
        .expect("commits once space is back");
    let expected_number: u64 = after_fail[0].1.parse::<u64>().expect("count") + 1;
    assert_eq!(
        t.number, expected_number,
        "the failed sale left no gap in numbers"
    );
    assert!(till_core::journal::verify(&mut conn)
        .expect("verifies")
        .holds());
}

/// Every page of the store's file, as the disk holds it once the log is checkpointed.
fn pages_on_disk(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let page_size: usize = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    std::fs::read(dir.join(DB_FILE))
        .unwrap()
        .chunks(page_size)
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn every_page_of_a_new_store_carries_its_checksum() {
    let (dir, _store, conn) = open();
    assert_eq!(
        till_pages::reserved_bytes(&conn).unwrap(),
        till_pages::RESERVED_BYTES
    );
    drop(conn);
    let pages = pages_on_disk(dir.path());
    assert!(pages.len() > 10, "the demo catalog fills pages");
    for (n, page) in pages.iter().enumerate() {
        assert!(
            till_pages::is_sealed(page),
            "page {} has no valid checksum",
            n + 1
        );
    }
}

#[test]
fn a_store_from_before_page_checksums_gets_them_at_its_next_open_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut plain = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        plain
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        migrations::migrate(&mut plain).unwrap();
        config::set(&plain, &config::DEVICE_ID, &uuid::Uuid::nil()).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.device_id(), uuid::Uuid::nil(), "the rows are kept");
    let conn = store.connect().unwrap();
    assert_eq!(
        till_pages::reserved_bytes(&conn).unwrap(),
        till_pages::RESERVED_BYTES
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "back in WAL mode after the rewrite");
    drop(conn);
    for (n, page) in pages_on_disk(dir.path()).iter().enumerate() {
        assert!(
            till_pages::is_sealed(page),
            "page {} has no valid checksum",
            n + 1
        );
    }
}

#[test]
fn a_store_in_use_elsewhere_opens_unsealed_and_is_sealed_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let mut plain = rusqlite::Connection::open(&path).unwrap();
        plain
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        migrations::migrate(&mut plain).unwrap();
    }
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN; SELECT count(*) FROM tickets;")
        .unwrap();
    let store = Store::open(dir.path()).unwrap();
    let conn = store.connect().unwrap();
    assert_eq!(
        till_pages::reserved_bytes(&conn).unwrap(),
        0,
        "not rewritten under another reader"
    );
    drop((conn, other));
    let store = Store::open(dir.path()).unwrap();
    let conn = store.connect().unwrap();
    assert_eq!(
        till_pages::reserved_bytes(&conn).unwrap(),
        till_pages::RESERVED_BYTES
    );
}
