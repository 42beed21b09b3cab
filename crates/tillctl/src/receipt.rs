//! `tillctl receipt print NUMBER [--copy]` prints a ticket's receipt again (a printer that does
//! not take it is a warning: the job waits for `printer flush`); `tillctl receipt show NUMBER
//! [--copy] [--json]` shows it as plain text for the paper set, or its model as JSON. NUMBER is
//! what `tickets show` reads: the ticket's number, its id or its receipt's barcode.

use std::path::Path;

use till_core::{printer, receipt, tickets, Clock, SystemClock};

use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print a ticket's receipt on the printer
    Print(Which),
    /// Show a ticket's receipt as text
    Show {
        #[command(flatten)]
        which: Which,
        /// Print the receipt's model as JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct Which {
    /// The ticket: its number on this till, its id, or its receipt's barcode
    #[arg(value_name = "NUMBER")]
    ticket: String,
    /// Mark it as a copy
    #[arg(long)]
    copy: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let conn = store.connect()?;
    match args.command {
        Command::Print(which) => {
            let ticket =
                printer::queue_reprint(&conn, &which.ticket, which.copy, SystemClock.now_ms())?;
            if crate::printer::print_waiting(&store) {
                outln!("printed the receipt of #{}", ticket.number);
            } else {
                outln!("the receipt of #{} waits for the printer", ticket.number);
            }
        }
        Command::Show { which, json } => {
            let ticket = tickets::lookup(&conn, &which.ticket)?;
            let receipt = printer::receipt_of(&conn, &ticket, which.copy)?;
            if json {
                outln!("{}", serde_json::to_string(&receipt)?);
            } else {
                let paper = printer::settings(&conn)?.paper;
                let text = receipt::text::render(&receipt, paper);
                outln!("{}", text.trim_end_matches('\n'));
            }
        }
    }
    Ok(())
}
