//! The catalog the terminal sells from: store settings, tax rates and products. Loaded from the
//! demo file on first open, later replaced or patched by the sync engine's pull, which calls
//! [`apply_snapshot`] and the upsert/delete functions inside its own transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use till_protocol::text::Lines;
use till_protocol::{CatalogSnapshot, Currency, Product, StoreSettings, TaxRate};
use uuid::Uuid;

use crate::error::{CoreError, Result};

/// The demo catalog shipped with Till (`catalog/demo.json`).
pub const DEMO_JSON: &str = include_str!("../../../catalog/demo.json");

/// Most products one search returns.
pub const MAX_SEARCH_RESULTS: u32 = 200;

/// The demo catalog, parsed.
pub fn demo() -> Result<CatalogSnapshot> {
    serde_json::from_str(DEMO_JSON)
        .map_err(|e| CoreError::InvalidInput(format!("the demo catalog is malformed: {e}")))
}

/// Whether a catalog has been loaded (store settings exist).
pub fn exists(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM store_settings WHERE id = 1")?
        .exists([])?)
}

/// Replaces the whole catalog with `snapshot`. Call inside a transaction so readers see the old
/// catalog or the new one, never a mix.
pub fn apply_snapshot(conn: &Connection, snapshot: &CatalogSnapshot) -> Result<()> {
    validate_snapshot(snapshot)?;
    conn.execute("DELETE FROM products", [])?;
    conn.execute("DELETE FROM tax_rates", [])?;
    set_settings(conn, &snapshot.settings)?;
    for rate in &snapshot.tax_rates {
        upsert_tax_rate(conn, rate)?;
    }
    for product in &snapshot.products {
        upsert_product(conn, product)?;
    }
    Ok(())
}

fn validate_snapshot(snapshot: &CatalogSnapshot) -> Result<()> {
    let mut ids = std::collections::HashSet::new();
    for p in &snapshot.products {
        if !ids.insert(p.id) {
            return Err(CoreError::InvalidInput(format!(
                "product {} appears twice in the catalog",
                p.id
            )));
        }
    }
    Ok(())
}

/// Writes the store settings. The address may span lines, the tax id is one line; neither holds
/// another control character ([`till_protocol::text`]).
pub fn set_settings(conn: &Connection, s: &StoreSettings) -> Result<()> {
    let text = |what: &str, value: &Option<String>, lines| {
        value.as_deref().map_or(Ok(()), |v| {
            till_protocol::text::check(what, v, lines)
                .map_err(|e| CoreError::InvalidInput(e.to_string()))
        })
    };
    text("the store address", &s.address, Lines::Many)?;
    text("the store tax id", &s.tax_id, Lines::One)?;
    if s.currency.code.len() != 3 || !s.currency.code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(CoreError::InvalidInput(format!(
            "currency code {:?} is not three upper-case letters",
            s.currency.code
        )));
    }
    if s.currency.exponent > 4 {
        return Err(CoreError::InvalidInput(format!(
            "currency exponent {} is above 4",
            s.currency.exponent
        )));
    }
    conn.prepare_cached(
        "INSERT INTO store_settings
             (id, store_name, currency_code, currency_exponent, prices_include_tax, locale,
              address, tax_id)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET
             store_name = excluded.store_name, currency_code = excluded.currency_code,
             currency_exponent = excluded.currency_exponent,
             prices_include_tax = excluded.prices_include_tax, locale = excluded.locale,
             address = excluded.address, tax_id = excluded.tax_id",
    )?
    .execute(params![
        s.store_name,
        s.currency.code,
        s.currency.exponent,
        s.prices_include_tax,
        s.locale,
        s.address,
        s.tax_id
    ])?;
    Ok(())
}

