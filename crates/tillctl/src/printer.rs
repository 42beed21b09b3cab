//! `tillctl printer set URL|none`, `printer auto on|off`, `printer paper 80|58`, `printer test`,
//! `printer flush`: the receipt printer of this till. Changing it is a settings change: on a till
//! with employees, who changes it signs in with `--pin`. Commands that queue something to print
//! (a sale, a refund, a void, a Z report, a drawer opened without a sale) send it right after
//! their commit with [`print_waiting`]: a printer that does not answer is a warning, never a
//! failure of what was committed, and what it did not print waits for `printer flush`.

use std::path::Path;

use till_core::printer::{self, Flushed};
use till_core::receipt::Paper;
use till_core::{Clock, Store, SystemClock};

use crate::pin::Pin;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print to tcp://HOST:PORT, a device file (file:///dev/usb/lp0) or nowhere (none)
    Set {
        #[arg(value_name = "URL|none")]
        target: String,
        #[command(flatten)]
        pin: Pin,
    },
    /// Print each sale's receipt (and each Z report) after its payment, or not
    Auto {
        #[arg(value_parser = ["on", "off"])]
        on: String,
        #[command(flatten)]
        pin: Pin,
    },
    /// The paper's width: 80 (48 columns) or 58 (32 columns) mm
    Paper {
        #[arg(value_parser = ["80", "58"])]
        mm: String,
        #[command(flatten)]
        pin: Pin,
    },
    /// Print a test page now; fails when the printer does not take it
    Test,
    /// Print what waits, in order; fails when the printer does not take it all
    Flush {
        /// Print {"printed": N, "queued": N, "error": …} instead of text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    match args.command {
        Command::Set { target, pin } => {
            let by = pin.operator(&mut conn)?;
            let target = printer::set_target(&conn, &target)?;
            tracing::info!(%target, by = ?by.map(|o| o.name), "printer set");
            outln!("printer: {target}");
        }
        Command::Auto { on, pin } => {
            let by = pin.operator(&mut conn)?;
            printer::set_auto(&conn, on == "on")?;
            tracing::info!(auto = %on, by = ?by.map(|o| o.name), "printing after payment set");
            outln!("auto: {on}");
        }
        Command::Paper { mm, pin } => {
            let by = pin.operator(&mut conn)?;
            let paper = if mm == "58" { Paper::Mm58 } else { Paper::Mm80 };
            printer::set_paper(&conn, paper)?;
            tracing::info!(paper = %mm, by = ?by.map(|o| o.name), "paper set");
            outln!("paper: {mm} mm ({} columns)", paper.columns());
        }
        Command::Test => {
            printer::queue_test(&conn, SystemClock.now_ms())?;
            let flushed = printer::flush(&store, &SystemClock)?;
            refuse_unprinted(&flushed)?;
            outln!("printed {} job(s)", flushed.printed);
        }
        Command::Flush { json } => {
            let flushed = printer::flush(&store, &SystemClock)?;
            if json {
                outln!("{}", serde_json::to_string(&flushed)?);
            } else {
                outln!("printed {}, waiting {}", flushed.printed, flushed.queued);
            }
            refuse_unprinted(&flushed)?;
        }
    }
    Ok(())
}

/// Fails, naming why, when the printer left jobs waiting.
fn refuse_unprinted(flushed: &Flushed) -> Result<(), Failure> {
    match &flushed.error {
        None => Ok(()),
        Some(error) => Err(Failure {
            code: till_core::ErrorCode::IoError,
            message: format!("{error}; {} job(s) wait", flushed.queued),
            exit: crate::failure::EXIT_RUNTIME,
        }),
    }
}

/// Prints what a commit queued; whether nothing is left waiting. A printer that does not take
/// it is a warning on stderr: the commit stands and its jobs wait for `printer flush`.
pub fn print_waiting(store: &Store) -> bool {
    let warn = |why: String| eprintln!("warning: not printed ({why}); run `tillctl printer flush`");
    match printer::flush(store, &SystemClock) {
        Ok(Flushed {
            error: Some(error),
            queued,
            ..
        }) => warn(format!("{error}; {queued} job(s) wait")),
        Ok(_) => return true,
        Err(e) => warn(e.to_string()),
    }
    false
}
