//! Small typed settings of one terminal in the `meta` table: its identity, its clock, and what
//! enrolment and sync record. Each key has a fixed value type; values are stored as JSON.

use std::marker::PhantomData;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Result};

/// A config key whose value has type `T`.
pub struct Key<T> {
    name: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// Declares a key. Names are stable: they are stored in databases.
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            _value: PhantomData,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// This terminal's device id, made at first open; also the node of its HLC stamps.
pub const DEVICE_ID: Key<Uuid> = Key::new("device_id");
/// The last HLC stamp this terminal issued or received; the clock never goes below it.
pub const HLC_LAST: Key<till_protocol::Hlc> = Key::new("hlc_last");
/// The sync engine's current state name (`idle`, `syncing`, `backoff`, `offline`…), for `status`.
pub const SYNC_STATE: Key<String> = Key::new("sync_state");

/// Reads a value; `None` when it was never set. A stored value of the wrong shape is reported
/// as `database_corrupt` rather than silently replaced.
pub fn get<T: DeserializeOwned>(conn: &Connection, key: &Key<T>) -> Result<Option<T>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key.name], |r| r.get(0))
        .optional()?;
    raw.map(|s| {
        serde_json::from_str(&s).map_err(|e| CoreError::DatabaseCorrupt {
            path: Default::default(),
            detail: format!("config value {}: {e}", key.name),
        })
    })
    .transpose()
}

/// Writes a value, replacing any earlier one. Runs in the caller's transaction when given one.
pub fn set<T: Serialize>(conn: &Connection, key: &Key<T>, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| CoreError::Database(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key.name, json])?;
    Ok(())
}

/// Removes a value (e.g. when a terminal is un-enrolled).
pub fn remove<T>(conn: &Connection, key: &Key<T>) -> Result<()> {
    conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
        .execute([key.name])?;
    Ok(())
}
