//! Helpers shared by Till's end-to-end tests: the real `till-server` and `tillctl` binaries,
//! driven as child processes over loopback, the fault-injecting proxy, and a filesystem that
//! loses power.

pub mod powercut;
pub mod proxy;

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

/// A running `till-server serve` on `127.0.0.1:0`.
pub struct Server {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    /// Starts the server on `data_dir` and waits for its `listening on http://ADDR` line.
    pub async fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(bin("till-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("till-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("listening on http://") {
                    return url.trim().parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("till-server prints `listening on http://ADDR` once ready");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            data_dir: data_dir.to_path_buf(),
            addr,
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs `till-server ARGS --data-dir DIR` and returns stdout; panics on failure.
pub async fn server_cli(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin("till-server"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
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

/// Enrols a terminal on the server; returns (terminal id, token).
pub async fn add_terminal(server_dir: &Path, name: &str) -> (String, String) {
    let out = server_cli(server_dir, &["terminal", "add", name, "--json"]).await;
    let v: Value = serde_json::from_str(out.trim()).expect("terminal add --json prints JSON");
    (
        v["id"].as_str().expect("an id").to_string(),
        v["token"].as_str().expect("a token").to_string(),
    )
}

/// `till-server stats --json`.
pub async fn stats(server_dir: &Path) -> Value {
    let out = server_cli(server_dir, &["stats", "--json"]).await;
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
