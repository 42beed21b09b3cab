//! `tillctl enrol --server URL --token TOKEN`: asks the server who the token belongs to
//! (`/v1/whoami`) and stores the server URL, token and terminal id in the data dir. The address
//! and token are checked as the app's settings screen checks them.

use std::path::Path;

use till_core::settings;

use crate::sync::runtime;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The back office, e.g. http://127.0.0.1:7878
    #[arg(long, value_name = "URL")]
    server: String,
    /// This terminal's bearer token, from `till-server terminal add`
    #[arg(long, value_name = "TOKEN", env = "TILL_TOKEN", hide_env_values = true)]
    token: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let enrolled = runtime()?.block_on(settings::enrol(&store, &args.server, &args.token))?;
    if args.json {
        outln!("{}", serde_json::to_string(&enrolled)?);
    } else {
        outln!(
            "enrolled as {} ({}) with {}",
            enrolled.terminal_name,
            enrolled.terminal_id,
            enrolled.server_url
        );
    }
    Ok(())
}
