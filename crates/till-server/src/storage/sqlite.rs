//! The embedded default backend: one SQLite file in the data dir, WAL mode, `synchronous=FULL`.
//! Writes go through one connection and `BEGIN IMMEDIATE`, so pushes are serialised, also
//! against the CLI writing the same file from another process (busy timeout).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use till_protocol::pricing::{MAX_TAX_RATE_BP, MAX_UNIT_PRICE};
use till_protocol::{
    Change, ChangeKind, ConflictCurrent, ConflictReason, Customer, CustomerFields, Hlc, Mutation,
    MutationBody, MutationResult, Outcome, Product, ReversalInfo, StoreSettings, TaxRate, Ticket,
    TicketKind,
};
use uuid::Uuid;

use super::{
    CatalogImport, CustomerEdit, ImportSummary, PullPage, PushOutcome, Stats, Storage,
    StorageError, TerminalRecord, TerminalStats, TicketSummary,
};
use crate::clock::now_ms;
use crate::rules::{self, CustomerDecision, Known, Recorded, Rejection, Step, StoredCustomer};

/// The database file inside the data dir.
pub const DB_FILE: &str = "till-server.sqlite3";

/// Numbered migrations, applied in order, all pending ones in one transaction.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_customer_hlc.sql"),
    ),
];

/// How long a statement waits for another writer (e.g. the CLI) before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Listed at most this many missing numbers per terminal in stats; the counts cover all.
const MAX_LISTED_GAPS: usize = 100;

/// Cheap to clone: a handle on shared connections.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StorageError::Busy
            }
            _ => StorageError::Database(e.to_string()),
        }
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StorageError> {
        let unusable = |reason: String| StorageError::DataDir {
            path: data_dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| unusable(e.to_string()))?;
        // SQLite only fails on the first write; find out now with a clear message.
        let probe = data_dir.join(".till-server-write-check");
        std::fs::write(&probe, b"ok").map_err(|e| unusable(format!("not writable: {e}")))?;
        let _ = std::fs::remove_file(&probe);

        let path = data_dir.join(DB_FILE);
        let mut writer = open_connection(&path).map_err(|e| unusable(e.to_string()))?;
        migrate(&mut writer)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The schema version this binary brings.
    pub fn supported_schema() -> u32 {
        MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let mut conn = lock(&inner.writer);
            f(&mut conn)
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let pooled = lock(&inner.readers).pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path)?,
            };
            let result = f(&conn);
            let mut readers = lock(&inner.readers);
            if readers.len() < 8 {
                readers.push(conn);
            }
            result
        })
        .await
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Database(format!("storage task failed: {e}")))?
}

/// A poisoned lock only means another thread panicked mid-statement; SQLite rolled that
/// transaction back, so the connection is still sound.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn open_connection(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    apply_migrations(conn, MIGRATIONS)
}

/// Applies the pending `migrations` in one transaction: all of them or none.
fn apply_migrations(conn: &mut Connection, migrations: &[(u32, &str)]) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = migrations.last().map(|m| m.0).unwrap_or(0);
    if found > supported {
        return Err(StorageError::NewerSchema { found, supported });
    }
    for (version, sql) in migrations.iter().filter(|(v, _)| *v > found) {
        tx.execute_batch(sql).map_err(|e| StorageError::Migration {
            version: *version,
            reason: e.to_string(),
        })?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}

fn parse_uuid(text: &str) -> Result<Uuid, StorageError> {
    Uuid::parse_str(text).map_err(|e| StorageError::Corrupt(format!("bad id {text:?}: {e}")))
}

fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Invalid(format!("{what} {v} is out of range")))
}

fn next_counter(tx: &Transaction<'_>, name: &str) -> Result<i64, StorageError> {
    Ok(tx
        .prepare_cached("UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value")?
        .query_row([name], |r| r.get(0))?)
}

fn kind_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Void => "void",
        TicketKind::Refund => "refund",
    }
}

fn parse_kind(name: &str) -> Result<TicketKind, StorageError> {
    match name {
        "sale" => Ok(TicketKind::Sale),
        "void" => Ok(TicketKind::Void),
        "refund" => Ok(TicketKind::Refund),
        other => Err(StorageError::Corrupt(format!(
            "unknown ticket kind {other:?}"
        ))),
    }
}

pub(super) fn mutation_kind(body: &MutationBody) -> &'static str {
    match body {
        MutationBody::TicketCreated(_) => "ticket_created",
        MutationBody::TicketVoided(_) => "ticket_voided",
        MutationBody::TicketRefunded(_) => "ticket_refunded",
        MutationBody::CustomerCreated(_) => "customer_created",
        MutationBody::CustomerUpdated(_) => "customer_updated",
        MutationBody::CustomerDeleted(_) => "customer_deleted",
    }
}

// ---------------------------------------------------------------------------------------------
// Terminals

const TERMINAL_COLUMNS: &str = "id, name, created_at_ms, revoked_at_ms, last_seq";

fn terminal_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, TerminalRecord)> {
    let id: String = r.get(0)?;
    let last_seq: i64 = r.get(4)?;
    Ok((
        id,
        TerminalRecord {
            id: Uuid::nil(),
            name: r.get(1)?,
            created_at_ms: r.get(2)?,
            revoked_at_ms: r.get(3)?,
            last_seq: last_seq.max(0) as u64,
        },
    ))
}

