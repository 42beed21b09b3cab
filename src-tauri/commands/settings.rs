//! The terminal's settings: which back office it syncs with (enrolment, with how the back office
//! is trusted), how often, and who operates it; and a connection test that never changes
//! anything and never sends the till's token. The checks and the workflow are the core's
//! (`till_core::settings`); the shell restarts its sync engine when told to. Every sync setting
//! is read and saved through the core's one table (`till_core::sync::settings`).

use tauri::State;
use till_core::settings;
use till_core::sync::settings as sync_settings;

use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{
    AppSettings, ConnectionTest, ServerTrust, SettingsInput, SyncSettingChange, SyncSettingView,
};
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

/// Every sync setting in force: its value, unit, default, what it allows, where it comes from
/// (`env`: fixed by the environment, not saved here) and why it is refused, if it is.
#[tauri::command]
pub async fn sync_settings_get(state: State<'_, AppState>) -> CmdResult<Vec<SyncSettingView>> {
    state.terminal()?.db(|c| sync_settings::in_force(c)).await
}

/// Saves sync settings, all or none (each checked; one the environment fixes is refused), and
/// starts the sync engine again with them.
#[tauri::command]
pub async fn sync_settings_set(
    state: State<'_, AppState>,
    changes: Input<Vec<SyncSettingChange>>,
) -> CmdResult<Vec<SyncSettingView>> {
    let t = state.terminal()?;
    let changes = changes.into_inner();
    t.db(move |c| sync_settings::save(c, &sync_settings::process_env, &changes))
        .await?;
    t.restart_sync().await?;
    t.db(|c| sync_settings::in_force(c)).await
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
