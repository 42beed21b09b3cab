//! `tillctl conflicts list|show ID|resolve ID --keep mine|theirs | --pick FIELD=mine|theirs… |
//! --settle refund-stands|cash-came-back [--why TEXT] | --acknowledge`. On a till with employees
//! a resolution takes the PIN of who resolves, whose name is recorded instead of `--by`. `show`
//! prints a conflict as the app's review screen compares it, row by row.

use std::collections::BTreeMap;
use std::path::Path;

use till_core::shifts::rfc3339_utc;
use till_core::sync::conflicts::{self, review, Conflict, Resolution, Side};
use till_core::sync::{Connection, SyncError};
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
    /// One conflict with both sides, row by row (--json: as stored, each side whole)
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Settle a conflict; the result is queued for the server
    Resolve {
        id: i64,
        /// Which side wins as a whole: mine or theirs
        #[arg(long, value_name = "SIDE", conflicts_with_all = ["pick", "settle", "acknowledge"])]
        keep: Option<String>,
        /// Acknowledge what can only be acknowledged: a shift whose Z report the back office
        /// does not agree with, a reversal it refused, a ticket it stored with other figures
        /// (the same as --keep theirs)
        #[arg(long, conflicts_with_all = ["pick", "settle"])]
        acknowledge: bool,
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
        Command::Show { id, json } => {
            let c = conflicts::get(&conn, id)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print_compared(&conn, &c)?;
            }
        }
        Command::Resolve {
            id,
            keep,
            acknowledge,
            pick,
            settle,
            why,
            by,
            pin,
        } => {
            let operator = pin.operator(&mut conn)?;
            let keep = keep.or_else(|| acknowledge.then(|| "theirs".to_string()));
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
                        "give --keep mine|theirs, one or more --pick FIELD=SIDE, \
                         --settle refund-stands|cash-came-back, or --acknowledge"
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

/// A conflict as the app's review screen compares it: what it is about and why, then each row
/// with this till's value and the back office's (`*` where they differ).
fn print_compared(conn: &Connection, c: &Conflict) -> Result<(), Failure> {
    let detail = review::detail(conn, c.id)?;
    let summary = &detail.summary;
    outln!("conflict {}: {}", c.id, summary.entity_label);
    outln!(
        "about:     {} {}",
        summary.entity_kind.as_str(),
        c.entity_id
    );
    outln!("reason:    {}", c.reason);
    outln!("policy:    {}", c.policy);
    outln!("detected:  {}", rfc3339_utc(c.detected_at_ms));
    match (c.resolved_at_ms, &c.resolved_by) {
        (Some(at), by) => outln!(
            "resolved:  {} by {}",
            rfc3339_utc(at),
            by.as_deref().unwrap_or("?")
        ),
        (None, _) => outln!("resolved:  no"),
    }
    outln!("");
    outln!("  \tthis till\tback office");
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for row in &detail.fields {
        outln!(
            "{} {}\t{}\t{}",
            if row.differs { "*" } else { " " },
            row.name,
            shown(&row.mine),
            shown(&row.theirs)
        );
    }
    Ok(())
}
