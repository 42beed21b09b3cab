//! Helpers shared by Till's end-to-end tests: the real `till-server` and `tillctl` binaries,
//! driven as child processes over loopback, the fault-injecting proxy, and a filesystem that
//! loses power, and a fake receipt printer.

pub mod escpos;
pub mod package;
pub mod powercut;
pub mod proxy;
pub mod tamper;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of a binary of this workspace, next to the test executable's target dir.
/// Panics with the command to run when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/debug/deps/test-xxxx → target/debug/
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first with `cargo build --workspace --bins` \
         (same CARGO_TARGET_DIR and profile as the tests)",
        path.display()
    );
    path
}

/// The commit of this checkout, when the tests run from one.
pub fn checkout_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What `PROGRAM --version` prints when built from this checkout: `till-server 0.1.0 (commit
/// 0123456789ab)`.
pub fn expected_version(program: &str) -> String {
    let commit = checkout_commit().unwrap_or_else(|| "unknown".to_string());
    format!("{program} {} (commit {commit})", env!("CARGO_PKG_VERSION"))
}

/// Where a back office keeps its data, as `till-server` is told on its command line.
#[derive(Debug, Clone)]
pub enum BackOffice {
    /// Its embedded SQLite database in this data dir.
    DataDir(PathBuf),
    /// A PostgreSQL database (`postgres://…`).
    Database(String),
}

impl BackOffice {
    /// The arguments naming it.
    fn args(&self) -> [std::ffi::OsString; 2] {
        match self {
            BackOffice::DataDir(dir) => ["--data-dir".into(), dir.into()],
            BackOffice::Database(url) => ["--database".into(), url.into()],
        }
    }
}

/// A running `till-server serve` on `127.0.0.1:0`.
pub struct Server {
    pub addr: SocketAddr,
    /// `http`, or `https` when started with `--tls-cert`/`--tls-key`.
    pub scheme: String,
    /// Where it keeps its data.
    pub office: BackOffice,
    child: Child,
}

impl Server {
    /// Starts the server on `data_dir` and waits for its `listening on http://ADDR` line.
    pub async fn start(data_dir: &Path) -> Server {
        Self::start_on(&BackOffice::DataDir(data_dir.to_path_buf())).await
    }

    /// Starts the server on `office` and waits for its `listening on http://ADDR` line.
    pub async fn start_on(office: &BackOffice) -> Server {
        Self::start_with(office, &["--listen", "127.0.0.1:0"]).await
    }

    /// Starts `till-server serve ARGS` on `office` (ARGS names `--listen`) and waits for its
    /// `listening on http(s)://ADDR` line.
    pub async fn start_with(office: &BackOffice, args: &[&str]) -> Server {
        Self::start_program(&bin("till-server"), office, args).await
    }

    /// Starts `PROGRAM serve ARGS` on `office`, where PROGRAM is a `till-server` other than
    /// this workspace's (the packaged one), and waits for its `listening on` line.
    pub async fn start_program(program: &Path, office: &BackOffice, args: &[&str]) -> Server {
        let mut child = Command::new(program)
            .arg("serve")
            .args(args)
            .args(office.args())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("till-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let (scheme, addr) = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let Some((scheme, addr)) = line
                    .strip_prefix("listening on ")
                    .and_then(|url| url.trim().split_once("://"))
                else {
                    continue;
                };
                return addr
                    .parse::<SocketAddr>()
                    .ok()
                    .map(|addr| (scheme.to_string(), addr));
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("till-server prints `listening on http(s)://ADDR` once ready");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            addr,
            scheme,
            office: office.clone(),
            child,
        }
    }

