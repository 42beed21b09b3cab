//! Sales not rung up yet: the register's sale in progress, saved on every change and read back
//! at start-up, and sales parked to serve someone else first, then recalled.

use tauri::State;
use till_core::clock::SystemClock;
use till_core::parked;

use crate::commands::register::parse_id;
use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{ParkedSale, RestoredSale, SaleDraft};
use crate::terminal::AppState;

/// Parks the register's sale under `label`, recorded as parked by the employee signed in; the
/// register's sale in progress is emptied.
#[tauri::command]
pub async fn park_sale(
    state: State<'_, AppState>,
    draft: Input<SaleDraft>,
    label: Input<String>,
) -> CmdResult<ParkedSale> {
    let (draft, label) = (draft.into_inner(), label.into_inner());
    let terminal = state.terminal()?;
    let by = terminal.operator().await?;
    terminal
        .db(move |c| parked::park(c, &draft, &label, by, &SystemClock))
        .await
}

/// The parked sales, the longest waiting first.
#[tauri::command]
pub async fn parked_sales(state: State<'_, AppState>) -> CmdResult<Vec<ParkedSale>> {
    state.terminal()?.db(|c| parked::parked(c)).await
}

/// Brings a parked sale back as the register's sale in progress.
#[tauri::command]
pub async fn recall_sale(state: State<'_, AppState>, id: Input<String>) -> CmdResult<RestoredSale> {
    let id = parse_id("parked sale", &id.into_inner())?;
    state
        .terminal()?
        .db(move |c| parked::recall(c, id, &SystemClock))
        .await
}

/// Saves the register's sale in progress (an empty cart clears it).
#[tauri::command]
pub async fn save_current_sale(
    state: State<'_, AppState>,
    draft: Input<SaleDraft>,
) -> CmdResult<()> {
    let draft = draft.into_inner();
    state
        .terminal()?
        .db(move |c| parked::save_current(c, &draft, &SystemClock))
        .await
}

/// The sale in progress as last saved, or `null`: read once when the register opens.
#[tauri::command]
pub async fn current_sale(state: State<'_, AppState>) -> CmdResult<Option<RestoredSale>> {
    state.terminal()?.db(|c| parked::current(c)).await
}
