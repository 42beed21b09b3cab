//! `tillctl enrol --server URL --token TOKEN`: asks the server who the token belongs to
//! (`/v1/whoami`) and stores the server URL, token and terminal id in the data dir. The address
//! and token are checked as the app's settings screen checks them. On a till whose history
//! diverged, a token of a new terminal recovers it: what the back office lacks is queued again
//! under that terminal.

use std::path::Path;

use till_core::settings;
use till_core::sync::persisted;

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
    let diverged = persisted::diverged(&store.connect()?)?.is_some();
    let enrolled = runtime()?.block_on(settings::enrol(&store, &args.server, &args.token))?;
    let conn = store.connect()?;
    let recovered = diverged && persisted::diverged(&conn)?.is_none();
    if args.json {
        println!("{}", serde_json::to_string(&enrolled)?);
        return Ok(());
    }
    println!(
        "enrolled as {} ({}) with {}",
        enrolled.terminal_name, enrolled.terminal_id, enrolled.server_url
    );
    if recovered {
        let queued = till_core::outbox::counts(&conn)?.pending;
        println!(
            "this till's history had diverged: {queued} mutations the back office has not \
             settled are queued again as this terminal, flagged recovered"
        );
    } else if diverged {
        println!(
            "this till's history still differs from the back office's: enrol it with a token \
             of a new terminal (till-server terminal add) to deliver its sales"
        );
    }
    Ok(())
}
