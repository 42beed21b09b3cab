//! What sync could not settle, for the manager: conflicts (both sides, the fields that differ,
//! a resolution) and failed items (retry or discard, each recorded with who did it).

use tauri::State;
use till_core::approvals::{self, Needed};
use till_core::clock::SystemClock;
use till_core::settings;
use till_core::sync::conflicts::{self, review};
use till_core::sync::failed;

use crate::commands::register::because;
use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{ConflictDetail, ConflictResolution, ConflictSummary, ReviewItem};
use crate::terminal::AppState;

/// Most failed items one list returns.
const MAX_FAILED: u32 = 1000;

fn parse_conflict_id(id: &str) -> CmdResult<i64> {
    id.trim()
        .parse()
        .map_err(|_| AppError::invalid_input(format!("{id:?} is not a conflict id")))
}

/// Open conflicts, oldest first.
#[tauri::command]
pub async fn conflicts_list(state: State<'_, AppState>) -> CmdResult<Vec<ConflictSummary>> {
    state.terminal()?.db(|c| review::summaries(c)).await
}

#[tauri::command]
pub async fn conflict_detail(
    state: State<'_, AppState>,
    id: Input<String>,
) -> CmdResult<ConflictDetail> {
    let id = parse_conflict_id(&id.into_inner())?;
    state.terminal()?.db(move |c| review::detail(c, id)).await
}

/// Settles a conflict as the manager chose; the result is queued for the back office.
#[tauri::command]
pub async fn conflict_resolve(
    state: State<'_, AppState>,
    id: Input<String>,
    resolution: Input<ConflictResolution>,
    resolved_by: Input<String>,
) -> CmdResult<()> {
    let id = parse_conflict_id(&id.into_inner())?;
    let resolution = resolution.into_inner().into();
    let resolved_by = resolved_by.into_inner();
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    terminal
        .db(move |c| {
            conflicts::resolve(
                c,
                id,
                &resolution,
                &resolved_by,
                operator.as_ref(),
                &SystemClock,
            )
        })
        .await?;
    terminal.local_write();
    Ok(())
}

#[tauri::command]
pub async fn failed_list(state: State<'_, AppState>) -> CmdResult<Vec<ReviewItem>> {
    state
        .terminal()?
        .db(|c| failed::review_list(c, MAX_FAILED))
        .await
}

/// Queues a failed item again (as a new mutation); recorded with the operator's name.
#[tauri::command]
pub async fn failed_retry(state: State<'_, AppState>, seq: Input<u64>) -> CmdResult<()> {
    let seq = seq.into_inner();
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    terminal
        .db(move |c| {
            let actor = settings::operator(c)?;
            failed::retry(c, seq, &actor, operator.as_ref(), &SystemClock)
        })
        .await?;
    terminal.local_write();
    Ok(())
}

/// Drops a failed item for good, with a manager's `approve_pin`; the reason, the operator and
/// the approval are recorded.
#[tauri::command]
pub async fn failed_discard(
    state: State<'_, AppState>,
    seq: Input<u64>,
    reason: Input<String>,
    approve_pin: Input<Option<String>>,
) -> CmdResult<()> {
    let seq = seq.into_inner();
    let (reason, approve_pin) = (reason.into_inner(), approve_pin.into_inner());
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    terminal
        .db(move |c| -> CmdResult<()> {
            let actor = settings::operator(c)?;
            let needed = because(Needed::discard(seq), &reason);
            let approval =
                approvals::obtain(c, Some(&needed), approve_pin.as_deref(), &SystemClock)?;
            failed::discard(
                c,
                seq,
                &reason,
                &actor,
                operator.as_ref(),
                approval,
                &SystemClock,
            )?;
            Ok(())
        })
        .await?;
    terminal.local_write();
    Ok(())
}
