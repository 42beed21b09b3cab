//! `tillctl export-queue --out FILE [--force] [--json]`: writes every mutation the back office
//! does not hold yet to FILE, in order and signed with this terminal's key, for
//! `till-server import-queue FILE` on the back office. Needs no network: it is how a till whose
//! network (or machine) died still delivers its sales. An existing FILE is replaced only with
//! `--force`. On a till with employees it takes the PIN of who exports and a manager's approval.

use std::path::{Path, PathBuf};

use till_core::approvals::Needed;
use till_core::queue_export::{self, ExportBy};
use till_core::SystemClock;

use crate::pin::Approved;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The file to write (e.g. on a USB stick)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    force: bool,
    /// Who exports, on a till without employees
    #[arg(long, default_value = "tillctl")]
    by: String,
    #[command(flatten)]
    signed: Approved,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let signed = args.signed.sign(&mut conn, &Needed::export_queue())?;
    let exported = queue_export::export(
        &mut conn,
        store.data_dir(),
        &args.out,
        args.force,
        ExportBy {
            actor: &args.by,
            operator: signed.operator.as_ref(),
            approval: signed.approval,
        },
        &SystemClock,
    )?;
    if args.json {
        outln!("{}", serde_json::to_string(&exported)?);
    } else {
        outln!(
            "exported {} unsent mutations (sequences {} to {}) of terminal {} to {}",
            exported.mutations,
            exported.first_seq,
            exported.last_seq,
            exported.terminal_id,
            exported.path.display()
        );
        outln!(
            "on the back office: till-server import-queue {}",
            exported.path.display()
        );
    }
    if !exported.key_registered {
        eprintln!(
            "warning: the back office has not acknowledged this terminal's signing key; it can \
             check the file only once it has (it registers when the till next syncs or enrols)"
        );
    }
    Ok(())
}
