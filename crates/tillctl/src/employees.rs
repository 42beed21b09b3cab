//! `tillctl employees [--json]`: the employees the back office sent this terminal (by pull),
//! disabled ones too. Their PINs' hashes are never printed.

use std::path::Path;

use till_core::employees;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let conn = store.connect()?;
    let all = employees::list(&conn)?;
    if args.json {
        outln!("{}", serde_json::to_string(&all)?);
    } else {
        for e in all {
            let state = if e.disabled { "disabled" } else { "active" };
            outln!("{}\t{}\t{}\t{}", e.id, e.role.as_str(), state, e.name);
        }
    }
    Ok(())
}
