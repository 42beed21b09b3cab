//! `tillctl settings sync [--json]`: every sync setting in force, its value and where it comes
//! from (`env`, `stored`, `default`); `tillctl settings sync set NAME VALUE [--pin PIN]` saves
//! one in the till's store, checked as the app checks it. The environment (`TILL_SYNC_<NAME>`)
//! wins over what is stored, so a setting it fixes is refused here (`invalid_input`, exit 1);
//! so is a value the setting does not allow. A value in force that is refused is listed with
//! its reason, and the command then fails with it (exit 1). The app reads stored settings when
//! its sync engine starts.

use std::path::Path;

use till_core::sync::settings::{self, SyncSettingChange, SyncSettingView};
use till_core::CoreError;

use crate::pin::Pin;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Show the sync settings in force, or save one
    Sync(SyncArgs),
}

#[derive(clap::Args)]
struct SyncArgs {
    #[command(subcommand)]
    change: Option<Change>,
    /// Print a JSON array of {name, value, source, env, unit, default, allowed, min, max,
    /// choices, error}
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Change {
    /// Save NAME = VALUE in the till's store (checked; refused when TILL_SYNC_<NAME> fixes it)
    Set {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        value: String,
        #[command(flatten)]
        pin: Pin,
    },
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let Command::Sync(args) = args.command;
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    if let Some(Change::Set { name, value, pin }) = args.change {
        let by = pin.operator(&mut conn)?;
        settings::save(
            &mut conn,
            &settings::process_env,
            &[SyncSettingChange {
                name: name.clone(),
                value,
            }],
        )?;
        tracing::info!(setting = %name, by = ?by.map(|o| o.name), "sync setting saved");
    }
    let rows = settings::in_force(&conn)?;
    if args.json {
        outln!("{}", serde_json::to_string(&rows)?);
    } else {
        for row in &rows {
            outln!("{}", line(row));
        }
    }
    match rows.iter().find_map(|r| r.error.clone()) {
        Some(refused) => Err(Failure::from(CoreError::InvalidValue(refused))),
        None => Ok(()),
    }
}

/// `name = value unit (source)`, and the reason when the value is refused.
fn line(row: &SyncSettingView) -> String {
    let unit = row
        .unit
        .map(|u| format!(" {}", u.symbol()))
        .unwrap_or_default();
    let refused = row
        .error
        .as_ref()
        .map(|e| format!(": refused, {e}"))
        .unwrap_or_default();
    format!(
        "{} = {}{unit} ({}){refused}",
        row.name,
        row.value,
        row.source.as_str()
    )
}
