//! The catalog, written once over [`Tx`]: `catalog import`, `product set-price` and
//! `product delete`. Every change takes the next change number, so terminals pull it.

use till_protocol::Product;
use uuid::Uuid;

use super::tx::{ProductKey, Tx};
use super::{CatalogImport, ImportSummary, StorageError};
use crate::decide::catalog::{self, Import};

/// Imports `import` item by item: settings, then tax rates, then products, each written only
/// when it differs from what is stored. A product with a nil id takes the id of the product
/// with its sku, or a new one.
pub(super) async fn import<T: Tx>(
    tx: &mut T,
    import: &CatalogImport,
) -> Result<ImportSummary, T::Error> {
    catalog::check(import)?;
    let mut plan = Import::default();
    if let Some(settings) = &import.settings {
        let stored = tx.settings().await?;
        if let Some(body) = catalog::settings_change(stored.as_deref(), settings)? {
            let change = tx.next_change().await?;
            tx.put_settings(&body, change).await?;
        }
    }
    for rate in &import.tax_rates {
        let stored = tx.tax_rate(&rate.id).await?;
        if plan.tax_rate(stored.as_ref(), rate) {
            let change = tx.next_change().await?;
            tx.put_tax_rate(rate, change).await?;
        }
    }
    let known_rates = tx.live_tax_rates().await?;
    for product in &import.products {
        let mut product = product.clone();
        if product.id.is_nil() {
            product.id = tx
                .product_id(&product.sku)
                .await?
                .unwrap_or_else(Uuid::now_v7);
        }
        catalog::check_category(&product, &known_rates)?;
        let stored = tx.product(ProductKey::Id(product.id)).await?;
        if plan.product(stored.as_ref(), &product) {
            put(tx, &product).await?;
        }
    }
    Ok(plan.summary())
}

pub(super) async fn set_price<T: Tx>(
    tx: &mut T,
    sku: &str,
    unit_price: i64,
) -> Result<Product, T::Error> {
    catalog::check_price(unit_price)?;
    let mut product = live(tx, sku).await?;
    product.unit_price = unit_price;
    put(tx, &product).await?;
    Ok(product)
}

pub(super) async fn delete_product<T: Tx>(tx: &mut T, sku: &str) -> Result<Product, T::Error> {
    let product = live(tx, sku).await?;
    let change = tx.next_change().await?;
    tx.delete_product(product.id, &catalog::tombstone_sku(&product), change)
        .await?;
    Ok(product)
}

async fn live<T: Tx>(tx: &mut T, sku: &str) -> Result<Product, T::Error> {
    let product = tx.product(ProductKey::Sku(sku)).await?;
    Ok(product.ok_or_else(|| StorageError::NotFound {
        what: format!("product with sku {sku:?}"),
    })?)
}

/// Writes `product` under the next change number, unless another product holds its sku.
async fn put<T: Tx>(tx: &mut T, product: &Product) -> Result<(), T::Error> {
    if tx.sku_taken(&product.sku, product.id).await? {
        return Err(catalog::sku_taken(&product.sku).into());
    }
    let change = tx.next_change().await?;
    tx.put_product(product, change).await
}
