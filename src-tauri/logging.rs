//! Logs go through `tracing` to daily-rolling files in `<data dir>/logs/` (kept beside the store
//! they describe, so support finds both in one place) and to stderr. `RUST_LOG` refines the
//! filter; the default is `info` for Till's crates and `warn` for everything else.
//!
//! Logs are private to the user running Till, like the rest of the data dir: the log directory
//! is `0700` and every log file `0600`. The rolling appender makes a new file each day with the
//! process's umask, so the app runs with umask `077` ([`private_umask`]); files from before are
//! tightened at start.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{InitError, RollingFileAppender};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// The log directory inside a data dir.
pub const LOG_DIR: &str = "logs";
/// How many daily files are kept.
const MAX_LOG_FILES: usize = 14;

/// Makes every file and directory this process creates from now on private to its user (umask
/// `077`): the log files the appender rolls over to, the window state, WebKit's caches. Called
/// first thing in `main`, before any thread starts.
pub fn private_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Starts logging. Keep the returned guard alive for the life of the app: dropping it flushes
/// the file writer. When the log directory cannot be used, logs go to stderr only and the app
/// still starts (a till that cannot write logs must still sell).
pub fn init(data_dir: &Path) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,till=info,till_core=info,till_protocol=info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let dir = data_dir.join(LOG_DIR);
    match appender(&dir) {
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

/// The daily-rolling appender in `dir`, made private with the files already in it.
fn appender(dir: &Path) -> Result<RollingFileAppender, InitError> {
    // The appender prunes old files as it starts, and complains on stderr when the directory is
    // not there yet; a failure here shows up as the appender's own error just below.
    if till_core::data_dir::create_private(dir).is_ok() {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            till_core::data_dir::make_private(&entry.path());
        }
    }
    tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("till")
        .filename_suffix("log")
        .max_log_files(MAX_LOG_FILES)
        .build(dir)
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn log_files_old_and_new_are_readable_by_their_owner_only() {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let dir = data_dir.path().join(LOG_DIR);
        std::fs::create_dir(&dir).expect("an earlier log dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let old = dir.join("till.2020-01-01.log");
        std::fs::write(&old, "an earlier day\n").expect("an earlier log");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");

        private_umask();
        let mut appender = appender(&dir).expect("the appender starts");
        appender.write_all(b"a line\n").expect("writes");
        appender.flush().expect("flushes");

        assert_eq!(mode(&dir), 0o700, "the log directory");
        assert_eq!(mode(&old), 0o600, "a file from before is tightened");
        let today = std::fs::read_dir(&dir)
            .expect("lists")
            .flatten()
            .map(|e| e.path())
            .find(|p| *p != old)
            .expect("today's file");
        assert_eq!(mode(&today), 0o600, "{}", today.display());
    }
}
