//! The app's state: the terminal's store and its sync engine, opened once at start-up. A store
//! that cannot be opened (damaged, newer schema, unwritable) is kept as the error every command
//! answers with, so the window still opens and says why; the file is never touched.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use rusqlite::Connection;
use tauri::{AppHandle, Runtime};
use till_core::store::Store;
use till_core::sync::state::SyncState;
use till_core::sync::{StatusSink, SyncConfig, SyncEngine, SyncError, SyncHandle, SyncStatus};
use till_core::{settings, status};

use crate::bridge::EventBridge;
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
            Err(e) => Err(e.clone()),
        }
    }

    /// Stops the sync engine cleanly (the batch in flight finishes or is abandoned queued).
    pub fn shutdown(&self) {
        if let Ok(t) = &self.terminal {
            if let Some(engine) = t.engine() {
                tauri::async_runtime::block_on(engine.shutdown());
            }
        }
    }
}

/// One open terminal.
pub struct Terminal {
    store: Store,
    /// The UI's own connection: reads and ring-ups. The sync engine has its own, so a running
    /// sync never holds this one.
    conn: Mutex<Connection>,
    /// The running engine; `None` until the terminal is enrolled.
    engine: Mutex<Option<SyncHandle>>,
    /// Where status snapshots go (the event bridge).
    sink: Arc<dyn StatusSink>,
}

impl Terminal {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The running engine, if the terminal is enrolled.
    pub fn engine(&self) -> Option<SyncHandle> {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `f` on the UI's connection on a blocking thread, so no database work ever runs on
    /// the UI's event loop, and maps its error once.
    pub async fn db<T, E, F>(self: &Arc<Self>, f: F) -> CmdResult<T>
    where
        T: Send + 'static,
        E: Into<AppError>,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let this = Arc::clone(self);
        tauri::async_runtime::spawn_blocking(move || {
            // A panic elsewhere while holding the lock leaves the connection usable: SQLite
            // rolled back whatever transaction was open.
            let mut conn = this.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// The status snapshot: the engine's, or, before enrolment, the store's counts.
    pub async fn status(self: &Arc<Self>) -> CmdResult<SyncStatus> {
        if let Some(engine) = self.engine() {
            return Ok(engine.status());
        }
        let s = self.db(status::read).await?;
        Ok(SyncStatus {
            state: SyncState::NotEnrolled,
            online: false,
            ..s.sync
        })
    }

    /// Tells the sync engine a local write happened: it publishes a snapshot with the new counts
    /// at once and syncs after its debounce. Before enrolment the snapshot comes from here.
    pub fn local_write(self: &Arc<Self>) {
        if let Some(engine) = self.engine() {
            engine.notify_local_write();
            return;
        }
        let this = Arc::clone(self);
        tauri::async_runtime::spawn(async move {
            match this.status().await {
                Ok(s) => this.sink.publish(&s),
                Err(e) => {
                    tracing::warn!(code = %e.code, error = %e.message, "cannot read the status")
                }
            }
        });
    }

    /// Starts the sync engine when the terminal is enrolled, replacing (and shutting down) a
    /// running one, e.g. after enrolling again or changing the sync interval.
    pub async fn restart_sync(self: &Arc<Self>) -> CmdResult<()> {
        let old = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.shutdown().await;
        }
        let tick = self.db(|c| settings::sync_tick(c)).await?;
        let config = SyncConfig {
            tick,
            ..SyncConfig::default()
        };
        match SyncEngine::spawn_enrolled(self.store.clone(), config, Arc::clone(&self.sink)) {
            Ok(handle) => {
                tracing::info!(interval_secs = tick.as_secs(), "sync engine started");
                *self.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
                Ok(())
            }
            Err(SyncError::NotEnrolled) => {
                tracing::info!("not enrolled with a back office; selling offline");
                self.local_write();
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Opens the store in `data_dir` and starts the sync engine beside the UI.
pub fn start<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> AppState {
    let terminal = open(app, data_dir).map(Arc::new).inspect_err(|e| {
        tracing::error!(code = %e.code, error = %e.message, "the terminal's store could not be opened");
    });
    if let Ok(t) = &terminal {
        // Before the window's first request, so its first snapshot is already the engine's.
        if let Err(e) = tauri::async_runtime::block_on(t.restart_sync()) {
            tracing::error!(code = %e.code, error = %e.message, "the sync engine could not start");
        }
    }
    AppState { terminal }
}

fn open<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> CmdResult<Terminal> {
    let store = Store::open(data_dir)?;
    let conn = store.connect()?;
    let sink: Arc<dyn StatusSink> = Arc::new(EventBridge::new(app.clone()));
    Ok(Terminal {
        store,
        conn: Mutex::new(conn),
        engine: Mutex::new(None),
        sink,
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
