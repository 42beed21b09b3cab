//! `tillctl status [--json]`: pending, failed and conflicting mutations, tickets, sync state.

use std::path::Path;

use serde::Serialize;
use till_core::printer::{self, PrinterStatus};
use till_core::recover::Damaged;
use till_core::status::Status;
use till_core::store::integrity;
use till_core::sync::conflicts;
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
    /// Plain http to another machine, as the operator allowed at enrolment.
    cleartext: bool,
    clock_offset_ms: Option<i64>,
    /// Open conflicts, push- and pull-detected.
    conflicts: u64,
    device_id: Option<String>,
    /// Of the open conflicts, disputed reversals: cash handed out for a sale already reversed
    /// elsewhere, counted by the back office until a manager settles it.
    disputed_reversals: u64,
    enrolled: bool,
    failed: u64,
    last_error: Option<&'a ErrorInfo>,
    last_sync_at: Option<i64>,
    next_retry_at_ms: Option<i64>,
    paused: bool,
    pending: u64,
    /// The receipt printer: its target, `ok|offline|none`, and how many jobs wait.
    printer: &'a PrinterStatus,
    /// Voids and refunds.
    reversals: u64,
    sales: u64,
    server_acked_seq: u64,
    server_url: Option<&'a str>,
    state: &'static str,
    /// The damaged store this one replaced (where it was set aside, what was found, what
    /// `recover` salvaged); absent when the store was never replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    store_damaged: Option<Damaged>,
    terminal_id: Option<String>,
    /// Every ticket: `sales` + `reversals`.
    tickets: u64,
}

impl<'a> StatusJson<'a> {
    fn new(
        st: &'a Status,
        printer: &'a PrinterStatus,
        store_damaged: Option<Damaged>,
        disputed_reversals: u64,
    ) -> Self {
        let sync = &st.sync;
        StatusJson {
            cleartext: sync.cleartext,
            clock_offset_ms: sync.clock_offset_ms,
            conflicts: sync.conflicts,
            device_id: st.device_id.map(|id| id.to_string()),
            disputed_reversals,
            enrolled: st.enrolment.is_some(),
            failed: sync.failed,
            last_error: sync.last_error.as_ref(),
            last_sync_at: sync.last_success_at_ms,
            next_retry_at_ms: sync.next_retry_at_ms,
            paused: st.paused,
            pending: sync.pending,
            printer,
            reversals: st.reversals,
            sales: st.sales,
            server_acked_seq: st.server_acked_seq,
            server_url: st.enrolment.as_ref().map(|e| e.server_url.as_str()),
            state: sync.state.name(),
            store_damaged,
            terminal_id: st.enrolment.as_ref().map(|e| e.terminal_id.to_string()),
            tickets: st.tickets,
        }
    }
}

/// Reads the status after the store's full check: a damaged store fails with exit 4
/// (`database_corrupt`), left where it is (`ring-up`, `sync`, `recover` and the app set it aside).
pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    integrity::check(store.db_path())?;
    let mut conn = store.connect()?;
    let st = till_core::status::read(&mut conn)?;
    let damaged = till_core::recover::damaged(&conn)?;
    let disputed = conflicts::open_disputed_count(&conn).map_err(till_core::CoreError::from)?;
    let printer = printer::status(&conn)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string(&StatusJson::new(&st, &printer, damaged, disputed))?
        );
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
        outln!("disputed:   {disputed} (reversals counted until a manager settles them)");
        outln!(
            "printer:    {} ({}, {} waiting)",
            printer.target,
            printer.state,
            printer.queued
        );
        if st.sync.cleartext {
            outln!("cleartext:  plain http to another machine (allowed at enrolment)");
        }
        match st.sync.last_success_at_ms {
            Some(ms) => outln!("last sync:  {}", till_core::shifts::rfc3339_utc(ms)),
            None => outln!("last sync:  never"),
        }
        if let Some(d) = damaged {
            let salvaged = match &d.recovered {
                Some(r) => format!(
                    "{} tickets and {} queued items salvaged",
                    r.tickets, r.queued
                ),
                None => "its sales wait for `tillctl recover`".into(),
            };
            outln!(
                "damaged:    the store was replaced; the damaged one is {} ({salvaged})",
                d.file.display()
            );
        }
    }
    Ok(())
}
