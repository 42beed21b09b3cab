//! `till-bench ring-up --tickets N --json [--data-dir DIR]`: commits N five-line tickets into a
//! real store (durable: WAL, `synchronous=FULL`) and reports commit latency next to the latency
//! of a raw 4 KiB write + fsync measured on the same disk in the same run. The target is a p99
//! commit within 10× of the raw fsync p99.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use till_core::demo::{self, DemoRng};
use till_core::{cart, catalog, tickets, Cart, Store, SystemClock, TenderInput};

/// The target: p99 commit latency within this many raw fsync p99s.
const TARGET_RATIO: f64 = 10.0;
/// Commits made before timing starts (statement cache, page cache, WAL file growth).
const WARM_UP: usize = 20;

#[derive(clap::Args)]
pub struct Args {
    /// How many tickets to commit
    #[arg(long, default_value_t = 2000)]
    tickets: usize,
    /// Print only the JSON line (the JSON line is always last)
    #[arg(long)]
    json: bool,
    /// Store directory [default: a fresh temp dir, removed afterwards]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// How many raw fsyncs to time [default: the number of tickets, at least 200]
    #[arg(long)]
    fsyncs: Option<usize>,
    /// Compare commit latency while a 100k-ticket backlog drains to a local till-server
    /// against idle (see `drain.rs`)
    #[arg(long)]
    during_drain: bool,
    /// Backlog size for --during-drain
    #[arg(long, default_value_t = 100_000)]
    backlog: usize,
    /// For --during-drain: how long the syncing engine holds its writes after a local sale
    /// (`tillctl sync --give-way-ms`; 0: never)
    #[arg(long, default_value_t = 100, value_name = "MS")]
    give_way_ms: u64,
}

#[derive(Serialize)]
struct Figures {
    scenario: &'static str,
    tickets: usize,
    lines_per_ticket: usize,
    commit_p50_us: u64,
    commit_p99_us: u64,
    commit_max_us: u64,
    commit_mean_us: u64,
    fsync_samples: usize,
    fsync_p50_us: u64,
    fsync_p99_us: u64,
    fsync_max_us: u64,
    /// `commit_p99_us / fsync_p99_us`.
    ratio_p99: f64,
    target_ratio: f64,
    within_target: bool,
    data_dir: String,
}

pub fn run(args: Args) {
    if args.during_drain {
        return crate::drain::ring_up_during_drain(args.tickets, args.backlog, args.give_way_ms);
    }
    if let Err(e) = measure(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn measure(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let temp;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("till-bench-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let store = Store::open(&dir)?;
    let mut conn = store.connect()?;
    let products = catalog::active_products(&conn)?;
    let mut rng = DemoRng::new(42);
    let mut next_ticket = || -> Result<(Cart, Vec<TenderInput>), till_core::CoreError> {
        let cart = demo::cart(&mut rng, &products, 5);
        let total = cart::quote(&conn, &cart)?.totals.total;
        Ok((cart, vec![TenderInput::Cash { tendered: total }]))
    };

    let mut carts = Vec::with_capacity(args.tickets + WARM_UP);
    for _ in 0..args.tickets + WARM_UP {
        carts.push(next_ticket()?);
    }
    if !args.json {
        eprintln!(
            "committing {} tickets in {}, each followed by a raw 4 KiB write + fsync",
            args.tickets,
            dir.display()
        );
    }
    // Commits and raw fsyncs alternate, so both see the same background load on the disk.
    let samples = args.fsyncs.unwrap_or(args.tickets.max(200));
    let mut probe = FsyncProbe::create(&dir)?;
    let mut commit_us = Vec::with_capacity(args.tickets);
    let mut fsync_us = Vec::with_capacity(samples);
    for (i, (cart, tenders)) in carts.iter().enumerate() {
        let start = Instant::now();
        tickets::commit(&mut conn, cart, tenders, None, None, &SystemClock)?;
        if i >= WARM_UP {
            commit_us.push(start.elapsed().as_micros() as u64);
            if fsync_us.len() < samples {
                fsync_us.push(probe.time_one()?);
            }
        }
    }
    while fsync_us.len() < samples {
        fsync_us.push(probe.time_one()?);
    }
    probe.remove()?;

    let commit_p99 = percentile(&mut commit_us.clone(), 99);
    let fsync_p99 = percentile(&mut fsync_us.clone(), 99);
    let ratio = commit_p99 as f64 / fsync_p99.max(1) as f64;
    let figures = Figures {
        scenario: "ring_up",
        tickets: args.tickets,
        lines_per_ticket: 5,
        commit_p50_us: percentile(&mut commit_us.clone(), 50),
        commit_p99_us: commit_p99,
        commit_max_us: commit_us.iter().copied().max().unwrap_or(0),
        commit_mean_us: commit_us.iter().sum::<u64>() / commit_us.len().max(1) as u64,
        fsync_samples: samples,
        fsync_p50_us: percentile(&mut fsync_us.clone(), 50),
        fsync_p99_us: fsync_p99,
        fsync_max_us: fsync_us.iter().copied().max().unwrap_or(0),
        ratio_p99: (ratio * 100.0).round() / 100.0,
        target_ratio: TARGET_RATIO,
        within_target: ratio <= TARGET_RATIO,
        data_dir: dir.display().to_string(),
    };
    outln!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// A scratch file next to the store (same disk) that times one 4 KiB append + fsync at a time.
struct FsyncProbe {
    path: PathBuf,
    file: std::fs::File,
}

impl FsyncProbe {
    fn create(dir: &Path) -> std::io::Result<FsyncProbe> {
        let path = dir.join("fsync-probe.bin");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        Ok(FsyncProbe { path, file })
    }

    fn time_one(&mut self) -> std::io::Result<u64> {
        let block = [0x5Au8; 4096];
        let start = Instant::now();
        self.file.write_all(&block)?;
        self.file.sync_all()?;
        Ok(start.elapsed().as_micros() as u64)
    }

    fn remove(self) -> std::io::Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)
    }
}

/// The nearest-rank percentile `p` of `values` (sorted in place); 0 when empty.
fn percentile(values: &mut [u64], p: usize) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&mut v, 50), 50);
        assert_eq!(percentile(&mut v, 99), 99);
        assert_eq!(percentile(&mut [7], 99), 7);
        assert_eq!(percentile(&mut [], 99), 0);
    }
}
