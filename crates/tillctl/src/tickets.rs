//! `tillctl tickets [--limit N] [--json]`: the most recent tickets, newest first.

use std::path::Path;

use till_protocol::TicketKind;

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// How many tickets to list
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Print a JSON array instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let conn = store.connect()?;
    let list = till_core::tickets::list(&conn, args.limit, None)?;
    if args.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    for t in list {
        let kind = match t.kind {
            TicketKind::Sale => "sale",
            TicketKind::Void => "void",
            TicketKind::Refund => "refund",
        };
        let server = t
            .server_number
            .map(|n| format!(" as #{n}"))
            .unwrap_or_default();
        println!(
            "#{:<8} {:<6} {:>12} {}  {} lines  {}{}{}",
            t.number,
            kind,
            money(t.total, t.currency.exponent),
            t.currency.code,
            t.lines,
            t.sync_state.as_deref().unwrap_or("-"),
            server,
            if t.reversed_by.is_some() {
                "  (reversed)"
            } else {
                ""
            },
        );
    }
    Ok(())
}

/// Formats minor units with the currency's exponent, without floats.
fn money(minor: i64, exponent: u8) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let div = 10i64.pow(u32::from(exponent));
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    let d = div.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        m / d,
        m % d,
        width = usize::from(exponent)
    )
}
