//! `tillctl sync [--until-drained] [--json]`: runs the sync engine's cycles in the foreground
//! until the outbox is drained. Exit 0 when done; non-zero with the reason otherwise
//! (5: the server refused the token, 6: not enrolled, 7: this till's history diverged from the
//! back office's, 1: anything else, e.g. the deadline).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use till_core::sync::{self, enrolment, SyncConfig, SyncError};
use till_core::SystemClock;

use crate::{open_checked, Failure};

/// Exit code when the server refuses the terminal's token.
pub const EXIT_AUTH: u8 = 5;
/// Exit code when the terminal is not enrolled.
pub const EXIT_NOT_ENROLLED: u8 = 6;
/// Exit code when this till's history differs from the back office's (a restored or copied
/// data dir): nothing is sent until it is enrolled as a new terminal.
pub const EXIT_DIVERGED: u8 = 7;
/// Exit code when the back office refused this till's push chain (`journal_break`): nothing
/// is sent until a person looks.
pub const EXIT_JOURNAL_BREAK: u8 = 8;

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        let exit = match &e {
            SyncError::NotEnrolled => EXIT_NOT_ENROLLED,
            SyncError::Diverged(_) => EXIT_DIVERGED,
            SyncError::JournalBreak(_) => EXIT_JOURNAL_BREAK,
            SyncError::Transport(t) if t.class() == sync::transport::ErrorClass::Auth => EXIT_AUTH,
            _ => crate::failure::EXIT_RUNTIME,
        };
        Failure {
            code: e.code(),
            message: e.to_string(),
            exit,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Keep going (retrying with back-off) until nothing is left to send
    #[arg(long)]
    until_drained: bool,
    /// Print one JSON object of figures at the end
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    timeout: u64,
    /// Push batch size to start with
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Largest push batch (the batch grows while the server keeps up)
    #[arg(long, default_value_t = till_protocol::MAX_PUSH_BATCH)]
    max_batch_size: usize,
    /// Send each request only once the one before is answered and applied (no send-ahead)
    #[arg(long)]
    one_at_a_time: bool,
    /// How conflicts over customers are settled
    #[arg(long, value_name = "POLICY", default_value = "field_merge",
          value_parser = ["field_merge", "manual", "last_writer_wins", "server_wins", "terminal_wins"])]
    customer_policy: String,
    /// How long after a local sale the engine holds its own writes, in milliseconds (0: never)
    #[arg(long, default_value_t = 100, value_name = "MS")]
    give_way_ms: u64,
    /// Longest wait between two retries, in milliseconds
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    max_backoff_ms: u64,
}

/// A tokio runtime for the subcommands that talk to the server.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let (store, waiting) = open_checked(data_dir)?;
    if let Some(d) = waiting {
        return Err(Failure {
            code: till_core::ErrorCode::DatabaseCorrupt,
            message: format!(
                "sync waits until the sales of the damaged store {} are salvaged: run `tillctl \
                 recover` first",
                d.file.display()
            ),
            exit: crate::failure::EXIT_STORE_REFUSED,
        });
    }
    let conn = store.connect()?;
    let enrolment = enrolment::get(&conn)?.ok_or(SyncError::NotEnrolled)?;
    drop(conn);
    let config = SyncConfig {
        batch_size: args.batch_size,
        max_batch_size: args.max_batch_size,
        send_ahead: !args.one_at_a_time,
        give_way: Duration::from_millis(args.give_way_ms),
        policies: sync::PolicySet {
            customer: sync::PolicySet::named(&args.customer_policy).ok_or_else(|| Failure {
                code: till_core::ErrorCode::UnknownPolicy,
                message: format!("no conflict policy is named {}", args.customer_policy),
                exit: crate::failure::EXIT_RUNTIME,
            })?,
            ..sync::PolicySet::default()
        },
        backoff: sync::BackoffPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_millis(args.max_backoff_ms.max(1)),
            ..sync::BackoffPolicy::default()
        },
        ..SyncConfig::default()
    };
    let transport = enrolment
        .transport(config.timeouts)
        .map_err(SyncError::from)?;
    let deadline = if args.until_drained {
        Some(Duration::from_secs(args.timeout))
    } else {
        Some(Duration::ZERO)
    };
    let json = args.json;
    let result = runtime()?.block_on(sync::drain(
        &store,
        enrolment.terminal_id,
        config,
        Arc::new(transport),
        Arc::new(SystemClock),
        deadline,
        |status| {
            if !json {
                eprintln!(
                    "{}: {} pending, {} failed, {} conflicts",
                    status.state.name(),
                    status.pending,
                    status.failed,
                    status.conflicts
                );
            }
        },
    ));
    let report = result?;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        outln!(
            "drained: {} pushed, {} pulled, {} conflicts, {} failed in {} cycle(s)",
            report.pushed,
            report.pulled,
            report.conflicts,
            report.failed,
            report.cycles
        );
    }
    Ok(())
}