fn finish_terminal((id, mut t): (String, TerminalRecord)) -> Result<TerminalRecord, StorageError> {
    t.id = parse_uuid(&id)?;
    Ok(t)
}

fn query_terminal(
    conn: &Connection,
    where_clause: &str,
    param: &str,
) -> Result<Option<TerminalRecord>, StorageError> {
    let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE {where_clause}");
    conn.prepare_cached(&sql)?
        .query_row([param], terminal_from_row)
        .optional()?
        .map(finish_terminal)
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Push

fn push_batch(
    conn: &mut Connection,
    terminal_id: Uuid,
    mutations: Vec<Mutation>,
) -> Result<PushOutcome, StorageError> {
    // IMMEDIATE takes the write lock now: two pushes of one batch settle one after the other,
    // and the second sees the first's mutations as recorded.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let terminal = terminal_id.to_string();
    let last: i64 = tx
        .query_row(
            "SELECT last_seq FROM terminals WHERE id = ?1",
            [&terminal],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {terminal_id}"),
        })?;
    let mut last_seq = last.max(0) as u64;
    let mut gap: Option<u64> = None;
    let mut results = Vec::with_capacity(mutations.len());
    let now = now_ms();
    for mutation in mutations {
        let outcome = match gap {
            Some(expected_seq) => Outcome::Gap { expected_seq },
            None => {
                let hash = rules::payload_hash(&mutation)
                    .map_err(|e| StorageError::Database(format!("cannot hash a mutation: {e}")))?;
                let recorded = recorded_mutation(&tx, mutation.id)?;
                let known = recorded.as_ref().map(|(owner, record)| Known {
                    record,
                    by_this_terminal: *owner == terminal,
                });
                let step = rules::classify(known, &hash, last_seq, mutation.seq);
                if let Step::Gap { expected_seq } = step {
                    gap = Some(expected_seq);
                }
                let answered = rules::answer(&step, &mutation).map_err(|e| {
                    StorageError::Corrupt(format!("stored outcome of {}: {e}", mutation.id))
                })?;
                match answered {
                    Some(outcome) => outcome,
                    None => {
                        let outcome = apply(&tx, terminal_id, &mutation)?;
                        record(&tx, &terminal, &mutation, &hash, &outcome, now)?;
                        last_seq = mutation.seq;
                        outcome
                    }
                }
            }
        };
        results.push(MutationResult {
            mutation_id: mutation.id,
            seq: mutation.seq,
            outcome,
        });
    }
    tx.execute(
        "UPDATE terminals SET last_seq = ?2 WHERE id = ?1",
        params![terminal, to_i64(last_seq, "sequence")?],
    )?;
    tx.commit()?;
    Ok(PushOutcome {
        results,
        last_applied_seq: last_seq,
    })
}

fn recorded_mutation(
    tx: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<(String, Recorded)>, StorageError> {
    Ok(tx
        .prepare_cached("SELECT terminal_id, payload_hash, outcome FROM mutations WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Recorded {
                    payload_hash: r.get(1)?,
                    outcome_json: r.get(2)?,
                },
            ))
        })
        .optional()?)
}

fn record(
    tx: &Transaction<'_>,
    terminal: &str,
    mutation: &Mutation,
    hash: &str,
    outcome: &Outcome,
    now: i64,
) -> Result<(), StorageError> {
    let outcome_json = serde_json::to_string(outcome)
        .map_err(|e| StorageError::Database(format!("cannot serialise an outcome: {e}")))?;
    let (ticket_id, ticket_number) = match &mutation.body {
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => (Some(t.id.to_string()), i64::try_from(t.number).ok()),
        _ => (None, None),
    };
    tx.prepare_cached(
        "INSERT INTO mutations (id, terminal_id, seq, kind, payload_hash, outcome, ticket_id,
                                ticket_number, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        mutation.id.to_string(),
        terminal,
        to_i64(mutation.seq, "sequence")?,
        mutation_kind(&mutation.body),
        hash,
        outcome_json,
        ticket_id,
        ticket_number,
        now
    ])?;
    Ok(())
}

/// Applies one mutation whose sequence is next. Every check runs before the first write, so a
/// refused mutation leaves nothing behind.
fn apply(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation: &Mutation,
) -> Result<Outcome, StorageError> {
    let applied = match &mutation.body {
        MutationBody::TicketCreated(t) => apply_sale(tx, terminal_id, mutation.id, t)?,
        MutationBody::TicketVoided(t) => {
            apply_reversal(tx, terminal_id, mutation.id, TicketKind::Void, t)?
        }
        MutationBody::TicketRefunded(t) => {
            apply_reversal(tx, terminal_id, mutation.id, TicketKind::Refund, t)?
        }
        MutationBody::CustomerCreated(c) => apply_customer(tx, c.id, |current| {
            rules::check_customer_fields(&c.fields)?;
            Ok(rules::customer_created(current, &c.fields, mutation.hlc))
        })?,
        MutationBody::CustomerUpdated(c) => apply_customer(tx, c.id, |current| {
            rules::check_customer_fields(&c.fields)?;
            rules::customer_updated(current, c.base_version, &c.fields, mutation.hlc)
        })?,
        MutationBody::CustomerDeleted(c) => apply_customer(tx, c.id, |current| {
            rules::customer_deleted(current, c.base_version, mutation.hlc)
        })?,
    };
    Ok(applied.unwrap_or_else(Rejection::into_outcome))
}

