//! `till-bench drain --tickets N --json`: how fast a terminal's backlog reaches a local
//! `till-server` (the real binary, over loopback) through the sync engine (`tillctl sync
//! --until-drained`, batched), against the same backlog replayed one request per ticket (the way
//! Workbox background sync or POS Awesome replay an offline queue) in the same run. Also reports
//! the peak RSS of the syncing process, which must not grow with the backlog.
//!
//! With `--link-kbps K --rtt-ms R` the till reaches the server through a throttled link
//! ([`crate::link`]): the run reports the bytes on the wire per sale, the round trips, the
//! link's floor (wire bytes ÷ bandwidth + round trips × RTT) and how close the drain came to it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use till_core::demo::{self, DemoRng};
use till_core::{cart, catalog, tickets, Clock, Store, SystemClock, TenderInput};

use crate::link::{Link, LinkSpec, Traffic};
use crate::server::{sibling, BenchResult, Database, Replica};

#[derive(clap::Args)]
pub struct Args {
    /// Tickets in the backlog
    #[arg(long, default_value_t = 10_000)]
    tickets: usize,
    /// Skip the one-request-per-ticket replay (default: replay when at most 20,000 tickets
    /// and no link is throttled)
    #[arg(long)]
    no_replay: bool,
    /// Drain through a link of this bandwidth (kbit/s, each direction)
    #[arg(long, requires = "rtt_ms")]
    link_kbps: Option<u64>,
    /// The throttled link's round-trip time (ms), half of it in each direction
    #[arg(long, requires = "link_kbps")]
    rtt_ms: Option<u64>,
    /// Print only the JSON line (the JSON line is always last)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Run {
    seconds: f64,
    tickets_per_s: f64,
    peak_rss_kib: u64,
}

#[derive(Serialize)]
struct Figures {
    scenario: &'static str,
    tickets: usize,
    lines_per_ticket: usize,
    batched: Run,
    /// One request per ticket, each sent once the one before is answered: how Workbox
    /// background sync or POS Awesome replay a queue.
    one_request_per_ticket: Option<Run>,
    /// Batched throughput over one-request-per-ticket throughput (target ≥ 10).
    speedup: Option<f64>,
    /// One request per ticket with Till's send-ahead (the next request prepared while the last
    /// answer is applied): what batching adds beyond pipelining.
    one_request_per_ticket_sent_ahead: Option<Run>,
    speedup_over_sent_ahead: Option<f64>,
    /// The batched drain's traffic on the throttled link, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<LinkFigures>,
}

/// A drain over a throttled link against what the link allows at best.
#[derive(Serialize)]
struct LinkFigures {
    kbps: u64,
    rtt_ms: u64,
    bytes_up: u64,
    bytes_down: u64,
    /// Both directions over the tickets drained.
    wire_bytes_per_sale: f64,
    /// Request-and-answer exchanges plus connection handshakes, as the link counts them.
    round_trips: u64,
    connections: u64,
    /// Wire bytes ÷ bandwidth + round trips × RTT.
    floor_seconds: f64,
    /// The drain's seconds over the floor (target ≤ 1.5).
    seconds_over_floor: f64,
    /// The engine's own time for the drain, from its first cycle's start to its last cycle's
    /// end as the till's sync history records them: the drain's seconds less starting
    /// `tillctl` and opening the store, whose check at open reads the whole file. What a
    /// running app, whose store is open already, takes.
    sync_seconds: f64,
    sync_over_floor: f64,
    /// Mutations the till still had to send after the drain (0: all delivered).
    unsent: u64,
}

impl LinkFigures {
    fn of(
        spec: LinkSpec,
        traffic: Traffic,
        tickets: usize,
        seconds: f64,
        sync_seconds: f64,
        unsent: u64,
    ) -> LinkFigures {
        let floor = spec.floor(&traffic).as_secs_f64();
        LinkFigures {
            kbps: spec.kbps,
            rtt_ms: u64::try_from(spec.rtt.as_millis()).unwrap_or(u64::MAX),
            bytes_up: traffic.bytes_up,
            bytes_down: traffic.bytes_down,
            wire_bytes_per_sale: round(
                (traffic.bytes_up + traffic.bytes_down) as f64 / tickets as f64,
            ),
            round_trips: traffic.round_trips,
            connections: traffic.connections,
            floor_seconds: round(floor),
            seconds_over_floor: round(seconds / floor),
            sync_seconds: round(sync_seconds),
            sync_over_floor: round(sync_seconds / floor),
            unsent,
        }
    }
}

