//! The full check of a store: SQLite's `PRAGMA integrity_check` (every page, every index
//! against its table: an index that lost outbox rows would hide a pending sale from the sync
//! engine), the journal's hash chain (every ticket's content, line by line), and every queued
//! mutation's stored bytes (they parse, and say the sequence, id and entity of their row).
//! `quick_check`, which the store runs at open, skips the index comparison and sees none of the
//! content; this check (reading through the page seals, so a page whose bytes changed on disk
//! is named) is what says the store can be trusted. It only reads.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use till_protocol::Mutation;

use crate::error::{CoreError, Result};
use crate::journal;

/// How many problems a report names (SQLite lists up to 100).
const NAMED: usize = 5;

/// Checks the store at `db_path` on a read-only connection of its own; `database_corrupt`
/// naming the first problems when anything is wrong.
pub fn check(db_path: &Path) -> Result<()> {
    till_pages::register()?;
    let mut conn = Connection::open_with_flags_and_vfs(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        till_pages::VFS,
    )?;
    let problems = problems(&mut conn)?;
    if problems.is_empty() {
        return Ok(());
    }
    let detail = problems
        .into_iter()
        .take(NAMED)
        .collect::<Vec<_>>()
        .join("; ");
    tracing::error!(db = %db_path.display(), %detail, "the store failed its full check");
    Err(CoreError::DatabaseCorrupt {
        path: db_path.to_path_buf(),
        detail,
    })
}

/// What is wrong with the store on `conn`, first problems first; empty when it is sound. A
/// read that fails as corrupt is itself a problem.
pub fn problems(conn: &mut Connection) -> Result<Vec<String>> {
    let mut found = Vec::new();
    match sqlite_check(conn) {
        Ok(rows) => found.extend(rows.into_iter().filter(|r| r != "ok")),
        Err(e @ CoreError::DatabaseCorrupt { .. }) => found.push(e.to_string()),
        Err(other) => return Err(other),
    }
    match journal::verify(conn) {
        Ok(v) => found.extend(v.broken.map(|b| format!("journal: {b}"))),
        Err(e @ CoreError::DatabaseCorrupt { .. }) => found.push(format!("journal: {e}")),
        Err(other) => return Err(other),
    }
    match queued_mutations(conn) {
        Ok(bad) => found.extend(bad),
        Err(e @ CoreError::DatabaseCorrupt { .. }) => found.push(format!("outbox: {e}")),
        Err(other) => return Err(other),
    }
    Ok(found)
}

fn sqlite_check(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0).map(|row| in_words(&row)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// SQLite's line for a page it could not read, said the way a person can act on: a page whose
/// checksum does not match (`SQLITE_IOERR_DATA`) changed on disk.
pub(crate) fn in_words(row: &str) -> String {
    row.replace(
        "unable to get the page. error code=8202",
        "it does not match its checksum: its bytes changed on disk",
    )
}

/// The outbox rows whose stored mutation does not parse or does not match its row, read by
/// walking the table itself (not an index that may have lost rows).
fn queued_mutations(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT o.seq, o.mutation_id, o.entity_id, p.payload
         FROM outbox AS o NOT INDEXED LEFT JOIN outbox_payload AS p USING (seq)
         ORDER BY o.seq",
    )?;
    let base = crate::outbox::seq_base(conn)?;
    let mut rows = stmt.query([])?;
    let mut bad = Vec::new();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let id: String = r.get(1)?;
        let entity: String = r.get(2)?;
        let payload: Option<Vec<u8>> = r.get(3)?;
        if let Err(why) = matches_row(seq, base, &id, &entity, payload.as_deref()) {
            bad.push(format!("outbox item {seq}: {why}"));
        }
    }
    Ok(bad)
}

/// Whether `payload` is the mutation of the outbox row (`seq`, `id`, `entity`) of a till whose
/// current terminal identity numbers from `base` ([`crate::outbox::wire_seq_fits`]).
pub fn matches_row(
    seq: i64,
    base: u64,
    id: &str,
    entity: &str,
    payload: Option<&[u8]>,
) -> std::result::Result<Mutation, String> {
    let payload = payload.ok_or("its payload is missing")?;
    let m: Mutation =
        serde_json::from_slice(payload).map_err(|e| format!("its payload is unreadable: {e}"))?;
    let (_, about) = crate::outbox::describe(&m.body);
    let fits = u64::try_from(seq).is_ok_and(|seq| crate::outbox::wire_seq_fits(seq, m.seq, base));
    if !fits || m.id.to_string() != id {
        return Err(format!(
            "its payload is mutation {} at {}, not {id}",
            m.id, m.seq
        ));
    }
    if about.to_string() != entity {
        return Err(format!("its payload is about {about}, not {entity}"));
    }
    Ok(m)
}
