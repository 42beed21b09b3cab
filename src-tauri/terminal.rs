//! The app's state: the terminal's store, its sync engine and its printing in the background,
//! opened once at start-up. The
//! register is usable at once; the store's full check runs in the background and sync starts
//! only once it passes. A store found damaged (by that check, at open, or by a command or the
//! sync engine that met a damaged page) is set aside untouched, a fresh one takes its place and
//! its sales are salvaged into it (`till_core::recover`), and the register sells on. A store that cannot be opened for
//! another reason (newer schema, unwritable) is kept as the error every command answers with, so
//! the window still opens and says why.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use rusqlite::Connection;
use tauri::{AppHandle, Runtime};
use till_core::printer::background::PrinterHandle;
use till_core::printer::PrinterStatus;
use till_core::recover::notice::{self, StoreDamage};
use till_core::store::integrity;
use till_core::store::Store;
use till_core::sync::history::SyncCycle;
use till_core::sync::settings::{self as sync_settings, Layers};
use till_core::sync::state::SyncState;
use till_core::sync::{
    ErrorInfo, StatusSink, SyncConfig, SyncEngine, SyncError, SyncHandle, SyncStatus,
};
use till_core::{printer, recover, signin, status, CoreError, ErrorCode, SystemClock};
use till_protocol::Operator;

