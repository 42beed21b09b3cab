//! What sync could not settle, for the manager: conflicts (both sides, the fields that differ,
//! a resolution) and failed items (retry or discard, each recorded with who did it).

use tauri::State;
use till_core::clock::SystemClock;
use till_core::config;
use till_core::sync::conflicts;
use till_core::sync::conflicts::review::{self, ConflictDetail, ConflictSummary};
use till_core::sync::failed;
use till_core::tickets;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{ConflictResolution, FailedItem};
use crate::terminal::{AppState, DEFAULT_OPERATOR, OPERATOR};

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
    terminal
        .db(move |c| conflicts::resolve(c, id, &resolution, &resolved_by, &SystemClock))
        .await?;
    terminal.local_write();
    Ok(())
}

#[tauri::command]
pub async fn failed_list(state: State<'_, AppState>) -> CmdResult<Vec<FailedItem>> {
    state
        .terminal()?
        .db(|c| {
            let items = failed::list(c, MAX_FAILED)?;
            Ok::<_, AppError>(
                items
                    .into_iter()
                    .map(|f| {
                        let ticket = if f.kind.starts_with("ticket") {
                            tickets::load(c, f.entity_id).ok().flatten()
                        } else {
                            None
                        };
                        FailedItem {
                            seq: f.seq,
                            mutation_id: f.mutation_id,
                            kind: f.kind,
                            ticket_id: ticket.as_ref().map(|t| t.id),
                            ticket_number: ticket.as_ref().map(|t| t.number),
                            code: f.code,
                            reason: f.reason,
                            failed_at_ms: f.failed_at_ms,
                            attempts: f.attempts,
                        }
                    })
                    .collect(),
            )
        })
        .await
}

/// The operator named in the settings: who retried or discarded an item.
fn operator(c: &rusqlite::Connection) -> till_core::Result<String> {
    Ok(config::get(c, &OPERATOR)?.unwrap_or_else(|| DEFAULT_OPERATOR.to_owned()))
}

/// Queues a failed item again (as a new mutation); recorded with the operator's name.
#[tauri::command]
pub async fn failed_retry(state: State<'_, AppState>, seq: Input<u64>) -> CmdResult<()> {
    let seq = seq.into_inner();
    let terminal = state.terminal()?;
    terminal
        .db(move |c| {
            let actor = operator(c)?;
            failed::retry(c, seq, &actor, &SystemClock)
        })
        .await?;
    terminal.local_write();
    Ok(())
}

/// Drops a failed item for good; the reason and the operator are recorded.
#[tauri::command]
pub async fn failed_discard(
    state: State<'_, AppState>,
    seq: Input<u64>,
    reason: Input<String>,
) -> CmdResult<()> {
    let seq = seq.into_inner();
    let reason = reason.into_inner();
    let terminal = state.terminal()?;
    terminal
        .db(move |c| {
            let actor = operator(c)?;
            failed::discard(c, seq, &reason, &actor, &SystemClock)
        })
        .await?;
    terminal.local_write();
    Ok(())
}
