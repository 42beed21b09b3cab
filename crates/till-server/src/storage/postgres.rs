//! The backend for a chain of shops: one PostgreSQL database shared by several stateless
//! `till-server` replicas. It applies the same [`crate::rules`] as the SQLite backend; what
//! differs is how concurrent writers are kept apart, since two replicas never share memory:
//!
//! - **One terminal's pushes settle one at a time.** A push locks its terminal's row
//!   (`SELECT … FOR UPDATE`) first. The same batch sent to two replicas at once: the second waits
//!   for the first to commit, then reads its mutations as recorded and answers `duplicate`. The
//!   primary key on the mutation id and the unique `(terminal_id, seq)` hold even if that lock
//!   were ever bypassed.
//! - **Pushes of different terminals run in parallel.** Tickets take their back-office number
//!   from a sequence, and stock is a ledger of deltas that a push only appends to, so two tills
//!   selling one product neither conflict nor wait for each other. (Updating one stock row per
//!   product in place held that row to commit: with fifty tills selling the same products, pushes
//!   spent most of their time queued on those rows.)
//! - **A reversal or a customer change locks the row it decides on** (`FOR UPDATE`), so two
//!   refunds of one sale from two terminals settle one after the other: the second is a conflict.
//! - **Transactions run at READ COMMITTED** with those explicit locks. What is left to chance —
//!   a deadlock (40P01), a serialization failure (40001), or two terminals inserting the same
//!   new row at once (23505) — rolls the whole transaction back and runs it again, a bounded
//!   number of times, then answers `busy` (503, retried by the terminal).
//!
//! **Pull cursors.** A pull returns changes whose number is above the cursor, and the cursor
//! then moves to the highest number returned; a change that commits later with a *lower* number
//! would be skipped forever. A plain sequence allows exactly that (numbers are taken in one order,
//! committed in another). So every transaction that records a catalog or customer change takes the
//! next number from one counter row with `UPDATE counters … RETURNING`: that row lock is held to
//! commit, so change numbers commit strictly in order, and a snapshot that sees change N sees
//! every change below it. It serialises those writers, which are rare (back-office edits and
//! customer mutations) next to ticket pushes, which never touch the counter. A
//! transaction-id visibility horizon (`pg_snapshot_xmin`) would avoid that queue but makes
//! cursors two-part and pulls lag behind any long transaction; not worth it at these rates.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use till_protocol::{
    Change, ChangeKind, ConflictCurrent, ConflictReason, Customer, CustomerFields, Mutation,
    MutationBody, Outcome, Product, ReversalInfo, StoreSettings, TaxRate, Ticket, TicketKind,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};
use uuid::Uuid;

use super::sqlite::{check_catalog, missing_numbers, mutation_kind, stamp_column, stamp_of};
use super::{
    CatalogImport, CustomerEdit, ImportSummary, PullPage, PushOutcome, Stats, Storage,
    StorageError, TerminalRecord, TerminalStats, TicketSummary,
};
use crate::clock::now_ms;
use crate::rules::{self, CustomerDecision, Known, Recorded, Rejection, Step, StoredCustomer};

/// Numbered migrations, applied in order, all pending ones in one transaction.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_customer_hlc.sql"),
    ),
];

/// Advisory lock key held while migrating, so replicas starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x7469_6c6c_5f6d_6967; // "till_mig"

/// Connections per replica. A push holds one for its whole transaction.
const POOL_SIZE: usize = 16;

/// How long a request waits for a free connection before answering `busy`.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Runs of one transaction after a deadlock, serialization failure or concurrent insert.
const MAX_ATTEMPTS: u32 = 6;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Cheap to clone: a handle on a connection pool.
#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
}

/// Why one run of a transaction failed: worth running again, or final.
#[derive(Debug)]
enum TxError {
    Retry(tokio_postgres::Error),
    Fail(StorageError),
}

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        TxError::Fail(e)
    }
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        let retry = matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        );
        if retry {
            TxError::Retry(e)
        } else {
            TxError::Fail(database_error(e))
        }
    }
}

fn database_error(e: tokio_postgres::Error) -> StorageError {
    // A lost connection is worth retrying later; the terminal backs off on `busy`.
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        tracing::warn!(error = %e, "database connection failed");
        return StorageError::Busy;
    }
    StorageError::Database(e.to_string())
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        database_error(e)
    }
}

/// Runs `$body` (a future using `$client`, returning `Result<T, TxError>`) with a pooled
/// connection, again after a retryable failure, at most [`MAX_ATTEMPTS`] times.
macro_rules! retrying {
    ($storage:expr, $what:literal, |$client:ident| $body:expr) => {{
        let mut attempt = 1u32;
        loop {
            let mut $client = $storage.client().await?;
            match $body.await {
                Ok(value) => break Ok(value),
                Err(TxError::Fail(e)) => break Err(e),
                Err(TxError::Retry(e)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(operation = $what, attempt, error = %e, "transaction runs again");
                    drop($client);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
                    attempt += 1;
                }
                Err(TxError::Retry(e)) => {
                    tracing::warn!(operation = $what, attempt, error = %e, "transaction kept failing");
                    break Err(StorageError::Busy);
                }
            }
        }
    }};
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq options such as
    /// `?options=-csearch_path%3Dshop` allowed) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| StorageError::Connect {
                reason: format!("not a PostgreSQL URL: {e}"),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StorageError::Connect {
                reason: e.to_string(),
            })?;
        let storage = PostgresStorage { pool };
        let mut client = storage
            .pool
            .get()
            .await
            .map_err(|e| StorageError::Connect {
                reason: e.to_string(),
            })?;
        apply_migrations(&mut client, MIGRATIONS).await?;
        Ok(storage)
    }

    /// The schema version this binary brings.
    pub fn supported_schema() -> u32 {
        MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
    }

    async fn client(&self) -> Result<Object, StorageError> {
        self.pool.get().await.map_err(|e| {
            tracing::warn!(error = %e, "no database connection");
            StorageError::Busy
        })
    }
}