use crate::bridge::{EventBridge, ShellEvents};
use crate::error::{AppError, CmdResult};
use crate::ipc::SignedIn;

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

    /// Closes the terminal before the process exits: the register's write in progress commits
    /// first and nothing is written after it, then the sync engine stops cleanly (the batch in
    /// flight finishes or is abandoned queued), and so does printing (a job being sent is marked
    /// as it went). Blocks until all are done.
    pub fn shutdown(&self) {
        if let Ok(t) = &self.terminal {
            t.finish_writes();
            if let Some(engine) = t.engine() {
                tauri::async_runtime::block_on(engine.shutdown());
            }
            if let Some(printer) = t.printer.get() {
                tauri::async_runtime::block_on(printer.shutdown());
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
    /// The task that sends the print queue, once started.
    printer: OnceLock<PrinterHandle>,
    /// Where status snapshots go (the event bridge).
    sink: Arc<dyn StatusSink>,
    /// Where the shell's own events go (the same bridge).
    events: Arc<dyn ShellEvents>,
    /// Why the last salvage of a damaged store failed, shown with its notice until one succeeds.
    salvage_failed: Mutex<Option<String>>,
    /// Why sync did not start: a sync setting in force was refused (an invalid `TILL_SYNC_…`
    /// or stored value). Shown as the status's error until a start succeeds.
    sync_refused: Mutex<Option<ErrorInfo>>,
    /// The employee signed in at the till, until the till locks. Kept in memory only: a
    /// restarted app asks for a PIN again.
    signed_in: Mutex<Option<SignedIn>>,
    /// Set, under `conn`'s lock, once the app is closing: no work starts on `conn` after it.
    closed: AtomicBool,
}

impl Terminal {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The employee signed in, if any.
    pub fn signed_in(&self) -> Option<SignedIn> {
        self.signed_in
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Signs `employee` in (another one signing in takes the till over), or, with `None`,
    /// locks the till.
    pub fn set_signed_in(&self, employee: Option<SignedIn>) {
        *self.signed_in.lock().unwrap_or_else(|p| p.into_inner()) = employee;
    }

    /// Who what the register records now is recorded as done by: the employee signed in; `None`
    /// on a till without employees; `pin_required` on a locked till that has employees.
    pub async fn operator(self: &Arc<Self>) -> CmdResult<Option<Operator>> {
        if let Some(employee) = self.signed_in() {
            return Ok(Some(employee.operator()));
        }
        if self.db(|c| signin::has_employees(c)).await? {
            return Err(CoreError::PinRequired.into());
        }
        Ok(None)
    }

    /// The running engine, if the terminal is enrolled.
    pub fn engine(&self) -> Option<SyncHandle> {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `f` on the UI's connection on a blocking thread, so no database work ever runs on
    /// the UI's event loop, and maps its error once. A command that meets a damaged page has the
    /// whole store checked again.
    pub async fn db<T, E, F>(self: &Arc<Self>, f: F) -> CmdResult<T>
    where
        T: Send + 'static,
        E: Into<AppError>,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let result = self.on_conn(f).await;
        if matches!(&result, Err(e) if e.code == ErrorCode::DatabaseCorrupt) {
            let this = Arc::clone(self);
            tauri::async_runtime::spawn(async move { this.check_then_sync().await });
        }
        result
    }

    /// [`Terminal::db`] without the check.
    async fn on_conn<T, E, F>(self: &Arc<Self>, f: F) -> CmdResult<T>
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
            if this.closed.load(Ordering::Acquire) {
                return Err(AppError::new(
                    ErrorCode::DatabaseError,
                    "the till is closing; nothing more is written",
                ));
            }
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Waits for the work in progress on the register's connection to end (every call holds
    /// the connection's lock until its transaction has committed or rolled back), then refuses
    /// any that would start after it. Leaves the connection open: closing it is the process's
    /// exit, with nothing half-written.
    pub fn finish_writes(&self) {
        let _conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.closed.store(true, Ordering::Release);
        tracing::info!("the register's writes are finished");
    }

    /// The store's full check, then sync: a damaged store is first replaced and its sales
    /// salvaged. Sync does not start while the check fails or a salvage waits.
    pub async fn check_then_sync(self: &Arc<Self>) {
        let path = self.store.db_path().to_path_buf();
        let checked = tauri::async_runtime::spawn_blocking(move || integrity::check(&path)).await;
        match checked {
            Ok(Ok(())) => {}
            Ok(Err(CoreError::DatabaseCorrupt { detail, .. })) => {
                if let Err(e) = self.replace_damaged(detail).await {
                    tracing::error!(code = %e.code, error = %e.message, "the damaged store could not be replaced; sync stays off");
                    return;
                }
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the store's full check could not run; sync stays off");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "the store's full check stopped; sync stays off");
                return;
            }
        }
        let store = self.store.clone();
        let salvaged = self
            .on_conn(move |conn| match recover::awaiting_recovery(conn)? {
                Some(_) => recover::recover(&store, None, &SystemClock).map(Some),
                None => Ok(None),
            })
            .await;
        match salvaged {
            Ok(Some(report)) => {
                tracing::warn!(?report, "the damaged store's sales were salvaged");
                self.set_salvage_failed(None);
                self.local_write();
                self.announce_damage().await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(code = %e.code, error = %e.message, "the damaged store's sales could not be salvaged; sync stays off");
                self.set_salvage_failed(Some(e.message));
                self.announce_damage().await;
                return;
            }
        }
        if let Err(e) = self.restart_sync().await {
            tracing::error!(code = %e.code, error = %e.message, "the sync engine could not start");
        }
    }

    /// Sets the damaged store aside and sells on in a fresh one. The register's connection is
    /// held meanwhile (closed first, so nothing is written onto the damaged file), and the
    /// engine is stopped.
    async fn replace_damaged(self: &Arc<Self>, detail: String) -> CmdResult<()> {
        let old = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.shutdown().await;
        }
        let store = self.store.clone();
        self.on_conn(move |conn| {
            *conn = Connection::open_in_memory()?;
            recover::set_aside(store.data_dir(), &detail, &SystemClock)?;
            *conn = store.connect()?;
            Ok::<_, CoreError>(())
        })
        .await?;
        self.local_write();
        self.announce_damage().await;
        Ok(())
    }

    /// The notice of the damaged store this one replaced, if it replaced one.
    pub async fn store_damage(self: &Arc<Self>) -> CmdResult<Option<StoreDamage>> {
        let failed = self
            .salvage_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let damage = self.on_conn(|c| notice::store_damage(c)).await?;
        Ok(damage.map(|d| StoreDamage {
            salvage_failed: failed.filter(|_| d.salvaged.is_none()),
            ..d
        }))
    }

    fn set_salvage_failed(&self, why: Option<String>) {
        *self
            .salvage_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Tells the UI what became of the damaged store, as the store now records it.
    async fn announce_damage(self: &Arc<Self>) {
        match self.store_damage().await {
            Ok(Some(damage)) => self.events.store_damaged(&damage),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(code = %e.code, error = %e.message, "cannot read the store's damage notice")
            }
        }
    }

    /// The status snapshot: the engine's, or, before enrolment, the store's counts.
    pub async fn status(self: &Arc<Self>) -> CmdResult<SyncStatus> {
        if let Some(engine) = self.engine() {
            return Ok(engine.status());
        }
        let s = self.db(status::read).await?;
        let refused = self
            .sync_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(SyncStatus {
            state: match refused {
                Some(_) => SyncState::Stopped,
                None => SyncState::NotEnrolled,
            },
            online: false,
            last_error: refused.or(s.sync.last_error),
            ..s.sync
        })
    }

    /// The printer's status: the background task's last one, or the store's before it started.
    pub async fn printer_status(self: &Arc<Self>) -> CmdResult<PrinterStatus> {
        if let Some(printer) = self.printer.get() {
            return Ok(printer.status());
        }
        self.db(|c| printer::status(c)).await
    }

    /// Tells the printing task that jobs may wait: it sends them now.
    pub fn print_waiting(&self) {
        if let Some(printer) = self.printer.get() {
            printer.print_waiting();
        }
    }

    /// Starts sending the print queue in the background (what waits is sent at once), and
    /// passes each status it publishes on to the UI.
    async fn start_printing(self: &Arc<Self>) {
        let handle = match PrinterHandle::spawn(self.store.clone(), Arc::new(SystemClock)) {
            Ok(handle) => handle,
            Err(e) => {
                tracing::error!(error = %e, "printing could not start; receipts wait in the queue");
                return;
            }
        };
        let mut published = handle.subscribe();
        if self.printer.set(handle).is_err() {
            return;
        }
        self.events
            .printer_status(&published.borrow_and_update().clone());
        while published.changed().await.is_ok() {
            let status = published.borrow_and_update().clone();
            self.events.printer_status(&status);
        }
    }

    /// Tells the sync engine a local write happened: it publishes a snapshot with the new counts
    /// at once and syncs after its debounce. Before enrolment the snapshot comes from here. What
    /// the write queued to print (a receipt, a drawer kick, a Z report) is sent now.
    pub fn local_write(self: &Arc<Self>) {
        self.print_waiting();
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

    /// Hints to the sync engine that now is a good time to try (the window gained focus, the
    /// network came back); nothing before enrolment.
    pub fn nudge_sync(&self) {
        if let Some(engine) = self.engine() {
            engine.nudge();
        }
    }

    /// Starts the sync engine when the terminal is enrolled, replacing (and shutting down) a
    /// running one, e.g. after enrolling again or changing the sync interval.
    pub async fn restart_sync(self: &Arc<Self>) -> CmdResult<()> {
        let old = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            old.shutdown().await;
        }
        let config = self
            .on_conn(|c| {
                let layers = Layers::env(&sync_settings::process_env);
                sync_settings::config(c, &layers, SyncConfig::default())
            })
            .await;
        let refused = config.as_ref().err().map(|e| ErrorInfo {
            code: e.code,
            message: e.message.clone(),
        });
        *self.sync_refused.lock().unwrap_or_else(|p| p.into_inner()) = refused;
        let config = config.inspect_err(|e| {
            tracing::error!(code = %e.code, error = %e.message, "a sync setting is refused; sync stays off");
            self.local_write();
        })?;
        let tick = config.tick;
        let sink = Arc::new(EngineSink {
            events: Arc::clone(&self.sink),
            terminal: Arc::downgrade(self),
            checking: AtomicBool::new(false),
        });
        match SyncEngine::spawn_enrolled(self.store.clone(), config, sink) {
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

/// The running engine's sink: the UI's events, and a watch for a damaged page the engine met,
/// which has the whole store checked (a damaged one replaced and salvaged) as a command's does.
struct EngineSink {
    events: Arc<dyn StatusSink>,
    terminal: Weak<Terminal>,
    /// Set once the check is asked for: it restarts the engine, with a sink of its own.
    checking: AtomicBool,
}

impl StatusSink for EngineSink {
    fn publish(&self, status: &SyncStatus) {
        self.events.publish(status);
        let corrupt = status
            .last_error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::DatabaseCorrupt);
        if corrupt && !self.checking.swap(true, Ordering::AcqRel) {
            if let Some(terminal) = self.terminal.upgrade() {
                tracing::error!("the sync engine met a damaged page: checking the whole store");
                tauri::async_runtime::spawn(async move { terminal.check_then_sync().await });
            }
        }
    }

    fn tickets_synced(&self, tickets: &[(uuid::Uuid, Option<u64>)]) {
        self.events.tickets_synced(tickets);
    }

    fn cycle_finished(&self, cycle: &SyncCycle) {
        self.events.cycle_finished(cycle);
    }
}

/// Opens the store in `data_dir`, starts printing, and starts the sync engine beside the UI once
/// the store's full check has passed.
pub fn start<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> AppState {
    let terminal = open(app, data_dir).map(Arc::new).inspect_err(|e| {
        tracing::error!(code = %e.code, error = %e.message, "the terminal's store could not be opened");
    });
    if let Ok(t) = &terminal {
        let printing = Arc::clone(t);
        tauri::async_runtime::spawn(async move { printing.start_printing().await });
        let t = Arc::clone(t);
        tauri::async_runtime::spawn(async move { t.check_then_sync().await });
    }
    AppState { terminal }
}

fn open<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> CmdResult<Terminal> {
    let store = match Store::open(data_dir) {
        // Damaged beyond opening: set aside now, and salvaged by the check that follows.
        Err(CoreError::DatabaseCorrupt { detail, .. }) => {
            recover::set_aside(data_dir, &detail, &SystemClock)?
        }
        other => other?,
    };
    let conn = store.connect()?;
    let bridge = Arc::new(EventBridge::new(app.clone()));
    Ok(Terminal {
        store,
        conn: Mutex::new(conn),
        engine: Mutex::new(None),
        printer: OnceLock::new(),
        sink: bridge.clone(),
        events: bridge,
        salvage_failed: Mutex::new(None),
        sync_refused: Mutex::new(None),
        signed_in: Mutex::new(None),
        closed: AtomicBool::new(false),
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
