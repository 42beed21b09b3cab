//! What the cashier rings up, and its quote: the cart's lines priced by the one pricing rule
//! (`till_protocol::pricing::price`), with product names, tax per rate and totals. The quote and
//! the committed ticket come from the same function, so they always agree.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use till_protocol::pricing::{
    self, Discount, LineFigures, PriceInput, PricingError, TaxFigures, TicketTotals, MAX_LINES,
};
use till_protocol::{Currency, TicketLine};
use uuid::Uuid;

use crate::catalog;
use crate::error::{CoreError, Result};

/// A cart as the UI or a script sends it. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    #[serde(default)]
    pub ticket_discount: Option<Discount>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
}

/// One line of a cart: a product, how many, an optional line discount, and optionally a price
/// other than the catalog's (a price override, which on a till with employees needs a
/// manager's approval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    pub product_id: Uuid,
    pub quantity: i64,
    #[serde(default)]
    pub discount: Option<Discount>,
    /// The unit price to charge instead of the catalog's.
    #[serde(default)]
    pub unit_price: Option<i64>,
}

impl Cart {
    /// Parses a cart from JSON; malformed JSON or unknown fields are `invalid_input`.
    pub fn from_json(json: &str) -> Result<Cart> {
        serde_json::from_str(json).map_err(|e| CoreError::InvalidInput(format!("cart: {e}")))
    }
}

/// A priced cart: what the screen shows and what a commit will record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub currency: Currency,
    pub prices_include_tax: bool,
    pub customer_id: Option<Uuid>,
    /// The lines with their products as they are now and their figures.
    pub lines: Vec<TicketLine>,
    pub ticket_discount: Option<Discount>,
    /// Tax per rate, ordered by rate.
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    /// The lines charged at another price than the catalog's.
    #[serde(default)]
    pub overrides: Vec<PriceOverride>,
}

/// A line charged at another price than the catalog's: the line's `unit_price` is the price
/// charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// 1-based.
    pub line_no: usize,
    /// The catalog's price it replaced.
    pub catalog_price: i64,
}

/// Placeholder figures of a line not priced yet; [`priced`] replaces them.
const UNPRICED: LineFigures = LineFigures {
    gross: 0,
    line_discount: 0,
    ticket_discount: 0,
    amount: 0,
    tax: 0,
    total: 0,
};

/// Prices `cart` against the current catalog. Changes nothing.
pub fn quote(conn: &Connection, cart: &Cart) -> Result<Quote> {
    if cart.lines.is_empty() {
        return Err(PricingError::EmptyCart.into());
    }
    if cart.lines.len() > MAX_LINES {
        return Err(PricingError::TooManyLines {
            count: cart.lines.len(),
            max: MAX_LINES,
        }
        .into());
    }
    let settings = catalog::settings(conn)?;
    let mut lines = Vec::with_capacity(cart.lines.len());
    let mut overrides = Vec::new();
    for (i, line) in cart.lines.iter().enumerate() {
        let n = i + 1;
        if !(1..=pricing::MAX_QUANTITY).contains(&line.quantity) {
            return Err(PricingError::InvalidQuantity {
                line: n,
                quantity: line.quantity,
            }
            .into());
        }
        let product =
            catalog::product(conn, line.product_id)?.ok_or(CoreError::UnknownProduct {
                line: n,
                product_id: line.product_id,
            })?;
        if !product.active {
            return Err(CoreError::InactiveProduct {
                line: n,
                name: product.name,
            });
        }
        let rate = catalog::tax_rate_bp(conn, &product.tax_category)?.ok_or_else(|| {
            CoreError::UnknownTaxRate {
                line: n,
                tax_category: product.tax_category.clone(),
            }
        })?;
        let unit_price = match line.unit_price {
            Some(price) if price != product.unit_price => {
                overrides.push(PriceOverride {
                    line_no: n,
                    catalog_price: product.unit_price,
                });
                price
            }
            _ => product.unit_price,
        };
        lines.push(TicketLine {
            product_id: product.id,
            sku: product.sku,
            name: product.name,
            quantity: line.quantity,
            unit_price,
            tax_category: product.tax_category,
            tax_rate_bp: rate,
            discount: line.discount,
            figures: UNPRICED,
        });
    }
    if let Some(id) = cart.customer_id {
        let known = crate::sync::customers::get(conn, id)?.is_some_and(|c| !c.deleted);
        if !known {
            return Err(CoreError::UnknownCustomer(id));
        }
    }
    let mut quote = priced(
        settings.currency,
        settings.prices_include_tax,
        cart.customer_id,
        lines,
        cart.ticket_discount,
    )?;
    quote.overrides = overrides;
    Ok(quote)
}

/// Prices ticket lines that already carry their products (a cart's, or a refund's copy of the
/// original's), filling in their figures.
pub(crate) fn priced(
    currency: Currency,
    prices_include_tax: bool,
    customer_id: Option<Uuid>,
    mut lines: Vec<TicketLine>,
    ticket_discount: Option<Discount>,
) -> Result<Quote> {
    let input = PriceInput {
        prices_include_tax,
        lines: lines.iter().map(TicketLine::price_line).collect(),
        ticket_discount,
    };
    let priced = pricing::price(&input)?;
    for (line, figures) in lines.iter_mut().zip(priced.lines) {
        line.figures = figures;
    }
    Ok(Quote {
        currency,
        prices_include_tax,
        customer_id,
        lines,
        ticket_discount,
        taxes: priced.taxes,
        totals: priced.totals,
        overrides: Vec::new(),
    })
}
