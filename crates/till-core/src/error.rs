//! The one error type of the terminal engine. Every variant has a stable [`ErrorCode`] that the
//! UI, `tillctl` and logs switch on; messages are for people and may change.

use std::path::PathBuf;

use till_protocol::pricing::PricingError;
use uuid::Uuid;

pub use crate::error_code::ErrorCode;
use crate::money::Money;

/// Why a core operation failed. An operation that fails changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The cart could not be priced (empty cart, bad quantity, discount, overflow…).
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// A cart line names a product the catalog does not hold.
    #[error("line {line}: no product with id {product_id}")]
    UnknownProduct { line: usize, product_id: Uuid },
    /// The cart names a customer this till does not know (or one that was deleted).
    #[error("no customer with id {0}")]
    UnknownCustomer(Uuid),
    /// A cart line names a product that is no longer on sale.
    #[error("line {line}: {name} is not on sale")]
    InactiveProduct { line: usize, name: String },
    /// No product on sale has this barcode.
    #[error("no product on sale has the barcode {0}")]
    UnknownBarcode(String),
    /// A scanned code is no product's barcode, SKU or name.
    #[error("no product on sale has the code {0}")]
    UnknownCode(String),
    /// Text typed in the register's search finds no product.
    #[error("no product on sale matches \"{0}\"")]
    NoMatch(String),
    /// A product names a tax category the catalog does not hold.
    #[error("line {line}: tax category {tax_category} is unknown")]
    UnknownTaxRate { line: usize, tax_category: String },
    /// No catalog has been loaded (no store settings).
    #[error("no catalog is loaded")]
    NoCatalog,
    /// The tenders cover less than the amount due.
    #[error("{tendered} does not cover {due}")]
    TenderShort { due: Money, tendered: Money },
    /// Something that looks like a full card number (PAN) was given; the till never stores one.
    #[error("a full card number was given in {field}; keep only the approval reference and at most the last four digits")]
    CardNumberForbidden { field: &'static str },
    /// A free-text field held what looks like a full card number (`till_protocol::card`); the
    /// message names the field, never the value.
    #[error("{field} holds what looks like a card number; a till never keeps card numbers")]
    CardNumberInText { field: String },
    /// Malformed or unexpected input: bad JSON, unknown fields, out-of-range values.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A value a person entered breaks a rule (a settings field, an address); the message says
    /// what is expected and is shown as it is.
    #[error("{0}")]
    InvalidValue(String),
    /// A sync setting was refused (from the environment, the store, a form or a flag); the
    /// message names the setting, the value and what it allows.
    #[error(transparent)]
    Setting(#[from] crate::sync::settings::SettingError),
    /// The ticket was already voided or refunded on this terminal.
    #[error("ticket {ticket_id} was already reversed by ticket {by}")]
    AlreadyReversed { ticket_id: Uuid, by: Uuid },
    /// Only sales can be voided or refunded.
    #[error("ticket {0} is itself a void or refund and cannot be reversed")]
    NotReversible(Uuid),
    /// No ticket with that id or number.
    #[error("no ticket {0}")]
    TicketNotFound(String),
    /// A refund asks back more of a line than the sale's earlier refunds left.
    #[error("line {line_no}: {left} of {name} are left to refund, not {asked}")]
    NothingLeftToRefund {
        line_no: usize,
        name: String,
        left: i64,
        asked: i64,
    },
    /// The till has employees and the operation names no one's PIN.
    #[error("this till has employees: sign in with a PIN first")]
    PinRequired,
    /// No active employee has this PIN. The message never repeats the PIN.
    #[error("wrong PIN")]
    WrongPin,
    /// Too many wrong PINs in a row: every PIN is refused until `until_ms`.
    #[error("too many wrong PINs: the till refuses every PIN for {seconds} s more")]
    PinLocked { until_ms: i64, seconds: i64 },
    /// The operation needs a manager's approval, which was not given.
    #[error("{action} needs a manager's approval: {reason}")]
    ApprovalRequired { action: String, reason: String },
    /// The approving PIN belongs to an employee who is not a manager.
    #[error("{0} is not a manager and cannot approve")]
    NotAManager(String),
    /// Sales and cash movements on a till with employees need an open shift.
    #[error("no shift is open on this till: open one with its float first")]
    NoOpenShift,
    /// A shift is already open; close it before opening another.
    #[error("shift {z_number} is already open on this till")]
    ShiftAlreadyOpen { z_number: u64 },
    /// The database was written by a newer Till; this binary refuses to touch it.
    #[error("the database has schema version {found}, newer than this Till knows ({known}); upgrade Till")]
    SchemaTooNew { found: u32, known: u32 },
    /// The database file is damaged. It is left exactly as found.
    #[error("the database {path} is damaged and was left untouched: {detail}")]
    DatabaseCorrupt { path: PathBuf, detail: String },
    /// The disk is full; the operation was rolled back.
    #[error("the disk is full: {0}")]
    DiskFull(String),
    /// No data directory could be found or created.
    #[error("data directory: {0}")]
    DataDir(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
    /// Any other I/O failure.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl CoreError {
    /// The stable code the UI, CLI and logs report.
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Pricing(e) => e.into(),
            CoreError::UnknownProduct { .. } => ErrorCode::UnknownProduct,
            CoreError::UnknownCustomer(_) => ErrorCode::UnknownCustomer,
            CoreError::InactiveProduct { .. } => ErrorCode::InactiveProduct,
            CoreError::UnknownBarcode(_) => ErrorCode::UnknownBarcode,
            CoreError::UnknownCode(_) => ErrorCode::UnknownCode,
            CoreError::NoMatch(_) => ErrorCode::NoMatch,
            CoreError::UnknownTaxRate { .. } => ErrorCode::UnknownTaxRate,
            CoreError::NoCatalog => ErrorCode::NoCatalog,
            CoreError::TenderShort { .. } => ErrorCode::InsufficientTender,
            CoreError::CardNumberForbidden { .. } => ErrorCode::CardNumberForbidden,
            CoreError::CardNumberInText { .. } => ErrorCode::CardNumberInText,
            CoreError::InvalidInput(_) | CoreError::InvalidValue(_) | CoreError::Setting(_) => {
                ErrorCode::InvalidInput
            }
            CoreError::AlreadyReversed { .. } => ErrorCode::AlreadyReversed,
            CoreError::NotReversible(_) => ErrorCode::NotReversible,
            CoreError::TicketNotFound(_) => ErrorCode::TicketNotFound,
            CoreError::NothingLeftToRefund { .. } => ErrorCode::NothingLeftToRefund,
            CoreError::PinRequired => ErrorCode::PinRequired,
            CoreError::WrongPin => ErrorCode::WrongPin,
            CoreError::PinLocked { .. } => ErrorCode::PinLocked,
            CoreError::ApprovalRequired { .. } => ErrorCode::ApprovalRequired,
            CoreError::NotAManager(_) => ErrorCode::NotAManager,
            CoreError::NoOpenShift => ErrorCode::NoOpenShift,
            CoreError::ShiftAlreadyOpen { .. } => ErrorCode::ShiftAlreadyOpen,
            CoreError::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            CoreError::DatabaseCorrupt { .. } => ErrorCode::DatabaseCorrupt,
            CoreError::DiskFull(_) => ErrorCode::DiskFull,
            CoreError::DataDir(_) => ErrorCode::DataDirUnavailable,
            CoreError::Database(_) => ErrorCode::DatabaseError,
            CoreError::Io(_) => ErrorCode::IoError,
        }
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        if till_pages::is_seal_error(&e) {
            return CoreError::DatabaseCorrupt {
                path: PathBuf::new(),
                detail: format!(
                    "a page does not match its checksum: its bytes changed on disk ({e})"
                ),
            };
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
                CoreError::DatabaseCorrupt {
                    path: PathBuf::new(),
                    detail: e.to_string(),
                }
            }
            Some(ErrorCode::DiskFull) => CoreError::DiskFull(e.to_string()),
            _ => CoreError::Database(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::InvalidInput(e.to_string())
    }
}

/// The result type of the core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
