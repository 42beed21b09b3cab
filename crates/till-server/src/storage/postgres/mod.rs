//! The backend for a chain of shops: one PostgreSQL database shared by several stateless
//! `till-server` replicas. It carries out the same decisions ([`crate::decide`]) through the
//! same use cases as the SQLite backend, implementing their loads and writes (`tx`) and its
//! reads (`reads`); what differs is how concurrent writers are kept apart, since two replicas
//! never share memory:
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

mod reads;
pub mod testing;
pub mod tls;
mod tx;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use till_protocol::{ChainHead, Customer, Employee, Product, Role};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use uuid::Uuid;

use self::tx::PgTx;
use super::tx::Tx;
use super::{
    catalog, customers, employees, fill_page, push, settings, terminal_found, terminals,
    CatalogImport, CustomerEdit, ImportSummary, PullPage, PushOutcome, Rotated, ShiftSummary,
    Stats, Storage, StorageError, TerminalRecord, TicketSummary, TokenOwner,
};
use crate::clock::now_ms;
use crate::dates::Day;
use crate::decide::chain::StoredChain;
use crate::decide::employees::PinHash;
use crate::decide::push::Received;
use crate::decide::reports::{self, GroupBy, SalesReport};
use crate::decide::settings::{OfficeSetting, OfficeSettings};
use crate::decide::stamps::StampLimit;
use crate::decide::{self, stats};
use crate::storage::columns::TERMINAL_COLUMNS;

