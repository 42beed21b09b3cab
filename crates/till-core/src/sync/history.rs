//! One row per sync cycle: when it started, how long it took, what it moved, what went wrong.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::error::SyncError;

/// A recorded cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncCycle {
    pub id: i64,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub errors: u64,
    pub error: Option<String>,
}

/// Records a cycle.
pub fn record(conn: &Connection, cycle: &SyncCycle) -> Result<(), SyncError> {
    conn.prepare_cached(
        "INSERT INTO sync_cycles (started_at_ms, duration_ms, pushed, pulled, conflicts, errors, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        cycle.started_at_ms,
        cycle.duration_ms,
        cycle.pushed as i64,
        cycle.pulled as i64,
        cycle.conflicts as i64,
        cycle.errors as i64,
        cycle.error
    ])?;
    Ok(())
}

/// The most recent cycles, newest first.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<SyncCycle>, SyncError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, started_at_ms, duration_ms, pushed, pulled, conflicts, errors, error
         FROM sync_cycles ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(SyncCycle {
            id: r.get(0)?,
            started_at_ms: r.get(1)?,
            duration_ms: r.get(2)?,
            pushed: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
            pulled: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            conflicts: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            errors: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
            error: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
