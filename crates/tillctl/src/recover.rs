//! `tillctl recover [--from FILE] [--json]`: salvages into this till's store every readable sale
//! and every queued mutation of a damaged store (by default the one this store replaced), each
//! exactly once; the back office then receives those it lacks with the next sync.

use std::path::{Path, PathBuf};

use till_core::{recover, SystemClock};

use crate::{open_checked, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The damaged store file [default: the one this store replaced]
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let (store, _) = open_checked(data_dir)?;
    let report = recover::recover(&store, args.from.as_deref(), &SystemClock)?;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    outln!("salvaged from {}", report.from.display());
    outln!("tickets:        {}", report.tickets);
    outln!("queued again:   {}", report.queued);
    outln!("failed items:   {}", report.failed);
    outln!("already here:   {}", report.already_here);
    if !report.unreadable_tickets.is_empty() {
        outln!("unreadable tickets: {:?}", report.unreadable_tickets);
    }
    if !report.unreadable_mutations.is_empty() {
        outln!(
            "unreadable queued items: {:?} (sync stops at one the back office lacks)",
            report.unreadable_mutations
        );
    }
    Ok(())
}
