//! Reading a catalog file for `till-server catalog import`: JSON in the shape of
//! [`till_protocol::CatalogSnapshot`], or CSV with a header row.
//!
//! CSV columns (any order): `sku`, `name`, `unit_price` (minor units) and `tax_category` are
//! required; `category`, `barcode`, `active` (`true`/`false`, default true), `id` (UUID) and
//! `tax_rate_bp` (creates or updates the tax rate named by `tax_category`) are optional.

use std::collections::BTreeMap;
use std::path::Path;

use till_protocol::{CatalogSnapshot, Product, TaxRate};
use uuid::Uuid;

use crate::storage::CatalogImport;

/// Why a catalog file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not a valid catalog JSON file: {reason}")]
    InvalidJson { path: String, reason: String },
    #[error("{path}, line {line}: {reason}")]
    InvalidCsv {
        path: String,
        line: u64,
        reason: String,
    },
}

impl CatalogFileError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogFileError::Unreadable { .. } => "catalog_unreadable",
            CatalogFileError::InvalidJson { .. } => "catalog_invalid_json",
            CatalogFileError::InvalidCsv { .. } => "catalog_invalid_csv",
        }
    }
}

/// Reads `path` as JSON when its name ends in `.json` or its content starts with `{`, else as CSV.
pub fn read(path: &Path) -> Result<CatalogImport, CatalogFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CatalogFileError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if is_json {
        let snapshot: CatalogSnapshot =
            serde_json::from_str(&text).map_err(|e| CatalogFileError::InvalidJson {
                path: shown,
                reason: e.to_string(),
            })?;
        Ok(snapshot.into())
    } else {
        parse_csv(&shown, &text)
    }
}

/// Parses the CSV form; `path` only names the file in errors.
pub fn parse_csv(path: &str, text: &str) -> Result<CatalogImport, CatalogFileError> {
    let err = |line: u64, reason: String| CatalogFileError::InvalidCsv {
        path: path.to_string(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required = |name: &str| {
        column(name).ok_or_else(|| err(1, format!("the header has no `{name}` column")))
    };
    let (sku, name, price, tax) = (
        required("sku")?,
        required("name")?,
        required("unit_price")?,
        required("tax_category")?,
    );
    let (category, barcode, active, id, rate) = (
        column("category"),
        column("barcode"),
        column("active"),
        column("id"),
        column("tax_rate_bp"),
    );
    let mut products = Vec::new();
    let mut rates: BTreeMap<String, TaxRate> = BTreeMap::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |i: usize| record.get(i).unwrap_or("").to_string();
        let optional = |i: Option<usize>| i.map(get).filter(|v| !v.is_empty());
        let unit_price: i64 = get(price).parse().map_err(|_| {
            err(
                line,
                format!(
                    "unit_price {:?} is not an integer of minor units",
                    get(price)
                ),
            )
        })?;
        let active = match optional(active).as_deref() {
            None | Some("true") | Some("1") | Some("yes") => true,
            Some("false") | Some("0") | Some("no") => false,
            Some(other) => return Err(err(line, format!("active {other:?} is not true or false"))),
        };
        let id = match optional(id) {
            Some(text) => {
                Uuid::parse_str(&text).map_err(|e| err(line, format!("id {text:?}: {e}")))?
            }
            None => Uuid::nil(),
        };
        let tax_category = get(tax);
        if let Some(bp) = optional(rate) {
            let rate_bp: u32 = bp
                .parse()
                .map_err(|_| err(line, format!("tax_rate_bp {bp:?} is not a whole number")))?;
            rates.insert(
                tax_category.clone(),
                TaxRate {
                    id: tax_category.clone(),
                    name: tax_category.clone(),
                    rate_bp,
                },
            );
        }
        products.push(Product {
            id,
            sku: get(sku),
            barcode: optional(barcode),
            name: get(name),
            category: optional(category).unwrap_or_default(),
            unit_price,
            tax_category,
            active,
        });
    }
    Ok(CatalogImport {
        settings: None,
        tax_rates: rates.into_values().collect(),
        products,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_products_and_tax_rates() {
        let csv = "sku,name,unit_price,tax_category,tax_rate_bp\nA1,Apple,120,reduced,550\n\"B 2\",\"Bread, white\",250,reduced,550\n";
        let import = parse_csv("x.csv", csv).expect("valid csv");
        assert_eq!(import.products.len(), 2);
        assert_eq!(import.products[1].name, "Bread, white");
        assert_eq!(import.tax_rates.len(), 1);
        assert!(
            import.products[0].id.is_nil(),
            "ids are resolved by sku on import"
        );
    }

    #[test]
    fn a_bad_price_names_its_line() {
        let err = parse_csv("x.csv", "sku,name,unit_price,tax_category\nA,B,1.20,std\n")
            .expect_err("1.20 is not minor units");
        assert_eq!(err.code(), "catalog_invalid_csv");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
