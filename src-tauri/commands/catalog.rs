//! The register's catalog: search by name or SKU, barcode look-up, category quick keys, and the
//! store settings that say how to show money.

use tauri::State;
use till_core::{catalog, register};
use till_protocol::StoreSettings;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::ProductView;
use crate::terminal::AppState;

/// Longest search text or barcode accepted.
const MAX_QUERY_CHARS: usize = 200;

fn check_text(what: &str, text: &str) -> CmdResult<()> {
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid_input(format!(
            "{what} is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    Ok(())
}

#[tauri::command]
pub async fn store_settings(state: State<'_, AppState>) -> CmdResult<StoreSettings> {
    state.terminal()?.db(|c| catalog::settings(c)).await
}

/// Products matching `query` by name or SKU; with a `category`, only that category's (all of
/// them when `query` is empty: the quick keys).
#[tauri::command]
pub async fn catalog_search(
    state: State<'_, AppState>,
    query: Input<String>,
    category: Input<Option<String>>,
    limit: Input<u32>,
) -> CmdResult<Vec<ProductView>> {
    let (query, category, limit) = (
        query.into_inner(),
        category.into_inner(),
        limit.into_inner(),
    );
    check_text("the search", &query)?;
    if limit == 0 {
        return Err(AppError::invalid_input("limit must be at least 1"));
    }
    if let Some(category) = &category {
        check_text("the category", category)?;
    }
    state
        .terminal()?
        .db(move |c| register::products(c, &query, category.as_deref(), limit))
        .await
}

/// The active product with this barcode; `unknown_barcode` when there is none.
#[tauri::command]
pub async fn catalog_by_barcode(
    state: State<'_, AppState>,
    barcode: Input<String>,
) -> CmdResult<ProductView> {
    let barcode = barcode.into_inner();
    check_text("the barcode", &barcode)?;
    if barcode.trim().is_empty() {
        return Err(AppError::invalid_input("the barcode is empty"));
    }
    state
        .terminal()?
        .db(move |c| register::product_by_barcode(c, &barcode))
        .await
}

#[tauri::command]
pub async fn catalog_categories(state: State<'_, AppState>) -> CmdResult<Vec<String>> {
    state.terminal()?.db(|c| catalog::categories(c)).await
}
