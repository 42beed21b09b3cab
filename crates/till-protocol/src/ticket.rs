//! A ticket as it travels: the sale, void or refund exactly as the terminal committed it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::pricing::{Discount, LineFigures, PriceInput, PriceLine, TaxFigures, TicketTotals};
use crate::{Approval, Currency, Hlc, Operator};

/// What a ticket records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Goods sold; money in.
    Sale,
    /// The whole original sale cancelled; money back, same lines.
    Void,
    /// Some or all lines of the original returned; money back.
    Refund,
}

/// One line of a ticket, with the product as it was when rung up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketLine {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub tax_category: String,
    pub tax_rate_bp: u32,
    pub discount: Option<Discount>,
    pub figures: LineFigures,
}

/// How the customer paid (or was paid back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tender {
    /// Cash handed over; `change` given back. Counts as `tendered − change`.
    Cash { tendered: i64, change: i64 },
    /// Paid on an external card terminal. Never a full card number: at most the last four digits.
    Card {
        amount: i64,
        approval_ref: String,
        last4: Option<String>,
    },
}

impl Tender {
    /// What this tender contributes to the ticket's total.
    pub fn counted(&self) -> i64 {
        match self {
            Tender::Cash { tendered, change } => tendered - change,
            Tender::Card { amount, .. } => *amount,
        }
    }
}

/// A committed ticket. Figures are always non-negative; `kind` says which way money moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// UUID v7, made by the terminal.
    pub id: Uuid,
    /// Gapless per-terminal ticket number, from 1.
    pub number: u64,
    pub kind: TicketKind,
    /// For a void or refund: the ticket it reverses.
    pub reverses: Option<Uuid>,
    pub created_at_ms: i64,
    pub hlc: Hlc,
    pub currency: Currency,
    pub prices_include_tax: bool,
    pub customer_id: Option<Uuid>,
    pub lines: Vec<TicketLine>,
    pub ticket_discount: Option<Discount>,
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    pub tenders: Vec<Tender>,
    /// The journal hash of this ticket on its terminal (hex SHA-256).
    pub journal_hash: String,
    /// Who rang it up; absent on a till without employees (and on tickets from before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// The manager's approval it needed (a void, a refund, a discount above the store's limit, a
    /// price override), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// The shift it was rung up in, on a till with employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<Uuid>,
}

impl TicketLine {
    /// What the pricing rule needs of this line.
    pub fn price_line(&self) -> PriceLine {
        PriceLine {
            unit_price: self.unit_price,
            quantity: self.quantity,
            tax_rate_bp: self.tax_rate_bp,
            discount: self.discount,
        }
    }
}

impl Ticket {
    /// The pricing input this ticket's figures must come from: the terminal prices it, the
    /// back office prices it again and compares.
    pub fn price_input(&self) -> PriceInput {
        PriceInput {
            prices_include_tax: self.prices_include_tax,
            lines: self.lines.iter().map(TicketLine::price_line).collect(),
            ticket_discount: self.ticket_discount,
        }
    }
}