/// Applies the pending `migrations` in one transaction under an advisory lock: all or none, one
/// replica at a time; a schema newer than `migrations` is refused.
async fn apply_migrations(
    client: &mut Object,
    migrations: &[(u32, &str)],
) -> Result<(), StorageError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS till_schema (
             version       integer PRIMARY KEY,
             applied_at_ms bigint NOT NULL
         )",
    )
    .await?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM till_schema", &[])
        .await?
        .get(0);
    let found = found.max(0) as u32;
    let supported = migrations.last().map(|m| m.0).unwrap_or(0);
    if found > supported {
        return Err(StorageError::NewerSchema { found, supported });
    }
    for (version, sql) in migrations.iter().filter(|(v, _)| *v > found) {
        let failed = |e: tokio_postgres::Error| StorageError::Migration {
            version: *version,
            reason: e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string()),
        };
        tx.batch_execute(sql).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO till_schema (version, applied_at_ms) VALUES ($1, $2)",
            &[&(*version as i32), &now_ms()],
        )
        .await
        .map_err(failed)?;
        tracing::info!(version, "database migrated");
    }
    tx.commit().await?;
    Ok(())
}

fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Invalid(format!("{what} {v} is out of range")))
}

fn to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

async fn opt(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<Option<Row>, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, params).await?)
}

async fn one(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<Row, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_one(&stmt, params).await?)
}

async fn all(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<Vec<Row>, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, params).await?)
}

async fn exec(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<u64, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}

/// The next change number; holds the counter row to commit (see the module doc).
async fn next_change(tx: &Transaction<'_>) -> Result<i64, TxError> {
    Ok(one(
        tx,
        "UPDATE counters SET value = value + 1 WHERE name = 'change' RETURNING value",
        &[],
    )
    .await?
    .get(0))
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

// ---------------------------------------------------------------------------------------------
// Terminals

const TERMINAL_COLUMNS: &str = "id, name, created_at_ms, revoked_at_ms, last_seq";

fn terminal_from_row(r: &Row) -> TerminalRecord {
    TerminalRecord {
        id: r.get(0),
        name: r.get(1),
        created_at_ms: r.get(2),
        revoked_at_ms: r.get(3),
        last_seq: to_u64(r.get(4)),
    }
}

// ---------------------------------------------------------------------------------------------
// Push

/// A settled mutation to insert at the end of the batch.
struct Settled {
    id: Uuid,
    seq: i64,
    kind: &'static str,
    payload_hash: String,
    outcome: String,
    ticket_id: Option<Uuid>,
    ticket_number: Option<i64>,
}

/// What one batch changes besides its own rows, written once at the end.
#[derive(Default)]
struct BatchEffects {
    /// Stock deltas summed per product.
    stock: BTreeMap<Uuid, i64>,
}

async fn push_batch(
    client: &mut Object,
    terminal_id: Uuid,
    mutations: &[Mutation],
) -> Result<PushOutcome, TxError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    // The terminal's row lock: this terminal's batches settle one at a time on every replica.
    let last: i64 = opt(
        &tx,
        "SELECT last_seq FROM terminals WHERE id = $1 FOR UPDATE",
        &[&terminal_id],
    )
    .await?
    .ok_or_else(|| StorageError::NotFound {
        what: format!("terminal {terminal_id}"),
    })?
    .get(0);
    let mut last_seq = to_u64(last);

    // Everything this batch could replay, in one round trip; filled as the batch settles, so an
    // id repeated inside the batch is a replay too.
    let ids: Vec<Uuid> = mutations.iter().map(|m| m.id).collect();
    let mut recorded: HashMap<Uuid, (Uuid, Recorded)> = HashMap::new();
    for row in all(
        &tx,
        "SELECT id, terminal_id, payload_hash, outcome FROM mutations WHERE id = ANY($1)",
        &[&ids],
    )
    .await?
    {
        recorded.insert(
            row.get(0),
            (
                row.get(1),
                Recorded {
                    payload_hash: row.get(2),
                    outcome_json: row.get(3),
                },
            ),
        );
    }

    let mut gap: Option<u64> = None;
    let mut results = Vec::with_capacity(mutations.len());
    let mut settled: Vec<Settled> = Vec::new();
    let mut effects = BatchEffects::default();
    for mutation in mutations {
        let outcome = match gap {
            Some(expected_seq) => Outcome::Gap { expected_seq },
            None => {
                let hash = rules::payload_hash(mutation)
                    .map_err(|e| StorageError::Database(format!("cannot hash a mutation: {e}")))?;
                let known = recorded.get(&mutation.id).map(|(owner, record)| Known {
                    record,
                    by_this_terminal: *owner == terminal_id,
                });
                let step = rules::classify(known, &hash, last_seq, mutation.seq);
                if let Step::Gap { expected_seq } = step {
                    gap = Some(expected_seq);
                }
                let answered = rules::answer(&step, mutation).map_err(|e| {
                    StorageError::Corrupt(format!("stored outcome of {}: {e}", mutation.id))
                })?;
                match answered {
                    Some(outcome) => outcome,
                    None => {
                        let outcome = apply(&tx, terminal_id, mutation, &mut effects).await?;
                        let outcome_json = serde_json::to_string(&outcome).map_err(|e| {
                            StorageError::Database(format!("cannot serialise an outcome: {e}"))
                        })?;
                        let (ticket_id, ticket_number) = match &mutation.body {
                            MutationBody::TicketCreated(t)
                            | MutationBody::TicketVoided(t)
                            | MutationBody::TicketRefunded(t) => {
                                (Some(t.id), i64::try_from(t.number).ok())
                            }
                            _ => (None, None),
                        };
                        recorded.insert(
                            mutation.id,
                            (
                                terminal_id,
                                Recorded {
                                    payload_hash: hash.clone(),
                                    outcome_json: outcome_json.clone(),
                                },
                            ),
                        );
                        settled.push(Settled {
                            id: mutation.id,
                            seq: to_i64(mutation.seq, "sequence")?,
                            kind: mutation_kind(&mutation.body),
                            payload_hash: hash,
                            outcome: outcome_json,
                            ticket_id,
                            ticket_number,
                        });
                        last_seq = mutation.seq;
                        outcome
                    }
                }
            }
        };
        results.push(till_protocol::MutationResult {
            mutation_id: mutation.id,
            seq: mutation.seq,
            outcome,
        });
    }
    record_settled(&tx, terminal_id, &settled).await?;
    write_stock(&tx, &effects.stock).await?;
    if !settled.is_empty() {
        exec(
            &tx,
            "UPDATE terminals SET last_seq = $2 WHERE id = $1",
            &[&terminal_id, &to_i64(last_seq, "sequence")?],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(PushOutcome {
        results,
        last_applied_seq: last_seq,
    })
}

/// Inserts the batch's settled mutations in one statement.
async fn record_settled(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    settled: &[Settled],
) -> Result<(), TxError> {
    if settled.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = settled.iter().map(|s| s.id).collect();
    let seqs: Vec<i64> = settled.iter().map(|s| s.seq).collect();
    let kinds: Vec<&str> = settled.iter().map(|s| s.kind).collect();
    let hashes: Vec<&str> = settled.iter().map(|s| s.payload_hash.as_str()).collect();
    let outcomes: Vec<&str> = settled.iter().map(|s| s.outcome.as_str()).collect();
    let ticket_ids: Vec<Option<Uuid>> = settled.iter().map(|s| s.ticket_id).collect();
    let numbers: Vec<Option<i64>> = settled.iter().map(|s| s.ticket_number).collect();
    exec(
        tx,
        "INSERT INTO mutations (id, terminal_id, seq, kind, payload_hash, outcome, ticket_id,
                                ticket_number, received_at_ms)
         SELECT m.id, $1, m.seq, m.kind, m.payload_hash, m.outcome, m.ticket_id, m.ticket_number, $9
         FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::uuid[],
                     $8::bigint[])
              AS m (id, seq, kind, payload_hash, outcome, ticket_id, ticket_number)",
        &[
            &terminal_id,
            &ids,
            &seqs,
            &kinds,
            &hashes,
            &outcomes,
            &ticket_ids,
            &numbers,
            &now_ms(),
        ],
    )
    .await?;
    Ok(())
}

