//! A real till-server on 127.0.0.1:0 with a real database — SQLite in a temporary dir, or a
//! fresh schema of the PostgreSQL named by `TILL_TEST_POSTGRES_URL` — and helpers to enrol
//! terminals and push valid tickets priced by the one pricing rule.
//!
//! `on_both_backends!(name);` above `async fn name()` runs that test as `name::sqlite` and
//! `name::postgres`: the same behaviour, held by both backends.
#![allow(dead_code)]

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use till_protocol::{Mutation, MutationBody, PushRequest, PushResponse, Ticket};
use till_server::sample;
use till_server::serve::{BoundServer, ServeOptions};
use till_server::storage::postgres::{testing, PostgresStorage};
use till_server::storage::sqlite::SqliteStorage;
use till_server::storage::Storage;
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
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
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
    })
    .expect("serializes")
}
