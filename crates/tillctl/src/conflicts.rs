//! `tillctl conflicts list|show ID|resolve ID --keep mine|theirs | --pick FIELD=mine|theirs… |
//! --settle refund-stands|cash-came-back [--why TEXT]`. On a till with employees a resolution
//! takes the PIN of who resolves, whose name is recorded instead of `--by`.

use std::collections::BTreeMap;
use std::path::Path;

use till_core::sync::conflicts::{self, Resolution, Side};
use till_core::sync::SyncError;
use till_core::SystemClock;

use crate::pin::Pin;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Open conflicts (add --all for resolved ones too)
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One conflict with both sides
    Show { id: i64 },
    /// Settle a conflict; the result is queued for the server
    Resolve {
        id: i64,
        /// Which side wins as a whole: mine or theirs
        #[arg(long, value_name = "SIDE", conflicts_with_all = ["pick", "settle"])]
        keep: Option<String>,
        /// Per field: FIELD=mine or FIELD=theirs (fields not named keep the server's value)
        #[arg(long, value_name = "FIELD=SIDE", conflicts_with = "settle")]
        pick: Vec<String>,
        /// A disputed reversal: refund-stands (the cash was handed out) or cash-came-back (a
        /// counter-sale counts it in again; give --why)
        #[arg(long, value_name = "HOW")]
        settle: Option<String>,
        /// Why the cash came back (recorded with the settlement)
        #[arg(long, requires = "settle")]
        why: Option<String>,
        /// Who decides (recorded), on a till without employees
        #[arg(long, default_value = "tillctl")]
        by: String,
        #[command(flatten)]
        pin: Pin,
    },
}

fn side(s: &str) -> Result<Side, SyncError> {
    match s {
        "mine" => Ok(Side::Mine),
        "theirs" => Ok(Side::Theirs),
        other => Err(SyncError::InvalidInput(format!(
            "{other}: a side is mine or theirs"
        ))),
    }
}

/// How a disputed reversal is settled, as `--settle` names it.
fn settlement(how: &str, why: Option<String>) -> Result<Resolution, SyncError> {
    match how {
        "refund-stands" => Ok(Resolution::RefundStands),
        "cash-came-back" => Ok(Resolution::CashCameBack {
            why: why.unwrap_or_default(),
        }),
        other => Err(SyncError::InvalidInput(format!(
            "{other}: a disputed reversal is settled as refund-stands or cash-came-back"
        ))),
    }
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    match args.command {
        Command::List { all, json } => {
            let list = conflicts::list(&conn, all)?;
            if json {
                outln!("{}", serde_json::to_string(&list)?);
            } else {
                for c in list {
                    outln!(
                        "{}\t{}\t{}\t{}\tfields={}\tpolicy={}{}",
                        c.id,
                        c.entity().as_str(),
                        c.entity_id,
                        c.reason,
                        c.sides.field_names().join(","),
                        c.policy,
                        c.resolved_by
                            .map(|by| format!("\tresolved by {by}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        Command::Show { id } => {
            let c = conflicts::get(&conn, id)?;
            outln!("{}", serde_json::to_string_pretty(&c)?);
        }
        Command::Resolve {
            id,
            keep,
            pick,
            settle,
            why,
            by,
            pin,
        } => {
            let operator = pin.operator(&mut conn)?;
            let resolution = match (keep, pick.is_empty(), settle) {
                (None, true, Some(how)) => settlement(&how, why)?,
                (Some(k), true, None) => match side(&k)? {
                    Side::Mine => Resolution::KeepMine,
                    Side::Theirs => Resolution::KeepTheirs,
                },
                (None, false, None) => {
                    let mut picks = BTreeMap::new();
                    for p in pick {
                        let (field, s) = p.split_once('=').ok_or_else(|| {
                            SyncError::InvalidInput(format!("{p}: expected FIELD=mine|theirs"))
                        })?;
                        picks.insert(field.to_string(), side(s)?);
                    }
                    Resolution::Pick(picks)
                }
                _ => {
                    return Err(SyncError::InvalidInput(
                        "give --keep mine|theirs, one or more --pick FIELD=SIDE, or \
                         --settle refund-stands|cash-came-back"
                            .into(),
                    )
                    .into())
                }
            };
            let done = conflicts::resolve(
                &mut conn,
                id,
                &resolution,
                &by,
                operator.as_ref(),
                &SystemClock,
            )?;
            outln!(
                "conflict {} resolved by {}{}",
                done.id,
                done.resolved_by.as_deref().unwrap_or(&by),
                done.resolution_seq
                    .map(|s| format!("; queued as item {s}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}
