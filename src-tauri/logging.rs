//! Logs go through `tracing` to daily-rolling files in `<data dir>/logs/` (kept beside the store
//! they describe, so support finds both in one place) and to stderr. `RUST_LOG` refines the
//! filter; the default is `info` for Till's crates and `warn` for everything else.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// The log directory inside a data dir.
pub const LOG_DIR: &str = "logs";
/// How many daily files are kept.
const MAX_LOG_FILES: usize = 14;

/// Starts logging. Keep the returned guard alive for the life of the app: dropping it flushes
/// the file writer. When the log directory cannot be used, logs go to stderr only and the app
/// still starts (a till that cannot write logs must still sell).
pub fn init(data_dir: &Path) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,till=info,till_core=info,till_protocol=info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let dir = data_dir.join(LOG_DIR);
    // The appender prunes old files as it starts, and complains on stderr when the directory
    // is not there yet; a failure here shows up as the appender's own error just below.
    let _ = std::fs::create_dir_all(&dir);
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("till")
        .filename_suffix("log")
        .max_log_files(MAX_LOG_FILES)
        .build(&dir);
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = fmt::layer().with_writer(writer).with_ansi(false);
            tracing_subscriber::registry()
                .with(filter)
                .with(stderr)
                .with(file)
                .init();
            Some(guard)
        }
        Err(e) => {
            tracing_subscriber::registry()
                .with(filter)
                .with(stderr)
                .init();
            tracing::warn!(dir = %dir.display(), error = %e, "cannot write log files; logging to stderr only");
            None
        }
    }
}