pub fn run(args: Args) {
    if let Err(e) = measure(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A running `till-server serve` on a fresh data dir.
struct Server {
    db: Database,
    replica: Replica,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> BenchResult<Server> {
        let dir = tempfile::Builder::new()
            .prefix("till-bench-server-")
            .tempdir()?;
        let db = Database::Dir(dir.path().to_path_buf());
        Ok(Server {
            replica: Replica::start(&db)?,
            db,
            _dir: dir,
        })
    }

    fn url(&self) -> &str {
        &self.replica.url
    }

    fn add_terminal(&self, name: &str) -> BenchResult<String> {
        self.db.add_terminal(name)
    }
}

/// Rings up `n` five-line demo sales (durability relaxed: filling is not what is measured).
fn fill(dir: &Path, n: usize) -> BenchResult<()> {
    let store = Store::open(dir)?;
    let mut conn = store.connect()?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let products = catalog::active_products(&conn)?;
    let mut rng = DemoRng::new(7);
    for i in 0..n {
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
        if i % 10_000 == 9_999 {
            eprintln!("  {} tickets queued", i + 1);
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// The span of the sync cycles the till at `dir` started from `since_ms` on, first start to
/// last end, in seconds.
fn cycles_seconds(dir: &Path, since_ms: i64) -> BenchResult<f64> {
    let cycles = till_core::sync::history::list(&Store::open(dir)?.connect()?, 10_000)?;
    let ran = cycles.iter().filter(|c| c.started_at_ms >= since_ms);
    let start = ran.clone().map(|c| c.started_at_ms).min();
    let end = ran.map(|c| c.started_at_ms + c.duration_ms).max();
    match (start, end) {
        (Some(start), Some(end)) => Ok((end - start) as f64 / 1000.0),
        _ => Err("the sync recorded no cycle".into()),
    }
}

/// Mutations queued in the till at `dir` and not settled by the back office.
fn unsent(dir: &Path) -> BenchResult<u64> {
    let counts = till_core::outbox::counts(&Store::open(dir)?.connect()?)?;
    Ok(counts.pending + counts.in_flight)
}

fn tillctl(dir: &Path, args: &[&str]) -> BenchResult<()> {
    let out = Command::new(sibling("tillctl")?)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()?;
    if !out.status.success() {
        return Err(format!("tillctl {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// Runs `tillctl sync --until-drained` with `extra` args; returns seconds and peak RSS (KiB).
fn timed_sync(dir: &Path, extra: &[&str]) -> BenchResult<(f64, u64)> {
    let start = Instant::now();
    let mut child = Command::new(sibling("tillctl")?)
        .arg("--data-dir")
        .arg(dir)
        .args(["sync", "--until-drained", "--timeout", "3600"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        // Short enough not to pad a drain of a few hundred milliseconds.
        std::thread::sleep(Duration::from_millis(2));
    };
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err("the sync did not drain the backlog".into());
    }
    Ok((seconds, peak))
}

fn measure(args: Args) -> BenchResult<()> {
    if args.tickets == 0 {
        return Err("--tickets must be positive".into());
    }
    let batched_dir = tempfile::Builder::new()
        .prefix("till-bench-drain-")
        .tempdir()?;
    eprintln!("queueing {} tickets", args.tickets);
    fill(batched_dir.path(), args.tickets)?;
    let spec = match (args.link_kbps, args.rtt_ms) {
        (Some(0), _) => return Err("--link-kbps must be positive".into()),
        (Some(kbps), Some(rtt_ms)) => Some(LinkSpec {
            kbps,
            rtt: Duration::from_millis(rtt_ms),
        }),
        _ => None,
    };
    // One request per ticket over a slow link takes a round trip per ticket: not replayed.
    let replay = !args.no_replay && args.tickets <= 20_000 && spec.is_none();
    // Untouched copies of the backlog for the two replays.
    let replay_dirs = [
        tempfile::Builder::new()
            .prefix("till-bench-replay-")
            .tempdir()?,
        tempfile::Builder::new()
            .prefix("till-bench-replay-")
            .tempdir()?,
    ];
    if replay {
        for dir in &replay_dirs {
            std::fs::copy(
                batched_dir.path().join(till_core::store::DB_FILE),
                dir.path().join(till_core::store::DB_FILE),
            )?;
        }
    }

    let server = Server::start()?;
    let link = spec
        .map(|spec| Link::start(server.url(), spec))
        .transpose()?;
    let url = link.as_ref().map_or(server.url(), |l| l.url.as_str());
    let token = server.add_terminal("bench-batched")?;
    tillctl(
        batched_dir.path(),
        &["enrol", "--server", url, "--token", &token],
    )?;
    eprintln!("draining in batches through the sync engine");
    let before = link.as_ref().map(Link::traffic);
    let since_ms = SystemClock.now_ms();
    let (secs, rss) = timed_sync(batched_dir.path(), &[])?;
    let link_figures = match (spec, &link, before) {
        (Some(spec), Some(link), Some(before)) => Some(LinkFigures::of(
            spec,
            link.traffic().since(&before),
            args.tickets,
            secs,
            cycles_seconds(batched_dir.path(), since_ms)?,
            unsent(batched_dir.path())?,
        )),
        _ => None,
    };
    let batched = Run {
        seconds: round(secs),
        tickets_per_s: round(args.tickets as f64 / secs),
        peak_rss_kib: rss,
    };
    drop(link);
    drop(server);

    let (one_by_one, sent_ahead) = if replay {
        eprintln!("replaying one request per ticket, each after the last answer");
        let sequential = replay_one_by_one(replay_dirs[0].path(), args.tickets, true)?;
        eprintln!("replaying one request per ticket, sent ahead");
        let ahead = replay_one_by_one(replay_dirs[1].path(), args.tickets, false)?;
        (Some(sequential), Some(ahead))
    } else {
        (None, None)
    };
    let ratio = |r: &Option<Run>| {
        r.as_ref()
            .map(|r| round(batched.tickets_per_s / r.tickets_per_s))
    };
    let figures = Figures {
        scenario: "drain",
        tickets: args.tickets,
        lines_per_ticket: 5,
        speedup: ratio(&one_by_one),
        speedup_over_sent_ahead: ratio(&sent_ahead),
        batched,
        one_request_per_ticket: one_by_one,
        one_request_per_ticket_sent_ahead: sent_ahead,
        link: link_figures,
    };
    outln!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Drains the backlog in `dir` (a copy taken before the batched run, so not yet enrolled) into
/// a fresh server, one ticket per request.
fn replay_one_by_one(dir: &Path, tickets: usize, one_at_a_time: bool) -> BenchResult<Run> {
    let server = Server::start()?;
    let token = server.add_terminal("bench-replay")?;
    tillctl(dir, &["enrol", "--server", server.url(), "--token", &token])?;
    let mut args = vec!["--batch-size", "1", "--max-batch-size", "1"];
    if one_at_a_time {
        args.push("--one-at-a-time");
    }
    let (secs, rss) = timed_sync(dir, &args)?;
    Ok(Run {
        seconds: round(secs),
        tickets_per_s: round(tickets as f64 / secs),
        peak_rss_kib: rss,
    })
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Serialize)]
struct DuringDrain {
    scenario: &'static str,
    backlog: usize,
    /// How long the engine held its writes after a local sale (0: never).
    give_way_ms: u64,
    tickets_timed: usize,
    idle_p50_us: u64,
    idle_p99_us: u64,
    during_drain_p50_us: u64,
    during_drain_p99_us: u64,
    /// `during_drain_p99_us / idle_p99_us` (target ≤ 2).
    ratio_p99: f64,
    /// Whether the drain was still running when the last timed commit ended.
    drain_still_running: bool,
    /// How long the timed commits during the drain took, and how many mutations the drain
    /// settled meanwhile (it gives way to the till, so fewer than when the till is quiet).
    timed_seconds: f64,
    settled_while_timed: u64,
}

/// `till-bench ring-up --during-drain`: durable ring-up commits timed on an idle terminal, then
/// on the same terminal while `tillctl sync` drains a `backlog` to a local till-server.
pub fn ring_up_during_drain(tickets: usize, backlog: usize, give_way_ms: u64) {
    if let Err(e) = measure_during_drain(tickets, backlog, give_way_ms) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn measure_during_drain(tickets: usize, backlog: usize, give_way_ms: u64) -> BenchResult<()> {
    let dir = tempfile::Builder::new()
        .prefix("till-bench-during-")
        .tempdir()?;
    eprintln!("queueing a backlog of {backlog} tickets");
    fill(dir.path(), backlog)?;
    let store = Store::open(dir.path())?;
    let mut conn = store.connect()?;
    let products = catalog::active_products(&conn)?;
    let mut rng = DemoRng::new(11);
    let mut commit_one = |conn: &mut till_core::sync::Connection| -> BenchResult<u64> {
        let cart = demo::cart(&mut rng, &products, 5);
        let total = cart::quote(conn, &cart)?.totals.total;
        let start = Instant::now();
        tickets::commit(
            conn,
            &cart,
            &[TenderInput::Cash { tendered: total }],
            None,
            None,
            &SystemClock,
        )?;
        Ok(start.elapsed().as_micros() as u64)
    };
    for _ in 0..20 {
        commit_one(&mut conn)?;
    }
    let mut idle = Vec::with_capacity(tickets);
    for _ in 0..tickets {
        idle.push(commit_one(&mut conn)?);
    }

    let server = Server::start()?;
    let token = server.add_terminal("bench-during")?;
    tillctl(
        dir.path(),
        &["enrol", "--server", server.url(), "--token", &token],
    )?;
    let mut child = Command::new(sibling("tillctl")?)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "sync",
            "--until-drained",
            "--timeout",
            "3600",
            "--give-way-ms",
        ])
        .arg(give_way_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Let the first batches start.
    std::thread::sleep(Duration::from_millis(300));
    let applied_before = till_core::outbox::counts(&conn)?.applied;
    let timed_from = Instant::now();
    let mut during = Vec::with_capacity(tickets);
    let mut still_running = true;
    for _ in 0..tickets {
        during.push(commit_one(&mut conn)?);
        // The pace of a busy till: a sale every few milliseconds, not a tight loop.
        std::thread::sleep(Duration::from_millis(2));
        if child.try_wait()?.is_some() {
            still_running = false;
            break;
        }
    }
    if still_running {
        still_running = child.try_wait()?.is_none();
    }
    let timed_for = timed_from.elapsed();
    let settled_while_timed = till_core::outbox::counts(&conn)?
        .applied
        .saturating_sub(applied_before);
    let _ = child.kill();
    let _ = child.wait();
    drop(server);
    let p = |v: &mut Vec<u64>, q: f64| -> u64 {
        v.sort_unstable();
        let idx = ((v.len() as f64 * q).ceil() as usize).saturating_sub(1);
        v.get(idx.min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let figures = DuringDrain {
        scenario: "ring-up-during-drain",
        backlog,
        give_way_ms,
        tickets_timed: during.len(),
        idle_p50_us: p(&mut idle, 0.50),
        idle_p99_us: p(&mut idle, 0.99),
        during_drain_p50_us: p(&mut during, 0.50),
        during_drain_p99_us: p(&mut during, 0.99),
        ratio_p99: 0.0,
        drain_still_running: still_running,
        timed_seconds: round(timed_for.as_secs_f64()),
        settled_while_timed,
    };
    let figures = DuringDrain {
        ratio_p99: round(figures.during_drain_p99_us as f64 / figures.idle_p99_us.max(1) as f64),
        ..figures
    };
    outln!("{}", serde_json::to_string(&figures)?);
    Ok(())
}