/// Appends the batch's stock moves, one per product: no row of anyone else's is touched.
async fn write_stock(tx: &Transaction<'_>, stock: &BTreeMap<Uuid, i64>) -> Result<(), TxError> {
    if stock.is_empty() {
        return Ok(());
    }
    let products: Vec<Uuid> = stock.keys().copied().collect();
    let deltas: Vec<i64> = stock.values().copied().collect();
    exec(
        tx,
        "INSERT INTO stock_moves (product_id, delta)
         SELECT m.product_id, m.delta FROM unnest($1::uuid[], $2::bigint[]) AS m (product_id, delta)
         WHERE m.delta <> 0",
        &[&products, &deltas],
    )
    .await?;
    Ok(())
}

type Applied = Result<Outcome, Rejection>;

/// Applies one mutation whose sequence is next. Every check runs before the first write, so a
/// refused mutation leaves nothing behind.
async fn apply(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation: &Mutation,
    effects: &mut BatchEffects,
) -> Result<Outcome, TxError> {
    let applied = match &mutation.body {
        MutationBody::TicketCreated(t) => {
            apply_sale(tx, terminal_id, mutation.id, t, effects).await?
        }
        MutationBody::TicketVoided(t) => {
            apply_reversal(tx, terminal_id, mutation.id, TicketKind::Void, t, effects).await?
        }
        MutationBody::TicketRefunded(t) => {
            apply_reversal(tx, terminal_id, mutation.id, TicketKind::Refund, t, effects).await?
        }
        MutationBody::CustomerCreated(c) => {
            let current = load_customer(tx, c.id, true).await?;
            match rules::check_customer_fields(&c.fields)
                .map(|()| rules::customer_created(current.as_ref(), &c.fields, mutation.hlc))
            {
                Err(r) => Err(r),
                Ok(decision) => Ok(write_customer(tx, c.id, current.as_ref(), decision).await?),
            }
        }
        MutationBody::CustomerUpdated(c) => {
            let current = load_customer(tx, c.id, true).await?;
            match rules::check_customer_fields(&c.fields).and_then(|()| {
                rules::customer_updated(current.as_ref(), c.base_version, &c.fields, mutation.hlc)
            }) {
                Err(r) => Err(r),
                Ok(decision) => Ok(write_customer(tx, c.id, current.as_ref(), decision).await?),
            }
        }
        MutationBody::CustomerDeleted(c) => {
            let current = load_customer(tx, c.id, true).await?;
            match rules::customer_deleted(current.as_ref(), c.base_version, mutation.hlc) {
                Err(r) => Err(r),
                Ok(decision) => Ok(write_customer(tx, c.id, current.as_ref(), decision).await?),
            }
        }
    };
    Ok(applied.unwrap_or_else(Rejection::into_outcome))
}

struct StoredTicket {
    kind: TicketKind,
    terminal_id: Uuid,
    total: i64,
    reversed_by: Option<Uuid>,
}

async fn load_ticket(
    tx: &Transaction<'_>,
    id: Uuid,
    for_update: bool,
) -> Result<Option<StoredTicket>, TxError> {
    let sql = if for_update {
        "SELECT kind, terminal_id, total, reversed_by FROM tickets WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT kind, terminal_id, total, reversed_by FROM tickets WHERE id = $1"
    };
    let Some(row) = opt(tx, sql, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredTicket {
        kind: parse_kind(row.get(0))?,
        terminal_id: row.get(1),
        total: row.get(2),
        reversed_by: row.get(3),
    }))
}

async fn duplicate_ticket(tx: &Transaction<'_>, id: Uuid) -> Result<Rejection, TxError> {
    let server_id: i64 = opt(tx, "SELECT server_id FROM tickets WHERE id = $1", &[&id])
        .await?
        .map(|r| r.get(0))
        .unwrap_or_default();
    Ok(Rejection::new(
        "duplicate_ticket",
        format!("ticket {id} was already received (server id {server_id})"),
    ))
}

