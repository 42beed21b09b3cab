//! `tillctl failed list|retry SEQ|discard SEQ --reason TEXT`. On a till with employees a retry
//! takes the PIN of who retries, and a discard also a manager's approving PIN; their names are
//! recorded instead of `--by`.

use std::path::Path;

use till_core::approvals::Needed;
use till_core::sync::failed;
use till_core::SystemClock;

use crate::pin::{Approved, Pin};
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
        /// Who retries, on a till without employees
        #[arg(long, default_value = "tillctl")]
        by: String,
        #[command(flatten)]
        pin: Pin,
    },
    /// Drop a failed item for good; the reason is recorded
    Discard {
        seq: u64,
        #[arg(long)]
        reason: String,
        /// Who discards, on a till without employees
        #[arg(long, default_value = "tillctl")]
        by: String,
        #[command(flatten)]
        signed: Approved,
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
        Command::Retry { seq, by, pin } => {
            let operator = pin.operator(&mut conn)?;
            let new_seq = failed::retry(&mut conn, seq, &by, operator.as_ref(), &SystemClock)?;
            outln!("item {seq} queued again as item {new_seq}");
        }
        Command::Discard {
            seq,
            reason,
            by,
            signed,
        } => {
            let signed = signed.sign(&mut conn, &Needed::discard(seq))?;
            failed::discard(
                &mut conn,
                seq,
                &reason,
                &by,
                signed.operator.as_ref(),
                signed.approval,
                &SystemClock,
            )?;
            outln!("item {seq} discarded");
        }
    }
    Ok(())
}
