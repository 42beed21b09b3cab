//! The embedded default backend: one SQLite file in the data dir, WAL mode, `synchronous=FULL`.
//! Writes go through one connection and `BEGIN IMMEDIATE`, so pushes are serialised, also
//! against the CLI writing the same file from another process (busy timeout). Reads use a
//! small pool of reader connections.
//!
//! This backend only loads facts and carries decisions out: the write use cases are written
//! once over `Tx` (implemented in `tx`), the reads are in `reads`, and every decision is in
//! [`crate::decide`].

mod reads;
mod tx;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use till_protocol::{ChainHead, Customer, Employee, Product, Role};
use uuid::Uuid;

use self::tx::SqliteTx;
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

/// The database file inside the data dir.
pub const DB_FILE: &str = "till-server.sqlite3";

/// Numbered migrations, applied in order, all pending ones in one transaction.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_customer_hlc.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_token_rotation.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_office_settings.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_customer_made_by.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_disputed_reversals.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_recovered_mutations.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/sqlite/0008_employees.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_shifts_operators.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/sqlite/0010_push_chain.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/sqlite/0011_terminal_keys.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/sqlite/0012_customer_fields.sql"),
    ),
];

/// How long a statement waits for another writer (e.g. the CLI) before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
        apply_migrations(&mut writer, MIGRATIONS)?;
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

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer connection. IMMEDIATE takes
    /// the write lock first: two pushes of one batch settle one after the other, and the second
    /// sees the first's mutations as recorded.
    async fn write_tx<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteTx<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&mut SqliteTx::new(&tx))?;
            tx.commit()?;
            Ok(value)
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

