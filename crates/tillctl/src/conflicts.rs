//! `tillctl conflicts list|show ID|resolve ID --keep mine|theirs | --pick FIELD=mine|theirs…`.

use std::collections::BTreeMap;
use std::path::Path;

use till_core::sync::conflicts::{self, Resolution, Side};
use till_core::sync::SyncError;
use till_core::SystemClock;

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
        #[arg(long, value_name = "SIDE", conflicts_with = "pick")]
        keep: Option<String>,
        /// Per field: FIELD=mine or FIELD=theirs (fields not named keep the server's value)
        #[arg(long, value_name = "FIELD=SIDE")]
        pick: Vec<String>,
        /// Who decides (recorded)
        #[arg(long, default_value = "tillctl")]
        by: String,
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
        Command::Resolve { id, keep, pick, by } => {
            let resolution = match (keep, pick.is_empty()) {
                (Some(k), true) => match side(&k)? {
                    Side::Mine => Resolution::KeepMine,
                    Side::Theirs => Resolution::KeepTheirs,
                },
                (None, false) => {
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
                        "give --keep mine|theirs or one or more --pick FIELD=SIDE".into(),
                    )
                    .into())
                }
            };
            let done = conflicts::resolve(&mut conn, id, &resolution, &by, &SystemClock)?;
            outln!(
                "conflict {} resolved by {}{}",
                done.id,
                by,
                done.resolution_seq
                    .map(|s| format!("; queued as item {s}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}
