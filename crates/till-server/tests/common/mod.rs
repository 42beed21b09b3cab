//! A real till-server on 127.0.0.1:0 with a real database — SQLite in a temporary dir, or a
//! fresh schema of the PostgreSQL named by `TILL_TEST_POSTGRES_URL` — and helpers to enrol
//! terminals and push valid tickets priced by the one pricing rule.
//!
//! `on_both_backends!(name);` above `async fn name()` runs that test as `name::sqlite` and
//! `name::postgres`: the same behaviour, held by both backends.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::Value;
use till_protocol::{
    Customer, Employee, Mutation, MutationBody, Product, PushRequest, PushResponse, Role, Ticket,
};
use till_server::dates::Day;
use till_server::decide::employees::PinHash;
use till_server::decide::push::Received;
use till_server::decide::reports::{GroupBy, SalesReport};
use till_server::decide::settings::{OfficeSetting, OfficeSettings};
use till_server::decide::stamps::StampLimit;
use till_server::sample;
use till_server::serve::{BoundServer, ServeOptions};
use till_server::storage::postgres::{testing, PostgresStorage};
use till_server::storage::sqlite::SqliteStorage;
use till_server::storage::{
    CatalogImport, CustomerEdit, ImportSummary, PullPage, PushOutcome, Rotated, ShiftSummary,
    Stats, Storage, StorageError, TerminalRecord, TicketSummary, TokenOwner,
};
use till_server::token;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Which database a test server stores into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    /// The backend of the test running on this task; SQLite when unset.
    pub static BACKEND: Backend;
}

/// Runs `async fn $name()` once per backend, as `$name::sqlite` and `$name::postgres` (skipped,
/// saying why, without `TILL_TEST_POSTGRES_URL`; failing under `CI=true`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::common::BACKEND
                    .scope(crate::common::Backend::Sqlite, super::$name())
                    .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if till_server::storage::postgres::testing::database_url().is_none() {
                    return;
                }
                crate::common::BACKEND
                    .scope(crate::common::Backend::Postgres, super::$name())
                    .await
            }
        }
    };
}

pub struct TestServer {
    pub url: String,
    pub storage: Arc<dyn Storage>,
    /// The pushes running in the server's storage now.
    pub pushes: Arc<InFlight>,
    pub backend: Backend,
    /// The PostgreSQL URL of the test's schema (`None` on SQLite).
    pub database_url: Option<String>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A terminal enrolled on the test server.
#[derive(Clone)]
pub struct Terminal {
    pub id: Uuid,
    pub token: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(ServeOptions::default()).await
    }

    /// A server with its own limits (timeouts, slots, the failed-authentication limit, the
    /// clock skew).
    pub async fn start_with(options: ServeOptions) -> TestServer {
        let backend = BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite);
        let dir = tempfile::tempdir().expect("temp dir");
        let (storage, database_url): (Arc<dyn Storage>, _) = match backend {
            Backend::Sqlite => (
                Arc::new(SqliteStorage::open(dir.path()).expect("database opens")),
                None,
            ),
            Backend::Postgres => {
                let url = testing::database_url().expect("a PostgreSQL test database");
                let url = testing::fresh_schema_url(&url)
                    .await
                    .expect("creates a test schema");
                let storage = PostgresStorage::connect(&url)
                    .await
                    .expect("database opens");
                (Arc::new(storage), Some(url))
            }
        };
        let pushes = Arc::new(InFlight::default());
        let storage: Arc<dyn Storage> = Arc::new(Observed {
            inner: storage,
            pushes: pushes.clone(),
        });
        let server =
            BoundServer::bind(storage.clone(), "127.0.0.1:0", None, &options).expect("binds");
        let url = server.url();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        TestServer {
            url,
            storage,
            pushes,
            backend,
            database_url,
            dir,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Runs `sql` on the test's database behind the server's back (to break it, say).
    pub async fn execute_sql(&self, sql: &str) {
        match &self.database_url {
            None => {
                let path = self.dir.path().join(till_server::storage::sqlite::DB_FILE);
                let conn = rusqlite::Connection::open(path).expect("opens the database");
                conn.execute_batch(sql).expect("runs the SQL");
            }
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connects");
                let task = tokio::spawn(connection);
                client.batch_execute(sql).await.expect("runs the SQL");
                drop(client);
                let _ = task.await;
            }
        }
    }

    /// Opens a transaction on the test's database behind the server's back and holds it open
    /// until [`Held::release`]: on SQLite the whole database (`BEGIN IMMEDIATE`, then
    /// `sqlite_sql`), on PostgreSQL what `postgres_sql` locks. A write of the server that needs
    /// it waits: the way a test makes requests overlap for certain.
    pub async fn hold(&self, sqlite_sql: &str, postgres_sql: &str) -> Held {
        match &self.database_url {
            None => {
                let path = self.dir.path().join(till_server::storage::sqlite::DB_FILE);
                let conn = rusqlite::Connection::open(path).expect("opens the database");
                conn.execute_batch(&format!("BEGIN IMMEDIATE; {sqlite_sql}"))
                    .expect("holds the database");
                Held(Holding::Sqlite(conn))
            }
            Some(url) => hold_on_postgres(url, postgres_sql).await,
        }
    }