    /// The data dir of a back office on SQLite.
    pub fn data_dir(&self) -> &Path {
        match &self.office {
            BackOffice::DataDir(dir) => dir,
            BackOffice::Database(_) => panic!("a back office on PostgreSQL has no data dir"),
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs `till-server ARGS --data-dir DIR` and returns stdout; panics on failure.
pub async fn server_cli(data_dir: &Path, args: &[&str]) -> String {
    office_cli(&BackOffice::DataDir(data_dir.to_path_buf()), args).await
}

/// Runs `till-server ARGS` on `office` and returns stdout; panics on failure.
pub async fn office_cli(office: &BackOffice, args: &[&str]) -> String {
    let out = Command::new(bin("till-server"))
        .args(args)
        .args(office.args())
        .output()
        .await
        .expect("till-server runs");
    assert!(
        out.status.success(),
        "till-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Adds an employee to the back office (`till-server employee add`); returns its id.
pub async fn add_employee(server_dir: &Path, name: &str, role: &str, pin: &str) -> String {
    let added = server_cli(
        server_dir,
        &[
            "employee", "add", name, "--role", role, "--pin", pin, "--json",
        ],
    )
    .await;
    let added: Value = serde_json::from_str(&added).expect("json");
    added["id"].as_str().expect("an id").to_string()
}

/// Enrols a terminal on the server; returns (terminal id, token).
pub async fn add_terminal(server_dir: &Path, name: &str) -> (String, String) {
    add_terminal_to(&BackOffice::DataDir(server_dir.to_path_buf()), name).await
}

/// Enrols a terminal on `office`; returns (terminal id, token).
pub async fn add_terminal_to(office: &BackOffice, name: &str) -> (String, String) {
    let out = office_cli(office, &["terminal", "add", name, "--json"]).await;
    let v: Value = serde_json::from_str(out.trim()).expect("terminal add --json prints JSON");
    (
        v["id"].as_str().expect("an id").to_string(),
        v["token"].as_str().expect("a token").to_string(),
    )
}

/// `till-server stats --json`.
pub async fn stats(server_dir: &Path) -> Value {
    stats_of(&BackOffice::DataDir(server_dir.to_path_buf())).await
}

/// `till-server stats --json` of `office`.
pub async fn stats_of(office: &BackOffice) -> Value {
    let out = office_cli(office, &["stats", "--json"]).await;
    serde_json::from_str(out.trim()).expect("stats --json prints JSON")
}

/// One terminal's figures in `stats` (`null` when the server does not know it).
pub fn terminal_stats(stats: &Value, terminal_id: &str) -> Value {
    stats["terminals"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["terminal_id"] == terminal_id))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The output of one `tillctl` run.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A `tillctl` command on `data_dir`.
pub fn tillctl(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin("tillctl"));
    // Receipts print local times: one zone for every machine the tests run on.
    cmd.env("TZ", "UTC");
    cmd.arg("--data-dir").arg(data_dir).args(args);
    cmd.kill_on_drop(true);
    cmd
}

/// Runs `tillctl` to completion.
pub async fn run_tillctl(data_dir: &Path, args: &[&str]) -> Run {
    let out = tillctl(data_dir, args)
        .output()
        .await
        .expect("tillctl runs");
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// Runs `tillctl` and panics with its stderr when it fails.
pub async fn tillctl_ok(data_dir: &Path, args: &[&str]) -> String {
    let run = run_tillctl(data_dir, args).await;
    assert!(
        run.ok,
        "tillctl {args:?} failed ({:?}): {}",
        run.code, run.stderr
    );
    run.stdout
}

/// `tillctl status --json`.
pub async fn status(data_dir: &Path) -> Value {
    let out = tillctl_ok(data_dir, &["status", "--json"]).await;
    serde_json::from_str(out.trim()).expect("status --json prints JSON")
}

/// The terminal's committed tickets: (count, net total = sales − voids − refunds).
pub fn local_tickets(data_dir: &Path) -> (u64, i64) {
    let conn = till_core::store::open_connection(&data_dir.join(till_core::store::DB_FILE))
        .expect("the terminal's store opens");
    conn.query_row(
        "SELECT count(*), coalesce(sum(CASE kind WHEN 'sale' THEN total ELSE -total END), 0)
         FROM tickets",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)?)),
    )
    .expect("tickets can be counted")
}

/// Rings up one demo sale of `lines` lines from `products`, paid cash, in the store of `conn`.
pub fn ring_up_demo_sale(
    conn: &mut rusqlite::Connection,
    rng: &mut till_core::demo::DemoRng,
    products: &[till_protocol::Product],
    lines: usize,
) {
    let cart = till_core::demo::cart(rng, products, lines);
    let total = till_core::cart::quote(conn, &cart)
        .expect("quote")
        .totals
        .total;
    till_core::tickets::commit(
        conn,
        &cart,
        &[till_core::TenderInput::Cash { tendered: total }],
        None,
        None,
        &till_core::SystemClock,
    )
    .expect("committed locally, whatever the network does");
}

/// Asserts the promise: every committed ticket is on the server exactly once, totals match,
/// and nothing is left pending on the terminal.
pub async fn assert_delivered_exactly_once(
    server_dir: &Path,
    terminal_dir: &Path,
    terminal_id: &str,
) {
    let stats = stats(server_dir).await;
    assert_eq!(
        stats["duplicates"], 0,
        "no ticket may arrive twice: {stats}"
    );
    assert_eq!(
        stats["gaps"], 0,
        "no ticket or sequence may be missing: {stats}"
    );
    let (count, total) = local_tickets(terminal_dir);
    let terminal = stats["terminals"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["terminal_id"] == terminal_id))
        .unwrap_or_else(|| panic!("the server knows terminal {terminal_id}: {stats}"));
    let sales = local_sales(terminal_dir);
    assert_eq!(terminal["sales"], sales, "every sale arrived: {terminal}");
    assert_eq!(
        terminal["tickets"], count,
        "every ticket arrived, sales and reversals, counted as the till counts them: {terminal}"
    );
    assert_eq!(
        terminal["total"], total,
        "totals match to the minor unit: {terminal}"
    );
    assert!(count >= sales);
    let status = status(terminal_dir).await;
    assert_eq!(status["pending"], 0, "nothing is left pending: {status}");
    assert_eq!(status["failed"], 0, "nothing was rejected: {status}");
}

fn local_sales(data_dir: &Path) -> u64 {
    let conn = till_core::store::open_connection(&data_dir.join(till_core::store::DB_FILE))
        .expect("the terminal's store opens");
    conn.query_row(
        "SELECT count(*) FROM tickets WHERE kind = 'sale'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .expect("sales can be counted")
}
