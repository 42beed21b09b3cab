//! Where the back office keeps its data. [`Storage`] is what the HTTP layer and the CLI use.
//! SQLite ([`sqlite::SqliteStorage`]) is the embedded default; [`postgres::PostgresStorage`]
//! serves a chain of shops from one PostgreSQL database shared by several replicas.
//!
//! Both backends only load facts and carry decisions out; every decision is made once, in
//! [`crate::decide`]. The write use cases are written once too (`push`, `shifts`, `customers`,
//! `catalog`, `employees`), over `tx::Tx`: the loads and writes of one transaction, which each
//! backend implements in its own SQL dialect and with its own locking. Each backend reads
//! terminals, tickets, shifts, pull pages, stats and the tickets of a sales report itself and
//! hands the rows to [`crate::decide`].

mod catalog;
mod columns;
mod customers;
mod employees;
pub mod postgres;
mod push;
mod settings;
mod shifts;
pub mod sqlite;
mod terminals;
mod tx;

use async_trait::async_trait;
use serde::Serialize;
use till_protocol::shift::ShiftMismatch;
use till_protocol::{
    Approval, CatalogSnapshot, ChainHead, Change, Customer, Employee, MutationResult, Operator,
    Product, Role, StoreSettings, TaxRate,
};
use uuid::Uuid;

use crate::dates::Day;
use crate::decide::chain::StoredChain;
use crate::decide::employees::PinHash;
use crate::decide::pull;
use crate::decide::push::Received;
use crate::decide::reports::{GroupBy, ReportOverflow, SalesReport};
use crate::decide::settings::{OfficeSetting, OfficeSettings};
use crate::decide::stamps::StampLimit;
use crate::decide::terminals::TokenSlot;

/// A terminal enrolled with the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalRecord {
    pub id: Uuid,
    pub name: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// Every mutation up to this sequence is settled.
    pub last_seq: u64,
    /// Until when the token replaced by the last `terminal rotate-token` keeps working; `None`
    /// when there is none.
    pub previous_token_expires_at_ms: Option<i64>,
}

impl TerminalRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at_ms.is_some()
    }
}

/// The terminal a bearer token belongs to, and which of its tokens it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub terminal: TerminalRecord,
    pub slot: TokenSlot,
}

/// What `terminal rotate-token` did: the terminal as it is now, and when its old token stops
/// working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub terminal: TerminalRecord,
    pub old_token_stops_at_ms: i64,
}

/// The outcome of one push batch, settled in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub results: Vec<MutationResult>,
    pub last_applied_seq: u64,
    /// The last link of the terminal's push chain accepted, after the push.
    pub head: Option<ChainHead>,
}

/// One page of changes after a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPage {
    pub changes: Vec<Change>,
    pub cursor: u64,
    pub has_more: bool,
}

/// What `catalog import` brings: a [`CatalogSnapshot`] (JSON), or products alone (CSV), whose
/// settings and tax rates then stay as they are. A product with a nil id takes the id of the
/// product with its sku, or a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogImport {
    pub settings: Option<StoreSettings>,
    pub tax_rates: Vec<TaxRate>,
    pub products: Vec<Product>,
}

impl From<CatalogSnapshot> for CatalogImport {
    fn from(s: CatalogSnapshot) -> Self {
        CatalogImport {
            settings: Some(s.settings),
            tax_rates: s.tax_rates,
            products: s.products,
        }
    }
}

/// What `catalog import` changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub tax_rates: usize,
    pub products: usize,
    /// Products already there with the same content, left untouched.
    pub unchanged: usize,
}

/// A back-office edit of a customer: fields left `None` keep their value; `Some("")` clears an
/// optional field. Tags and points change as the office asks (tags added and removed, points
/// moved by or set to a number), the way a till's change of them merges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    pub points: Option<PointsChange>,
}

/// How a back-office edit changes a customer's loyalty points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointsChange {
    /// Moves them by this many (negative takes points away).
    Add(i64),
    /// Sets them to this many.
    Set(i64),
}