    /// An HTTP client whose connections come from `ip` (any 127.x.y.z on loopback), so a test
    /// can play several client addresses.
    pub fn client_from(ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("an address"))
            .build()
            .expect("a client")
    }

    pub async fn enrol(&self, name: &str) -> Terminal {
        let token = token::generate();
        let record = self
            .storage
            .add_terminal(name, &token::hash(&token))
            .await
            .expect("enrols");
        Terminal {
            id: record.id,
            token,
        }
    }

    /// Posts raw JSON to /v1/push as a terminal that names no protocol revision (one that
    /// predates them); returns the status and the raw body.
    pub async fn push_raw(&self, terminal: &Terminal, body: &[u8]) -> (StatusCode, Vec<u8>) {
        self.push_raw_as(terminal, body, None).await
    }

    /// Posts raw JSON to /v1/push naming protocol `revision` (none: the header is left out).
    pub async fn push_raw_as(
        &self,
        terminal: &Terminal,
        body: &[u8],
        revision: Option<u32>,
    ) -> (StatusCode, Vec<u8>) {
        let mut request = self
            .http
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&terminal.token)
            .header("content-type", "application/json");
        if let Some(revision) = revision {
            request = request.header(till_protocol::PROTOCOL_HEADER, revision.to_string());
        }
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }

    /// Pushes `mutations` as `terminal`, a till that names no protocol revision; expects 200
    /// and returns the parsed and the raw response.
    pub async fn push(&self, terminal: &Terminal, mutations: &[Mutation]) -> (PushResponse, Value) {
        self.push_as(terminal, mutations, None).await
    }

    /// Pushes `mutations` as a till of today's protocol revision.
    pub async fn push_current(
        &self,
        terminal: &Terminal,
        mutations: &[Mutation],
    ) -> (PushResponse, Value) {
        let revision = Some(till_protocol::PROTOCOL_REVISION);
        self.push_as(terminal, mutations, revision).await
    }

    async fn push_as(
        &self,
        terminal: &Terminal,
        mutations: &[Mutation],
        revision: Option<u32>,
    ) -> (PushResponse, Value) {
        let request = PushRequest {
            terminal_id: terminal.id,
            mutations: mutations.to_vec(),
            withdraw: Vec::new(),
            head: None,
        };
        let body = serde_json::to_vec(&request).expect("serializes");
        let (status, bytes) = self.push_raw_as(terminal, &body, revision).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "push must succeed: {}",
            String::from_utf8_lossy(&bytes)
        );
        let parsed: PushResponse = serde_json::from_slice(&bytes).expect("a PushResponse");
        let raw: Value = serde_json::from_slice(&bytes).expect("JSON");
        (parsed, raw)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.get_as(path, token, None).await
    }

    /// [`Self::get`] as a terminal naming protocol `revision` (`None`: naming none).
    pub async fn get_as(
        &self,
        path: &str,
        token: Option<&str>,
        revision: Option<u32>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(revision) = revision {
            request = request.header(till_protocol::PROTOCOL_HEADER, revision.to_string());
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }
}

/// `count` sale mutations with seqs and ticket numbers from `first`.
pub fn sales(first: u64, count: u64) -> Vec<Mutation> {
    (first..first + count)
        .map(|n| sample::mutation(n, MutationBody::TicketCreated(sample::sale(n))))
        .collect()
}

/// `mutations` linked one after another from `prev`, as a till of the push chain queues them.
pub fn linked(mut mutations: Vec<Mutation>, prev: &str) -> Vec<Mutation> {
    let mut prev = prev.to_string();
    for m in &mut mutations {
        let content = till_protocol::chain::content(&m.body).expect("serializes");
        prev = till_protocol::chain::link(&prev, &content).expect("hex");
        m.link = Some(prev.clone());
    }
    mutations
}

pub fn ticket_of(m: &Mutation) -> &Ticket {
    match &m.body {
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => t,
        other => panic!("not a ticket mutation: {other:?}"),
    }
}

/// The raw JSON of each result's outcome.
pub fn raw_outcomes(raw: &Value) -> Vec<String> {
    raw["results"]
        .as_array()
        .expect("results array")
        .iter()
        .map(|r| serde_json::to_string(&r["outcome"]).expect("serializes"))
        .collect()
}

