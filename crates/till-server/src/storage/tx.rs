//! The loads and writes of one write transaction, each one or two statements in a backend's
//! dialect. The use cases above it ([`super::push`], [`super::shifts`], [`super::customers`],
//! [`super::catalog`], [`super::employees`])
//! are written once: they load facts through a [`Tx`], ask [`crate::decide`] what to do, and
//! carry the decision out through the same [`Tx`]. Each backend implements it with its own
//! locking: SQLite's transaction holds the whole database (`BEGIN IMMEDIATE`), PostgreSQL locks
//! the rows named below (`FOR UPDATE`).

use std::collections::HashSet;

use till_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use till_protocol::{CustomerFields, Employee, Product, StoredFigures, TaxRate, Ticket};
use uuid::Uuid;

use super::{StorageError, TerminalRecord};
use crate::decide::catalog::StoredRate;
use crate::decide::chain::ChainHeads;
use crate::decide::customers::StoredCustomer;
use crate::decide::disputes::{DisputeClosed, NewDispute, StoredDispute};
use crate::decide::push::{RecordedBy, Settlement};
use crate::decide::settings::OfficeSettings;
use crate::decide::shifts::{Reconciled, StoredShift};
use crate::decide::tickets::{EarlierReversal, SoldLine, StoredTicket};

/// Whether a load holds its row until commit, so that a concurrent writer deciding on the same
/// row waits and then sees this transaction's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lock {
    No,
    Row,
}

/// How a live product is looked up.
#[derive(Debug, Clone, Copy)]
pub(super) enum ProductKey<'a> {
    Id(Uuid),
    Sku(&'a str),
}

/// What every write of a customer records: the version it makes, the change number
/// ([`Tx::next_change`]) pulls order it by, the stored form of the change's HLC stamp, and what
/// made the version.
#[derive(Debug)]
pub(super) struct CustomerVersion {
    pub id: Uuid,
    pub version: i64,
    pub change: i64,
    pub hlc: String,
    pub made_by: Uuid,
}

/// One write transaction of a backend.
pub(super) trait Tx {
    /// How a load or write fails: a [`StorageError`], or for PostgreSQL also a conflict with a
    /// concurrent transaction that is worth running again.
    type Error: From<StorageError>;

    /// The terminal's last settled sequence (`None`: no such terminal). Holds the terminal's
    /// row, so one terminal's batches settle one at a time.
    async fn lock_terminal(&mut self, id: Uuid) -> Result<Option<u64>, Self::Error>;
    /// The terminal, its row held to commit.
    async fn terminal(&mut self, id: Uuid) -> Result<Option<TerminalRecord>, Self::Error>;
    /// Makes `token_hash` the terminal's token; its current one becomes the previous token,
    /// working until `previous_expires_at_ms` (`None`: forgotten).
    async fn replace_token(
        &mut self,
        id: Uuid,
        token_hash: &str,
        previous_expires_at_ms: Option<i64>,
    ) -> Result<(), Self::Error>;
    /// What each of `ids` was settled with, and by which terminal.
    async fn recorded(&mut self, ids: &[Uuid]) -> Result<RecordedBy, Self::Error>;
    async fn ticket(&mut self, id: Uuid, lock: Lock) -> Result<Option<StoredTicket>, Self::Error>;
    /// The figures the ticket `id` is stored with, read back from its row.
    async fn stored_figures(&mut self, id: Uuid) -> Result<Option<StoredFigures>, Self::Error>;
    /// Stores `ticket`, sent by `terminal_id` in `mutation_id`, under the next back-office
    /// ticket number: its server id and number, or `None` when a ticket with its id is stored
    /// already (also one committed meanwhile by another replica).
    async fn insert_ticket(
        &mut self,
        terminal_id: Uuid,
        mutation_id: Uuid,
        ticket: &Ticket,
    ) -> Result<Option<(i64, u64)>, Self::Error>;
    /// The lines of the stored ticket `id` (none when there is no such ticket).
    async fn sold_lines(&mut self, id: Uuid) -> Result<Vec<SoldLine>, Self::Error>;
    /// The voids and refunds of the sale `id` stored so far, in the order stored.
    async fn reversals_of(&mut self, id: Uuid) -> Result<Vec<EarlierReversal>, Self::Error>;
    /// Marks the sale reversed by `by`, unless a reversal before it did: a sale names its first
    /// reversal.
    async fn mark_reversed(&mut self, sale: Uuid, by: Uuid) -> Result<(), Self::Error>;
    /// Flags a stored reversal as disputed, at `now_ms`.
    async fn insert_dispute(
        &mut self,
        dispute: &NewDispute,
        now_ms: i64,
    ) -> Result<(), Self::Error>;
    /// The disputed reversal `reversal_id`, its row held to commit.
    async fn dispute(&mut self, reversal_id: Uuid) -> Result<Option<StoredDispute>, Self::Error>;
    /// Whether the sale `id` already counts back the cash of a dispute.
    async fn counts_back_a_dispute(&mut self, id: Uuid) -> Result<bool, Self::Error>;
    /// Records how the dispute of `reversal_id` was settled, at `now_ms`.
    async fn close_dispute(
        &mut self,
        reversal_id: Uuid,
        closed: &DisputeClosed,
        now_ms: i64,
    ) -> Result<(), Self::Error>;
    /// The shift `id`.
    async fn shift(&mut self, id: Uuid) -> Result<Option<StoredShift>, Self::Error>;
    /// Stores a shift `terminal_id` opened, open: its server id.
    async fn insert_shift(
        &mut self,
        terminal_id: Uuid,
        opened: &ShiftOpened,
    ) -> Result<i64, Self::Error>;
    /// The cash moved in the shift `shift_id`, in the order stored.
    async fn cash_movements(&mut self, shift_id: Uuid) -> Result<Vec<CashMoved>, Self::Error>;
    async fn insert_cash_movement(&mut self, moved: &CashMoved) -> Result<(), Self::Error>;
    /// The tickets of `terminal_id` stored for the shift `shift_id`, by number.
    async fn shift_tickets(
        &mut self,
        terminal_id: Uuid,
        shift_id: Uuid,
    ) -> Result<Vec<Ticket>, Self::Error>;
    /// Records the close of a shift and how it reconciled.
    async fn close_shift(
        &mut self,
        closed: &ShiftClosed,
        reconciled: &Reconciled,
    ) -> Result<(), Self::Error>;
    /// The back office's settings, from their rows.
    async fn office_settings(&mut self) -> Result<OfficeSettings, Self::Error>;
    async fn put_office_setting(&mut self, name: &str, value: &str) -> Result<(), Self::Error>;
    /// The terminal's push chain: the link accepted last and the head it named, not reached yet.
    async fn chain_heads(&mut self, terminal_id: Uuid) -> Result<ChainHeads, Self::Error>;
    /// Keeps the terminal's push chain as a push left it.
    async fn set_chain_heads(
        &mut self,
        terminal_id: Uuid,
        heads: &ChainHeads,
    ) -> Result<(), Self::Error>;
    /// Writes what a batch settled: its mutations (with their links), its stock moves, and the
    /// terminal's last settled sequence.
    async fn record_batch(
        &mut self,
        terminal_id: Uuid,
        settlement: &Settlement,
    ) -> Result<(), Self::Error>;

