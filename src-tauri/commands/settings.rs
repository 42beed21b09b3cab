//! The terminal's settings: which back office it syncs with (enrolment, with how the back office
//! is trusted), how often, and who operates it; and a connection test that never changes
//! anything and never sends the till's token. The checks and the workflow are the core's
//! (`till_core::settings`); the shell restarts its sync engine when told to.

use tauri::State;
use till_core::settings;

use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{AppSettings, ConnectionTest, ServerTrust, SettingsInput};
use crate::terminal::AppState;

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> CmdResult<AppSettings> {
    state.terminal()?.db(|c| settings::read(c)).await
}

/// Saves the sync interval and operator. Another server address for an enrolled till is refused
/// (`enrolment_token_needed`): it takes `enrol`, with that back office's token.
#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    settings: Input<SettingsInput>,
) -> CmdResult<AppSettings> {
    let t = state.terminal()?;
    let saved = settings::save(t.store(), &settings.into_inner()).await?;
    if saved.restart_sync {
        t.restart_sync().await?;
    }
    Ok(saved.settings)
}

/// Enrols the till with a back office, trusted as `trust` says (the server checks the token),
/// and starts syncing. A new token of the same terminal keeps the queue.
#[tauri::command]
pub async fn enrol(
    state: State<'_, AppState>,
    server_url: Input<String>,
    token: Input<String>,
    trust: Input<ServerTrust>,
) -> CmdResult<AppSettings> {
    let t = state.terminal()?;
    settings::enrol(
        t.store(),
        &server_url.into_inner(),
        &token.into_inner(),
        &trust.into_inner(),
    )
    .await?;
    t.restart_sync().await?;
    t.db(|c| settings::read(c)).await
}

/// Asks the server's health endpoint, trusted as `trust` says and without the till's token:
/// reachable or not, how fast, its version and how far its clock is from this till's. Answers
/// `ok: false` with the reason rather than failing.
#[tauri::command]
pub async fn test_connection(
    server_url: Input<String>,
    trust: Input<ServerTrust>,
) -> CmdResult<ConnectionTest> {
    Ok(settings::test_connection(&server_url.into_inner(), &trust.into_inner()).await)
}