/// A ticket as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub server_id: i64,
    pub server_number: u64,
    pub id: Uuid,
    pub terminal_id: Uuid,
    pub number: u64,
    pub kind: String,
    pub reverses: Option<Uuid>,
    pub reversed_by: Option<Uuid>,
    pub total: i64,
    pub created_at_ms: i64,
    /// For a ticket a till delivered after its history diverged (a restored or copied data
    /// dir), re-enrolled as a new terminal: the terminal it was first numbered under.
    pub recovered_from: Option<Uuid>,
    /// Who rang it up, when the till has employees.
    pub operator: Option<Operator>,
    /// The manager's approval it needed (a void, a refund, a discount above the limit, …).
    pub approval: Option<Approval>,
    /// The shift it was rung up in.
    pub shift_id: Option<Uuid>,
}

/// A shift as `till-server shifts` lists it. The cash figures of a closed shift are its Z
/// report's; `state` says whether the back office holds the same (`mismatch` says what differs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftSummary {
    pub shift_id: Uuid,
    pub terminal_id: Uuid,
    /// The terminal's name.
    pub terminal: String,
    pub z_number: u64,
    pub opened_by: Operator,
    pub opened_at_ms: i64,
    pub float: i64,
    pub closed_by: Option<Operator>,
    pub closed_at_ms: Option<i64>,
    pub expected_cash: Option<i64>,
    pub counted_cash: Option<i64>,
    /// `counted_cash − expected_cash`: negative when the drawer was short.
    pub difference: Option<i64>,
    /// `open`, `matched` or `mismatch`.
    pub state: String,
    pub mismatch: Option<ShiftMismatch>,
}

/// Figures for one terminal in [`Stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminalStats {
    pub terminal_id: Uuid,
    pub name: String,
    pub last_seq: u64,
    /// Sales received.
    pub sales: u64,
    /// Voids and refunds received.
    pub reversals: u64,
    /// Every ticket received: `sales` + `reversals`, as the till counts its tickets.
    pub tickets: u64,
    /// Sum of sale totals minus voids and refunds, in minor units.
    pub total: i64,
    pub sales_total: i64,
    pub reversals_total: i64,
    /// Ticket mutations the server refused (rejected or conflict).
    pub refused_ticket_mutations: u64,
    /// Voids and refunds of a sale already reversed: stored and counted in `total` (the cash
    /// left the drawer), flagged for a manager.
    pub disputed_reversals: u64,
    /// Of those, the ones no manager settled yet.
    pub open_disputes: u64,
    /// Ticket numbers between 1 and the highest received that never arrived. For a terminal
    /// enrolled to recover a diverged till's history, counted after the highest number it
    /// recovered (the numbers before continue another terminal's).
    pub missing_ticket_numbers: Vec<u64>,
    /// Mutation sequences between 1 and `last_seq` with no settled mutation.
    pub missing_mutation_seqs: Vec<u64>,
}

/// `till-server stats --json`: whether every terminal's work arrived exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub terminals: Vec<TerminalStats>,
    /// Over all terminals, as in [`TerminalStats`].
    pub sales: u64,
    pub reversals: u64,
    pub tickets: u64,
    pub total: i64,
    /// Disputed reversals over all terminals, and those still open.
    pub disputed_reversals: u64,
    pub open_disputes: u64,
    pub mutations: u64,
    /// Ticket ids delivered in more than one settled mutation, plus (terminal, ticket number)
    /// pairs received more than once, plus ticket rows sharing a (terminal, number). Must be 0.
    pub duplicates: u64,
    pub duplicate_ticket_ids: Vec<Uuid>,
    pub duplicate_ticket_numbers: Vec<(Uuid, u64)>,
    /// Sum of missing ticket numbers and missing mutation sequences over all terminals.
    pub gaps: u64,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the database is busy; try again")]
    Busy,
    #[error("cannot use the database: {reason}")]
    Connect { reason: String },
    #[error("cannot open the data dir {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("the database schema is version {found}, newer than this server ({supported}); upgrade till-server")]
    NewerSchema { found: u32, supported: u32 },
    #[error("migration {version} failed: {reason}")]
    Migration { version: u32, reason: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Invalid(String),
    #[error("another active employee has this PIN; a till could not tell them apart")]
    PinTaken,
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A push breaks the terminal's push chain: refused whole, nothing of it recorded.
    #[error("{0}")]
    JournalBreak(String),
}

