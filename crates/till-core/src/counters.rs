//! Gapless per-terminal sequences. A number is taken inside the write transaction that uses
//! it, so a rolled-back transaction gives it back and committed numbers have no holes; that
//! transaction commits durably, so a number the server may have seen is never handed out again
//! after a power cut.

use rusqlite::Connection;

use crate::error::{CoreError, Result};
use crate::store::wal;

/// Ticket numbers, from 1.
pub const TICKET: &str = "ticket";
/// Mutation sequence numbers (the outbox `seq`), from 1.
pub const MUTATION: &str = "mutation";

/// Takes the next number of `name`. Must run inside a write transaction that commits durably
/// (refused on the sync engine's re-learnable writes: see [`wal::ensure_durable`]).
pub fn next(conn: &Connection, name: &str) -> Result<u64> {
    wal::ensure_durable(conn)?;
    let value: i64 = conn
        .prepare_cached("UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value")?
        .query_row([name], |r| r.get(0))?;
    u64::try_from(value).map_err(|_| CoreError::Database(format!("counter {name} is negative")))
}

/// The last number of `name` handed out (0 before the first).
pub fn last(conn: &Connection, name: &str) -> Result<u64> {
    let value: i64 = conn
        .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    u64::try_from(value).map_err(|_| CoreError::Database(format!("counter {name} is negative")))
}