async fn apply_sale(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    ticket: &Ticket,
    effects: &mut BatchEffects,
) -> Result<Applied, TxError> {
    if let Err(r) = rules::check_ticket(TicketKind::Sale, ticket) {
        return Ok(Err(r));
    }
    match insert_ticket(tx, terminal_id, mutation_id, ticket, effects).await? {
        Some(outcome) => Ok(Ok(outcome)),
        None => Ok(Err(duplicate_ticket(tx, ticket.id).await?)),
    }
}

async fn apply_reversal(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    kind: TicketKind,
    ticket: &Ticket,
    effects: &mut BatchEffects,
) -> Result<Applied, TxError> {
    if let Err(r) = rules::check_ticket(kind, ticket) {
        return Ok(Err(r));
    }
    if load_ticket(tx, ticket.id, false).await?.is_some() {
        return Ok(Err(duplicate_ticket(tx, ticket.id).await?));
    }
    let Some(original_id) = ticket.reverses else {
        return Ok(Err(Rejection::new(
            "invalid_reverses",
            "no original ticket named",
        )));
    };
    // Locked: a reversal of the same sale on another replica waits, then sees this one.
    let Some(original) = load_ticket(tx, original_id, true).await? else {
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
        let reversal = load_ticket(tx, reversal_id, false).await?.ok_or_else(|| {
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
    let Some(outcome) = insert_ticket(tx, terminal_id, mutation_id, ticket, effects).await? else {
        return Ok(Err(duplicate_ticket(tx, ticket.id).await?));
    };
    exec(
        tx,
        "UPDATE tickets SET reversed_by = $2 WHERE id = $1",
        &[&original_id, &ticket.id],
    )
    .await?;
    Ok(Ok(outcome))
}

/// Inserts the ticket, or answers `None` when a ticket with its id is already stored (also one
/// committed meanwhile by another replica: `ON CONFLICT` waits for it).
async fn insert_ticket(
    tx: &Transaction<'_>,
    terminal_id: Uuid,
    mutation_id: Uuid,
    ticket: &Ticket,
    effects: &mut BatchEffects,
) -> Result<Option<Outcome>, TxError> {
    let body = serde_json::to_string(ticket)
        .map_err(|e| StorageError::Database(format!("cannot serialise a ticket: {e}")))?;
    let row = opt(
        tx,
        "INSERT INTO tickets (server_number, id, terminal_id, number, kind, reverses, total,
                              created_at_ms, mutation_id, body)
         VALUES (nextval('ticket_number'), $1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING
         RETURNING server_id, server_number",
        &[
            &ticket.id,
            &terminal_id,
            &to_i64(ticket.number, "ticket number")?,
            &kind_name(ticket.kind),
            &ticket.reverses,
            &ticket.totals.total,
            &ticket.created_at_ms,
            &mutation_id,
            &body,
        ],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    for (product, delta) in rules::stock_deltas(ticket) {
        *effects.stock.entry(product).or_default() += delta;
    }
    let server_number: i64 = row.get(1);
    Ok(Some(Outcome::Applied {
        server_id: row.get(0),
        server_number: Some(to_u64(server_number)),
        version: 1,
    }))
}

// ---------------------------------------------------------------------------------------------
// Customers

async fn load_customer(
    tx: &Transaction<'_>,
    id: Uuid,
    for_update: bool,
) -> Result<Option<StoredCustomer>, TxError> {
    let sql = if for_update {
        "SELECT server_id, version, name, email, phone, note, deleted, hlc FROM customers
         WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT server_id, version, name, email, phone, note, deleted, hlc FROM customers
         WHERE id = $1"
    };
    let Some(r) = opt(tx, sql, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredCustomer {
        server_id: r.get(0),
        customer: Customer {
            id,
            version: to_u64(r.get(1)),
            fields: CustomerFields {
                name: r.get(2),
                email: r.get(3),
                phone: r.get(4),
                note: r.get(5),
            },
            hlc: stamp_of(id, r.get::<_, Option<&str>>(7))?,
        },
        deleted: r.get(6),
    }))
}

async fn write_customer(
    tx: &Transaction<'_>,
    id: Uuid,
    current: Option<&StoredCustomer>,
    decision: CustomerDecision,
) -> Result<Outcome, TxError> {
    match decision {
        CustomerDecision::Settle(outcome) => Ok(outcome),
        CustomerDecision::Write {
            insert,
            version,
            fields,
            hlc,
        } => {
            let change = next_change(tx).await?;
            let v = to_i64(version, "version")?;
            let stamp = stamp_column(&hlc)?;
            let params: Params<'_> = &[
                &id,
                &v,
                &fields.name,
                &fields.email,
                &fields.phone,
                &fields.note,
                &change,
                &stamp,
            ];
            let server_id = if insert {
                // A customer created on two terminals at once: the loser's unique violation
                // runs its transaction again, which then finds the row.
                one(
                    tx,
                    "INSERT INTO customers (id, version, name, email, phone, note, change_seq, hlc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING server_id",
                    params,
                )
                .await?
                .get(0)
            } else {
                exec(
                    tx,
                    "UPDATE customers SET version = $2, name = $3, email = $4, phone = $5,
                            note = $6, change_seq = $7, hlc = $8 WHERE id = $1",
                    params,
                )
                .await?;
                current.map(|c| c.server_id).unwrap_or_default()
            };
            Ok(Outcome::Applied {
                server_id,
                server_number: None,
                version,
            })
        }
        CustomerDecision::Delete { version, hlc } => {
            let change = next_change(tx).await?;
            exec(
                tx,
                "UPDATE customers SET deleted = true, version = $2, change_seq = $3, hlc = $4
                 WHERE id = $1",
                &[
                    &id,
                    &to_i64(version, "version")?,
                    &change,
                    &stamp_column(&hlc)?,
                ],
            )
            .await?;
            Ok(Outcome::Applied {
                server_id: current.map(|c| c.server_id).unwrap_or_default(),
                server_number: None,
                version,
            })
        }
    }
}

async fn save_customer_tx(
    client: &mut Object,
    id: Uuid,
    edit: &CustomerEdit,
) -> Result<Customer, TxError> {
    let tx = client.transaction().await?;
    let current = load_customer(&tx, id, true).await?;
    let blank = |v: &Option<String>, old: Option<String>| match v {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => old,
    };
    let decision = match &current {
        Some(c) if c.deleted => {
            return Err(StorageError::Invalid(format!("customer {id} was deleted")).into())
        }
        Some(c) => {
            let old = c.customer.fields.clone();
            CustomerDecision::Write {
                insert: false,
                version: c.customer.version + 1,
                fields: CustomerFields {
                    name: edit.name.clone().unwrap_or(old.name),
                    email: blank(&edit.email, old.email),
                    phone: blank(&edit.phone, old.phone),
                    note: blank(&edit.note, old.note),
                },
                hlc: rules::back_office_stamp(now_ms()),
            }
        }
        None => CustomerDecision::Write {
            insert: true,
            version: 1,
            hlc: rules::back_office_stamp(now_ms()),
            fields: CustomerFields {
                name: edit.name.clone().ok_or_else(|| {
                    StorageError::Invalid(format!(
                        "customer {id} does not exist; a new customer needs a name"
                    ))
                })?,
                email: blank(&edit.email, None),
                phone: blank(&edit.phone, None),
                note: blank(&edit.note, None),
            },
        },
    };
    if let CustomerDecision::Write { fields, .. } = &decision {
        rules::check_customer_fields(fields).map_err(|r| StorageError::Invalid(r.message))?;
    }
    write_customer(&tx, id, current.as_ref(), decision).await?;
    let saved = load_customer(&tx, id, false)
        .await?
        .ok_or_else(|| StorageError::Corrupt(format!("customer {id} vanished")))?;
    tx.commit().await?;
    Ok(saved.customer)
}

async fn delete_customer_tx(client: &mut Object, id: Uuid) -> Result<Customer, TxError> {
    let tx = client.transaction().await?;
    let current = load_customer(&tx, id, true)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("customer {id}"),
        })?;
    if current.deleted {
        return Err(StorageError::Invalid(format!("customer {id} is already deleted")).into());
    }
    let decision = CustomerDecision::Delete {
        version: current.customer.version + 1,
        hlc: rules::back_office_stamp(now_ms()),
    };
    write_customer(&tx, id, Some(&current), decision).await?;
    let saved = load_customer(&tx, id, false)
        .await?
        .ok_or_else(|| StorageError::Corrupt(format!("customer {id} vanished")))?;
    tx.commit().await?;
    Ok(saved.customer)
}