impl StorageError {
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::Database(_) => "database_error",
            StorageError::Busy => "busy",
            StorageError::Connect { .. } => "database_unreachable",
            StorageError::DataDir { .. } => "data_dir_unusable",
            StorageError::NewerSchema { .. } => "schema_too_new",
            StorageError::Migration { .. } => "migration_failed",
            StorageError::NotFound { .. } => "not_found",
            StorageError::Invalid(_) => "invalid_input",
            StorageError::PinTaken => "pin_taken",
            StorageError::Corrupt(_) => "corrupt_data",
            StorageError::JournalBreak(_) => till_protocol::chain::JOURNAL_BREAK,
        }
    }
}

/// The back office's data. Every method is one transaction; `push` settles a whole batch
/// atomically and serialises concurrent pushes of one terminal (SQLite: `BEGIN IMMEDIATE`;
/// PostgreSQL: a row lock on the terminal), so a batch sent twice at once is applied once.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    async fn add_terminal(
        &self,
        name: &str,
        token_hash: &str,
    ) -> Result<TerminalRecord, StorageError>;
    async fn revoke_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError>;
    /// Forgets the push-chain head the back office accepted for the terminal and the head it
    /// was told, once a person has looked at a `journal_break`: the terminal's next linked
    /// mutation anchors its chain afresh. Mutations and their links stay as stored.
    async fn reanchor_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError>;
    async fn list_terminals(&self) -> Result<Vec<TerminalRecord>, StorageError>;
    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError>;
    /// The terminal whose current token, or whose token before its last rotation, hashes to
    /// `token_hash` (whether that one still works is [`crate::decide::terminals::accept_token`]'s
    /// call).
    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenOwner>, StorageError>;
    /// Gives the terminal the token hashing to `token_hash`; its current one keeps working for
    /// `grace_ms` more (none: forgotten at once). A revoked terminal is refused.
    async fn rotate_token(
        &self,
        id: Uuid,
        token_hash: &str,
        grace_ms: i64,
    ) -> Result<Rotated, StorageError>;

    /// Registers `public_key` (64 hex digits, checked by the caller) as the terminal's signing
    /// key, replacing any before it. `NotFound` for no such terminal.
    async fn set_terminal_key(&self, id: Uuid, public_key: &str) -> Result<(), StorageError>;
    /// The terminal's registered signing key, if it registered one.
    async fn terminal_key(&self, id: Uuid) -> Result<Option<String>, StorageError>;

    /// Settles `mutations` of `terminal_id` in order, by [`crate::decide`], in one transaction,
    /// applying none of those it `withdraw`s; a customer change stamped beyond `stamps` is refused
    /// (`clock_ahead`). Each mutation that settles goes on from the terminal's push chain, and
    /// `head`, the terminal's newest link, is kept until the chain reaches it
    /// ([`crate::decide::chain`]); a break refuses the whole push ([`StorageError::JournalBreak`]).
    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Received>,
        withdraw: Vec<Uuid>,
        head: Option<ChainHead>,
        stamps: StampLimit,
    ) -> Result<PushOutcome, StorageError>;
    /// How many of the terminal's mutations are settled here: one per sequence, whatever its
    /// outcome (what [`till_protocol::Ack::settled`] tells the terminal).
    async fn settled_mutations(&self, terminal_id: Uuid) -> Result<u64, StorageError>;
    /// The terminal's push chain as stored: its links and the head accepted last.
    async fn push_chain(&self, terminal_id: Uuid) -> Result<StoredChain, StorageError>;
    /// Whether the terminal was sent every employee when it first pulled at revision 3 or later.
    async fn employees_sent(&self, terminal_id: Uuid) -> Result<bool, StorageError>;
    /// Sends the terminal, pulling at revision 3 or later from `cursor` for the first time, every
    /// employee its cursor passed while it spoke an older revision: each takes a new change
    /// number, so its next pages carry them.
    async fn send_employees_again(
        &self,
        terminal_id: Uuid,
        cursor: u64,
    ) -> Result<(), StorageError>;
    /// Changes with a sequence above `cursor`, oldest first, at most `limit`; employee changes
    /// only when `employees` (otherwise passed, and the page filled with the changes after
    /// them).
    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        employees: bool,
    ) -> Result<PullPage, StorageError>;

    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError>;
    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError>;
    /// Deletes a product; terminals receive a tombstone. Its sku may then be reused.
    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError>;
    /// Units in stock by product id, after every sale, void and refund (may be negative: a
    /// till sells what it holds, whatever the back office counted).
    async fn stock(&self, product_id: Uuid) -> Result<i64, StorageError>;
    /// Creates the customer (a name is then required) or edits it; bumps its version.
    async fn save_customer(&self, id: Uuid, edit: CustomerEdit) -> Result<Customer, StorageError>;
    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError>;
    /// Adds an active employee whose PIN hashes to `pin`; tills receive it.
    async fn add_employee(
        &self,
        name: &str,
        role: Role,
        pin: PinHash,
    ) -> Result<Employee, StorageError>;
    /// Every employee, disabled ones too, by name.
    async fn list_employees(&self) -> Result<Vec<Employee>, StorageError>;
    /// Gives an active employee the PIN hashing to `pin`.
    async fn set_employee_pin(&self, id: Uuid, pin: PinHash) -> Result<Employee, StorageError>;
    /// Disables an employee: its PIN matches on no till once they pulled it.
    async fn disable_employee(&self, id: Uuid) -> Result<Employee, StorageError>;
    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError>;
    /// The shifts tills opened (of `terminal` only, if named), newest first.
    async fn shifts(&self, terminal: Option<Uuid>) -> Result<Vec<ShiftSummary>, StorageError>;
    /// The back office's own settings (store policies only the server applies).
    async fn office_settings(&self) -> Result<OfficeSettings, StorageError>;
    async fn set_office_setting(
        &self,
        setting: OfficeSetting,
    ) -> Result<OfficeSettings, StorageError>;
    async fn stats(&self) -> Result<Stats, StorageError>;
    /// The sales report of the tickets rung up from the day `from` to the day `to` (UTC,
    /// inclusive), grouped `by` one way.
    async fn sales_report(
        &self,
        from: Day,
        to: Day,
        by: GroupBy,
    ) -> Result<SalesReport, StorageError>;
}

/// `NotFound` for the terminal `id` when a statement about it changed no row.
fn terminal_found(id: Uuid, changed: usize) -> Result<(), StorageError> {
    if changed == 0 {
        return Err(StorageError::NotFound {
            what: format!("terminal {id}"),
        });
    }
    Ok(())
}

/// A pull page after `cursor` from the rows `load` reads after a cursor ([`pull::page`]). A
/// page that sent nothing but passed changes the terminal is not sent (employees, to an older
/// terminal) is read again after them, so a terminal never gets an empty page that says more
/// wait.
async fn fill_page<F, Fut>(
    mut cursor: u64,
    limit: u32,
    employees: bool,
    mut load: F,
) -> Result<PullPage, StorageError>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<pull::Rows, StorageError>>,
{
    loop {
        let page = pull::page(load(cursor).await?, cursor, limit, employees)?;
        if !page.changes.is_empty() || !page.has_more {
            return Ok(page);
        }
        cursor = page.cursor;
    }
}

impl From<ReportOverflow> for StorageError {
    fn from(e: ReportOverflow) -> Self {
        StorageError::Invalid(e.to_string())
    }
}
