//! `tillctl failed list|retry SEQ|discard SEQ --reason TEXT`.

use std::path::Path;

use till_core::sync::failed;
use till_core::SystemClock;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Items the server rejected
    List {
        #[arg(long)]
        json: bool,
    },
    /// Queue a failed item again (and the items waiting on it)
    Retry {
        seq: u64,
        #[arg(long, default_value = "tillctl")]
        by: String,
    },
    /// Drop a failed item for good; the reason is recorded
    Discard {
        seq: u64,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "tillctl")]
        by: String,
    },
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    match args.command {
        Command::List { json } => {
            let items = failed::list(&conn, 10_000)?;
            if json {
                outln!("{}", serde_json::to_string(&items)?);
            } else {
                for i in items {
                    outln!(
                        "{}\t{}\t{}\t{}: {}",
                        i.seq,
                        i.kind,
                        i.entity_id,
                        i.code,
                        i.reason
                    );
                }
            }
        }
        Command::Retry { seq, by } => {
            let new_seq = failed::retry(&mut conn, seq, &by, &SystemClock)?;
            outln!("item {seq} queued again as item {new_seq}");
        }
        Command::Discard { seq, reason, by } => {
            failed::discard(&mut conn, seq, &reason, &by, &SystemClock)?;
            outln!("item {seq} discarded");
        }
    }
    Ok(())
}
