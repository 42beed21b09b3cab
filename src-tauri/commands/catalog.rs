//! The register's catalog: search by name or SKU, the product an Enter or a scan means,
//! category quick keys, and the store settings that say how to show money.

use tauri::State;
use till_core::{catalog, register};
use till_protocol::StoreSettings;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{Lookup, ProductList, Resolved};
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

/// Products matching `query` by name or SKU (all when it is empty); with a `category`, only
/// that category's; with how many match in all.
#[tauri::command]
pub async fn catalog_search(
    state: State<'_, AppState>,
    query: Input<String>,
    category: Input<Option<String>>,
    limit: Input<u32>,
) -> CmdResult<ProductList> {
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

/// The product the cashier's Enter or a scan means, for exactly the text in the field;
/// `unknown_barcode`, `unknown_code` or `no_match` when there is none.
#[tauri::command]
pub async fn catalog_resolve(
    state: State<'_, AppState>,
    lookup: Input<Lookup>,
) -> CmdResult<Resolved> {
    let lookup = lookup.into_inner();
    check_text("the search", &lookup.text)?;
    if let Some(category) = &lookup.category {
        check_text("the category", category)?;
    }
    state
        .terminal()?
        .db(move |c| register::resolve(c, &lookup))
        .await
}

#[tauri::command]
pub async fn catalog_categories(state: State<'_, AppState>) -> CmdResult<Vec<String>> {
    state.terminal()?.db(|c| catalog::categories(c)).await
}