// ---------------------------------------------------------------------------------------------
// Catalog

async fn import_catalog_tx(
    client: &mut Object,
    catalog: &CatalogImport,
) -> Result<ImportSummary, TxError> {
    let tx = client.transaction().await?;
    if let Some(settings) = &catalog.settings {
        let settings_json =
            serde_json::to_string(settings).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let old: Option<String> = opt(&tx, "SELECT body FROM settings WHERE id = 1", &[])
            .await?
            .map(|r| r.get(0));
        if old.as_deref() != Some(settings_json.as_str()) {
            let change = next_change(&tx).await?;
            exec(
                &tx,
                "INSERT INTO settings (id, body, change_seq) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body,
                     change_seq = excluded.change_seq",
                &[&settings_json, &change],
            )
            .await?;
        }
    }
    let mut summary = ImportSummary {
        tax_rates: 0,
        products: 0,
        unchanged: 0,
    };
    for rate in &catalog.tax_rates {
        let old: Option<(String, i64, bool)> = opt(
            &tx,
            "SELECT name, rate_bp, deleted FROM tax_rates WHERE id = $1",
            &[&rate.id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2)));
        if old == Some((rate.name.clone(), i64::from(rate.rate_bp), false)) {
            continue;
        }
        let change = next_change(&tx).await?;
        exec(
            &tx,
            "INSERT INTO tax_rates (id, name, rate_bp, deleted, change_seq)
             VALUES ($1, $2, $3, false, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp,
                 deleted = false, change_seq = excluded.change_seq",
            &[&rate.id, &rate.name, &i64::from(rate.rate_bp), &change],
        )
        .await?;
        summary.tax_rates += 1;
    }
    let known_rates: HashSet<String> = all(&tx, "SELECT id FROM tax_rates WHERE NOT deleted", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for product in &catalog.products {
        let mut product = product.clone();
        if product.id.is_nil() {
            let existing: Option<Uuid> = opt(
                &tx,
                "SELECT id FROM products WHERE sku = $1",
                &[&product.sku],
            )
            .await?
            .map(|r| r.get(0));
            product.id = existing.unwrap_or_else(Uuid::now_v7);
        }
        if !known_rates.contains(&product.tax_category) {
            return Err(StorageError::Invalid(format!(
                "product {}: unknown tax category {:?}",
                product.sku, product.tax_category
            ))
            .into());
        }
        if load_product(&tx, "id", &product.id).await?.as_ref() == Some(&product) {
            summary.unchanged += 1;
            continue;
        }
        upsert_product(&tx, &product).await?;
        summary.products += 1;
    }
    tx.commit().await?;
    Ok(summary)
}

async fn upsert_product(tx: &Transaction<'_>, p: &Product) -> Result<(), TxError> {
    // Another product holding this sku is the caller's mistake, not a race worth retrying.
    let taken = opt(
        tx,
        "SELECT 1 FROM products WHERE sku = $1 AND id <> $2",
        &[&p.sku, &p.id],
    )
    .await?;
    if taken.is_some() {
        return Err(StorageError::Invalid(format!(
            "sku {} already belongs to another product",
            p.sku
        ))
        .into());
    }
    let change = next_change(tx).await?;
    exec(
        tx,
        "INSERT INTO products (id, sku, barcode, name, category, unit_price, tax_category, active,
                               deleted, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)
         ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, barcode = excluded.barcode,
             name = excluded.name, category = excluded.category, unit_price = excluded.unit_price,
             tax_category = excluded.tax_category, active = excluded.active, deleted = false,
             change_seq = excluded.change_seq",
        &[
            &p.id,
            &p.sku,
            &p.barcode,
            &p.name,
            &p.category,
            &p.unit_price,
            &p.tax_category,
            &p.active,
            &change,
        ],
    )
    .await?;
    Ok(())
}