/// The code of a rejection.
pub fn code(outcome: &till_protocol::Outcome) -> &str {
    match outcome {
        till_protocol::Outcome::Rejected { code, .. } => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

pub fn status_of(raw: &Value, i: usize) -> String {
    raw["results"][i]["outcome"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[derive(serde::Deserialize)]
struct RawPush<'a> {
    #[serde(borrow)]
    results: Vec<RawResult<'a>>,
}

#[derive(serde::Deserialize)]
struct RawResult<'a> {
    #[serde(borrow)]
    outcome: &'a serde_json::value::RawValue,
}

#[derive(serde::Deserialize)]
struct RawDuplicate<'a> {
    status: String,
    #[serde(borrow)]
    original: &'a serde_json::value::RawValue,
}

/// The outcome of each result exactly as the bytes on the wire.
pub fn outcome_bytes(body: &[u8]) -> Vec<String> {
    let parsed: RawPush<'_> = serde_json::from_slice(body).expect("a push response");
    parsed
        .results
        .iter()
        .map(|r| r.outcome.get().to_string())
        .collect()
}

/// For a `duplicate` outcome's bytes, the bytes of its `original`.
pub fn original_bytes(outcome: &str) -> String {
    let dup: RawDuplicate<'_> = serde_json::from_str(outcome).expect("a duplicate outcome");
    assert_eq!(dup.status, "duplicate", "a replay answers duplicate");
    dup.original.get().to_string()
}

pub fn push_body(terminal: &Terminal, mutations: &[Mutation]) -> Vec<u8> {
    serde_json::to_vec(&PushRequest {
        terminal_id: terminal.id,
        mutations: mutations.to_vec(),
        withdraw: Vec::new(),
        head: None,
    })
    .expect("serializes")
}

/// A transaction held open behind the server's back ([`TestServer::hold`]).
pub struct Held(Holding);

enum Holding {
    Sqlite(rusqlite::Connection),
    Postgres {
        client: tokio_postgres::Client,
        task: tokio::task::JoinHandle<()>,
        pid: i32,
    },
}

/// Opens a transaction on the PostgreSQL database at `url`, runs `sql` in it and holds what it
/// locks until [`Held::release`].
pub async fn hold_on_postgres(url: &str, sql: &str) -> Held {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects");
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    client
        .batch_execute(&format!("BEGIN; {sql}"))
        .await
        .expect("holds what the SQL locks");
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("its process id")
        .get(0);
    Held(Holding::Postgres { client, task, pid })
}

impl Held {
    /// How many transactions wait for this one now, directly or queued behind another that
    /// waits for it; `None` where the database cannot say (SQLite has no view of who waits for
    /// its lock).
    pub async fn waiting(&self) -> Option<usize> {
        match &self.0 {
            Holding::Sqlite(_) => None,
            Holding::Postgres { client, pid, .. } => {
                // A transaction sees one snapshot of the activity view until told to drop it.
                client
                    .batch_execute("SELECT pg_stat_clear_snapshot()")
                    .await
                    .expect("a fresh view of who waits");
                let n: i64 = client
                    .query_one(
                        "WITH RECURSIVE waiting (pid) AS (
                             SELECT pid FROM pg_stat_activity
                             WHERE $1 = ANY (pg_blocking_pids(pid))
                             UNION
                             SELECT a.pid FROM pg_stat_activity a, waiting w
                             WHERE w.pid = ANY (pg_blocking_pids(a.pid))
                         )
                         SELECT count(*) FROM waiting",
                        &[pid],
                    )
                    .await
                    .expect("asks who waits")
                    .get(0);
                Some(n as usize)
            }
        }
    }

    /// Commits, letting whatever waited through.
    pub async fn release(self) {
        match self.0 {
            Holding::Sqlite(conn) => conn.execute_batch("COMMIT").expect("commits"),
            Holding::Postgres { client, task, .. } => {
                client.batch_execute("COMMIT").await.expect("commits");
                drop(client);
                let _ = task.await;
            }
        }
    }
}

