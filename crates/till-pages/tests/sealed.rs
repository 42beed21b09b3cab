//! The sealed VFS on real files: every page of a sealed database carries its seal, a flipped
//! byte is an error when its page is read (while a plain connection still reads the file), and
//! an existing database is sealed by a VACUUM.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use till_pages::{is_seal_error, is_sealed, reserve, reserved_bytes, VFS};

const PAGE: usize = 4096;

fn sealed_connection(path: &Path) -> Connection {
    till_pages::register().unwrap();
    Connection::open_with_flags_and_vfs(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        VFS,
    )
    .unwrap()
}

fn fill(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS sale (id INTEGER PRIMARY KEY, what TEXT, total INTEGER);
         CREATE INDEX IF NOT EXISTS sale_total ON sale (total);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..2000 {
        tx.execute(
            "INSERT INTO sale (what, total) VALUES (?1, ?2)",
            (format!("sale number {i} of the day"), i * 7),
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn pages(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .chunks(PAGE)
        .map(<[u8]>::to_vec)
        .collect()
}

fn sum_of_totals(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT sum(total) FROM sale NOT INDEXED", [], |r| r.get(0))
}

#[test]
fn every_page_of_a_new_database_is_sealed_through_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let conn = sealed_connection(&path);
    reserve(&conn).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    fill(&conn);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    assert_eq!(reserved_bytes(&conn).unwrap(), 8);
    let pages = pages(&path);
    assert!(pages.len() > 20, "a database of {} pages", pages.len());
    for (n, page) in pages.iter().enumerate() {
        assert!(is_sealed(page), "page {} is not sealed", n + 1);
    }
    assert_eq!(sum_of_totals(&conn).unwrap(), 7 * 1999 * 2000 / 2);
}

#[test]
fn a_flipped_byte_is_an_error_when_read_and_a_plain_connection_still_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    {
        let conn = sealed_connection(&path);
        reserve(&conn).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        fill(&conn);
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let last_page = bytes.len() / PAGE - 1;
    bytes[last_page * PAGE + PAGE / 2] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();

    let conn = sealed_connection(&path);
    let err = sum_of_totals(&conn).unwrap_err();
    assert!(is_seal_error(&err), "expected a seal error, got {err}");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert!(
        check.contains("error code=8202"),
        "the full check names the page: {check}"
    );

    let plain = Connection::open(&path).unwrap();
    let rows: i64 = plain
        .query_row("SELECT count(*) FROM sale WHERE id < 100", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 99, "the undamaged pages read as before");
}

#[test]
fn an_existing_database_is_read_as_it_is_and_sealed_by_a_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    {
        let plain = Connection::open(&path).unwrap();
        fill(&plain);
    }
    let conn = sealed_connection(&path);
    assert_eq!(reserved_bytes(&conn).unwrap(), 0);
    assert_eq!(sum_of_totals(&conn).unwrap(), 7 * 1999 * 2000 / 2);
    fill(&conn);
    reserve(&conn).unwrap();
    conn.execute_batch("VACUUM").unwrap();
    assert_eq!(reserved_bytes(&conn).unwrap(), 8);
    for (n, page) in pages(&path).iter().enumerate() {
        assert!(is_sealed(page), "page {} is not sealed after VACUUM", n + 1);
    }
    drop(conn);
    let again = sealed_connection(&path);
    assert_eq!(sum_of_totals(&again).unwrap(), 2 * 7 * 1999 * 2000 / 2);
}

#[test]
fn two_connections_keep_every_page_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let first = sealed_connection(&path);
    reserve(&first).unwrap();
    first
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    first.execute_batch("CREATE TABLE t (x)").unwrap();
    let second = sealed_connection(&path);
    fill(&second);
    fill(&first);
    second
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    for (n, page) in pages(&path).iter().enumerate() {
        assert!(is_sealed(page), "page {} is not sealed", n + 1);
    }
}
