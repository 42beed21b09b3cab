//! `till-bench fleet --terminals N --tickets M --json [--backend sqlite|postgres] [--replicas R]`:
//! a shop chain's morning. N terminals, each a real till-core store in its own temporary data dir
//! holding M rung-up tickets, drain into the back office at the same time through the real sync
//! engine (`till_core::sync::drain`, batched pushes over HTTP). The back office is the real
//! `till-server` binary: one process on SQLite, or R replicas on one PostgreSQL database with the
//! terminals spread round-robin over them.
//!
//! Reports mutations per second over the whole drain, p50/p99 latency of each push request,
//! errors (failed push requests, terminals that did not drain), and what `till-server stats`
//! says afterwards (duplicates and gaps must be 0).
//!
//! PostgreSQL comes from `--database URL` or `TILL_BENCH_POSTGRES_URL`; each run works in a
//! schema of its own there. Whether that cluster fsyncs is reported (`postgres_fsync`): the
//! throwaway cluster of `scripts/with-postgres.sh` runs with `fsync=off`, which flatters commits.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use till_core::demo::{self, DemoRng};
use till_core::sync::transport::{BoxFuture, Timeouts};
use till_core::sync::wire::WireTally;
use till_core::sync::{HttpTransport, SyncConfig, Transport, TransportError};
use till_core::{cart, catalog, tickets, Store, SystemClock, TenderInput};
use till_protocol::bundle::TerminalKey;
use till_protocol::{Ack, Health, PullResponse, PushResponse, WhoAmI};
use uuid::Uuid;

use crate::server::{BenchResult, Database, Replica};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(clap::Args)]
pub struct Args {
    /// Simulated terminals, each with its own store
    #[arg(long, default_value_t = 50)]
    terminals: usize,
    /// Tickets rung up on each terminal before the drain
    #[arg(long, default_value_t = 200)]
    tickets: usize,
    /// The back office's database
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Server replicas (PostgreSQL only); terminals are spread round-robin over them
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// PostgreSQL URL (else TILL_BENCH_POSTGRES_URL)
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Print only the JSON line (the JSON line is always last)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    scenario: &'static str,
    backend: &'static str,
    replicas: usize,
    terminals: usize,
    tickets_per_terminal: usize,
    lines_per_ticket: usize,
    /// `fsync` of the PostgreSQL cluster (`on`/`off`); SQLite always syncs (`synchronous=FULL`).
    postgres_fsync: Option<String>,
    seconds: f64,
    mutations: u64,
    mutations_per_s: f64,
    push_requests: usize,
    push_p50_ms: f64,
    push_p99_ms: f64,
    push_max_ms: f64,
    /// Push requests that failed (the engine retried them) plus terminals that did not drain.
    errors: u64,
    server_tickets: u64,
    server_duplicates: u64,
    server_gaps: u64,
}

