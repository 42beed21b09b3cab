//! What a terminal holds, at a glance: the figures `tillctl status` prints and the app's status
//! bar starts from.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::{config, outbox, tickets};

/// A snapshot of the terminal's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub device_id: Option<Uuid>,
    /// Mutations not yet settled by the server (pending or in flight).
    pub pending: u64,
    /// Mutations the server rejected, waiting for a manager.
    pub failed: u64,
    /// Open conflicts, waiting for a person to resolve them.
    pub conflicts: u64,
    /// Tickets in the store (sales, voids and refunds).
    pub tickets: u64,
    /// The sync engine's state; `idle` until it has run.
    pub state: String,
    /// When sync last succeeded (Unix milliseconds), or null.
    pub last_sync_at: Option<i64>,
}

/// Reads the status in one snapshot.
pub fn read(conn: &mut Connection) -> Result<Status> {
    let tx = conn.transaction()?;
    let counts = outbox::counts(&tx)?;
    let status = Status {
        device_id: config::get(&tx, &config::DEVICE_ID)?,
        pending: counts.pending + counts.in_flight,
        failed: counts.failed,
        // Open conflicts, whether a push or a pull found them (a pull's have no outbox row).
        conflicts: crate::sync::conflicts::open_count(&tx)?,
        tickets: tickets::count(&tx)?,
        state: config::get(&tx, &config::SYNC_STATE)?.unwrap_or_else(|| "idle".to_string()),
        last_sync_at: config::get(&tx, &config::LAST_SYNC_AT_MS)?,
    };
    tx.finish()?;
    Ok(status)
}
