//! The one place core events become Tauri events. The sync engine publishes immutable status
//! snapshots through its [`StatusSink`] (already throttled to at most ~20 a second, the last
//! one always delivered); this sink turns each into the UI's events:
//!
//! - `sync://state`: the whole snapshot, every time;
//! - `sync://progress`: the batch progress, while a backlog drains;
//! - `catalog://updated`: after a cycle that pulled changes, so the register reloads;
//! - `ticket://synced`: one per ticket the server accepted, for batches of at most
//!   [`MAX_TICKET_EVENTS`] tickets. A larger batch is a backlog draining: the UI reloads its
//!   ticket list from the counts in `sync://state` instead, so no flood of events reaches it.

use tauri::{AppHandle, Emitter, Runtime};
use till_core::sync::history::SyncCycle;
use till_core::sync::state::SyncState;
use till_core::sync::{StatusSink, SyncStatus};

use crate::error::AppError;
use crate::ipc;

pub const SYNC_STATE: &str = "sync://state";
pub const SYNC_PROGRESS: &str = "sync://progress";
pub const TICKET_SYNCED: &str = "ticket://synced";
pub const CATALOG_UPDATED: &str = "catalog://updated";

/// Most `ticket://synced` events sent for one pushed batch.
pub const MAX_TICKET_EVENTS: usize = 50;

impl From<&SyncStatus> for ipc::SyncStatus {
    fn from(s: &SyncStatus) -> Self {
        ipc::SyncStatus {
            state: match s.state {
                SyncState::NotEnrolled => ipc::EngineState::NotEnrolled,
                SyncState::Idle => ipc::EngineState::Idle,
                SyncState::Syncing => ipc::EngineState::Syncing,
                SyncState::BackingOff { .. } => ipc::EngineState::BackingOff,
                SyncState::Offline => ipc::EngineState::Offline,
                SyncState::AuthError => ipc::EngineState::AuthError,
                SyncState::Paused => ipc::EngineState::Paused,
                SyncState::Stopped => ipc::EngineState::Stopped,
            },
            online: s.online,
            pending: s.pending,
            failed: s.failed,
            conflicts: s.conflicts,
            progress: s.progress.map(|p| ipc::SyncProgress {
                done: p.done,
                total: p.total,
            }),
            throughput_per_s: s.throughput_per_s,
            eta_secs: s.eta_secs,
            last_success_at_ms: s.last_success_at_ms,
            next_retry_at_ms: s.next_retry_at_ms.or(match s.state {
                SyncState::BackingOff { until_ms } => Some(until_ms),
                _ => None,
            }),
            last_error: s.last_error.as_ref().map(AppError::from),
            clock_offset_ms: s.clock_offset_ms,
            completed_cycles: s.completed_cycles,
        }
    }
}

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

impl<R: Runtime> StatusSink for EventBridge<R> {
    fn publish(&self, status: &SyncStatus) {
        let view = ipc::SyncStatus::from(status);
        if let Some(progress) = view.progress {
            self.emit(SYNC_PROGRESS, progress);
        }
        self.emit(SYNC_STATE, view);
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
    use till_core::sync::{ErrorInfo, Progress};

    #[test]
    fn backing_off_snapshot_carries_its_retry_time_and_error() {
        let core = SyncStatus {
            pending: 3,
            progress: Some(Progress { done: 1, total: 3 }),
            last_error: Some(ErrorInfo {
                code: "server_error".into(),
                message: "server error 503".into(),
            }),
            ..SyncStatus::initial(SyncState::BackingOff { until_ms: 42 })
        };
        let view = ipc::SyncStatus::from(&core);
        assert_eq!(view.state, ipc::EngineState::BackingOff);
        assert_eq!(
            view.next_retry_at_ms,
            Some(42),
            "the countdown needs the retry time"
        );
        assert_eq!(view.pending, 3);
        assert_eq!(view.progress, Some(ipc::SyncProgress { done: 1, total: 3 }));
        assert_eq!(
            view.last_error.map(|e| e.code),
            Some(till_core::ErrorCode::ServerError),
            "the UI switches on the error code"
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
            let view = ipc::SyncStatus::from(&SyncStatus::initial(state));
            let ui = serde_json::to_value(view.state).expect("serializes");
            assert_eq!(ui, state.name(), "one name per state on both sides");
        }
    }
}