/// The store settings; `no_catalog` before any catalog was loaded.
pub fn settings(conn: &Connection) -> Result<StoreSettings> {
    conn.prepare_cached(
        "SELECT store_name, currency_code, currency_exponent, prices_include_tax, locale,
                address, tax_id
         FROM store_settings WHERE id = 1",
    )?
    .query_row([], |r| {
        Ok(StoreSettings {
            store_name: r.get(0)?,
            currency: Currency {
                code: r.get(1)?,
                exponent: r.get(2)?,
            },
            prices_include_tax: r.get(3)?,
            locale: r.get(4)?,
            address: r.get(5)?,
            tax_id: r.get(6)?,
        })
    })
    .optional()?
    .ok_or(CoreError::NoCatalog)
}

/// Inserts or replaces a tax rate.
pub fn upsert_tax_rate(conn: &Connection, rate: &TaxRate) -> Result<()> {
    if rate.rate_bp > till_protocol::pricing::MAX_TAX_RATE_BP {
        return Err(CoreError::InvalidInput(format!(
            "tax rate {} of {} bp is above 100 %",
            rate.id, rate.rate_bp
        )));
    }
    conn.prepare_cached(
        "INSERT INTO tax_rates (id, name, rate_bp) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp",
    )?
    .execute(params![rate.id, rate.name, rate.rate_bp])?;
    Ok(())
}

/// Removes a tax rate (a pull tombstone). Products still naming it cannot be sold.
pub fn delete_tax_rate(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM tax_rates WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Every tax rate, by id.
pub fn tax_rates(conn: &Connection) -> Result<Vec<TaxRate>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, rate_bp FROM tax_rates ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(TaxRate {
            id: r.get(0)?,
            name: r.get(1)?,
            rate_bp: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The rate of one tax category, if known.
pub fn tax_rate_bp(conn: &Connection, id: &str) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT rate_bp FROM tax_rates WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Inserts or replaces a product.
pub fn upsert_product(conn: &Connection, p: &Product) -> Result<()> {
    if !(0..=till_protocol::pricing::MAX_UNIT_PRICE).contains(&p.unit_price) {
        return Err(CoreError::InvalidInput(format!(
            "product {} has unit price {} out of range",
            p.id, p.unit_price
        )));
    }
    conn.prepare_cached(
        "INSERT INTO products (id, sku, barcode, name, category, unit_price, tax_category, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET
             sku = excluded.sku, barcode = excluded.barcode, name = excluded.name,
             category = excluded.category, unit_price = excluded.unit_price,
             tax_category = excluded.tax_category, active = excluded.active",
    )?
    .execute(params![
        p.id.to_string(),
        p.sku,
        p.barcode,
        p.name,
        p.category,
        p.unit_price,
        p.tax_category,
        p.active
    ])?;
    Ok(())
}

/// Removes a product (a pull tombstone). Tickets keep their own copy of the product's details.
pub fn delete_product(conn: &Connection, id: Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM products WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

const PRODUCT_COLUMNS: &str = "id, sku, barcode, name, category, unit_price, tax_category, active";

fn product_from_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    let id: String = r.get(0)?;
    let id = Uuid::parse_str(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Product {
        id,
        sku: r.get(1)?,
        barcode: r.get(2)?,
        name: r.get(3)?,
        category: r.get(4)?,
        unit_price: r.get(5)?,
        tax_category: r.get(6)?,
        active: r.get(7)?,
    })
}

/// One product by id, active or not.
pub fn product(conn: &Connection, id: Uuid) -> Result<Option<Product>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"
        ))?
        .query_row([id.to_string()], product_from_row)
        .optional()?)
}

/// The active product with this barcode, if any.
pub fn by_barcode(conn: &Connection, barcode: &str) -> Result<Option<Product>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE barcode = ?1 AND active = 1
             ORDER BY name LIMIT 1"
        ))?
        .query_row([barcode.trim()], product_from_row)
        .optional()?)
}

/// The active product with this SKU, ASCII case ignored, if any.
pub fn by_sku(conn: &Connection, sku: &str) -> Result<Option<Product>> {
    by_text(conn, "sku", sku)
}

