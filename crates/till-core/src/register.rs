//! What the register screen shows: products with their tax rate resolved, a priced cart with the
//! quick cash amounts to offer, and the ticket just committed with its change.

use rusqlite::Connection;
use serde::Serialize;
use till_protocol::pricing::{Discount, TaxFigures, TicketTotals};
use till_protocol::{Product, Ticket, TicketKind, TicketLine};
use uuid::Uuid;

use crate::cart::{self, Cart};
use crate::error::{CoreError, Result};
use crate::tender;
use crate::{cash, catalog};

mod lookup;

pub use lookup::{looks_like_barcode, resolve, Lookup, MatchedBy, Resolved};

/// A product as the register shows it, with its tax rate resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProductView {
    pub id: Uuid,
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub category: String,
    pub unit_price: i64,
    pub tax_category: String,
    pub tax_rate_bp: u32,
    pub active: bool,
}

/// The product as the register shows it.
pub(crate) fn view(conn: &Connection, p: Product) -> Result<ProductView> {
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

/// One page of products for the register, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProductList {
    /// The first matches, by name.
    pub products: Vec<ProductView>,
    /// Every match, shown or not: the register says "40 of 155" when it shows fewer.
    pub total: u64,
}

/// Products matching `query` by name or SKU (all of them when it is blank), within `category`
/// when given: at most `limit` (capped at [`catalog::MAX_SEARCH_RESULTS`]), with the count of
/// every match.
pub fn products(
    conn: &Connection,
    query: &str,
    category: Option<&str>,
    limit: u32,
) -> Result<ProductList> {
    let found = catalog::search(conn, query, category, limit)?;
    Ok(ProductList {
        products: found
            .into_iter()
            .map(|p| view(conn, p))
            .collect::<Result<_>>()?,
        total: catalog::search_count(conn, query, category)?,
    })
}

/// A priced line, its figures beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuoteLine {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub tax_rate_bp: u32,
    pub discount: Option<Discount>,
    pub gross: i64,
    pub line_discount: i64,
    pub ticket_discount: i64,
    pub amount: i64,
    pub tax: i64,
    pub total: i64,
}

impl From<TicketLine> for QuoteLine {
    fn from(l: TicketLine) -> Self {
        QuoteLine {
            product_id: l.product_id,
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price,
            tax_rate_bp: l.tax_rate_bp,
            discount: l.discount,
            gross: l.figures.gross,
            line_discount: l.figures.line_discount,
            ticket_discount: l.figures.ticket_discount,
            amount: l.figures.amount,
            tax: l.figures.tax,
            total: l.figures.total,
        }
    }
}

/// A priced cart; every figure comes from the core's pricing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Quote"))]
pub struct QuoteView {
    /// The figures of the cart's lines, in the cart's order.
    pub lines: Vec<QuoteLine>,
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    /// Quick cash amounts to offer, smallest first, each covering the total.
    pub cash_suggestions: Vec<i64>,
}

impl From<cart::Quote> for QuoteView {
    fn from(q: cart::Quote) -> Self {
        QuoteView {
            cash_suggestions: tender::quick_cash(q.totals.total, q.currency.exponent),
            lines: q.lines.into_iter().map(QuoteLine::from).collect(),
            taxes: q.taxes,
            totals: q.totals,
        }
    }
}

/// Prices `cart` for the screen. Changes nothing.
pub fn quote(conn: &Connection, cart: &Cart) -> Result<QuoteView> {
    cart::quote(conn, cart).map(QuoteView::from)
}

/// The change due when `tendered` cash pays `total`, in the store's currency;
/// `insufficient_tender` naming both amounts when it does not cover it.
pub fn change_due(conn: &Connection, total: i64, tendered: i64) -> Result<i64> {
    if total < 0 {
        return Err(CoreError::InvalidInput(
            "the total cannot be negative".into(),
        ));
    }
    let currency = catalog::settings(conn)?.currency;
    let settled = tender::settle(&[tender::TenderInput::Cash { tendered }], total, &currency)?;
    Ok(tender::change_given(&settled))
}

/// What `tenders` leave to pay of `total` and the change on their cash, in the store's currency
/// (see [`tender::balance`]).
pub fn tender_balance(
    conn: &Connection,
    total: i64,
    tenders: &[tender::TenderInput],
) -> Result<tender::TenderBalance> {
    let currency = catalog::settings(conn)?.currency;
    tender::balance(tenders, total, &currency)
}

/// The notes and coins of the store's currency, largest first (see [`cash::denominations`]).
pub fn cash_denominations(conn: &Connection) -> Result<Vec<i64>> {
    Ok(cash::denominations(&catalog::settings(conn)?.currency))
}

/// A ticket just committed to the local store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CommittedTicket {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub total: i64,
    /// The cash handed back.
    pub change_due: i64,
    pub created_at_ms: i64,
}

impl From<&Ticket> for CommittedTicket {
    fn from(t: &Ticket) -> Self {
        CommittedTicket {
            id: t.id,
            number: t.number,
            kind: t.kind,
            total: t.totals.total,
            change_due: tender::change_given(&t.tenders),
            created_at_ms: t.created_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_offers_the_core_quick_cash_amounts() {
        let q = cart::Quote {
            currency: till_protocol::Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            customer_id: None,
            lines: Vec::new(),
            ticket_discount: None,
            taxes: Vec::new(),
            totals: TicketTotals {
                subtotal: 1234,
                discount_total: 0,
                tax_total: 0,
                total: 1234,
            },
            overrides: Vec::new(),
        };
        assert_eq!(
            QuoteView::from(q).cash_suggestions,
            vec![1234, 1300, 1500, 2000],
            "the exact total first, then round amounts above it"
        );
    }
}