/// Loads the customer, lets `decide` choose by the rules, and writes the decision.
fn apply_customer(
    tx: &Transaction<'_>,
    id: Uuid,
    decide: impl FnOnce(Option<&StoredCustomer>) -> Result<CustomerDecision, Rejection>,
) -> Result<Applied, StorageError> {
    let current = load_customer(tx, id)?;
    match decide(current.as_ref()) {
        Err(rejection) => Ok(Err(rejection)),
        Ok(decision) => write_customer(tx, id, current.as_ref(), decision).map(Ok),
    }
}

struct StoredTicket {
    server_id: i64,
    kind: TicketKind,
    terminal_id: Uuid,
    total: i64,
    reversed_by: Option<Uuid>,
}

fn load_ticket(tx: &Transaction<'_>, id: Uuid) -> Result<Option<StoredTicket>, StorageError> {
    let row = tx
        .prepare_cached(
            "SELECT server_id, kind, terminal_id, total, reversed_by FROM tickets WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    row.map(|(server_id, kind, terminal, total, reversed_by)| {
        Ok(StoredTicket {
            server_id,
            kind: parse_kind(&kind)?,
            terminal_id: parse_uuid(&terminal)?,
            total,
            reversed_by: reversed_by.as_deref().map(parse_uuid).transpose()?,
        })
    })
    .transpose()
}

fn already_stored(
    tx: &Transaction<'_>,
    ticket: &Ticket,
) -> Result<Option<Rejection>, StorageError> {
    Ok(load_ticket(tx, ticket.id)?.map(|t| {
        Rejection::new(
            "duplicate_ticket",
            format!(
                "ticket {} was already received (server id {})",
                ticket.id, t.server_id
            ),
        )
    }))
}

type Applied = Result<Outcome, Rejection>;

fn apply_sale(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    ticket: &Ticket,
) -> Result<Applied, StorageError> {
    if let Err(r) = rules::check_ticket(TicketKind::Sale, ticket) {
        return Ok(Err(r));
    }
    if let Some(r) = already_stored(tx, ticket)? {
        return Ok(Err(r));
    }
    insert_ticket(tx, terminal_id, mutation_id, ticket).map(Ok)
}

fn apply_reversal(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    kind: TicketKind,
    ticket: &Ticket,
) -> Result<Applied, StorageError> {
    if let Err(r) = rules::check_ticket(kind, ticket) {
        return Ok(Err(r));
    }
    if let Some(r) = already_stored(tx, ticket)? {
        return Ok(Err(r));
    }
    let Some(original_id) = ticket.reverses else {
        return Ok(Err(Rejection::new(
            "invalid_reverses",
            "no original ticket named",
        )));
    };
    let Some(original) = load_ticket(tx, original_id)? else {
        return Ok(Err(Rejection::new(
            "unknown_ticket",
            format!("ticket {original_id} is not known to the server"),
        )));
    };
    if original.kind != TicketKind::Sale {
        return Ok(Err(Rejection::new(
            "not_a_sale",
            format!(
                "ticket {original_id} is a {:?}, only sales can be reversed",
                original.kind
            ),
        )));
    }
    if let Some(reversal_id) = original.reversed_by {
        let reversal = load_ticket(tx, reversal_id)?.ok_or_else(|| {
            StorageError::Corrupt(format!(
                "reversal {reversal_id} of {original_id} is missing"
            ))
        })?;
        return Ok(Ok(Outcome::Conflict {
            reason: ConflictReason::AlreadyReversed,
            current: Some(ConflictCurrent::Reversal(ReversalInfo {
                ticket_id: reversal_id,
                kind: reversal.kind,
                terminal_id: reversal.terminal_id,
                total: reversal.total,
            })),
        }));
    }
    if kind == TicketKind::Void && ticket.totals.total != original.total {
        return Ok(Err(Rejection::new(
            "void_mismatch",
            format!(
                "a void must return the whole sale ({}), not {}",
                original.total, ticket.totals.total
            ),
        )));
    }
    if ticket.totals.total > original.total {
        return Ok(Err(Rejection::new(
            "refund_exceeds_sale",
            format!(
                "the refund ({}) exceeds the sale ({})",
                ticket.totals.total, original.total
            ),
        )));
    }
    let outcome = insert_ticket(tx, terminal_id, mutation_id, ticket)?;
    tx.execute(
        "UPDATE tickets SET reversed_by = ?2 WHERE id = ?1",
        params![original_id.to_string(), ticket.id.to_string()],
    )?;
    Ok(Ok(outcome))
}

