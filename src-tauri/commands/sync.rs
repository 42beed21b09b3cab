//! The sync engine seen from the UI: its status snapshot, Sync now, pause and resume, history.

use tauri::State;
use till_core::approvals::{self, Needed};
use till_core::clock::SystemClock;
use till_core::queue_export::{self, ExportBy};
use till_core::sync::history;
use till_core::{settings, ErrorCode};

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{ActivityLine, ExportedQueue, StoreDamage, SyncNowAnswer, SyncStatus};
use crate::terminal::{self, AppState};

/// Most history entries one call returns.
const MAX_HISTORY: u32 = 500;

fn not_enrolled() -> AppError {
    AppError::new(
        ErrorCode::NotEnrolled,
        "this till is not enrolled with a back office yet; enrol it in Settings",
    )
}

/// The current snapshot. The UI reads it once at start-up; afterwards `sync://state` events
/// carry every change.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    terminal::note_ui_ready();
    state.terminal()?.status().await
}

/// The notice of a damaged store this one replaced (set aside untouched, its sales salvaged or
/// being salvaged), or `null`. The UI reads it at start-up; afterwards `store://damaged` carries
/// every change.
#[tauri::command]
pub async fn store_damage(state: State<'_, AppState>) -> CmdResult<Option<StoreDamage>> {
    state.terminal()?.store_damage().await
}

/// Asks for a sync cycle; answers at once (the cycle's progress and result come as events).
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CmdResult<SyncNowAnswer> {
    let Some(engine) = state.terminal()?.engine() else {
        return Ok(SyncNowAnswer {
            accepted: false,
            reason: Some(not_enrolled().message),
        });
    };
    let answer = engine.sync_now().await;
    Ok(SyncNowAnswer {
        accepted: answer.accepted,
        reason: answer.reason,
    })
}

#[tauri::command]
pub async fn sync_pause(state: State<'_, AppState>) -> CmdResult<()> {
    state.terminal()?.engine().ok_or_else(not_enrolled)?.pause();
    Ok(())
}

#[tauri::command]
pub async fn sync_resume(state: State<'_, AppState>) -> CmdResult<()> {
    state
        .terminal()?
        .engine()
        .ok_or_else(not_enrolled)?
        .resume();
    Ok(())
}

/// Recent sync activity, newest first: a cycle per line, runs of idle cycles (and of one
/// failure repeating) folded into one.
#[tauri::command]
pub async fn sync_history(
    state: State<'_, AppState>,
    limit: Input<u32>,
) -> CmdResult<Vec<ActivityLine>> {
    let limit = limit.into_inner();
    if limit == 0 || limit > MAX_HISTORY {
        return Err(AppError::invalid_input(format!(
            "limit must be between 1 and {MAX_HISTORY}"
        )));
    }
    state
        .terminal()?
        .db(move |c| history::activity(c, limit))
        .await
}

/// Writes every unsent mutation to a signed file in the user's Documents folder (or the data
/// dir's `exports` folder), for `till-server import-queue` when sync cannot reach the back
/// office; a manager's `approve_pin` on a till with employees. Needs no network.
#[tauri::command]
pub async fn export_unsent(
    state: State<'_, AppState>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<ExportedQueue> {
    let approve_pin = approve_pin.into_inner();
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let data_dir = terminal.store().data_dir().to_path_buf();
    terminal
        .db(move |c| -> CmdResult<ExportedQueue> {
            let actor = settings::operator(c)?;
            let approval = approvals::obtain(
                c,
                Some(&Needed::export_queue()),
                approve_pin.as_deref(),
                &SystemClock,
            )?;
            let folder = queue_export::app_folder(&data_dir)?;
            let by = ExportBy {
                actor: &actor,
                operator: operator.as_ref(),
                approval,
            };
            Ok(queue_export::export_into(
                c,
                &data_dir,
                &folder,
                by,
                &SystemClock,
            )?)
        })
        .await
}
