//! `tillctl verify-journal [--json]`: rebuilds every ticket from the store, reads every event
//! (shifts, Z reports, cash moved, lock-outs) and checks the hash chain; recomputes the push
//! chain (each ticket's content from its rows) and checks that the head the back office last
//! accepted is a link of it. Exit 0 when all hold; exit 3 naming what failed otherwise.

use std::path::Path;

use serde::Serialize;
use till_core::journal::Verification;
use till_core::push_chain::{ChainBreak, ChainCheck};
use till_protocol::ChainHead;

use crate::failure::EXIT_VERIFY_FAILED;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// What `--json` prints: the journal's verification as before, the push chain's, and the
/// back office's head.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    journal: &'a Verification,
    push_chain: PushChain<'a>,
    server_head: Option<&'a ChainHead>,
    /// Whether the head the back office accepted is this till's link at its sequence; `null`
    /// before it accepted one.
    server_head_matches: Option<bool>,
}

#[derive(Serialize)]
struct PushChain<'a> {
    checked: u64,
    head: Option<&'a ChainHead>,
    broken: Option<&'a ChainBreak>,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let v = till_core::journal::verify(&mut conn)?;
    let chain = till_core::push_chain::verify(&mut conn)?;
    if args.json {
        let report = Report {
            journal: &v,
            push_chain: PushChain {
                checked: chain.checked,
                head: chain.head.as_ref(),
                broken: chain.broken.as_ref(),
            },
            server_head: chain.server_head.as_ref(),
            server_head_matches: chain.server_head_matches,
        };
        outln!("{}", serde_json::to_string(&report)?);
    }
    if let Some(message) = failure(&v, &chain) {
        return Err(Failure {
            code: till_core::ErrorCode::JournalBroken,
            message,
            exit: EXIT_VERIFY_FAILED,
        });
    }
    if !args.json {
        outln!(
            "journal holds: {} tickets verified, {} events (Z reports: {})",
            v.tickets,
            v.events,
            v.z_reports
        );
        outln!("push chain holds: {} links verified", chain.checked);
        match &chain.server_head {
            Some(head) => outln!(
                "the back office's head (sequence {}) is this till's link there",
                head.seq
            ),
            None => outln!("the back office has accepted no link of this till yet"),
        }
    }
    Ok(())
}

/// What failed, in words, if anything did.
fn failure(v: &Verification, chain: &ChainCheck) -> Option<String> {
    if let Some(link) = &v.broken {
        return Some(format!("the journal is broken at {link}"));
    }
    if let Some(broken) = &chain.broken {
        return Some(format!(
            "the push chain is broken at sequence {}: {}",
            broken.seq, broken.detail
        ));
    }
    match (&chain.server_head, chain.server_head_matches) {
        (Some(head), Some(false)) => Some(format!(
            "the head the back office accepted (sequence {}) is not this till's link there: \
             what this till holds changed after the back office received it \
             (server_head_matches: false)",
            head.seq
        )),
        _ => None,
    }
}