/// Waits until `check` answers true, polling, or panics after ten seconds saying `what`.
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Counts calls running at once.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    /// How many run now.
    pub fn now(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    async fn count<T>(&self, call: impl Future<Output = T>) -> T {
        self.0.fetch_add(1, Ordering::SeqCst);
        let out = call.await;
        self.0.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

/// The server's storage, counting the pushes that run in it: a test sees that two pushes are
/// both inside the server before it lets either commit.
struct Observed {
    inner: Arc<dyn Storage>,
    pushes: Arc<InFlight>,
}

#[async_trait]
impl Storage for Observed {
    async fn add_terminal(
        &self,
        name: &str,
        token_hash: &str,
    ) -> Result<TerminalRecord, StorageError> {
        self.inner.add_terminal(name, token_hash).await
    }
    async fn revoke_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        self.inner.revoke_terminal(id).await
    }
    async fn reanchor_terminal(&self, id: Uuid) -> Result<TerminalRecord, StorageError> {
        self.inner.reanchor_terminal(id).await
    }
    async fn list_terminals(&self) -> Result<Vec<TerminalRecord>, StorageError> {
        self.inner.list_terminals().await
    }
    async fn terminal(&self, id: Uuid) -> Result<Option<TerminalRecord>, StorageError> {
        self.inner.terminal(id).await
    }
    async fn terminal_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenOwner>, StorageError> {
        self.inner.terminal_by_token_hash(token_hash).await
    }
    async fn rotate_token(
        &self,
        id: Uuid,
        token_hash: &str,
        grace_ms: i64,
    ) -> Result<Rotated, StorageError> {
        self.inner.rotate_token(id, token_hash, grace_ms).await
    }
    async fn set_terminal_key(&self, id: Uuid, public_key: &str) -> Result<(), StorageError> {
        self.inner.set_terminal_key(id, public_key).await
    }
    async fn terminal_key(&self, id: Uuid) -> Result<Option<String>, StorageError> {
        self.inner.terminal_key(id).await
    }
    async fn push(
        &self,
        terminal_id: Uuid,
        mutations: Vec<Received>,
        withdraw: Vec<Uuid>,
        head: Option<till_protocol::ChainHead>,
        stamps: StampLimit,
    ) -> Result<PushOutcome, StorageError> {
        let push = self
            .inner
            .push(terminal_id, mutations, withdraw, head, stamps);
        self.pushes.count(push).await
    }
    async fn push_chain(
        &self,
        terminal_id: Uuid,
    ) -> Result<till_server::decide::chain::StoredChain, StorageError> {
        self.inner.push_chain(terminal_id).await
    }
    async fn settled_mutations(&self, terminal_id: Uuid) -> Result<u64, StorageError> {
        self.inner.settled_mutations(terminal_id).await
    }
    async fn employees_sent(&self, terminal_id: Uuid) -> Result<bool, StorageError> {
        self.inner.employees_sent(terminal_id).await
    }
    async fn send_employees_again(
        &self,
        terminal_id: Uuid,
        cursor: u64,
    ) -> Result<(), StorageError> {
        self.inner.send_employees_again(terminal_id, cursor).await
    }
    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        employees: bool,
    ) -> Result<PullPage, StorageError> {
        self.inner.pull(cursor, limit, employees).await
    }
    async fn import_catalog(&self, catalog: CatalogImport) -> Result<ImportSummary, StorageError> {
        self.inner.import_catalog(catalog).await
    }
    async fn set_price(&self, sku: &str, unit_price: i64) -> Result<Product, StorageError> {
        self.inner.set_price(sku, unit_price).await
    }
    async fn delete_product(&self, sku: &str) -> Result<Product, StorageError> {
        self.inner.delete_product(sku).await
    }
    async fn stock(&self, product_id: Uuid) -> Result<i64, StorageError> {
        self.inner.stock(product_id).await
    }
    async fn save_customer(&self, id: Uuid, edit: CustomerEdit) -> Result<Customer, StorageError> {
        self.inner.save_customer(id, edit).await
    }
    async fn delete_customer(&self, id: Uuid) -> Result<Customer, StorageError> {
        self.inner.delete_customer(id).await
    }
    async fn add_employee(
        &self,
        name: &str,
        role: Role,
        pin: PinHash,
    ) -> Result<Employee, StorageError> {
        self.inner.add_employee(name, role, pin).await
    }
    async fn list_employees(&self) -> Result<Vec<Employee>, StorageError> {
        self.inner.list_employees().await
    }
    async fn set_employee_pin(&self, id: Uuid, pin: PinHash) -> Result<Employee, StorageError> {
        self.inner.set_employee_pin(id, pin).await
    }
    async fn disable_employee(&self, id: Uuid) -> Result<Employee, StorageError> {
        self.inner.disable_employee(id).await
    }
    async fn tickets(&self) -> Result<Vec<TicketSummary>, StorageError> {
        self.inner.tickets().await
    }
    async fn shifts(&self, terminal: Option<Uuid>) -> Result<Vec<ShiftSummary>, StorageError> {
        self.inner.shifts(terminal).await
    }
    async fn office_settings(&self) -> Result<OfficeSettings, StorageError> {
        self.inner.office_settings().await
    }
    async fn set_office_setting(
        &self,
        setting: OfficeSetting,
    ) -> Result<OfficeSettings, StorageError> {
        self.inner.set_office_setting(setting).await
    }
    async fn stats(&self) -> Result<Stats, StorageError> {
        self.inner.stats().await
    }
    async fn sales_report(
        &self,
        from: Day,
        to: Day,
        by: GroupBy,
    ) -> Result<SalesReport, StorageError> {
        self.inner.sales_report(from, to, by).await
    }
}