fn insert_ticket(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    ticket: &Ticket,
) -> Result<Outcome, StorageError> {
    let server_number = next_counter(tx, "ticket_number")?;
    let body = serde_json::to_string(ticket)
        .map_err(|e| StorageError::Database(format!("cannot serialise a ticket: {e}")))?;
    tx.prepare_cached(
        "INSERT INTO tickets (server_number, id, terminal_id, number, kind, reverses, total,
                              created_at_ms, mutation_id, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        server_number,
        ticket.id.to_string(),
        terminal_id.to_string(),
        to_i64(ticket.number, "ticket number")?,
        kind_name(ticket.kind),
        ticket.reverses.map(|r| r.to_string()),
        ticket.totals.total,
        ticket.created_at_ms,
        mutation_id.to_string(),
        body
    ])?;
    let server_id = tx.last_insert_rowid();
    let mut stock = tx.prepare_cached(
        "INSERT INTO stock (product_id, quantity) VALUES (?1, ?2)
         ON CONFLICT (product_id) DO UPDATE SET quantity = quantity + excluded.quantity",
    )?;
    for (product, delta) in rules::stock_deltas(ticket) {
        stock.execute(params![product.to_string(), delta])?;
    }
    Ok(Outcome::Applied {
        server_id,
        server_number: Some(server_number as u64),
        version: 1,
    })
}

// ---------------------------------------------------------------------------------------------
// Customers

fn load_customer(conn: &Connection, id: Uuid) -> Result<Option<StoredCustomer>, StorageError> {
    let row = conn
        .prepare_cached(
            "SELECT server_id, version, name, email, phone, note, deleted, hlc FROM customers
             WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            let stored = StoredCustomer {
                server_id: r.get(0)?,
                customer: Customer {
                    id,
                    version: r.get::<_, i64>(1)?.max(0) as u64,
                    fields: CustomerFields {
                        name: r.get(2)?,
                        email: r.get(3)?,
                        phone: r.get(4)?,
                        note: r.get(5)?,
                    },
                    hlc: None,
                },
                deleted: r.get(6)?,
            };
            Ok((stored, r.get::<_, Option<String>>(7)?))
        })
        .optional()?;
    row.map(|(mut stored, stamp)| {
        stored.customer.hlc = stamp_of(id, stamp.as_deref())?;
        Ok(stored)
    })
    .transpose()
}

/// A customer's stored stamp; a damaged one is reported, never guessed.
pub(super) fn stamp_of(id: Uuid, text: Option<&str>) -> Result<Option<Hlc>, StorageError> {
    rules::parse_stamp(text)
        .map_err(|e| StorageError::Corrupt(format!("the stamp of customer {id}: {e}")))
}

pub(super) fn stamp_column(hlc: &Hlc) -> Result<String, StorageError> {
    rules::stamp_text(hlc).map_err(|e| StorageError::Database(format!("cannot store a stamp: {e}")))
}

fn write_customer(
    tx: &Transaction<'_>,
    id: Uuid,
    current: Option<&StoredCustomer>,
    decision: CustomerDecision,
) -> Result<Outcome, StorageError> {
    match decision {
        CustomerDecision::Settle(outcome) => Ok(outcome),
        CustomerDecision::Write {
            insert,
            version,
            fields,
            hlc,
        } => {
            let change = next_counter(tx, "change")?;
            let v = to_i64(version, "version")?;
            let stamp = stamp_column(&hlc)?;
            if insert {
                tx.prepare_cached(
                    "INSERT INTO customers (id, version, name, email, phone, note, change_seq, hlc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    id.to_string(),
                    v,
                    fields.name,
                    fields.email,
                    fields.phone,
                    fields.note,
                    change,
                    stamp
                ])?;
            } else {
                tx.prepare_cached(
                    "UPDATE customers SET version = ?2, name = ?3, email = ?4, phone = ?5,
                            note = ?6, change_seq = ?7, hlc = ?8 WHERE id = ?1",
                )?
                .execute(params![
                    id.to_string(),
                    v,
                    fields.name,
                    fields.email,
                    fields.phone,
                    fields.note,
                    change,
                    stamp
                ])?;
            }
            let server_id = match current {
                Some(c) => c.server_id,
                None => tx.last_insert_rowid(),
            };
            Ok(Outcome::Applied {
                server_id,
                server_number: None,
                version,
            })
        }
        CustomerDecision::Delete { version, hlc } => {
            let change = next_counter(tx, "change")?;
            tx.execute(
                "UPDATE customers SET deleted = 1, version = ?2, change_seq = ?3, hlc = ?4
                 WHERE id = ?1",
                params![
                    id.to_string(),
                    to_i64(version, "version")?,
                    change,
                    stamp_column(&hlc)?
                ],
            )?;
            Ok(Outcome::Applied {
                server_id: current.map(|c| c.server_id).unwrap_or_default(),
                server_number: None,
                version,
            })
        }
    }
}

