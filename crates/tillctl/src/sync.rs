//! `tillctl sync [--until-drained] [--json]`: runs the sync engine's cycles in the foreground
//! until the outbox is drained. Exit 0 when done; non-zero with the reason otherwise
//! (5: the server refused the token, 6: not enrolled, 7: this till's history diverged from the
//! back office's, 1: anything else, e.g. the deadline or a refused sync setting). Its settings
//! are the app's ([`settings`]: environment, stored, default), each flag winning for the run.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use till_core::sync::settings::{self, Layers};
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
#[command(
    after_help = "Every other sync setting comes from TILL_SYNC_<NAME>, else the till's \
stored settings, else its default (`tillctl settings sync` lists them); each flag above wins over \
all of them for this run. Unless set, this run retries sooner than the app: 200 ms after the \
first failure, at most 5000 ms apart."
)]
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
    /// Push batch size to start with [default: the batch_size setting, 100]
    #[arg(long, value_name = "N")]
    batch_size: Option<u64>,
    /// Largest push batch (the batch grows while the server keeps up) [default: the
    /// max_batch_size setting, 1000]
    #[arg(long, value_name = "N")]
    max_batch_size: Option<u64>,
    /// Send each request only once the one before is answered and applied (no send-ahead)
    /// [default: the send_ahead setting]
    #[arg(long)]
    one_at_a_time: bool,
    /// How conflicts over customers are settled [default: the customer_policy setting,
    /// field_merge]
    #[arg(long, value_name = "POLICY",
          value_parser = clap::builder::PossibleValuesParser::new(sync::PolicySet::NAMES))]
    customer_policy: Option<String>,
    /// How long after a local sale the engine holds its own writes, in milliseconds (0: never)
    /// [default: the give_way_ms setting, 100]
    #[arg(long, value_name = "MS")]
    give_way_ms: Option<u64>,
    /// Longest wait between two retries, in milliseconds [default: the backoff_cap_ms setting,
    /// else 5000 for this run]
    #[arg(long, value_name = "MS")]
    max_backoff_ms: Option<u64>,
}

impl Args {
    /// The flags given, as the sync settings they override for this run.
    fn settings(&self) -> Vec<(&'static str, String)> {
        let numbers = [
            ("batch_size", self.batch_size),
            ("max_batch_size", self.max_batch_size),
            ("give_way_ms", self.give_way_ms),
            ("backoff_cap_ms", self.max_backoff_ms),
        ];
        let mut flags: Vec<_> = numbers
            .into_iter()
            .filter_map(|(name, v)| Some((name, v?.to_string())))
            .collect();
        if self.one_at_a_time {
            flags.push(("send_ahead", "false".into()));
        }
        flags.extend(self.customer_policy.clone().map(|p| ("customer_policy", p)));
        flags
    }
}

/// The engine's defaults for a foreground run: it retries sooner than the app, so a script
/// waiting on it is not kept waiting minutes by one failure.
fn foreground_defaults() -> SyncConfig {
    SyncConfig {
        backoff: sync::BackoffPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_millis(5_000),
            ..sync::BackoffPolicy::default()
        },
        ..SyncConfig::default()
    }
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
    let flags = args.settings();
    let layers = Layers {
        env: &settings::process_env,
        flags: &flags,
    };
    let conn = store.connect()?;
    let config = settings::config(&conn, &layers, foreground_defaults())?;
    let enrolment = enrolment::get(&conn)?.ok_or(SyncError::NotEnrolled)?;
    drop(conn);
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
