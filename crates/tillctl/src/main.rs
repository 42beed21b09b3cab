//! `tillctl`: the headless terminal CLI over till-core, for ops staff, scripts and tests.
//! Each subcommand is its own module with an `Args` struct and a `run` function; adding one is a
//! variant in [`Command`] and an arm in `main`.

#[macro_use]
extern crate till_cli;

mod conflicts;
mod customers;
mod discount_limit;
mod employees;
mod enrol;
mod export_queue;
mod failed;
mod failure;
mod history;
mod pin;
mod printer;
mod receipt;
mod recover;
mod refund;
mod reversal;
mod ring_up;
mod settings;
mod shift;
mod status;
mod sync;
mod tickets;
mod verify_journal;
mod void;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use till_core::{data_dir, recover as salvage, Store, SystemClock};

pub use failure::Failure;

#[derive(Parser)]
#[command(
    name = "tillctl",
    version = till_cli::version!(),
    about = "Ask a Till terminal what it holds, ring up demo tickets, check its journal"
)]
struct Cli {
    /// The terminal's data directory [default: $TILL_DATA_DIR, else the platform app data dir]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ring up valid demo tickets, printing each ticket number once it is committed
    RingUp(ring_up::Args),
    /// Show pending, failed and conflicting mutations, ticket count and sync state
    Status(status::Args),
    /// Check the journal's hash chain; exit 3 naming the first broken link
    VerifyJournal(verify_journal::Args),
    /// List the most recent tickets
    Tickets(tickets::Args),
    /// Enrol this terminal with a back office (checks the token with the server)
    Enrol(enrol::Args),
    /// Sync with the back office now; exit 0 once the queue is drained
    Sync(sync::Args),
    /// Write every unsent mutation to a signed file for `till-server import-queue` (no network
    /// needed; a manager approves on a till with employees)
    ExportQueue(export_queue::Args),
    /// List, show and resolve sync conflicts
    Conflicts(conflicts::Args),
    /// Add, edit, list and show customers (each change queued for the back office)
    Customers(customers::Args),
    /// List the employees the back office sent (no PIN hashes)
    Employees(employees::Args),
    /// List, retry and discard items the server rejected
    Failed(failed::Args),
    /// The most recent sync cycles
    History(history::Args),
    /// Salvage the sales and queued mutations of a damaged store that was set aside
    Recover(recover::Args),
    /// Void a whole sale (a manager approves on a till with employees)
    Void(void::Args),
    /// Refund lines of a sale, each up to what is left (a manager approves on a till with
    /// employees)
    Refund(refund::Args),
    /// Show or set the largest discount (percent) rung up without a manager's approval
    DiscountLimit(discount_limit::Args),
    /// Open and close shifts, move cash, print the X and Z reports
    Shift(shift::Args),
    /// Set the receipt printer, print after each payment or not, print a test page, print what
    /// waits
    Printer(printer::Args),
    /// Show the sync settings in force and where each comes from, or save one
    Settings(settings::Args),
    /// Print a ticket's receipt again (--copy marks it COPY), or show it as text
    Receipt(receipt::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TILL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let dir = cli.data_dir.as_deref();
    let result = match cli.command {
        Command::RingUp(args) => ring_up::run(dir, args),
        Command::Status(args) => status::run(dir, args),
        Command::VerifyJournal(args) => verify_journal::run(dir, args),
        Command::Tickets(args) => tickets::run(dir, args),
        Command::Enrol(args) => enrol::run(dir, args),
        Command::Sync(args) => sync::run(dir, args),
        Command::ExportQueue(args) => export_queue::run(dir, args),
        Command::Conflicts(args) => conflicts::run(dir, args),
        Command::Customers(args) => customers::run(dir, args),
        Command::Employees(args) => employees::run(dir, args),
        Command::Failed(args) => failed::run(dir, args),
        Command::History(args) => history::run(dir, args),
        Command::Recover(args) => recover::run(dir, args),
        Command::Void(args) => void::run(dir, args),
        Command::Refund(args) => refund::run(dir, args),
        Command::DiscountLimit(args) => discount_limit::run(dir, args),
        Command::Shift(args) => shift::run(dir, args),
        Command::Printer(args) => printer::run(dir, args),
        Command::Receipt(args) => receipt::run(dir, args),
        Command::Settings(args) => settings::run(dir, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {} ({})", failure.message, failure.code);
            ExitCode::from(failure.exit)
        }
    }
}

/// Opens the store of the data dir resolved from `--data-dir`, `TILL_DATA_DIR` or the platform.
pub fn open_store(data_dir: Option<&Path>) -> Result<Store, Failure> {
    let dir = data_dir::resolve(data_dir)?;
    Ok(Store::open(&dir)?)
}

/// Opens the store for a command that writes, after its full check: a damaged store is set
/// aside (untouched) and a fresh one takes its place, said on stderr. Returns the damage while
/// its sales wait for `tillctl recover`.
pub fn open_checked(data_dir: Option<&Path>) -> Result<(Store, Option<salvage::Damaged>), Failure> {
    let dir = data_dir::resolve(data_dir)?;
    let opened = salvage::open_checked(&dir, &SystemClock)?;
    let waiting = opened.damaged.filter(|d| d.recovered.is_none());
    if let Some(d) = &waiting {
        eprintln!(
            "warning: the store was damaged ({}); it was set aside untouched as {} and this till \
             sells into a fresh store; run `tillctl recover` to salvage its sales",
            d.detail,
            d.file.display()
        );
    }
    Ok((opened.store, waiting))
}
