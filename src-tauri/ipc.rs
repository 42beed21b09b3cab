//! The types that cross IPC, exactly as `docs/app-api.md` states them: the core's views and
//! inputs (their TypeScript twins are generated from the core types, see `bindings.rs`), and the
//! few shapes that are the shell's own (the status events, the conflict choice as the UI sends
//! it).
//!
//! Inputs refuse unknown fields, so a UI that sends something the shell does not understand gets
//! `invalid_input` instead of a silently ignored field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use till_core::sync::conflicts::{Resolution, Side};
use ts_rs::TS;
use uuid::Uuid;

pub use crate::error::AppError;
pub use till_core::cart::Cart;
pub use till_core::register::{CommittedTicket, ProductView, QuoteView};
pub use till_core::settings::{AppSettings, ConnectionTest, SettingsInput};
pub use till_core::sync::conflicts::review::{ConflictDetail, ConflictSummary};
pub use till_core::sync::customers::CustomerView;
pub use till_core::sync::failed::ReviewItem;
pub use till_core::sync::history::SyncCycle;
pub use till_core::tender::TenderInput;
pub use till_core::tickets::view::{ListedTicket, TicketDetail};
pub use till_core::tickets::RefundLine;
#[cfg(test)]
pub use till_protocol::{CustomerFields, StoreSettings};

/// The sync engine's state, as the status bar names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    Idle,
    Syncing,
    BackingOff,
    Offline,
    AuthError,
    Paused,
    NotEnrolled,
    Stopped,
}

/// Progress of the batch in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct SyncProgress {
    pub done: u64,
    pub total: u64,
}

/// The whole sync status snapshot: the payload of `sync://state` and of `sync_status`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SyncStatus {
    pub state: EngineState,
    pub online: bool,
    pub pending: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub progress: Option<SyncProgress>,
    pub throughput_per_s: Option<f64>,
    pub eta_secs: Option<u64>,
    pub last_success_at_ms: Option<i64>,
    pub next_retry_at_ms: Option<i64>,
    pub last_error: Option<AppError>,
    pub clock_offset_ms: Option<i64>,
    pub completed_cycles: u64,
}

/// The answer to "Sync now": at once, with the reason when it cannot run.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncNowAnswer {
    pub accepted: bool,
    pub reason: Option<String>,
}

/// The payload of `ticket://synced`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketSynced {
    pub ticket_id: Uuid,
    pub server_number: u64,
}

/// How the manager settles a conflict.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConflictResolution {
    KeepMine,
    KeepTheirs,
    /// By field name; a field not named keeps the back office's value.
    Fields {
        picks: BTreeMap<String, Side>,
    },
}

impl From<ConflictResolution> for Resolution {
    fn from(r: ConflictResolution) -> Self {
        match r {
            ConflictResolution::KeepMine => Resolution::KeepMine,
            ConflictResolution::KeepTheirs => Resolution::KeepTheirs,
            ConflictResolution::Fields { picks } => Resolution::Pick(picks),
        }
    }
}