/// The active product with exactly this name, ASCII case ignored, if any (the first by SKU when
/// two share it).
pub fn by_name(conn: &Connection, name: &str) -> Result<Option<Product>> {
    by_text(conn, "name", name)
}

/// The active product whose `column` (a column name, never input) equals `text` trimmed, ASCII
/// case ignored; the first by SKU.
fn by_text(conn: &Connection, column: &'static str, text: &str) -> Result<Option<Product>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE lower({column}) = lower(?1) AND active = 1
             ORDER BY sku LIMIT 1"
        ))?
        .query_row([text.trim()], product_from_row)
        .optional()?)
}

/// The condition of a search: active, name or SKU containing ?1, within category ?2 if set.
const SEARCH_WHERE: &str = "active = 1 AND (name LIKE ?1 ESCAPE '\\' OR sku LIKE ?1 ESCAPE '\\')
           AND (?2 IS NULL OR category = ?2)";

fn search_pattern(query: &str) -> String {
    format!("%{}%", escape_like(query.trim()))
}

/// Active products whose name or SKU contains `query` (ASCII case-insensitive), within
/// `category` when given, by name, at most `limit` (capped at [`MAX_SEARCH_RESULTS`]).
pub fn search(
    conn: &Connection,
    query: &str,
    category: Option<&str>,
    limit: u32,
) -> Result<Vec<Product>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE {SEARCH_WHERE}
         ORDER BY name, sku LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![
            search_pattern(query),
            category,
            limit.min(MAX_SEARCH_RESULTS)
        ],
        product_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many products [`search`] finds without a limit.
pub fn search_count(conn: &Connection, query: &str, category: Option<&str>) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM products WHERE {SEARCH_WHERE}"
        ))?
        .query_row(params![search_pattern(query), category], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The categories that have active products, by name.
pub fn categories(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT category FROM products WHERE active = 1 ORDER BY category",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The active products of one category, by name.
pub fn products_in_category(conn: &Connection, category: &str) -> Result<Vec<Product>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE active = 1 AND category = ?1
         ORDER BY name, sku"
    ))?;
    let rows = stmt.query_map([category], product_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every active product, by name.
pub fn active_products(conn: &Connection) -> Result<Vec<Product>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE active = 1 ORDER BY name, sku"
    ))?;
    let rows = stmt.query_map([], product_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ean13_is_valid(code: &str) -> bool {
        if code.len() != 13 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits[..12]
            .iter()
            .enumerate()
            .map(|(i, d)| if i % 2 == 1 { d * 3 } else { *d })
            .sum();
        (10 - sum % 10) % 10 == digits[12]
    }

    #[test]
    fn the_demo_catalog_is_realistic_and_consistent() {
        let demo = demo().expect("the shipped demo catalog parses");
        assert!(demo.products.len() >= 150, "at least 150 products");
        let rates: std::collections::HashSet<&str> =
            demo.tax_rates.iter().map(|r| r.id.as_str()).collect();
        assert!(rates.len() >= 4, "several tax rates");
        let mut barcodes = std::collections::HashSet::new();
        for p in &demo.products {
            assert!(
                rates.contains(p.tax_category.as_str()),
                "{} names a known rate",
                p.sku
            );
            let code = p
                .barcode
                .as_deref()
                .expect("every demo product has a barcode");
            assert!(ean13_is_valid(code), "{} has a valid EAN-13: {code}", p.sku);
            assert!(barcodes.insert(code), "barcode {code} is unique");
        }
        assert!(
            demo.products.iter().any(|p| !p.active),
            "some products are inactive"
        );
        let cats: std::collections::HashSet<&str> =
            demo.products.iter().map(|p| p.category.as_str()).collect();
        assert!(cats.len() >= 6, "several categories");
    }

    #[test]
    fn like_wildcards_in_a_search_are_literal() {
        assert_eq!(escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }
}
