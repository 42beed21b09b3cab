//! The types that cross IPC, exactly as `docs/app-api.md` states them. Each is a view of a core
//! type (or a command's input) with a plain mapping and no rule of its own; their TypeScript
//! twins in `ui/src/lib/bindings/` are generated from here (see `bindings.rs`).
//!
//! Inputs refuse unknown fields, so a UI that sends something the shell does not understand gets
//! `invalid_input` instead of a silently ignored field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use till_core::sync::conflicts::{Resolution, Side};
use till_protocol::pricing::{Discount, TaxFigures, TicketTotals};
use till_protocol::{Tender, TicketKind};
use ts_rs::TS;
use uuid::Uuid;

pub use crate::error::AppError;
#[cfg(test)]
pub use till_protocol::{CustomerFields, StoreSettings};

/// A product as the register shows it, with its tax rate resolved.
#[derive(Debug, Clone, Serialize, TS)]
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

/// What the cashier is ringing up.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub ticket_discount: Option<Discount>,
    pub customer_id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    pub product_id: Uuid,
    pub quantity: i64,
    pub discount: Option<Discount>,
}

/// A priced cart; every figure comes from the core's pricing rule.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    /// Quick cash amounts to offer, smallest first, each covering the total.
    pub cash_suggestions: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, TS)]
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

/// How the customer pays, as the UI sends it (cash change is computed by the core).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TenderInput {
    Cash {
        tendered: i64,
    },
    Card {
        amount: i64,
        approval_ref: String,
        last4: Option<String>,
    },
}

/// A ticket just committed to the local store.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommittedTicket {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub total: i64,
    pub change_due: i64,
    pub created_at_ms: i64,
}

/// Which lines of a sale are returned, and how many of each.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    /// 1-based line number on the original ticket.
    pub line_no: u32,
    pub quantity: i64,
}

/// Where one ticket, customer edit or mutation stands with the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ItemSyncState {
    Pending,
    Synced,
    Failed,
    Conflict,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketSummary {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub total: i64,
    pub created_at_ms: i64,
    pub sync_state: ItemSyncState,
    pub server_number: Option<u64>,
    pub reverses: Option<Uuid>,
    pub reversed_by: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketDetail {
    pub id: Uuid,
    pub number: u64,
    pub kind: TicketKind,
    pub created_at_ms: i64,
    pub customer_id: Option<Uuid>,
    pub reverses: Option<Uuid>,
    pub reversed_by: Option<Uuid>,
    pub lines: Vec<TicketDetailLine>,
    pub ticket_discount: Option<Discount>,
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
    pub tenders: Vec<Tender>,
    pub sync_state: ItemSyncState,
    pub server_number: Option<u64>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketDetailLine {
    pub line_no: u32,
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
    /// How many of this line were already refunded.
    pub refunded_quantity: i64,
}

/// The sync engine's state, as the status bar names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    Idle,
    Syncing,
    BackingOff,
    Offline,
    AuthError,
    Paused,
    NotEnrolled,
    Stopped,
}

/// Progress of the batch in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct SyncProgress {
    pub done: u64,
    pub total: u64,
}

/// The whole sync status snapshot: the payload of `sync://state` and of `sync_status`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SyncStatus {
    pub state: EngineState,
    pub online: bool,
    pub pending: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub progress: Option<SyncProgress>,
    pub throughput_per_s: Option<f64>,
    pub eta_secs: Option<u64>,
    pub last_success_at_ms: Option<i64>,
    pub next_retry_at_ms: Option<i64>,
    pub last_error: Option<AppError>,
    pub clock_offset_ms: Option<i64>,
    pub completed_cycles: u64,
}

/// The answer to "Sync now": at once, with the reason when it cannot run.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncNowAnswer {
    pub accepted: bool,
    pub reason: Option<String>,
}

/// The payload of `ticket://synced`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketSynced {
    pub ticket_id: Uuid,
    pub server_number: u64,
}

/// One recorded sync cycle.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncCycle {
    pub id: i64,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub errors: u64,
    pub error: Option<String>,
}

/// How the manager settles a conflict.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConflictResolution {
    KeepMine,
    KeepTheirs,
    /// By field name; a field not named keeps the back office's value.
    Fields {
        picks: BTreeMap<String, Side>,
    },
}

impl From<ConflictResolution> for Resolution {
    fn from(r: ConflictResolution) -> Self {
        match r {
            ConflictResolution::KeepMine => Resolution::KeepMine,
            ConflictResolution::KeepTheirs => Resolution::KeepTheirs,
            ConflictResolution::Fields { picks } => Resolution::Pick(picks),
        }
    }
}

/// A mutation the server refused; it waits for a person to retry or discard it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FailedItem {
    pub seq: u64,
    pub mutation_id: Uuid,
    pub kind: String,
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<u64>,
    pub code: String,
    pub reason: String,
    pub failed_at_ms: i64,
    pub attempts: u32,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct CustomerView {
    pub id: Uuid,
    pub version: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub sync_state: ItemSyncState,
}

/// The terminal's own settings and enrolment.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppSettings {
    pub server_url: Option<String>,
    pub enrolled: bool,
    pub terminal_id: Option<Uuid>,
    pub terminal_name: Option<String>,
    pub sync_interval_secs: u32,
    pub operator: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    pub server_url: Option<String>,
    pub sync_interval_secs: u32,
    pub operator: String,
}

/// What "Test connection" found.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectionTest {
    pub ok: bool,
    pub latency_ms: Option<u64>,
    pub server_version: Option<String>,
    pub clock_offset_ms: Option<i64>,
    pub message: Option<String>,
}