/// Numbered migrations, applied in order, all pending ones in one transaction.
const MIGRATIONS: &[(u32, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_customer_hlc.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_token_rotation.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_office_settings.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_customer_made_by.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_disputed_reversals.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/postgres/0007_recovered_mutations.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/postgres/0008_employees.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/postgres/0009_shifts_operators.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/postgres/0010_push_chain.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/postgres/0011_terminal_keys.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/postgres/0012_customer_fields.sql"),
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
pub(super) enum TxError {
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

/// Runs `$use_case` (a use case written over `Tx`, given `$tx`) in one READ COMMITTED
/// transaction, all of it again after a retryable failure (see [`retrying!`]).
macro_rules! in_transaction {
    ($storage:expr, $what:literal, |$tx:ident| $use_case:expr) => {
        retrying!($storage, $what, |client| async {
            let transaction = client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()
                .await?;
            let mut pg = PgTx::new(&transaction);
            let $tx = &mut pg;
            let value = $use_case.await?;
            transaction.commit().await?;
            Ok::<_, TxError>(value)
        })
    };
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq options such as
    /// `?options=-csearch_path%3Dshop` allowed, TLS as [`tls`] reads `sslmode` and
    /// `sslrootcert`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let (url, tls_options) = tls::split_url(url)?;
        let mut config =
            tokio_postgres::Config::from_str(&url).map_err(|e| StorageError::Connect {
                reason: format!("not a PostgreSQL URL: {e}"),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let (ssl_mode, connector) = tls::connector(&tls_options)?;
        config.ssl_mode(ssl_mode);
        let manager = Manager::from_config(
            config,
            connector,
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
                reason: with_causes(&e),
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

/// `e` and the errors under it, so a refused TLS handshake says why (an unknown issuer, a
/// certificate for another name).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
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

pub(super) async fn opt(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, params).await?)
}

pub(super) async fn one(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Row, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_one(&stmt, params).await?)
}

pub(super) async fn all(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, params).await?)
}

pub(super) async fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, TxError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn add_terminal(
        &self,
        name: &str,
        token_hash: &str,
    ) -> Result<TerminalRecord, StorageError> {
        let record = decide::terminals::enrol(name, Uuid::now_v7(), now_ms())?;
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
            .map(reads::terminal_from_row)
            .ok_or_else(|| StorageError::NotFound {
                what: format!("terminal {id}"),
            })
    }

    async fn reanchor_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE terminals SET chain_seq = NULL, chain_link = NULL, announced_seq = NULL,
                                          announced_link = NULL
                     WHERE id = $1
                     RETURNING {TERMINAL_COLUMNS}"
                ),
                &[&id],
            )
            .await?;
        row.as_ref()
            .map(reads::terminal_from_row)
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
        Ok(rows.iter().map(reads::terminal_from_row).collect())
    }

    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        retrying!(self, "terminal", |client| reads::terminal(
            &mut client,
            "id = $1",
            &id
        ))
    }

    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenOwner>, StorageError> {
        retrying!(self, "terminal_by_token_hash", |client| {
            reads::terminal_by_token(&mut client, token_hash)
        })
    }

    async fn rotate_token(
        &self,
        id: Uuid,
        token_hash: &str,
        grace_ms: i64,
    ) -> Result<Rotated, StorageError> {
        in_transaction!(self, "rotate_token", |tx| terminals::rotate_token(
            tx, id, token_hash, grace_ms
        ))
    }

    async fn set_terminal_key(&self, id: Uuid, public_key: &str) -> Result<(), StorageError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE terminals SET public_key = $2 WHERE id = $1",
                &[&id, &public_key],
            )
            .await?;
        terminal_found(id, usize::try_from(changed).unwrap_or(usize::MAX))
    }

    async fn terminal_key(&self, id: Uuid) -> Result<Option<String>, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT public_key FROM terminals WHERE id = $1", &[&id])
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Received>,
        withdraw: Vec<Uuid>,
        head: Option<ChainHead>,
        stamps: StampLimit,
    ) -> Result<PushOutcome, StorageError> {
        let batch = push::Pushed {
            mutations: &mutations,
            withdraw: &withdraw,
            head: head.as_ref(),
        };
        in_transaction!(self, "push", |tx| push::settle(
            tx,
            terminal_id,
            batch,
            stamps
        ))
    }

    async fn push_chain(&self, terminal_id: Uuid) -> Result<StoredChain, StorageError> {
        retrying!(self, "push_chain", |client| reads::push_chain(
            &mut client,
            terminal_id
        ))
    }

    async fn settled_mutations(&self, terminal_id: Uuid) -> Result<u64, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM mutations WHERE terminal_id = $1",
                &[&terminal_id],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn employees_sent(&self, terminal_id: Uuid) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT employees_sent FROM terminals WHERE id = $1",
                &[&terminal_id],
            )
            .await?;
        Ok(row.is_none_or(|r| r.get(0)))
    }

    async fn send_employees_again(
        &self,
        terminal_id: Uuid,
        cursor: u64,
    ) -> Result<(), StorageError> {
        in_transaction!(self, "send_employees_again", |tx| employees::send_again(
            tx,
            terminal_id,
            cursor
        ))
    }

    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        employees: bool,
    ) -> Result<PullPage, StorageError> {
        fill_page(cursor, limit, employees, |cursor| async move {
            retrying!(self, "pull", |client| reads::pull_rows(
                &mut client,
                cursor,
                limit
            ))
        })
        .await
    }

    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError> {
        in_transaction!(self, "import_catalog", |tx| catalog::import(tx, &catalog))
    }

    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError> {
        in_transaction!(self, "set_price", |tx| catalog::set_price(
            tx, sku, unit_price
        ))
    }

    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError> {
        in_transaction!(self, "delete_product", |tx| catalog::delete_product(
            tx, sku
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
        in_transaction!(self, "save_customer", |tx| customers::save(tx, id, &edit))
    }

    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError> {
        in_transaction!(self, "delete_customer", |tx| customers::delete(tx, id))
    }

    async fn add_employee(
        &self,
        name: &str,
        role: Role,
        pin: PinHash,
    ) -> Result<Employee, StorageError> {
        in_transaction!(self, "add_employee", |tx| employees::add(
            tx,
            name,
            role,
            pin.clone()
        ))
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, StorageError> {
        retrying!(self, "list_employees", |client| reads::employees(
            &mut client
        ))
    }

    async fn set_employee_pin(&self, id: Uuid, pin: PinHash) -> Result<Employee, StorageError> {
        in_transaction!(self, "set_employee_pin", |tx| employees::set_pin(
            tx,
            id,
            pin.clone()
        ))
    }

    async fn disable_employee(&self, id: Uuid) -> Result<Employee, StorageError> {
        in_transaction!(self, "disable_employee", |tx| employees::disable(tx, id))
    }

    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError> {
        retrying!(self, "tickets", |client| reads::tickets(&mut client))
    }

    async fn shifts(&self, terminal: Option<Uuid>) -> Result<Vec<ShiftSummary>, StorageError> {
        retrying!(self, "shifts", |client| reads::shifts(
            &mut client,
            terminal
        ))
    }

    async fn office_settings(&self) -> Result<OfficeSettings, StorageError> {
        in_transaction!(self, "office_settings", |tx| tx.office_settings())
    }

    async fn set_office_setting(
        &self,
        setting: OfficeSetting,
    ) -> Result<OfficeSettings, StorageError> {
        in_transaction!(self, "set_office_setting", |tx| settings::set(tx, setting))
    }

    async fn stats(&self) -> Result<Stats, StorageError> {
        let rows = retrying!(self, "stats", |client| reads::stats_rows(&mut client))?;
        Ok(stats::stats(rows))
    }

    async fn sales_report(
        &self,
        from: Day,
        to: Day,
        by: GroupBy,
    ) -> Result<SalesReport, StorageError> {
        let (from_ms, to_ms) = (from.start_ms(), to.end_ms());
        let facts = retrying!(self, "sales_report", |client| reads::report_tickets(
            &mut client,
            from_ms,
            to_ms
        ))?;
        Ok(reports::sales(from, to, by, &facts)?)
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
            MIGRATIONS.len() as i64,
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
