//! The types that cross IPC, exactly as `docs/app-api.md` states them: the core's views, inputs
//! and status snapshot (their TypeScript twins are generated from the core types, see
//! `bindings.rs`), and the few shapes that are the shell's own (the answer to Sync now, a synced
//! ticket's event, the conflict choice as the UI sends it).
//!
//! Inputs refuse unknown fields, so a UI that sends something the shell does not understand gets
//! `invalid_input` instead of a silently ignored field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use till_core::employees::Employee;
use till_core::sync::conflicts::{Resolution, Side};
use till_protocol::{Operator, Role};
use ts_rs::TS;
use uuid::Uuid;

pub use till_core::cart::Cart;
pub use till_core::cash::CashCount;
pub use till_core::parked::{ParkedSale, RestoredSale, SaleDraft};
pub use till_core::printer::{Flushed, PrinterStatus};
pub use till_core::queue_export::Exported as ExportedQueue;
pub use till_core::receipt::{Paper, Receipt};
pub use till_core::recover::notice::StoreDamage;
pub use till_core::register::{CommittedTicket, Lookup, ProductList, QuoteView, Resolved};
pub use till_core::settings::{AppSettings, ConnectionTest, SettingsInput};
pub use till_core::shifts::ShiftView;
pub use till_core::sync::conflicts::review::{ConflictDetail, ConflictSummary};
pub use till_core::sync::customers::CustomerView;
pub use till_core::sync::failed::ReviewItem;
pub use till_core::sync::history::ActivityLine;
pub use till_core::sync::settings::{SyncSettingChange, SyncSettingView};
pub use till_core::sync::{ServerTrust, SyncStatus};
pub use till_core::tender::{TenderBalance, TenderInput};
pub use till_core::tickets::view::{ListedTicket, TicketDetail};
pub use till_core::tickets::RefundLine;
#[cfg(test)]
pub use till_protocol::{CustomerFields, StoreSettings};

/// The receipt printer's settings, as the Settings screen shows and saves them: `target` is
/// `tcp://HOST:PORT`, `file:///dev/…` or `none` (the core checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PrinterSettings {
    pub target: String,
    /// Print each sale's receipt (and each Z report) after its payment.
    pub auto: bool,
    pub paper: Paper,
}

impl From<till_core::printer::PrinterSettings> for PrinterSettings {
    fn from(s: till_core::printer::PrinterSettings) -> Self {
        PrinterSettings {
            target: s.target.to_string(),
            auto: s.auto,
            paper: s.paper,
        }
    }
}

/// The employee signed in at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SignedIn {
    pub id: Uuid,
    pub name: String,
    #[ts(type = "\"cashier\" | \"manager\"")]
    pub role: Role,
}

impl SignedIn {
    /// This employee as the books name them.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

impl From<Employee> for SignedIn {
    fn from(e: Employee) -> Self {
        SignedIn {
            id: e.id,
            name: e.name,
            role: e.role,
        }
    }
}

/// Who is at the till. A till without employees never shows the PIN pad.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Session {
    pub employee: Option<SignedIn>,
    pub has_employees: bool,
    /// Seconds the till still refuses every PIN after too many wrong ones; `null` when it takes
    /// PINs.
    #[ts(type = "number | null")]
    pub pin_locked_seconds: Option<i64>,
}

/// The answer to "Sync now": at once, with the reason when it cannot run.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncNowAnswer {
    pub accepted: bool,
    pub reason: Option<String>,
}

/// The payload of `app://close-requested`: what the back office does not hold yet, asked about
/// before the window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct CloseRequest {
    /// Ticket mutations (sales, voids, refunds) not yet at the back office.
    pub sales: u64,
    /// Every mutation not yet there, the sales among them.
    pub pending: u64,
}

/// What the cashier chose in the close dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CloseChoice {
    /// Send what is pending, then close; stay open and say why when it cannot be sent in time.
    SyncAndClose,
    /// Close now; what is pending stays in the store and goes at the next start.
    CloseAnyway,
}

/// The answer to `close_app` when the window stays open (when it closes, no answer is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CloseAnswer {
    pub closed: bool,
    /// Why the pending items could not be sent.
    pub reason: Option<String>,
}

/// The payload of `ticket://synced`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TicketSynced {
    pub ticket_id: Uuid,
    pub server_number: u64,
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
    /// A disputed reversal whose cash was handed out: it stands, counted.
    RefundStands,
    /// A disputed reversal whose cash came back, and why: a counter-sale counts it in again.
    CashCameBack {
        why: String,
    },
}

impl From<ConflictResolution> for Resolution {
    fn from(r: ConflictResolution) -> Self {
        match r {
            ConflictResolution::KeepMine => Resolution::KeepMine,
            ConflictResolution::KeepTheirs => Resolution::KeepTheirs,
            ConflictResolution::Fields { picks } => Resolution::Pick(picks),
            ConflictResolution::RefundStands => Resolution::RefundStands,
            ConflictResolution::CashCameBack { why } => Resolution::CashCameBack { why },
        }
    }
}