    /// The next number of the server-wide change counter, for one catalog or customer change.
    /// PostgreSQL holds the counter's row to commit, so change numbers commit in order.
    async fn next_change(&mut self) -> Result<i64, Self::Error>;

    async fn customer(
        &mut self,
        id: Uuid,
        lock: Lock,
    ) -> Result<Option<StoredCustomer>, Self::Error>;
    /// Inserts a new customer: its server id.
    async fn insert_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<i64, Self::Error>;
    async fn update_customer(
        &mut self,
        at: &CustomerVersion,
        fields: &CustomerFields,
    ) -> Result<(), Self::Error>;
    /// Marks the customer deleted; terminals receive a tombstone.
    async fn delete_customer(&mut self, at: &CustomerVersion) -> Result<(), Self::Error>;

    /// The employee, its row held to commit.
    async fn employee(&mut self, id: Uuid) -> Result<Option<Employee>, Self::Error>;
    /// Every employee, disabled ones too, with the number of its last change.
    async fn employee_changes(&mut self) -> Result<Vec<(i64, Employee)>, Self::Error>;
    /// Whether the terminal was sent every employee when it first pulled them (`None`: no such
    /// terminal), its row held to commit.
    async fn employees_sent(&mut self, terminal_id: Uuid) -> Result<Option<bool>, Self::Error>;
    async fn mark_employees_sent(&mut self, terminal_id: Uuid) -> Result<(), Self::Error>;
    /// Inserts the employee (added at `now_ms`) or updates it, as change `change`.
    async fn put_employee(
        &mut self,
        employee: &Employee,
        change: i64,
        now_ms: i64,
    ) -> Result<(), Self::Error>;

    /// The stored settings' JSON.
    async fn settings(&mut self) -> Result<Option<String>, Self::Error>;
    async fn put_settings(&mut self, body: &str, change: i64) -> Result<(), Self::Error>;
    async fn tax_rate(&mut self, id: &str) -> Result<Option<StoredRate>, Self::Error>;
    /// Inserts or updates the rate (reviving it if deleted).
    async fn put_tax_rate(&mut self, rate: &TaxRate, change: i64) -> Result<(), Self::Error>;
    /// The ids of the tax rates not deleted.
    async fn live_tax_rates(&mut self) -> Result<HashSet<String>, Self::Error>;
    /// The id of the product holding `sku`.
    async fn product_id(&mut self, sku: &str) -> Result<Option<Uuid>, Self::Error>;
    /// A product not deleted. PostgreSQL holds its row.
    async fn product(&mut self, key: ProductKey<'_>) -> Result<Option<Product>, Self::Error>;
    /// Whether a product other than `id` holds `sku`.
    async fn sku_taken(&mut self, sku: &str, id: Uuid) -> Result<bool, Self::Error>;
    /// Inserts or updates the product by id (reviving it if deleted).
    async fn put_product(&mut self, product: &Product, change: i64) -> Result<(), Self::Error>;
    /// Marks the product deleted, its sku changed to `sku` (a tombstone's); terminals receive a
    /// tombstone.
    async fn delete_product(&mut self, id: Uuid, sku: &str, change: i64)
        -> Result<(), Self::Error>;
}
