//! What a terminal holds, at a glance: the figures `tillctl status` prints and the app shows
//! before its sync engine runs. The sync part is the engine's own snapshot type, read from the
//! store as another process finds it.

use rusqlite::Connection;
use uuid::Uuid;

use crate::sync::enrolment::{self, Enrolment};
use crate::sync::persisted;
use crate::sync::status::{Reading, Stored};
use crate::sync::{SyncError, SyncStatus};
use crate::{config, tickets};

/// A snapshot of the terminal's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub device_id: Option<Uuid>,
    /// Tickets in the store: its sales and its reversals (voids and refunds).
    pub tickets: u64,
    /// The sales among them.
    pub sales: u64,
    /// The voids and refunds among them.
    pub reversals: u64,
    /// The server this terminal syncs with; `None` until it is enrolled.
    pub enrolment: Option<Enrolment>,
    /// Whether a person paused sync.
    pub paused: bool,
    /// The last sequence the server said it applied.
    pub server_acked_seq: u64,
    /// Sync as recorded: the state the engine last recorded (`idle` until it has run), the
    /// queue's counts, the last success, error and retry time.
    pub sync: SyncStatus,
}

/// Reads the status in one snapshot.
pub fn read(conn: &mut Connection) -> Result<Status, SyncError> {
    let tx = conn.transaction()?;
    let stored = Stored::read(&tx)?;
    let state = persisted::state(&tx, stored.persisted.next_retry_at_ms)?;
    let all = tickets::count(&tx)?;
    let sales = tickets::count_sales(&tx)?;
    let status = Status {
        device_id: config::get(&tx, &config::DEVICE_ID)?,
        tickets: all,
        sales,
        reversals: all.saturating_sub(sales),
        enrolment: enrolment::get(&tx)?,
        paused: stored.persisted.paused,
        server_acked_seq: stored.persisted.server_acked_seq,
        sync: SyncStatus::from_store(state, Reading::Recorded, &stored),
    };
    tx.finish()?;
    Ok(status)
}
