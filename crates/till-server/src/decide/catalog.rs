//! The catalog: what `catalog import` writes and what it leaves alone, prices, and what a
//! deleted product leaves behind.

use std::collections::HashSet;

use till_protocol::pricing::{MAX_TAX_RATE_BP, MAX_UNIT_PRICE};
use till_protocol::{Product, StoreSettings, TaxRate};

use super::text;
use crate::storage::{CatalogImport, ImportSummary, StorageError};

/// Checks a whole import before anything of it is written, its strings first ([`text`]).
pub fn check(catalog: &CatalogImport) -> Result<(), StorageError> {
    let invalid = |m: String| Err(StorageError::Invalid(m));
    text::check_catalog(catalog).map_err(StorageError::Invalid)?;
    if let Some(settings) = &catalog.settings {
        let c = &settings.currency;
        if c.code.len() != 3 || !c.code.bytes().all(|b| b.is_ascii_uppercase()) || c.exponent > 4 {
            return invalid(format!(
                "currency {} / exponent {} is not valid",
                c.code, c.exponent
            ));
        }
    }
    for rate in &catalog.tax_rates {
        if rate.id.trim().is_empty() || rate.rate_bp > MAX_TAX_RATE_BP {
            return invalid(format!(
                "tax rate {:?} ({} bp) is not valid",
                rate.id, rate.rate_bp
            ));
        }
    }
    for p in &catalog.products {
        if p.sku.trim().is_empty() || p.name.trim().is_empty() {
            return invalid(format!("product {} needs a sku and a name", p.id));
        }
        if !(0..=MAX_UNIT_PRICE).contains(&p.unit_price) {
            return invalid(format!(
                "product {}: price {} is out of range",
                p.sku, p.unit_price
            ));
        }
    }
    Ok(())
}

/// Checks a price set with `product set-price`.
pub fn check_price(unit_price: i64) -> Result<(), StorageError> {
    if (0..=MAX_UNIT_PRICE).contains(&unit_price) {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "price {unit_price} is not between 0 and {MAX_UNIT_PRICE}"
        )))
    }
}

/// The stored form of `settings` when it differs from `stored` (`None`: leave them, so an
/// import of the same catalog records no change).
pub fn settings_change(
    stored: Option<&str>,
    settings: &StoreSettings,
) -> Result<Option<String>, StorageError> {
    let body = serde_json::to_string(settings).map_err(|e| StorageError::Invalid(e.to_string()))?;
    Ok((stored != Some(body.as_str())).then_some(body))
}

/// A tax rate as stored, tombstones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRate {
    pub name: String,
    pub rate_bp: i64,
    pub deleted: bool,
}

/// A product may only name a tax category that exists.
pub fn check_category(product: &Product, known: &HashSet<String>) -> Result<(), StorageError> {
    if known.contains(&product.tax_category) {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "product {}: unknown tax category {:?}",
            product.sku, product.tax_category
        )))
    }
}

/// Why a product cannot be written: another product holds its sku.
pub fn sku_taken(sku: &str) -> StorageError {
    StorageError::Invalid(format!("sku {sku} already belongs to another product"))
}

/// The sku a deleted product keeps: its own sku given up, so a new product may take it.
pub fn tombstone_sku(product: &Product) -> String {
    format!("{}#deleted#{}", product.sku, product.id)
}

/// `catalog import`, item by item in the order imported: given what is stored for each, whether
/// to write it, and the count of what changed.
#[derive(Debug, Default)]
pub struct Import {
    summary: ImportSummary,
}

impl Import {
    /// Whether to write `rate`: when it is new, differs, or revives a deleted rate.
    pub fn tax_rate(&mut self, stored: Option<&StoredRate>, rate: &TaxRate) -> bool {
        let same = stored.is_some_and(|s| {
            !s.deleted && s.name == rate.name && s.rate_bp == i64::from(rate.rate_bp)
        });
        if !same {
            self.summary.tax_rates += 1;
        }
        !same
    }

    /// Whether to write `product`, given the live product stored with its id.
    pub fn product(&mut self, stored: Option<&Product>, product: &Product) -> bool {
        if stored == Some(product) {
            self.summary.unchanged += 1;
            false
        } else {
            self.summary.products += 1;
            true
        }
    }

    pub fn summary(&self) -> ImportSummary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::Currency;
    use uuid::Uuid;

    fn product(sku: &str, price: i64) -> Product {
        Product {
            id: Uuid::now_v7(),
            sku: sku.into(),
            barcode: None,
            name: format!("Product {sku}"),
            category: "misc".into(),
            unit_price: price,
            tax_category: "standard".into(),
            active: true,
        }
    }

