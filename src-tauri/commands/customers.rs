//! The terminal's customers: search, create and edit. Each edit is queued for the back office.

use tauri::State;
use till_core::clock::SystemClock;
use till_core::sync::customers;
use till_protocol::CustomerFields;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::CustomerView;
use crate::terminal::AppState;

/// Most customers one search returns (an empty query lists the first ones by name).
const MAX_RESULTS: u32 = 200;
const MAX_QUERY_CHARS: usize = 200;

#[tauri::command]
pub async fn customers_search(
    state: State<'_, AppState>,
    query: Input<String>,
) -> CmdResult<Vec<CustomerView>> {
    let query = query.into_inner();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid_input(format!(
            "the search is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    state
        .terminal()?
        .db(move |c| customers::search_views(c, &query, MAX_RESULTS))
        .await
}

/// Creates (`id` null) or edits a customer here and queues the change for the back office.
#[tauri::command]
pub async fn customer_save(
    state: State<'_, AppState>,
    id: Input<Option<String>>,
    fields: Input<CustomerFields>,
) -> CmdResult<CustomerView> {
    let (id, fields) = (id.into_inner(), fields.into_inner());
    let id = id
        .map(|s| {
            uuid::Uuid::parse_str(s.trim())
                .map_err(|_| AppError::invalid_input(format!("{s:?} is not a customer id")))
        })
        .transpose()?;
    let terminal = state.terminal()?;
    let operator = terminal.operator().await?;
    let saved = terminal
        .db(move |c| {
            let saved = customers::save_by(c, id, fields, operator.as_ref(), &SystemClock)?;
            customers::view(c, saved)
        })
        .await?;
    terminal.local_write();
    Ok(saved)
}