fn save_customer_tx(
    conn: &mut Connection,
    id: Uuid,
    edit: CustomerEdit,
) -> Result<Customer, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = load_customer(&tx, id)?;
    let blank = |v: Option<String>, old: Option<String>| match v {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s),
        None => old,
    };
    let decision = match &current {
        Some(c) if c.deleted => {
            return Err(StorageError::Invalid(format!("customer {id} was deleted")))
        }
        Some(c) => {
            let old = c.customer.fields.clone();
            CustomerDecision::Write {
                insert: false,
                version: c.customer.version + 1,
                fields: CustomerFields {
                    name: edit.name.unwrap_or(old.name),
                    email: blank(edit.email, old.email),
                    phone: blank(edit.phone, old.phone),
                    note: blank(edit.note, old.note),
                },
                hlc: rules::back_office_stamp(now_ms()),
            }
        }
        None => CustomerDecision::Write {
            insert: true,
            version: 1,
            hlc: rules::back_office_stamp(now_ms()),
            fields: CustomerFields {
                name: edit.name.ok_or_else(|| {
                    StorageError::Invalid(format!(
                        "customer {id} does not exist; a new customer needs a name"
                    ))
                })?,
                email: blank(edit.email, None),
                phone: blank(edit.phone, None),
                note: blank(edit.note, None),
            },
        },
    };
    if let CustomerDecision::Write { fields, .. } = &decision {
        rules::check_customer_fields(fields).map_err(|r| StorageError::Invalid(r.message))?;
    }
    write_customer(&tx, id, current.as_ref(), decision)?;
    let saved = load_customer(&tx, id)?
        .ok_or_else(|| StorageError::Corrupt(format!("customer {id} vanished")))?;
    tx.commit()?;
    Ok(saved.customer)
}

fn delete_customer_tx(conn: &mut Connection, id: Uuid) -> Result<Customer, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = load_customer(&tx, id)?.ok_or_else(|| StorageError::NotFound {
        what: format!("customer {id}"),
    })?;
    if current.deleted {
        return Err(StorageError::Invalid(format!(
            "customer {id} is already deleted"
        )));
    }
    let decision = CustomerDecision::Delete {
        version: current.customer.version + 1,
        hlc: rules::back_office_stamp(now_ms()),
    };
    write_customer(&tx, id, Some(&current), decision)?;
    let saved = load_customer(&tx, id)?
        .ok_or_else(|| StorageError::Corrupt(format!("customer {id} vanished")))?;
    tx.commit()?;
    Ok(saved.customer)
}

// ---------------------------------------------------------------------------------------------
// Catalog

pub(super) fn check_catalog(catalog: &CatalogImport) -> Result<(), StorageError> {
    let invalid = |m: String| Err(StorageError::Invalid(m));
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

fn import_catalog_tx(
    conn: &mut Connection,
    catalog: CatalogImport,
) -> Result<ImportSummary, StorageError> {
    check_catalog(&catalog)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let settings_json = match &catalog.settings {
        Some(s) => {
            Some(serde_json::to_string(s).map_err(|e| StorageError::Invalid(e.to_string()))?)
        }
        None => None,
    };
    let old: Option<String> = tx
        .query_row("SELECT body FROM settings WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    if let Some(settings_json) = settings_json.filter(|new| old.as_deref() != Some(new.as_str())) {
        let change = next_counter(&tx, "change")?;
        tx.execute(
            "INSERT INTO settings (id, body, change_seq) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, change_seq = excluded.change_seq",
            params![settings_json, change],
        )?;
    }
    let mut summary = ImportSummary {
        tax_rates: 0,
        products: 0,
        unchanged: 0,
    };
    for rate in &catalog.tax_rates {
        let old: Option<(String, i64, bool)> = tx
            .query_row(
                "SELECT name, rate_bp, deleted FROM tax_rates WHERE id = ?1",
                [&rate.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if old == Some((rate.name.clone(), i64::from(rate.rate_bp), false)) {
            continue;
        }
        let change = next_counter(&tx, "change")?;
        tx.execute(
            "INSERT INTO tax_rates (id, name, rate_bp, deleted, change_seq) VALUES (?1, ?2, ?3, 0, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp,
                 deleted = 0, change_seq = excluded.change_seq",
            params![rate.id, rate.name, rate.rate_bp, change],
        )?;
        summary.tax_rates += 1;
    }
    let known_rates: std::collections::HashSet<String> = {
        let mut stmt = tx.prepare("SELECT id FROM tax_rates WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for product in &catalog.products {
        let mut product = product.clone();
        if product.id.is_nil() {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT id FROM products WHERE sku = ?1",
                    [&product.sku],
                    |r| r.get(0),
                )
                .optional()?;
            product.id = match existing {
                Some(id) => parse_uuid(&id)?,
                None => Uuid::now_v7(),
            };
        }
        let product = &product;
        if !known_rates.contains(&product.tax_category) {
            return Err(StorageError::Invalid(format!(
                "product {}: unknown tax category {:?}",
                product.sku, product.tax_category
            )));
        }
        if load_product(&tx, "id", &product.id.to_string())?.as_ref() == Some(product) {
            summary.unchanged += 1;
            continue;
        }
        upsert_product(&tx, product)?;
        summary.products += 1;
    }
    tx.commit()?;
    Ok(summary)
}

fn upsert_product(tx: &Transaction<'_>, p: &Product) -> Result<(), StorageError> {
    let change = next_counter(tx, "change")?;
    tx.execute(
        "INSERT INTO products (id, sku, barcode, name, category, unit_price, tax_category, active,
                               deleted, change_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)
         ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, barcode = excluded.barcode,
             name = excluded.name, category = excluded.category, unit_price = excluded.unit_price,
             tax_category = excluded.tax_category, active = excluded.active, deleted = 0,
             change_seq = excluded.change_seq",
        params![
            p.id.to_string(),
            p.sku,
            p.barcode,
            p.name,
            p.category,
            p.unit_price,
            p.tax_category,
            p.active,
            change
        ],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            StorageError::Invalid(format!("sku {} already belongs to another product", p.sku))
        }
        _ => e.into(),
    })?;
    Ok(())
}