const PRODUCT_COLUMNS: &str =
    "id, sku, barcode, name, category, unit_price, tax_category, active, deleted, change_seq";

fn product_from_row(r: &Row) -> (Product, bool, i64) {
    (
        Product {
            id: r.get(0),
            sku: r.get(1),
            barcode: r.get(2),
            name: r.get(3),
            category: r.get(4),
            unit_price: r.get(5),
            tax_category: r.get(6),
            active: r.get(7),
        },
        r.get(8),
        r.get(9),
    )
}

/// A live product by `column` (`id` or `sku`), locked for the rest of the transaction.
async fn load_product<T: ToSql + Sync>(
    tx: &Transaction<'_>,
    column: &str,
    value: &T,
) -> Result<Option<Product>, TxError> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE {column} = $1 AND NOT deleted FOR UPDATE"
    );
    Ok(opt(tx, &sql, &[value])
        .await?
        .map(|r| product_from_row(&r).0))
}

async fn set_price_tx(client: &mut Object, sku: &str, unit_price: i64) -> Result<Product, TxError> {
    let tx = client.transaction().await?;
    let mut product =
        load_product(&tx, "sku", &sku)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                what: format!("product with sku {sku:?}"),
            })?;
    product.unit_price = unit_price;
    upsert_product(&tx, &product).await?;
    tx.commit().await?;
    Ok(product)
}

async fn delete_product_tx(client: &mut Object, sku: &str) -> Result<Product, TxError> {
    let tx = client.transaction().await?;
    let product = load_product(&tx, "sku", &sku)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("product with sku {sku:?}"),
        })?;
    let change = next_change(&tx).await?;
    // The tombstone gives its sku up, so a new product may take it.
    exec(
        &tx,
        "UPDATE products SET deleted = true, sku = $2, change_seq = $3 WHERE id = $1",
        &[
            &product.id,
            &format!("{}#deleted#{}", product.sku, product.id),
            &change,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(product)
}

// ---------------------------------------------------------------------------------------------
// Pull

async fn pull_page(client: &mut Object, cursor: u64, limit: u32) -> Result<PullPage, TxError> {
    // One snapshot for the four tables. Change numbers commit in order (module doc), so this
    // snapshot holds every change up to the highest it sees.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let after = to_i64(cursor, "cursor")?;
    // One more than asked tells whether more wait.
    let take = i64::from(limit) + 1;
    let mut changes: Vec<Change> = Vec::new();

    for r in all(
        &tx,
        "SELECT body, change_seq FROM settings WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
        &[&after, &take],
    )
    .await?
    {
        let body: String = r.get(0);
        let settings: StoreSettings = serde_json::from_str(&body)
            .map_err(|e| StorageError::Corrupt(format!("settings: {e}")))?;
        changes.push(Change {
            seq: to_u64(r.get(1)),
            change: ChangeKind::Settings(settings),
        });
    }

    for r in all(
        &tx,
        "SELECT id, name, rate_bp, deleted, change_seq FROM tax_rates WHERE change_seq > $1
         ORDER BY change_seq LIMIT $2",
        &[&after, &take],
    )
    .await?
    {
        let id: String = r.get(0);
        let rate_bp: i64 = r.get(2);
        let change = if r.get::<_, bool>(3) {
            ChangeKind::TaxRateDeleted { id }
        } else {
            ChangeKind::TaxRateUpserted(TaxRate {
                id,
                name: r.get(1),
                rate_bp: u32::try_from(rate_bp)
                    .map_err(|_| StorageError::Corrupt(format!("tax rate {rate_bp}")))?,
            })
        };
        changes.push(Change {
            seq: to_u64(r.get(4)),
            change,
        });
    }

    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE change_seq > $1 ORDER BY change_seq LIMIT $2"
    );
    for r in all(&tx, &sql, &[&after, &take]).await? {
        let (product, deleted, seq) = product_from_row(&r);
        let change = if deleted {
            ChangeKind::ProductDeleted { id: product.id }
        } else {
            ChangeKind::ProductUpserted(product)
        };
        changes.push(Change {
            seq: to_u64(seq),
            change,
        });
    }

    for r in all(
        &tx,
        "SELECT id, version, name, email, phone, note, deleted, change_seq, hlc FROM customers
         WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
        &[&after, &take],
    )
    .await?
    {
        let id: Uuid = r.get(0);
        let version = to_u64(r.get(1));
        let change = if r.get::<_, bool>(6) {
            ChangeKind::CustomerDeleted { id, version }
        } else {
            ChangeKind::CustomerUpserted(Customer {
                id,
                version,
                fields: CustomerFields {
                    name: r.get(2),
                    email: r.get(3),
                    phone: r.get(4),
                    note: r.get(5),
                },
                hlc: stamp_of(id, r.get::<_, Option<&str>>(8))?,
            })
        };
        changes.push(Change {
            seq: to_u64(r.get(7)),
            change,
        });
    }
    tx.commit().await?;

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

async fn list_tickets(client: &mut Object) -> Result<Vec<TicketSummary>, TxError> {
    let tx = client.transaction().await?;
    let rows = all(
        &tx,
        "SELECT server_id, server_number, id, terminal_id, number, kind, reverses, reversed_by,
                total, created_at_ms
         FROM tickets ORDER BY server_id",
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| TicketSummary {
            server_id: r.get(0),
            server_number: to_u64(r.get(1)),
            id: r.get(2),
            terminal_id: r.get(3),
            number: to_u64(r.get(4)),
            kind: r.get(5),
            reverses: r.get(6),
            reversed_by: r.get(7),
            total: r.get(8),
            created_at_ms: r.get(9),
        })
        .collect())
}

