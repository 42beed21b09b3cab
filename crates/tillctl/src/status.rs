//! `tillctl status [--json]`: pending, failed and conflicting mutations, tickets, sync state.

use std::path::Path;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let st = till_core::status::read(&mut conn)?;
    if args.json {
        let mut value = serde_json::to_value(&st)?;
        crate::sync::add_engine_fields(&conn, &mut value)?;
        println!("{}", serde_json::to_string(&value)?);
    } else {
        println!("data dir:   {}", store.data_dir().display());
        println!("device id:  {}", store.device_id());
        println!("state:      {}", st.state);
        println!("tickets:    {}", st.tickets);
        println!("pending:    {}", st.pending);
        println!("failed:     {}", st.failed);
        println!("conflicts:  {}", st.conflicts);
        match st.last_sync_at {
            Some(ms) => println!("last sync:  {ms} (Unix ms)"),
            None => println!("last sync:  never"),
        }
    }
    Ok(())
}