    fn settings(code: &str) -> StoreSettings {
        StoreSettings {
            store_name: "Corner shop".into(),
            currency: Currency {
                code: code.into(),
                exponent: 2,
            },
            prices_include_tax: true,
            locale: "en-GB".into(),
            address: None,
            tax_id: None,
        }
    }

    fn import(products: Vec<Product>) -> CatalogImport {
        CatalogImport {
            settings: Some(settings("EUR")),
            tax_rates: vec![TaxRate {
                id: "standard".into(),
                name: "Standard".into(),
                rate_bp: 2000,
            }],
            products,
        }
    }

    fn invalid(result: Result<(), StorageError>) -> bool {
        matches!(result, Err(StorageError::Invalid(_)))
    }

    #[test]
    fn an_import_is_checked_whole_before_anything_is_written() {
        assert!(check(&import(vec![product("A", 100)])).is_ok());
        let mut bad_currency = import(vec![]);
        bad_currency.settings = Some(settings("eur"));
        assert!(invalid(check(&bad_currency)));
        let mut bad_rate = import(vec![]);
        bad_rate.tax_rates[0].rate_bp = MAX_TAX_RATE_BP + 1;
        assert!(invalid(check(&bad_rate)));
        assert!(invalid(check(&import(vec![product(" ", 100)]))));
        assert!(invalid(check(&import(vec![product("A", -1)]))));
        assert!(invalid(check(&import(vec![product(
            "A",
            MAX_UNIT_PRICE + 1
        )]))));
    }

    #[test]
    fn prices_stay_within_what_the_pricing_rule_accepts() {
        assert!(check_price(0).is_ok());
        assert!(check_price(MAX_UNIT_PRICE).is_ok());
        assert!(invalid(check_price(-1)));
        assert!(invalid(check_price(MAX_UNIT_PRICE + 1)));
    }

    #[test]
    fn settings_are_written_only_when_they_change() {
        let body = settings_change(None, &settings("EUR"))
            .expect("serialises")
            .expect("new settings are written");
        assert_eq!(
            settings_change(Some(&body), &settings("EUR")).expect("serialises"),
            None,
            "the same settings record no change"
        );
        assert!(settings_change(Some(&body), &settings("GBP"))
            .expect("serialises")
            .is_some());
    }

    #[test]
    fn tax_rates_are_written_when_new_changed_or_deleted_and_counted() {
        let rate = TaxRate {
            id: "standard".into(),
            name: "Standard".into(),
            rate_bp: 2000,
        };
        let same = StoredRate {
            name: "Standard".into(),
            rate_bp: 2000,
            deleted: false,
        };
        let mut plan = Import::default();
        assert!(!plan.tax_rate(Some(&same), &rate));
        assert!(plan.tax_rate(None, &rate));
        let changed = StoredRate {
            rate_bp: 550,
            ..same.clone()
        };
        assert!(plan.tax_rate(Some(&changed), &rate));
        let deleted = StoredRate {
            deleted: true,
            ..same
        };
        assert!(plan.tax_rate(Some(&deleted), &rate), "an import revives it");
        assert_eq!(plan.summary().tax_rates, 3);
    }

    #[test]
    fn products_are_written_unless_stored_the_same_and_both_are_counted() {
        let p = product("A", 100);
        let mut plan = Import::default();
        assert!(!plan.product(Some(&p), &p));
        let dearer = Product {
            unit_price: 120,
            ..p.clone()
        };
        assert!(plan.product(Some(&p), &dearer));
        assert!(plan.product(None, &p));
        let summary = plan.summary();
        assert_eq!((summary.products, summary.unchanged), (2, 1));
    }

    #[test]
    fn a_product_names_a_known_tax_category() {
        let known: HashSet<String> = ["standard".to_string()].into();
        let p = product("A", 100);
        assert!(check_category(&p, &known).is_ok());
        let reduced = Product {
            tax_category: "reduced".into(),
            ..p
        };
        assert!(invalid(check_category(&reduced, &known)));
    }

    #[test]
    fn a_deleted_product_gives_its_sku_up() {
        let p = product("A", 100);
        let tombstone = tombstone_sku(&p);
        assert_ne!(tombstone, p.sku);
        assert!(tombstone.starts_with("A#deleted#"), "{tombstone}");
        assert!(tombstone.ends_with(&p.id.to_string()), "{tombstone}");
    }
}