async fn compute_stats(client: &mut Object) -> Result<Stats, TxError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut terminals = Vec::new();
    let mut gaps = 0u64;
    let records: Vec<TerminalRecord> = all(
        &tx,
        &format!("SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id"),
        &[],
    )
    .await?
    .iter()
    .map(terminal_from_row)
    .collect();
    for t in records {
        let figures = one(
            &tx,
            "SELECT count(*) FILTER (WHERE kind = 'sale'),
                    coalesce(sum(total) FILTER (WHERE kind = 'sale'), 0)::bigint,
                    coalesce(sum(total) FILTER (WHERE kind <> 'sale'), 0)::bigint
             FROM tickets WHERE terminal_id = $1",
            &[&t.id],
        )
        .await?;
        let (tickets, sales_total, reversals_total): (i64, i64, i64) =
            (figures.get(0), figures.get(1), figures.get(2));
        let refused: i64 = one(
            &tx,
            "SELECT count(*) FROM mutations WHERE terminal_id = $1 AND ticket_id IS NOT NULL
               AND (outcome::jsonb ->> 'status') <> 'applied'",
            &[&t.id],
        )
        .await?
        .get(0);
        let numbers: Vec<u64> = all(
            &tx,
            "SELECT DISTINCT ticket_number FROM mutations
             WHERE terminal_id = $1 AND ticket_number IS NOT NULL ORDER BY ticket_number",
            &[&t.id],
        )
        .await?
        .iter()
        .map(|r| to_u64(r.get(0)))
        .collect();
        let max_number = numbers.last().copied().unwrap_or(0);
        let (missing_tickets, missing_ticket_numbers) =
            missing_numbers(numbers.into_iter(), max_number);
        let seqs: Vec<u64> = all(
            &tx,
            "SELECT seq FROM mutations WHERE terminal_id = $1 ORDER BY seq",
            &[&t.id],
        )
        .await?
        .iter()
        .map(|r| to_u64(r.get(0)))
        .collect();
        let (missing_seqs, missing_mutation_seqs) = missing_numbers(seqs.into_iter(), t.last_seq);
        gaps += missing_tickets + missing_seqs;
        terminals.push(TerminalStats {
            terminal_id: t.id,
            name: t.name,
            last_seq: t.last_seq,
            tickets: to_u64(tickets),
            total: sales_total - reversals_total,
            sales_total,
            reversals_total,
            refused_ticket_mutations: to_u64(refused),
            missing_ticket_numbers,
            missing_mutation_seqs,
        });
    }
    let duplicate_ticket_ids: Vec<Uuid> = all(
        &tx,
        "SELECT ticket_id FROM mutations WHERE ticket_id IS NOT NULL
         GROUP BY ticket_id HAVING count(*) > 1",
        &[],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let duplicate_ticket_numbers: Vec<(Uuid, u64)> = all(
        &tx,
        "SELECT terminal_id, ticket_number FROM mutations WHERE ticket_number IS NOT NULL
         GROUP BY terminal_id, ticket_number HAVING count(*) > 1",
        &[],
    )
    .await?
    .iter()
    .map(|r| (r.get(0), to_u64(r.get(1))))
    .collect();
    let duplicate_rows: i64 = one(
        &tx,
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM
           (SELECT count(*) AS n FROM tickets GROUP BY terminal_id, number HAVING count(*) > 1) d",
        &[],
    )
    .await?
    .get(0);
    let mutations: i64 = one(&tx, "SELECT count(*) FROM mutations", &[])
        .await?
        .get(0);
    tx.commit().await?;
    let tickets = terminals.iter().map(|t| t.tickets).sum();
    let total = terminals.iter().map(|t| t.total).sum();
    Ok(Stats {
        tickets,
        total,
        mutations: to_u64(mutations),
        duplicates: duplicate_ticket_ids.len() as u64
            + duplicate_ticket_numbers.len() as u64
            + to_u64(duplicate_rows),
        duplicate_ticket_ids,
        duplicate_ticket_numbers,
        gaps,
        terminals,
    })
}

async fn query_terminal(
    client: &mut Object,
    where_clause: &str,
    param: &(dyn ToSql + Sync),
) -> Result<Option<TerminalRecord>, TxError> {
    let sql = format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE {where_clause}");
    let stmt = client.prepare_cached(&sql).await?;
    Ok(client
        .query_opt(&stmt, &[param])
        .await?
        .as_ref()
        .map(terminal_from_row))
}

// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Storage for PostgresStorage {
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
        let record = TerminalRecord {
            id: Uuid::now_v7(),
            name,
            created_at_ms: now_ms(),
            revoked_at_ms: None,
            last_seq: 0,
        };
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO terminals (id, name, token_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
                &[&record.id, &record.name, &token_hash, &record.created_at_ms],
            )
            .await?;
        Ok(record)
    }

    async fn revoke_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE terminals SET revoked_at_ms = coalesce(revoked_at_ms, $2) WHERE id = $1
                     RETURNING {TERMINAL_COLUMNS}"
                ),
                &[&id, &now_ms()],
            )
            .await?;
        row.as_ref()
            .map(terminal_from_row)
            .ok_or_else(|| StorageError::NotFound {
                what: format!("terminal {id}"),
            })
    }

    async fn list_terminals(&self) -> Result<Vec<TerminalRecord>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY created_at_ms, id"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(terminal_from_row).collect())
    }

    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        retrying!(self, "terminal", |client| query_terminal(
            &mut client,
            "id = $1",
            &id
        ))
    }

    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TerminalRecord>, StorageError> {
        retrying!(self, "terminal_by_token_hash", |client| query_terminal(
            &mut client,
            "token_hash = $1",
            &token_hash
        ))
    }

    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Mutation>,
    ) -> Result<PushOutcome, StorageError> {
        retrying!(self, "push", |client| push_batch(
            &mut client,
            terminal_id,
            &mutations
        ))
    }

    async fn pull(&self, cursor: u64, limit: u32) -> Result<PullPage, StorageError> {
        retrying!(self, "pull", |client| pull_page(&mut client, cursor, limit))
    }

    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError> {
        check_catalog(&catalog)?;
        retrying!(self, "import_catalog", |client| import_catalog_tx(
            &mut client,
            &catalog
        ))
    }

    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError> {
        if !(0..=till_protocol::pricing::MAX_UNIT_PRICE).contains(&unit_price) {
            return Err(StorageError::Invalid(format!(
                "price {unit_price} is not between 0 and {}",
                till_protocol::pricing::MAX_UNIT_PRICE
            )));
        }
        retrying!(self, "set_price", |client| set_price_tx(
            &mut client,
            sku,
            unit_price
        ))
    }

    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError> {
        retrying!(self, "delete_product", |client| delete_product_tx(
            &mut client,
            sku
        ))
    }

    async fn stock(&self, product_id: Uuid) -> Result<i64, StorageError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT coalesce(sum(delta), 0)::bigint FROM stock_moves WHERE product_id = $1",
                &[&product_id],
            )
            .await?
            .get(0))
    }

    async fn save_customer(&self, id: Uuid, edit: CustomerEdit) -> Result<Customer, StorageError> {
        retrying!(self, "save_customer", |client| save_customer_tx(
            &mut client,
            id,
            &edit
        ))
    }

    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError> {
        retrying!(self, "delete_customer", |client| delete_customer_tx(
            &mut client,
            id
        ))
    }

    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError> {
        retrying!(self, "tickets", |client| list_tickets(&mut client))
    }

    async fn stats(&self) -> Result<Stats, StorageError> {
        retrying!(self, "stats", |client| compute_stats(&mut client))
    }
}

// ---------------------------------------------------------------------------------------------

/// Test support: a PostgreSQL database to test against, each test in a schema of its own.
pub mod testing {
    use std::str::FromStr;

    use tokio_postgres::NoTls;

    /// The variable naming the test database (`scripts/with-postgres.sh` sets it).
    pub const URL_VAR: &str = "TILL_TEST_POSTGRES_URL";

    /// `TILL_TEST_POSTGRES_URL`, or `None` after saying why the test is skipped. Under `CI=true`
    /// a missing URL fails the test instead: CI must run the PostgreSQL tests.
    pub fn database_url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{URL_VAR} is not set under CI=true: CI must run the PostgreSQL tests \
                     (run them through scripts/with-postgres.sh)"
                );
                eprintln!("skipped: {URL_VAR} not set (run through scripts/with-postgres.sh)");
                None
            }
        }
    }

    /// Creates an empty schema and answers a URL whose connections use it, so every test starts
    /// from a fresh database of its own on one cluster.
    pub async fn fresh_schema_url(url: &str) -> Result<String, tokio_postgres::Error> {
        let config = tokio_postgres::Config::from_str(url)?;
        let (client, connection) = config.connect(NoTls).await?;
        let task = tokio::spawn(connection);
        let schema = format!("till_test_{}", uuid::Uuid::now_v7().simple());
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await?;
        drop(client);
        let _ = task.await;
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{separator}options=-csearch_path%3D{schema}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn storage_url() -> Option<String> {
        let url = testing::database_url()?;
        Some(
            testing::fresh_schema_url(&url)
                .await
                .expect("creates a test schema"),
        )
    }

    #[tokio::test]
    async fn a_failing_migration_leaves_the_schema_as_it_was() {
        let Some(url) = storage_url().await else {
            return;
        };
        let storage = PostgresStorage::connect(&url).await.expect("connects");
        let mut client = storage.client().await.expect("a connection");
        client
            .batch_execute("DROP TABLE till_schema")
            .await
            .expect("forgets the schema");
        let broken = [
            (2, "CREATE TABLE nope (x integer); SELEC oops;"),
            (3, "CREATE TABLE never (x integer)"),
        ];
        // Versions 2 and 3 on top of nothing: migration 2 fails, so nothing stays.
        let err = apply_migrations(&mut client, &broken)
            .await
            .expect_err("migration 2 is broken");
        assert!(
            matches!(err, StorageError::Migration { version: 2, .. }),
            "{err}"
        );
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name IN ('nope', 'till_schema')",
                &[],
            )
            .await
            .expect("reads")
            .get(0);
        assert_eq!(
            tables, 0,
            "all or nothing: no table of a failed upgrade survives"
        );
    }

    #[tokio::test]
    async fn a_schema_newer_than_the_binary_is_refused() {
        let Some(url) = storage_url().await else {
            return;
        };
        let storage = PostgresStorage::connect(&url).await.expect("connects");
        let client = storage.client().await.expect("a connection");
        client
            .execute(
                "INSERT INTO till_schema (version, applied_at_ms) VALUES (999, 0)",
                &[],
            )
            .await
            .expect("pretends a newer server migrated");
        drop(client);
        let err = PostgresStorage::connect(&url)
            .await
            .err()
            .expect("a newer schema is refused");
        assert!(
            matches!(err, StorageError::NewerSchema { found: 999, .. }),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_starting_together_migrate_once() {
        let Some(url) = storage_url().await else {
            return;
        };
        let starts = (0..4).map(|_| {
            let url = url.clone();
            async move { PostgresStorage::connect(&url).await.map(drop) }
        });
        for started in futures_join_all(starts).await {
            started.expect("every replica starts");
        }
        let storage = PostgresStorage::connect(&url).await.expect("connects");
        let client = storage.client().await.expect("a connection");
        let applied: i64 = client
            .query_one("SELECT count(*) FROM till_schema", &[])
            .await
            .expect("reads")
            .get(0);
        assert_eq!(
            applied,
            PostgresStorage::supported_schema() as i64,
            "each migration is applied once"
        );
    }

    async fn futures_join_all<F: std::future::Future + Send + 'static>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("task runs"));
        }
        out
    }
}