pub fn run(args: Args) {
    if let Err(e) = measure(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The engine's HTTP transport, timing every push request.
struct Timed {
    inner: HttpTransport,
    pushes: Arc<Mutex<Vec<Duration>>>,
    errors: Arc<Mutex<u64>>,
}

impl Transport for Timed {
    fn push(&self, body: Vec<u8>) -> BoxFuture<'_, Result<PushResponse, TransportError>> {
        Box::pin(async move {
            let start = Instant::now();
            let result = self.inner.push(body).await;
            let took = start.elapsed();
            match &result {
                Ok(_) => lock(&self.pushes).push(took),
                Err(_) => *lock(&self.errors) += 1,
            }
            result
        })
    }
    fn pull(&self, cursor: u64, limit: u32) -> BoxFuture<'_, Result<PullResponse, TransportError>> {
        self.inner.pull(cursor, limit)
    }
    fn ack(&self, terminal_id: Uuid) -> BoxFuture<'_, Result<Ack, TransportError>> {
        self.inner.ack(terminal_id)
    }
    fn health(&self) -> BoxFuture<'_, Result<Health, TransportError>> {
        self.inner.health()
    }
    fn whoami(&self) -> BoxFuture<'_, Result<WhoAmI, TransportError>> {
        self.inner.whoami()
    }
    fn register_key(
        &self,
        terminal_id: Uuid,
        key: TerminalKey,
    ) -> BoxFuture<'_, Result<TerminalKey, TransportError>> {
        self.inner.register_key(terminal_id, key)
    }
    fn take_tally(&self) -> WireTally {
        self.inner.take_tally()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Rings up `n` five-line demo sales (durability relaxed: filling is not what is measured).
fn fill(dir: &Path, n: usize, seed: u64) -> BenchResult<()> {
    let store = Store::open(dir)?;
    let mut conn = store.connect()?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let products = catalog::active_products(&conn)?;
    let mut rng = DemoRng::new(seed);
    for _ in 0..n {
        let cart = demo::cart(&mut rng, &products, 5);
        let total = cart::quote(&conn, &cart)?.totals.total;
        tickets::commit(
            &mut conn,
            &cart,
            &[TenderInput::Cash { tendered: total }],
            None,
            None,
            &SystemClock,
        )?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// A fresh schema for this run on the PostgreSQL at `url`, and whether that cluster fsyncs.
fn postgres_database(url: &str) -> BenchResult<(String, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = tokio_postgres::Config::from_str(url)?;
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        let task = tokio::spawn(connection);
        let fsync: String = client.query_one("SHOW fsync", &[]).await?.get(0);
        let schema = format!("till_fleet_{}", Uuid::now_v7().simple());
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await?;
        drop(client);
        let _ = task.await;
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok((
            format!("{url}{separator}options=-csearch_path%3D{schema}"),
            fsync,
        ))
    })
}

struct Terminal {
    dir: tempfile::TempDir,
    url: String,
    token: String,
}

fn measure(args: Args) -> BenchResult<()> {
    if args.terminals == 0 || args.tickets == 0 || args.replicas == 0 {
        return Err("--terminals, --tickets and --replicas must be positive".into());
    }
    let _server_dir = tempfile::Builder::new()
        .prefix("till-bench-fleet-server-")
        .tempdir()?;
    let (db, fsync) = match args.backend {
        Backend::Sqlite => {
            if args.replicas != 1 {
                return Err(
                    "SQLite is one server process: --replicas 1, or --backend postgres".into(),
                );
            }
            (Database::Dir(_server_dir.path().to_path_buf()), None)
        }
        Backend::Postgres => {
            let url = args
                .database
                .clone()
                .or_else(|| std::env::var("TILL_BENCH_POSTGRES_URL").ok())
                .ok_or("--backend postgres needs --database URL or TILL_BENCH_POSTGRES_URL")?;
            let (url, fsync) = postgres_database(&url)?;
            (Database::Url(url), Some(fsync))
        }
    };
    // The first replica migrates; the others start on the migrated schema.
    let mut replicas = vec![Replica::start(&db)?];
    for _ in 1..args.replicas {
        replicas.push(Replica::start(&db)?);
    }
    eprintln!(
        "{} replica(s) on {:?}; ringing up {} tickets on each of {} terminals",
        replicas.len(),
        args.backend,
        args.tickets,
        args.terminals
    );

    let mut terminals = Vec::new();
    for i in 0..args.terminals {
        terminals.push(Terminal {
            dir: tempfile::Builder::new()
                .prefix("till-bench-fleet-till-")
                .tempdir()?,
            url: replicas[i % replicas.len()].url.clone(),
            token: db.add_terminal(&format!("fleet {i}"))?,
        });
    }
    // Ring up on both cores at once.
    let dirs: Vec<PathBuf> = terminals
        .iter()
        .map(|t| t.dir.path().to_path_buf())
        .collect();
    let tickets = args.tickets;
    let fills: Vec<_> = dirs
        .chunks(dirs.len().div_ceil(2))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || -> BenchResult<()> {
                for (i, dir) in chunk.iter().enumerate() {
                    fill(dir, tickets, 7 + i as u64)?;
                }
                Ok(())
            })
        })
        .collect();
    for f in fills {
        f.join().map_err(|_| "ring-up thread panicked")??;
    }

    let pushes = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0u64));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    let mut engines = Vec::new();
    for t in &terminals {
        let store = Store::open(t.dir.path())?;
        let enrolment = runtime.block_on(till_core::sync::enrolment::enrol(
            &store,
            &t.url,
            &t.token,
            &till_core::sync::ServerTrust::default(),
        ))?;
        let transport = Timed {
            inner: HttpTransport::new(&t.url, &t.token, Timeouts::default())?,
            pushes: pushes.clone(),
            errors: errors.clone(),
        };
        engines.push((store, enrolment.terminal_id, Arc::new(transport)));
    }

    eprintln!("draining {} terminals at once", engines.len());
    let start = Instant::now();
    // One thread per terminal, as on the shop floor: each its own engine and runtime.
    let drains: Vec<_> = engines
        .into_iter()
        .map(|(store, terminal_id, transport)| {
            std::thread::spawn(move || -> BenchResult<u64> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let report = rt.block_on(till_core::sync::drain(
                    &store,
                    terminal_id,
                    SyncConfig::default(),
                    transport,
                    Arc::new(SystemClock),
                    Some(Duration::from_secs(1800)),
                    |_| {},
                ))?;
                Ok(report.pushed)
            })
        })
        .collect();
    let mut mutations = 0u64;
    let mut failed_terminals = 0u64;
    for d in drains {
        match d.join() {
            Ok(Ok(pushed)) => mutations += pushed,
            Ok(Err(e)) => {
                eprintln!("a terminal did not drain: {e}");
                failed_terminals += 1;
            }
            Err(_) => failed_terminals += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(runtime);

    let stats = db.cli_json(&["stats", "--json"])?;
    drop(replicas);
    let mut latencies = lock(&pushes).clone();
    latencies.sort();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        round(latencies[i].as_secs_f64() * 1000.0)
    };
    let push_errors = *lock(&errors);
    let figures = Figures {
        scenario: "fleet",
        backend: match args.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        replicas: args.replicas,
        terminals: args.terminals,
        tickets_per_terminal: args.tickets,
        lines_per_ticket: 5,
        postgres_fsync: fsync,
        seconds: round(seconds),
        mutations,
        mutations_per_s: round(mutations as f64 / seconds),
        push_requests: latencies.len(),
        push_p50_ms: pct(0.50),
        push_p99_ms: pct(0.99),
        push_max_ms: latencies
            .last()
            .map(|d| round(d.as_secs_f64() * 1000.0))
            .unwrap_or(0.0),
        errors: push_errors + failed_terminals,
        server_tickets: stats["tickets"].as_u64().unwrap_or(0),
        server_duplicates: stats["duplicates"].as_u64().unwrap_or(u64::MAX),
        server_gaps: stats["gaps"].as_u64().unwrap_or(u64::MAX),
    };
    if !args.json {
        eprintln!(
            "{} mutations in {:.2} s: {:.0}/s, push p50 {} ms, p99 {} ms, {} errors",
            figures.mutations,
            figures.seconds,
            figures.mutations_per_s,
            figures.push_p50_ms,
            figures.push_p99_ms,
            figures.errors
        );
    }
    outln!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
