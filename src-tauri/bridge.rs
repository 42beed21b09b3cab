//! The one place core events become Tauri events. The sync engine publishes immutable status
//! snapshots through its [`StatusSink`] (already throttled to at most ~20 a second, the last
//! one always delivered); this sink turns each into the UI's events:
//!
//! - `sync://state`: the whole snapshot, every time;
//! - `sync://progress`: the batch progress, while a backlog drains;
//! - `catalog://updated`: after a cycle that pulled changes, so the register reloads;
//! - `store://damaged`: the notice of a damaged store set aside, when it was replaced and again
//!   once its sales were salvaged (the shell's own event, not the engine's);
//! - `printer://status`: the printer's status after each attempt to print (the shell's own
//!   event, from the core's printing task);
//! - `ticket://synced`: one per ticket the server accepted, for batches of at most
//!   [`MAX_TICKET_EVENTS`] tickets. A larger batch is a backlog draining: the UI reloads its
//!   ticket list from the counts in `sync://state` instead, so no flood of events reaches it.
//!
//! The shell's close question, `app://close-requested`, is sent by `closing.rs`; its name lives
//! here with the others.

use tauri::{AppHandle, Emitter, Runtime};
use till_core::printer::PrinterStatus;
use till_core::recover::notice::StoreDamage;
use till_core::sync::history::SyncCycle;
use till_core::sync::{StatusSink, SyncStatus};

use crate::ipc;

pub const SYNC_STATE: &str = "sync://state";
pub const SYNC_PROGRESS: &str = "sync://progress";
pub const TICKET_SYNCED: &str = "ticket://synced";
pub const CATALOG_UPDATED: &str = "catalog://updated";
pub const STORE_DAMAGED: &str = "store://damaged";
pub const PRINTER_STATUS: &str = "printer://status";
pub const CLOSE_REQUESTED: &str = "app://close-requested";

/// What the shell itself tells the UI, beside the engine's snapshots.
pub trait ShellEvents: Send + Sync {
    /// A damaged store was set aside, or its sales were salvaged.
    fn store_damaged(&self, damage: &StoreDamage);
    /// The printer's status changed, or was published again after an attempt to print.
    fn printer_status(&self, status: &PrinterStatus);
}

/// Most `ticket://synced` events sent for one pushed batch.
pub const MAX_TICKET_EVENTS: usize = 50;

/// The sync engine's sink in the app.
pub struct EventBridge<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> EventBridge<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        EventBridge { app }
    }

    fn emit<S: serde::Serialize + Clone>(&self, event: &str, payload: S) {
        if let Err(e) = self.app.emit(event, payload) {
            tracing::warn!(event, error = %e, "cannot emit an event to the UI");
        }
    }
}

impl<R: Runtime> ShellEvents for EventBridge<R> {
    fn store_damaged(&self, damage: &StoreDamage) {
        self.emit(STORE_DAMAGED, damage.clone());
    }

    fn printer_status(&self, status: &PrinterStatus) {
        self.emit(PRINTER_STATUS, status.clone());
    }
}

impl<R: Runtime> StatusSink for EventBridge<R> {
    fn publish(&self, status: &SyncStatus) {
        if let Some(progress) = status.progress {
            self.emit(SYNC_PROGRESS, progress);
        }
        self.emit(SYNC_STATE, status.clone());
    }

    /// Tells the UI to reload the catalog after a cycle that pulled changes.
    fn cycle_finished(&self, cycle: &SyncCycle) {
        if cycle.pulled > 0 {
            self.emit(CATALOG_UPDATED, ());
        }
    }

    fn tickets_synced(&self, tickets: &[(uuid::Uuid, Option<u64>)]) {
        if tickets.len() > MAX_TICKET_EVENTS {
            return;
        }
        for (ticket_id, server_number) in tickets {
            if let Some(server_number) = server_number {
                self.emit(
                    TICKET_SYNCED,
                    ipc::TicketSynced {
                        ticket_id: *ticket_id,
                        server_number: *server_number,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::sync::state::SyncState;
    use till_core::sync::{ErrorInfo, Progress};
    use till_core::ErrorCode;

    #[test]
    fn backing_off_snapshot_carries_its_retry_time_and_error() {
        let core = SyncStatus {
            pending: 3,
            progress: Some(Progress { done: 1, total: 3 }),
            last_error: Some(ErrorInfo {
                code: ErrorCode::ServerError,
                message: "server error 503".into(),
            }),
            ..SyncStatus::initial(SyncState::BackingOff { until_ms: 42 })
        };
        let view = serde_json::to_value(&core).expect("serializes");
        assert_eq!(view["state"], "backing_off");
        assert_eq!(
            view["next_retry_at_ms"], 42,
            "the countdown needs the retry time"
        );
        assert_eq!(view["pending"], 3);
        assert_eq!(view["progress"], serde_json::json!({"done": 1, "total": 3}));
        assert_eq!(
            view["last_error"]["code"], "server_error",
            "the UI switches on the error code"
        );
    }

    #[test]
    fn printer_status_payload_is_what_the_status_bar_reads() {
        let status = PrinterStatus {
            target: "tcp://192.168.1.50:9100".into(),
            state: "offline",
            queued: 2,
        };
        assert_eq!(
            serde_json::to_value(&status).expect("serializes"),
            serde_json::json!({"target": "tcp://192.168.1.50:9100", "state": "offline", "queued": 2}),
            "the UI says \"Printer offline — 2 receipts waiting\" from these"
        );
    }

    #[test]
    fn every_engine_state_has_the_ui_name_the_core_gives_it() {
        for state in [
            SyncState::NotEnrolled,
            SyncState::Idle,
            SyncState::Syncing,
            SyncState::BackingOff { until_ms: 0 },
            SyncState::Offline,
            SyncState::AuthError,
            SyncState::Paused,
            SyncState::Stopped,
        ] {
            let view = serde_json::to_value(SyncStatus::initial(state)).expect("serializes");
            assert_eq!(
                view["state"],
                state.name(),
                "one name per state on both sides"
            );
        }
    }
}
