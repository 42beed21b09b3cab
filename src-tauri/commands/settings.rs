//! The terminal's settings: which back office it syncs with (enrolment), how often, and who
//! operates it; and a connection test that never changes anything. The checks and the workflow
//! are the core's (`till_core::settings`); the shell restarts its sync engine when told to.

use tauri::State;
use till_core::settings;

use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{AppSettings, ConnectionTest, SettingsInput};
use crate::terminal::AppState;

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> CmdResult<AppSettings> {
    state.terminal()?.db(|c| settings::read(c)).await
}

/// Saves the sync interval and operator. A new server address for an enrolled till is checked
/// with the server (same token) before it is used; a till that is not enrolled yet gets its
/// address through `enrol`, with a token.
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

/// Enrols the till with a back office (the server checks the token) and starts syncing.
#[tauri::command]
pub async fn enrol(
    state: State<'_, AppState>,
    server_url: Input<String>,
    token: Input<String>,
) -> CmdResult<AppSettings> {
    let t = state.terminal()?;
    settings::enrol(t.store(), &server_url.into_inner(), &token.into_inner()).await?;
    t.restart_sync().await?;
    t.db(|c| settings::read(c)).await
}

/// Asks the server's health endpoint: reachable or not, how fast, its version and how far its
/// clock is from this till's. Answers `ok: false` with the reason rather than failing.
#[tauri::command]
pub async fn test_connection(server_url: Input<String>) -> CmdResult<ConnectionTest> {
    Ok(settings::test_connection(&server_url.into_inner()).await)
}