const PRODUCT_COLUMNS: &str =
    "id, sku, barcode, name, category, unit_price, tax_category, active, deleted, change_seq";

fn product_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Product, bool, i64)> {
    Ok((
        r.get(0)?,
        Product {
            id: Uuid::nil(),
            sku: r.get(1)?,
            barcode: r.get(2)?,
            name: r.get(3)?,
            category: r.get(4)?,
            unit_price: r.get(5)?,
            tax_category: r.get(6)?,
            active: r.get(7)?,
        },
        r.get(8)?,
        r.get(9)?,
    ))
}

fn load_product(
    conn: &Connection,
    column: &str,
    value: &str,
) -> Result<Option<Product>, StorageError> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE {column} = ?1 AND deleted = 0");
    conn.prepare_cached(&sql)?
        .query_row([value], product_from_row)
        .optional()?
        .map(|(id, mut p, _, _)| {
            p.id = parse_uuid(&id)?;
            Ok(p)
        })
        .transpose()
}

fn set_price_tx(
    conn: &mut Connection,
    sku: &str,
    unit_price: i64,
) -> Result<Product, StorageError> {
    if !(0..=MAX_UNIT_PRICE).contains(&unit_price) {
        return Err(StorageError::Invalid(format!(
            "price {unit_price} is not between 0 and {MAX_UNIT_PRICE}"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut product = load_product(&tx, "sku", sku)?.ok_or_else(|| StorageError::NotFound {
        what: format!("product with sku {sku:?}"),
    })?;
    product.unit_price = unit_price;
    upsert_product(&tx, &product)?;
    tx.commit()?;
    Ok(product)
}

fn delete_product_tx(conn: &mut Connection, sku: &str) -> Result<Product, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let product = load_product(&tx, "sku", sku)?.ok_or_else(|| StorageError::NotFound {
        what: format!("product with sku {sku:?}"),
    })?;
    let change = next_counter(&tx, "change")?;
    // The tombstone gives its sku up, so a new product may take it.
    tx.execute(
        "UPDATE products SET deleted = 1, sku = ?2, change_seq = ?3 WHERE id = ?1",
        params![
            product.id.to_string(),
            format!("{}#deleted#{}", product.sku, product.id),
            change
        ],
    )?;
    tx.commit()?;
    Ok(product)
}

// ---------------------------------------------------------------------------------------------
// Pull

fn pull_page(conn: &Connection, cursor: u64, limit: u32) -> Result<PullPage, StorageError> {
    let after = to_i64(cursor, "cursor")?;
    // One more than asked tells whether more wait.
    let take = i64::from(limit) + 1;
    let mut changes: Vec<Change> = Vec::new();

    let mut stmt = conn.prepare_cached(
        "SELECT body, change_seq FROM settings WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (body, seq) = row?;
        let settings: StoreSettings = serde_json::from_str(&body)
            .map_err(|e| StorageError::Corrupt(format!("settings: {e}")))?;
        changes.push(Change {
            seq: seq as u64,
            change: ChangeKind::Settings(settings),
        });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT id, name, rate_bp, deleted, change_seq FROM tax_rates WHERE change_seq > ?1
         ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })? {
        let (id, name, rate_bp, deleted, seq) = row?;
        let change = if deleted {
            ChangeKind::TaxRateDeleted { id }
        } else {
            ChangeKind::TaxRateUpserted(TaxRate {
                id,
                name,
                rate_bp: u32::try_from(rate_bp)
                    .map_err(|_| StorageError::Corrupt(format!("tax rate {rate_bp}")))?,
            })
        };
        changes.push(Change {
            seq: seq as u64,
            change,
        });
    }

    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in stmt.query_map(params![after, take], product_from_row)? {
        let (id, mut product, deleted, seq) = row?;
        let id = parse_uuid(&id)?;
        product.id = id;
        let change = if deleted {
            ChangeKind::ProductDeleted { id }
        } else {
            ChangeKind::ProductUpserted(product)
        };
        changes.push(Change {
            seq: seq as u64,
            change,
        });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT id, version, name, email, phone, note, deleted, change_seq, hlc FROM customers
         WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
    )?;
    for row in stmt.query_map(params![after, take], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            CustomerFields {
                name: r.get(2)?,
                email: r.get(3)?,
                phone: r.get(4)?,
                note: r.get(5)?,
            },
            r.get::<_, bool>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })? {
        let (id, version, fields, deleted, seq, stamp) = row?;
        let id = parse_uuid(&id)?;
        let version = version.max(0) as u64;
        let change = if deleted {
            ChangeKind::CustomerDeleted { id, version }
        } else {
            ChangeKind::CustomerUpserted(Customer {
                id,
                version,
                fields,
                hlc: stamp_of(id, stamp.as_deref())?,
            })
        };
        changes.push(Change {
            seq: seq as u64,
            change,
        });
    }

    changes.sort_by_key(|c| c.seq);
    let has_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let cursor = changes.last().map(|c| c.seq).unwrap_or(cursor);
    Ok(PullPage {
        changes,
        cursor,
        has_more,
    })
}

// ---------------------------------------------------------------------------------------------
// Listing and stats

fn list_tickets(conn: &Connection) -> Result<Vec<TicketSummary>, StorageError> {
    let mut stmt = conn.prepare(
        "SELECT server_id, server_number, id, terminal_id, number, kind, reverses, reversed_by,
                total, created_at_ms
         FROM tickets ORDER BY server_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, i64>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            server_id,
            server_number,
            id,
            terminal,
            number,
            kind,
            reverses,
            reversed_by,
            total,
            created,
        ) = row?;
        out.push(TicketSummary {
            server_id,
            server_number: server_number.max(0) as u64,
            id: parse_uuid(&id)?,
            terminal_id: parse_uuid(&terminal)?,
            number: number.max(0) as u64,
            kind,
            reverses: reverses.as_deref().map(parse_uuid).transpose()?,
            reversed_by: reversed_by.as_deref().map(parse_uuid).transpose()?,
            total,
            created_at_ms: created,
        });
    }
    Ok(out)
}

