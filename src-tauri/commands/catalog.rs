//! The register's catalog: search by name or SKU, barcode look-up, category quick keys, and the
//! store settings that say how to show money.

use rusqlite::Connection;
use tauri::State;
use till_core::catalog;
use till_core::error::{CoreError, Result};
use till_protocol::{Product, StoreSettings};

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::ProductView;
use crate::terminal::AppState;

/// Longest search text or barcode accepted.
const MAX_QUERY_CHARS: usize = 200;

fn view(conn: &Connection, p: Product) -> Result<ProductView> {
    let tax_rate_bp =
        catalog::tax_rate_bp(conn, &p.tax_category)?.ok_or_else(|| CoreError::UnknownTaxRate {
            line: 0,
            tax_category: p.tax_category.clone(),
        })?;
    Ok(ProductView {
        id: p.id,
        sku: p.sku,
        barcode: p.barcode,
        name: p.name,
        category: p.category,
        unit_price: p.unit_price,
        tax_category: p.tax_category,
        tax_rate_bp,
        active: p.active,
    })
}

fn views(conn: &Connection, products: Vec<Product>) -> Result<Vec<ProductView>> {
    products.into_iter().map(|p| view(conn, p)).collect()
}

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
    let query = query.into_inner();
    let category = category.into_inner();
    let limit = limit.into_inner();
    check_text("the search", &query)?;
    if limit == 0 {
        return Err(AppError::invalid_input("limit must be at least 1"));
    }
    if let Some(category) = &category {
        check_text("the category", category)?;
    }
    let terminal = state.terminal()?;
    terminal
        .db(move |c| {
            let products = match category {
                Some(category) if query.trim().is_empty() => {
                    catalog::products_in_category(c, &category)?
                }
                category => catalog::search(c, &query, category.as_deref(), limit)?,
            };
            views(c, products)
        })
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
    let code = barcode.trim().to_owned();
    if code.is_empty() {
        return Err(AppError::invalid_input("the barcode is empty"));
    }
    let found = state
        .terminal()?
        .db(move |c| {
            catalog::by_barcode(c, &code)?
                .map(|p| view(c, p))
                .transpose()
        })
        .await?;
    found.ok_or_else(|| CoreError::UnknownBarcode(barcode.trim().to_owned()).into())
}

#[tauri::command]
pub async fn catalog_categories(state: State<'_, AppState>) -> CmdResult<Vec<String>> {
    state.terminal()?.db(|c| catalog::categories(c)).await
}