/// Runs a use case written over [`super::tx::Tx`] to its end on this blocking thread. Every
/// load and write of [`SqliteTx`] is a plain blocking call, so the use case never waits on
/// anything but the database.
fn run<F: Future>(use_case: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(use_case)
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

#[async_trait]
impl Storage for SqliteStorage {
    async fn add_terminal(
        &self,
        name: &str,
        token_hash: &str,
    ) -> Result<TerminalRecord, StorageError> {
        let record = decide::terminals::enrol(name, Uuid::now_v7(), now_ms())?;
        let token_hash = token_hash.to_string();
        self.write(move |conn| {
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
            reads::terminal(conn, "id = ?1", &id.to_string())?.ok_or_else(|| {
                StorageError::NotFound {
                    what: format!("terminal {id}"),
                }
            })
        })
        .await
    }

    async fn reanchor_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE terminals SET chain_seq = NULL, chain_link = NULL, announced_seq = NULL,
                                      announced_link = NULL
                 WHERE id = ?1",
                [id.to_string()],
            )?;
            reads::terminal(conn, "id = ?1", &id.to_string())?.ok_or_else(|| {
                StorageError::NotFound {
                    what: format!("terminal {id}"),
                }
            })
        })
        .await
    }

    async fn list_terminals(&self) -> Result<Vec<TerminalRecord>, StorageError> {
        self.read(reads::terminals).await
    }

    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        self.read(move |conn| reads::terminal(conn, "id = ?1", &id.to_string()))
            .await
    }

    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenOwner>, StorageError> {
        let hash = token_hash.to_string();
        self.read(move |conn| reads::terminal_by_token(conn, &hash))
            .await
    }

    async fn rotate_token(
        &self,
        id: Uuid,
        token_hash: &str,
        grace_ms: i64,
    ) -> Result<Rotated, StorageError> {
        let hash = token_hash.to_string();
        self.write_tx(move |tx| run(terminals::rotate_token(tx, id, &hash, grace_ms)))
            .await
    }

    async fn set_terminal_key(&self, id: Uuid, public_key: &str) -> Result<(), StorageError> {
        let key = public_key.to_string();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE terminals SET public_key = ?2 WHERE id = ?1",
                params![id.to_string(), key],
            )?;
            terminal_found(id, changed)
        })
        .await
    }

    async fn terminal_key(&self, id: Uuid) -> Result<Option<String>, StorageError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT public_key FROM terminals WHERE id = ?1")?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?
                .flatten())
        })
        .await
    }

    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Received>,
        withdraw: Vec<Uuid>,
        head: Option<ChainHead>,
        stamps: StampLimit,
    ) -> Result<PushOutcome, StorageError> {
        self.write_tx(move |tx| {
            let batch = push::Pushed {
                mutations: &mutations,
                withdraw: &withdraw,
                head: head.as_ref(),
            };
            run(push::settle(tx, terminal_id, batch, stamps))
        })
        .await
    }

    async fn push_chain(&self, terminal_id: Uuid) -> Result<StoredChain, StorageError> {
        self.read(move |conn| {
            let tx = conn.unchecked_transaction()?;
            reads::push_chain(&tx, terminal_id)
        })
        .await
    }

    async fn settled_mutations(&self, terminal_id: Uuid) -> Result<u64, StorageError> {
        let n: i64 = self
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT count(*) FROM mutations WHERE terminal_id = ?1")?
                    .query_row([terminal_id.to_string()], |r| r.get(0))?)
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn employees_sent(&self, terminal_id: Uuid) -> Result<bool, StorageError> {
        let sent = self
            .read(move |conn| reads::employees_sent(conn, terminal_id))
            .await?;
        Ok(sent.unwrap_or(true))
    }

    async fn send_employees_again(
        &self,
        terminal_id: Uuid,
        cursor: u64,
    ) -> Result<(), StorageError> {
        self.write_tx(move |tx| run(employees::send_again(tx, terminal_id, cursor)))
            .await
    }

    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        employees: bool,
    ) -> Result<PullPage, StorageError> {
        fill_page(cursor, limit, employees, |cursor| {
            self.read(move |conn| {
                let tx = conn.unchecked_transaction()?;
                let rows = reads::pull_rows(&tx, cursor, limit)?;
                tx.finish()?;
                Ok(rows)
            })
        })
        .await
    }

    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError> {
        self.write_tx(move |tx| run(catalog::import(tx, &catalog)))
            .await
    }

    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError> {
        let sku = sku.to_string();
        self.write_tx(move |tx| run(catalog::set_price(tx, &sku, unit_price)))
            .await
    }

    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError> {
        let sku = sku.to_string();
        self.write_tx(move |tx| run(catalog::delete_product(tx, &sku)))
            .await
    }

    async fn stock(&self, product_id: Uuid) -> Result<i64, StorageError> {
        self.read(move |conn| reads::stock(conn, product_id)).await
    }

    async fn save_customer(&self, id: Uuid, edit: CustomerEdit) -> Result<Customer, StorageError> {
        self.write_tx(move |tx| run(customers::save(tx, id, &edit)))
            .await
    }

    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError> {
        self.write_tx(move |tx| run(customers::delete(tx, id)))
            .await
    }

    async fn add_employee(
        &self,
        name: &str,
        role: Role,
        pin: PinHash,
    ) -> Result<Employee, StorageError> {
        let name = name.to_string();
        self.write_tx(move |tx| run(employees::add(tx, &name, role, pin)))
            .await
    }

    async fn list_employees(&self) -> Result<Vec<Employee>, StorageError> {
        self.read(reads::employees).await
    }

    async fn set_employee_pin(&self, id: Uuid, pin: PinHash) -> Result<Employee, StorageError> {
        self.write_tx(move |tx| run(employees::set_pin(tx, id, pin)))
            .await
    }

    async fn disable_employee(&self, id: Uuid) -> Result<Employee, StorageError> {
        self.write_tx(move |tx| run(employees::disable(tx, id)))
            .await
    }

    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError> {
        self.read(reads::tickets).await
    }

    async fn shifts(&self, terminal: Option<Uuid>) -> Result<Vec<ShiftSummary>, StorageError> {
        self.read(move |conn| reads::shifts(conn, terminal)).await
    }

    async fn office_settings(&self) -> Result<OfficeSettings, StorageError> {
        self.read(reads::office_settings).await
    }

    async fn set_office_setting(
        &self,
        setting: OfficeSetting,
    ) -> Result<OfficeSettings, StorageError> {
        self.write_tx(move |tx| run(settings::set(tx, setting)))
            .await
    }

    async fn stats(&self) -> Result<Stats, StorageError> {
        let rows = self
            .read(|conn| {
                let tx = conn.unchecked_transaction()?;
                reads::stats_rows(&tx)
            })
            .await?;
        Ok(stats::stats(rows))
    }

    async fn sales_report(
        &self,
        from: Day,
        to: Day,
        by: GroupBy,
    ) -> Result<SalesReport, StorageError> {
        let (from_ms, to_ms) = (from.start_ms(), to.end_ms());
        let facts = self
            .read(move |conn| reads::report_tickets(conn, from_ms, to_ms))
            .await?;
        Ok(reports::sales(from, to, by, &facts)?)
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
    fn tickets_stored_before_the_operator_columns_keep_their_operator_and_shift() {
        let mut conn = Connection::open_in_memory().expect("opens");
        apply_migrations(&mut conn, &MIGRATIONS[..8]).expect("migrates to 8");
        let mut sale = crate::sample::sale(1);
        sale.operator = Some(crate::sample::operator("Ada"));
        sale.shift_id = Some(Uuid::now_v7());
        let body = serde_json::to_string(&sale).expect("serialises");
        conn.execute_batch(
            "INSERT INTO terminals (id, name, token_hash, created_at_ms) VALUES ('t', 'T', 'h', 0)",
        )
        .expect("a terminal");
        conn.execute(
            "INSERT INTO tickets (server_number, id, terminal_id, number, kind, total,
                                  created_at_ms, mutation_id, body)
             VALUES (1, ?1, 't', 1, 'sale', 0, 0, 'm', ?2)",
            params![sale.id.to_string(), body],
        )
        .expect("a ticket");
        apply_migrations(&mut conn, MIGRATIONS).expect("migrates to the last");
        let (name, shift): (String, String) = conn
            .query_row("SELECT operator_name, shift_id FROM tickets", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("reads");
        assert_eq!(name, "Ada");
        assert_eq!(Some(shift), sale.shift_id.map(|s| s.to_string()));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_push_settles_on_a_single_threaded_runtime_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(dir.path()).expect("opens");
        let terminal = storage
            .add_terminal("till 1", "hash")
            .await
            .expect("enrols");
        let sale = Received::from_mutation(crate::sample::mutation(
            1,
            till_protocol::MutationBody::TicketCreated(crate::sample::sale(1)),
        ))
        .expect("serialises");
        let pushed = storage
            .push(
                terminal.id,
                vec![sale],
                Vec::new(),
                None,
                StampLimit::ahead_of(now_ms(), 0),
            )
            .await
            .expect("the use case runs to its end on the blocking thread");
        assert_eq!(pushed.last_applied_seq, 1);
    }
}
