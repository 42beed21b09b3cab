//! `tillctl tickets [--limit N] [--json]`: the most recent tickets, newest first, each with who
//! rang it up; `tillctl tickets show NUMBER|ID|BARCODE [--json]` (or `--number N`): one ticket
//! with its lines, each with how much of it its voids and refunds already returned and how much
//! is left to refund (the app's ticket detail).

use std::path::Path;

use till_core::tickets::view;
use till_protocol::{Currency, TicketKind};

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// How many tickets to list
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Show this ticket (its number on this till) line by line instead of the list
    #[arg(long, value_name = "N")]
    number: Option<u64>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Command {
    /// One ticket line by line, with what was refunded and what is left per line
    Show {
        /// Its number on this till, its id, or its receipt's barcode
        ticket: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let conn = store.connect()?;
    if let Some(Command::Show { ticket, json }) = args.command {
        return show(&conn, view::detail_by_code(&conn, &ticket)?, json);
    }
    if let Some(number) = args.number {
        return show(&conn, view::detail_by_number(&conn, number)?, args.json);
    }
    let list = till_core::tickets::list(&conn, args.limit, None)?;
    if args.json {
        outln!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    for t in list {
        let kind = kind_name(t.kind);
        let server = t
            .server_number
            .map(|n| format!(" as #{n}"))
            .unwrap_or_default();
        outln!(
            "#{:<8} {:<6} {:>12} {}  {} lines  {}{}{}{}",
            t.number,
            kind,
            money(t.total, t.currency.exponent),
            t.currency.code,
            t.lines,
            t.sync_state.as_deref().unwrap_or("-"),
            server,
            t.operator
                .as_ref()
                .map(|o| format!("  by {}", o.name))
                .unwrap_or_default(),
            if t.reversed_by.is_some() {
                "  (reversed)"
            } else {
                ""
            },
        );
    }
    Ok(())
}

pub fn kind_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Void => "void",
        TicketKind::Refund => "refund",
    }
}

/// One ticket, line by line, as the app's ticket detail shows it.
fn show(
    conn: &till_core::sync::Connection,
    t: view::TicketDetail,
    json: bool,
) -> Result<(), Failure> {
    if json {
        outln!("{}", serde_json::to_string(&t)?);
        return Ok(());
    }
    let currency = till_core::tickets::summary(conn, t.id)?
        .map(|s| s.currency)
        .unwrap_or_else(|| Currency {
            code: String::new(),
            exponent: 0,
        });
    let exponent = currency.exponent;
    let server = t
        .server_number
        .map(|n| format!(" as #{n}"))
        .unwrap_or_default();
    outln!(
        "#{} {} {} {}  {}{}{}{}",
        t.number,
        kind_name(t.kind),
        money(t.totals.total, exponent),
        currency.code,
        t.sync_state.as_str(),
        server,
        t.operator
            .as_ref()
            .map(|o| format!("  by {}", o.name))
            .unwrap_or_default(),
        t.approval
            .as_ref()
            .map(|a| format!("  approved by {}: {}", a.by.name, a.reason))
            .unwrap_or_default(),
    );
    for l in &t.lines {
        outln!(
            "{:>3}  {:<12} {:<24} {:>5} x {:>10} = {:>10}{}",
            l.line_no,
            l.line.sku,
            l.line.name,
            l.line.quantity,
            money(l.line.unit_price, exponent),
            money(l.line.total, exponent),
            if l.refunded_quantity > 0 {
                format!(
                    "  ({} returned, {} left)",
                    l.refunded_quantity, l.left_to_refund
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Formats minor units with the currency's exponent, without floats.
pub fn money(minor: i64, exponent: u8) -> String {
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
