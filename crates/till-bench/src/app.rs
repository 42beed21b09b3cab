//! `till-bench app --json`: the desktop app's cold start and idle memory, measured on the real
//! binary under a (virtual) X display.
//!
//! - **Start-up** is the time from spawning `till` to the log line `ui ready`, which the shell
//!   writes when the UI — mounted and rendered — asks for its first status snapshot. That is the
//!   first moment the cashier sees a working register (within a frame of first paint). The first
//!   run opens a fresh data dir (creates the database and loads the demo catalog); the others
//!   reopen it, each as a new process.
//! - **Idle memory** is the resident set (VmRSS) of the app process plus every process under it
//!   (WebKit's web and network processes), summed from `/proc` after the window has been idle
//!   for a few seconds. Shared pages (libraries) are counted once per process, so this is an
//!   upper bound; the proportional set size (PSS, shared pages split between their users, from
//!   `/proc/PID/smaps_rollup`) is reported beside it.
//!
//! Without `DISPLAY`, the scenario runs itself again under `xvfb-run`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Longest wait for the UI to come up before a run counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(clap::Args)]
pub struct Args {
    /// The app binary [default: `till` next to this binary]
    #[arg(long, value_name = "PATH")]
    app: Option<PathBuf>,
    /// How many starts to time (the first one on a fresh data dir)
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds to stay idle before reading memory
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// Print only the JSON line (the JSON line is always last)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Figures {
    scenario: &'static str,
    what_start_means: &'static str,
    runs: usize,
    first_start_ms: u64,
    start_p50_ms: u64,
    start_min_ms: u64,
    start_max_ms: u64,
    idle_secs: u64,
    idle_rss_app_mib: f64,
    idle_rss_webkit_mib: f64,
    idle_rss_total_mib: f64,
    idle_pss_total_mib: f64,
    processes: usize,
}

pub fn run(args: Args) {
    if let Err(e) = measure(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn measure(args: Args) -> Result<(), String> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return rerun_under_xvfb();
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let app = match args.app {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this binary: {e}"))?
            .with_file_name("till"),
    };
    if !app.is_file() {
        return Err(format!(
            "no app binary at {} (build it, or pass --app)",
            app.display()
        ));
    }
    let root = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let data_dir = root.path().join("terminal");

    let mut starts = Vec::with_capacity(args.runs);
    let mut memory = None;
    for i in 0..args.runs {
        let last = i + 1 == args.runs;
        let (mut child, ms) = start(&app, &data_dir, root.path())?;
        progress(args.json, &format!("run {}: ui ready after {ms} ms", i + 1));
        starts.push(ms);
        if last {
            std::thread::sleep(Duration::from_secs(args.idle_secs));
            memory = Some(tree_rss(child.id()));
        }
        stop(&mut child);
    }
    let (app_kib, webkit_kib, pss_kib, processes) = memory.unwrap_or_default();
    let first = starts[0];
    let mut later: Vec<u64> = if starts.len() > 1 {
        starts[1..].to_vec()
    } else {
        starts.clone()
    };
    later.sort_unstable();
    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    let figures = Figures {
        scenario: "app",
        what_start_means: "spawn to the UI's first status request after mounting (ui ready)",
        runs: args.runs,
        first_start_ms: first,
        start_p50_ms: later[later.len() / 2],
        start_min_ms: later[0],
        start_max_ms: later[later.len() - 1],
        idle_secs: args.idle_secs,
        idle_rss_app_mib: mib(app_kib),
        idle_rss_webkit_mib: mib(webkit_kib),
        idle_rss_total_mib: mib(app_kib + webkit_kib),
        idle_pss_total_mib: mib(pss_kib),
        processes,
    };
    outln!(
        "{}",
        serde_json::to_string(&figures).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn progress(json: bool, line: &str) {
    if !json {
        eprintln!("{line}");
    }
}

fn rerun_under_xvfb() -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let status = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(me)
        .args(std::env::args_os().skip(1))
        .status()
        .map_err(|e| format!("no DISPLAY and xvfb-run could not run: {e}"))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// Starts the app on `data_dir` and waits for `ui ready` on its log output.
fn start(app: &Path, data_dir: &Path, root: &Path) -> Result<(Child, u64), String> {
    let xdg = |name: &str| root.join("xdg").join(name);
    let began = Instant::now();
    let mut child = Command::new(app)
        .arg("--data-dir")
        .arg(data_dir)
        // Keep WebKit's caches and the app's config out of the user's home.
        .env("XDG_CONFIG_HOME", xdg("config"))
        .env("XDG_DATA_HOME", xdg("data"))
        .env("XDG_CACHE_HOME", xdg("cache"))
        .env("RUST_LOG", "warn,till=info")
        .env_remove("TILL_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", app.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("ui ready") {
                let _ = tx.send(began.elapsed());
            }
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(elapsed) => Ok((
            child,
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        )),
        Err(_) => {
            stop(&mut child);
            Err(format!(
                "the app did not report `ui ready` within {START_TIMEOUT:?}"
            ))
        }
    }
}

/// Ends the app and whatever it started.
fn stop(child: &mut Child) {
    let mut pids = descendants(child.id());
    pids.reverse();
    for pid in pids {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// (app RSS KiB, RSS KiB of every process below it, PSS KiB of them all, number of processes).
fn tree_rss(pid: u32) -> (u64, u64, u64, usize) {
    let below = descendants(pid);
    let app = rss_kib(pid);
    let others: u64 = below.iter().map(|p| rss_kib(*p)).sum();
    let pss: u64 = std::iter::once(pid)
        .chain(below.iter().copied())
        .map(|p| proc_kib(&format!("/proc/{p}/smaps_rollup"), "Pss:"))
        .sum();
    (app, others, pss, below.len() + 1)
}

fn rss_kib(pid: u32) -> u64 {
    proc_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// The `KEY: N kB` figure of a `/proc` file, 0 when it cannot be read.
fn proc_kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Every process under `pid`, parents before children.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| parent_of(&s))
            {
                parents.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(next) = frontier.pop() {
        for (p, pp) in &parents {
            if *pp == next && !out.contains(p) {
                out.push(*p);
                frontier.push(*p);
            }
        }
    }
    out
}

/// The parent pid from `/proc/PID/stat` (the 4th field, after the parenthesised command name,
/// which may itself contain spaces and parentheses).
fn parent_of(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pid_is_read_past_a_command_name_with_spaces() {
        let stat = "1234 (Web Content (x)) S 77 1234 1234 0 -1";
        assert_eq!(parent_of(stat), Some(77));
    }

    #[test]
    fn this_process_has_a_resident_set() {
        assert!(rss_kib(std::process::id()) > 0, "VmRSS is read from /proc");
    }
}
