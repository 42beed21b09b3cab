//! The sync engine seen from the UI: its status snapshot, Sync now, pause and resume, history.

use tauri::State;
use till_core::status;

use crate::error::CmdResult;
use crate::ipc::{EngineState, SyncStatus};
use crate::terminal::{self, AppState};

/// The status of a terminal whose engine is not running (not enrolled yet): its counts come
/// straight from the store.
fn idle_status(s: status::Status) -> SyncStatus {
    SyncStatus {
        state: EngineState::NotEnrolled,
        online: false,
        pending: s.pending,
        failed: s.failed,
        conflicts: s.conflicts,
        progress: None,
        throughput_per_s: None,
        eta_secs: None,
        last_success_at_ms: s.last_sync_at,
        next_retry_at_ms: None,
        last_error: None,
        clock_offset_ms: None,
        completed_cycles: 0,
    }
}

/// The current snapshot. The UI reads it once at start-up; afterwards `sync://state` events
/// carry every change.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    terminal::note_ui_ready();
    let t = state.terminal()?;
    t.db(|c| status::read(c)).await.map(idle_status)
}