/// Numbers missing from `1..=max` given the sorted distinct numbers present: (count, first few).
pub(super) fn missing_numbers(present: impl Iterator<Item = u64>, max: u64) -> (u64, Vec<u64>) {
    let mut expected = 1u64;
    let mut count = 0u64;
    let mut listed = Vec::new();
    let note = |from: u64, to: u64, count: &mut u64, listed: &mut Vec<u64>| {
        *count += to - from;
        let mut n = from;
        while n < to && listed.len() < MAX_LISTED_GAPS {
            listed.push(n);
            n += 1;
        }
    };
    for n in present {
        if n > expected {
            note(expected, n, &mut count, &mut listed);
        }
        expected = expected.max(n.saturating_add(1));
    }
    if max >= expected {
        note(expected, max.saturating_add(1), &mut count, &mut listed);
    }
    (count, listed)
}

fn column_u64s(conn: &Connection, sql: &str, terminal: &str) -> Result<Vec<u64>, StorageError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([terminal], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.max(0) as u64);
    }
    Ok(out)
}

fn compute_stats(conn: &Connection) -> Result<Stats, StorageError> {
    let tx = conn.unchecked_transaction()?;
    let mut terminals = Vec::new();
    let mut gaps = 0u64;
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id"
        ))?;
        let rows = stmt.query_map([], terminal_from_row)?;
        let records: Vec<_> = rows.collect::<Result<_, _>>()?;
        for raw in records {
            let t = finish_terminal(raw)?;
            let id = t.id.to_string();
            let (tickets, sales_total, reversals_total): (i64, i64, i64) = tx.query_row(
                "SELECT count(*) FILTER (WHERE kind = 'sale'),
                        coalesce(sum(total) FILTER (WHERE kind = 'sale'), 0),
                        coalesce(sum(total) FILTER (WHERE kind != 'sale'), 0)
                 FROM tickets WHERE terminal_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let refused: i64 = tx.query_row(
                "SELECT count(*) FROM mutations WHERE terminal_id = ?1 AND ticket_id IS NOT NULL
                   AND json_extract(outcome, '$.status') != 'applied'",
                [&id],
                |r| r.get(0),
            )?;
            let numbers = column_u64s(
                &tx,
                "SELECT DISTINCT ticket_number FROM mutations
                 WHERE terminal_id = ?1 AND ticket_number IS NOT NULL ORDER BY ticket_number",
                &id,
            )?;
            let max_number = numbers.last().copied().unwrap_or(0);
            let (missing_tickets, missing_ticket_numbers) =
                missing_numbers(numbers.into_iter(), max_number);
            let seqs = column_u64s(
                &tx,
                "SELECT seq FROM mutations WHERE terminal_id = ?1 ORDER BY seq",
                &id,
            )?;
            let (missing_seqs, missing_mutation_seqs) =
                missing_numbers(seqs.into_iter(), t.last_seq);
            gaps += missing_tickets + missing_seqs;
            terminals.push(TerminalStats {
                terminal_id: t.id,
                name: t.name,
                last_seq: t.last_seq,
                tickets: tickets.max(0) as u64,
                total: sales_total - reversals_total,
                sales_total,
                reversals_total,
                refused_ticket_mutations: refused.max(0) as u64,
                missing_ticket_numbers,
                missing_mutation_seqs,
            });
        }
    }
    let duplicate_ticket_ids = {
        let mut stmt = tx.prepare(
            "SELECT ticket_id FROM mutations WHERE ticket_id IS NOT NULL
             GROUP BY ticket_id HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(parse_uuid(&row?)?);
        }
        out
    };
    let duplicate_ticket_numbers = {
        let mut stmt = tx.prepare(
            "SELECT terminal_id, ticket_number FROM mutations WHERE ticket_number IS NOT NULL
             GROUP BY terminal_id, ticket_number HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (t, n) = row?;
            out.push((parse_uuid(&t)?, n.max(0) as u64));
        }
        out
    };
    let duplicate_rows: i64 = tx.query_row(
        "SELECT coalesce(sum(n - 1), 0) FROM
           (SELECT count(*) AS n FROM tickets GROUP BY terminal_id, number HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    let mutations: i64 = tx.query_row("SELECT count(*) FROM mutations", [], |r| r.get(0))?;
    let tickets = terminals.iter().map(|t| t.tickets).sum();
    let total = terminals.iter().map(|t| t.total).sum();
    Ok(Stats {
        tickets,
        total,
        mutations: mutations.max(0) as u64,
        duplicates: duplicate_ticket_ids.len() as u64
            + duplicate_ticket_numbers.len() as u64
            + duplicate_rows.max(0) as u64,
        duplicate_ticket_ids,
        duplicate_ticket_numbers,
        gaps,
        terminals,
    })
}

// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Storage for SqliteStorage {
    async fn add_terminal(
        &self,
        name: &str,
        token_hash: &str,
    ) -> Result<TerminalRecord, StorageError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > 200 {
            return Err(StorageError::Invalid(
                "a terminal name must be 1 to 200 characters".into(),
            ));
        }
        let token_hash = token_hash.to_string();
        self.write(move |conn| {
            let record = TerminalRecord {
                id: Uuid::now_v7(),
                name,
                created_at_ms: now_ms(),
                revoked_at_ms: None,
                last_seq: 0,
            };
            conn.execute(
                "INSERT INTO terminals (id, name, token_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![record.id.to_string(), record.name, token_hash, record.created_at_ms],
            )?;
            Ok(record)
        })
        .await
    }

    async fn revoke_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE terminals SET revoked_at_ms = coalesce(revoked_at_ms, ?2) WHERE id = ?1",
                params![id.to_string(), now_ms()],
            )?;
            query_terminal(conn, "id = ?1", &id.to_string())?.ok_or_else(|| {
                StorageError::NotFound {
                    what: format!("terminal {id}"),
                }
            })
        })
        .await
    }

    async fn list_terminals(&self) -> Result<Vec<TerminalRecord>, StorageError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map([], terminal_from_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(finish_terminal(row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        self.read(move |conn| query_terminal(conn, "id = ?1", &id.to_string()))
            .await
    }

    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TerminalRecord>, StorageError> {
        let hash = token_hash.to_string();
        self.read(move |conn| query_terminal(conn, "token_hash = ?1", &hash))
            .await
    }

    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Mutation>,
    ) -> Result<PushOutcome, StorageError> {
        self.write(move |conn| push_batch(conn, terminal_id, mutations))
            .await
    }

    async fn pull(&self, cursor: u64, limit: u32) -> Result<PullPage, StorageError> {
        self.read(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let page = pull_page(&tx, cursor, limit)?;
            tx.finish()?;
            Ok(page)
        })
        .await
    }

    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError> {
        self.write(move |conn| import_catalog_tx(conn, catalog))
            .await
    }

    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError> {
        let sku = sku.to_string();
        self.write(move |conn| set_price_tx(conn, &sku, unit_price))
            .await
    }

    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError> {
        let sku = sku.to_string();
        self.write(move |conn| delete_product_tx(conn, &sku)).await
    }

    async fn stock(&self, product_id: Uuid) -> Result<i64, StorageError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT quantity FROM stock WHERE product_id = ?1")?
                .query_row([product_id.to_string()], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
        .await
    }

    async fn save_customer(&self, id: Uuid, edit: CustomerEdit) -> Result<Customer, StorageError> {
        self.write(move |conn| save_customer_tx(conn, id, edit))
            .await
    }

    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError> {
        self.write(move |conn| delete_customer_tx(conn, id)).await
    }

    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError> {
        self.read(list_tickets).await
    }

    async fn stats(&self) -> Result<Stats, StorageError> {
        self.read(compute_stats).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_migration_leaves_the_schema_as_it_was() {
        let mut conn = Connection::open_in_memory().expect("opens");
        let broken = [
            (1, MIGRATIONS[0].1),
            (2, "CREATE TABLE nope (x INTEGER); SELEC oops;"),
        ];
        let err = apply_migrations(&mut conn, &broken).expect_err("migration 2 is broken");
        assert!(
            matches!(err, StorageError::Migration { version: 2, .. }),
            "{err}"
        );
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("reads");
        assert_eq!(
            version, 0,
            "all or nothing: migration 1 was rolled back too"
        );
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .expect("reads");
        assert_eq!(tables, 0, "no table of a failed upgrade survives");
        apply_migrations(&mut conn, MIGRATIONS).expect("the good migrations apply");
    }

    #[test]
    fn missing_numbers_lists_holes_and_the_tail() {
        assert_eq!(
            missing_numbers([1, 2, 4, 7].into_iter(), 7),
            (3, vec![3, 5, 6])
        );
        assert_eq!(missing_numbers([2].into_iter(), 4), (3, vec![1, 3, 4]));
        assert_eq!(missing_numbers(std::iter::empty(), 0), (0, vec![]));
    }
}
