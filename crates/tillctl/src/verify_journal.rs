//! `tillctl verify-journal [--json]`: rebuilds every ticket from the store, reads every event
//! (shifts, Z reports, cash moved, lock-outs) and checks the hash chain. Exit 0 when it holds; exit 3 naming the first broken link otherwise.

use std::path::Path;

use crate::failure::EXIT_VERIFY_FAILED;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let v = till_core::journal::verify(&mut conn)?;
    if args.json {
        outln!("{}", serde_json::to_string(&v)?);
    }
    match v.broken {
        None => {
            if !args.json {
                outln!(
                    "journal holds: {} tickets verified, {} events (Z reports: {})",
                    v.tickets,
                    v.events,
                    v.z_reports
                );
            }
            Ok(())
        }
        Some(link) => Err(Failure {
            code: till_core::ErrorCode::JournalBroken,
            message: format!("the journal is broken at {link}"),
            exit: EXIT_VERIFY_FAILED,
        }),
    }
}
