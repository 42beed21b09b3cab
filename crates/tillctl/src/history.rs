//! `tillctl history [--limit N] [--json]`: the most recent sync cycles, with what each cost on
//! the wire (bytes each way, headers estimated; requests; latency p50 and p99).

use std::path::Path;

use till_core::sync::history;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let conn = store.connect()?;
    let cycles = history::list(&conn, args.limit)?;
    if args.json {
        outln!("{}", serde_json::to_string(&cycles)?);
    } else {
        for c in cycles {
            outln!(
                "{}\tstarted {}\t{} ms\tpushed {}\tpulled {}\tconflicts {}\terrors {}\t\
                 sent {} B\treceived {} B\trequests {}{}{}",
                c.id,
                c.started_at_ms,
                c.duration_ms,
                c.pushed,
                c.pulled,
                c.conflicts,
                c.errors,
                c.bytes_sent,
                c.bytes_received,
                c.requests,
                c.latency_p50_ms
                    .zip(c.latency_p99_ms)
                    .map(|(p50, p99)| format!("\tp50 {p50} ms\tp99 {p99} ms"))
                    .unwrap_or_default(),
                c.error.map(|e| format!("\t{e}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}
