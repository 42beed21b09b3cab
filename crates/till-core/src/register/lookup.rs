//! Which product the cashier's Enter (or a scan) means. The register asks with exactly the text
//! in the search field, so the answer never comes from the results of an earlier, shorter text:
//! an exact barcode, SKU or name first (ASCII case ignored), then the result the person moved the
//! highlight to, then the first search result. A scan goes the same way, so a scanner that types
//! a SKU finds it as surely as a person typing slowly does.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use till_protocol::Product;
use uuid::Uuid;

use crate::catalog;
use crate::error::{CoreError, Result};

use super::{view, ProductView};

/// What the register asks when Enter is pressed in the search field, or a scan ends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Exactly what is in the field (or what the scanner typed).
    pub text: String,
    /// The category the results are shown for: the first result within it is the best hit.
    pub category: Option<String>,
    /// The keys came in a scanner's burst: nothing found is then an unknown code.
    pub scanned: bool,
    /// The result the person moved the highlight to, if they moved it.
    pub highlighted: Option<Uuid>,
}

/// How the product was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Barcode,
    Sku,
    Name,
    /// The result the person highlighted.
    Highlighted,
    /// The first search result.
    Search,
}

/// The product an Enter or a scan adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Resolved {
    pub product: ProductView,
    pub matched: MatchedBy,
}

/// A catalog look-up of one exact barcode, SKU or name.
type ExactLookup = fn(&Connection, &str) -> Result<Option<Product>>;

/// Whether `text` reads as a retail barcode: digits only, as long as EAN-8, UPC-A, EAN-13 or
/// GTIN-14. Such a text is only ever looked up as a barcode, never searched by name.
pub fn looks_like_barcode(text: &str) -> bool {
    let t = text.trim();
    t.bytes().all(|b| b.is_ascii_digit()) && matches!(t.len(), 8 | 12..=14)
}

/// The product `lookup` means; `unknown_barcode`, `unknown_code` (a scan) or `no_match` naming
/// the text when there is none.
pub fn resolve(conn: &Connection, lookup: &Lookup) -> Result<Resolved> {
    let text = lookup.text.trim();
    if text.is_empty() {
        return Err(CoreError::InvalidInput(
            "there is nothing to look up".into(),
        ));
    }
    let exact: [(MatchedBy, ExactLookup); 3] = [
        (MatchedBy::Barcode, catalog::by_barcode),
        (MatchedBy::Sku, catalog::by_sku),
        (MatchedBy::Name, catalog::by_name),
    ];
    for (matched, find) in exact {
        if let Some(p) = find(conn, text)? {
            return Ok(Resolved {
                product: view(conn, p)?,
                matched,
            });
        }
    }
    let hits = if looks_like_barcode(text) {
        Vec::new()
    } else {
        catalog::search(
            conn,
            text,
            lookup.category.as_deref(),
            catalog::MAX_SEARCH_RESULTS,
        )?
    };
    match choose(hits, lookup.highlighted) {
        Some((matched, p)) => Ok(Resolved {
            product: view(conn, p)?,
            matched,
        }),
        None => Err(nothing_found(text, lookup.scanned)),
    }
}

/// Among the search results for the text: the highlighted one if it is among them (a highlight
/// left from another text is not), else the first.
fn choose(hits: Vec<Product>, highlighted: Option<Uuid>) -> Option<(MatchedBy, Product)> {
    let at = highlighted.and_then(|id| hits.iter().position(|p| p.id == id));
    let mut hits = hits.into_iter();
    match at {
        Some(i) => hits.nth(i).map(|p| (MatchedBy::Highlighted, p)),
        None => hits.next().map(|p| (MatchedBy::Search, p)),
    }
}

/// Why nothing was added, naming the text: a barcode, a scanned code, or a search.
fn nothing_found(text: &str, scanned: bool) -> CoreError {
    if looks_like_barcode(text) {
        CoreError::UnknownBarcode(text.to_owned())
    } else if scanned {
        CoreError::UnknownCode(text.to_owned())
    } else {
        CoreError::NoMatch(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(name: &str) -> Product {
        Product {
            id: Uuid::now_v7(),
            sku: "X-1".into(),
            barcode: None,
            name: name.into(),
            category: "Hot drinks".into(),
            unit_price: 100,
            tax_category: "standard".into(),
            active: true,
        }
    }

    #[test]
    fn barcodes_are_digits_of_a_retail_length() {
        for code in [
            "96385074",
            "036000291452",
            "5012345678900",
            "15012345678907",
        ] {
            assert!(looks_like_barcode(code), "{code} is a barcode");
        }
        for text in [
            "BAK-001",
            "12345",
            "croissant",
            "123456789",
            "50123456789001234",
        ] {
            assert!(!looks_like_barcode(text), "{text} is not a barcode");
        }
    }

    #[test]
    fn the_highlighted_result_wins_over_the_first_when_it_is_among_the_results() {
        let hits = vec![product("Double espresso"), product("Espresso con panna")];
        let second = hits[1].id;
        let (matched, p) = choose(hits.clone(), Some(second)).expect("a hit");
        assert_eq!((matched, p.id), (MatchedBy::Highlighted, second));
        let (matched, p) = choose(hits.clone(), None).expect("a hit");
        assert_eq!(
            (matched, p.id),
            (MatchedBy::Search, hits[0].id),
            "no highlight: the first result"
        );
        let (matched, _) = choose(hits, Some(Uuid::now_v7())).expect("a hit");
        assert_eq!(
            matched,
            MatchedBy::Search,
            "a highlight left from another text is ignored"
        );
        assert_eq!(choose(Vec::new(), None), None);
    }

    #[test]
    fn nothing_found_names_the_text_and_says_what_it_was() {
        assert_eq!(
            nothing_found("4006381333931", false).code(),
            "unknown_barcode"
        );
        assert_eq!(
            nothing_found("4006381333931", true).code(),
            "unknown_barcode"
        );
        let e = nothing_found("PAN-999", true);
        assert_eq!(e.code(), "unknown_code", "a scan of a code no product has");
        assert!(e.to_string().contains("PAN-999"), "{e}");
        let e = nothing_found("unicorn", false);
        assert_eq!(e.code(), "no_match", "typed text that finds nothing");
        assert!(e.to_string().contains("unicorn"), "{e}");
    }
}
