//! `tillctl status [--json]`: pending, failed and conflicting mutations, tickets, sync state.

use std::path::Path;

use serde::Serialize;
use till_core::status::Status;
use till_core::sync::ErrorInfo;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// `status --json`, as scripts read it. `state` is what the engine last recorded (`idle` before
/// any sync); `enrolled` says whether it can sync at all. Keys in alphabetical order, as they
/// have always been printed.
#[derive(Serialize)]
struct StatusJson<'a> {
    clock_offset_ms: Option<i64>,
    /// Open conflicts, push- and pull-detected.
    conflicts: u64,
    device_id: Option<String>,
    enrolled: bool,
    failed: u64,
    last_error: Option<&'a ErrorInfo>,
    last_sync_at: Option<i64>,
    next_retry_at_ms: Option<i64>,
    paused: bool,
    pending: u64,
    /// Voids and refunds.
    reversals: u64,
    sales: u64,
    server_acked_seq: u64,
    server_url: Option<&'a str>,
    state: &'static str,
    terminal_id: Option<String>,
    /// Every ticket: `sales` + `reversals`.
    tickets: u64,
}

impl<'a> From<&'a Status> for StatusJson<'a> {
    fn from(st: &'a Status) -> Self {
        let sync = &st.sync;
        StatusJson {
            clock_offset_ms: sync.clock_offset_ms,
            conflicts: sync.conflicts,
            device_id: st.device_id.map(|id| id.to_string()),
            enrolled: st.enrolment.is_some(),
            failed: sync.failed,
            last_error: sync.last_error.as_ref(),
            last_sync_at: sync.last_success_at_ms,
            next_retry_at_ms: sync.next_retry_at_ms,
            paused: st.paused,
            pending: sync.pending,
            reversals: st.reversals,
            sales: st.sales,
            server_acked_seq: st.server_acked_seq,
            server_url: st.enrolment.as_ref().map(|e| e.server_url.as_str()),
            state: sync.state.name(),
            terminal_id: st.enrolment.as_ref().map(|e| e.terminal_id.to_string()),
            tickets: st.tickets,
        }
    }
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let st = till_core::status::read(&mut conn)?;
    if args.json {
        outln!("{}", serde_json::to_string(&StatusJson::from(&st))?);
    } else {
        outln!("data dir:   {}", store.data_dir().display());
        outln!("device id:  {}", store.device_id());
        outln!("state:      {}", st.sync.state.name());
        outln!(
            "tickets:    {} ({} sales, {} reversals)",
            st.tickets,
            st.sales,
            st.reversals
        );
        outln!("pending:    {}", st.sync.pending);
        outln!("failed:     {}", st.sync.failed);
        outln!("conflicts:  {}", st.sync.conflicts);
        match st.sync.last_success_at_ms {
            Some(ms) => outln!("last sync:  {ms} (Unix ms)"),
            None => outln!("last sync:  never"),
        }
    }
    Ok(())
}
