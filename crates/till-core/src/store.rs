//! The terminal's SQLite store in its data dir (`till.db`): WAL, `synchronous=FULL`, foreign keys,
//! a busy timeout. Several connections may share one store (the UI's ring-up connection, the
//! sync engine's own connection, `tillctl` in another process); writers take short
//! `BEGIN IMMEDIATE` transactions so none of them waits long on another.
//!
//! The store holds the enrolment token, so it is private to the user running Till: the data dir
//! `0700`, `till.db` made `0600` before SQLite first opens it (SQLite gives its `-wal` and `-shm`
//! files the database's own mode), all three tightened again on every open
//! ([`crate::data_dir`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::{catalog, config, data_dir, migrations};

pub mod integrity;
pub mod wal;

/// The database file name inside the data dir.
pub const DB_FILE: &str = "till.db";
/// How long a connection waits for another writer before giving up (about: see [`wait_for_writer`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The first tries after a busy lock come this close together: the sync engine's writes last a
/// millisecond or two, so a ring-up that meets one should go on the moment it ends.
const BUSY_FINE_PAUSE: Duration = Duration::from_micros(50);
/// How many fine tries (about 20–40 ms in all) before the pauses grow to [`BUSY_COARSE_PAUSE`].
const BUSY_FINE_TRIES: u32 = 400;
const BUSY_COARSE_PAUSE: Duration = Duration::from_millis(2);

/// A handle on one terminal's store. Cheap to clone; open connections with [`Store::connect`].
#[derive(Debug, Clone)]
pub struct Store {
    data_dir: PathBuf,
    db_path: PathBuf,
    device_id: Uuid,
}

impl Store {
    /// Opens (creating when absent) the store in `data_dir`: checks the file is intact
    /// (`database_corrupt` otherwise, file untouched), refuses a newer schema (`schema_too_new`),
    /// applies pending migrations, makes the device id on first open and loads the demo catalog
    /// when no catalog exists yet.
    pub fn open(data_dir: &Path) -> Result<Store> {
        data_dir::create_private(data_dir).map_err(|e| {
            CoreError::DataDir(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let db_path = data_dir.join(DB_FILE);
        let mut conn = open_connection(&db_path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = db_path.clone().into_os_string();
            file.push(suffix);
            data_dir::make_private(Path::new(&file));
        }
        check_integrity(&conn, &db_path)?;
        let found = migrations::current_version(&conn).map_err(|e| with_path(e, &db_path))?;
        let known = migrations::latest_version();
        if found > known {
            return Err(CoreError::SchemaTooNew { found, known });
        }
        seal_pages(&conn, &db_path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CoreError::Database(format!(
                "cannot switch the database to WAL (journal mode is {mode})"
            )));
        }
        migrations::migrate(&mut conn).map_err(|e| with_path(e, &db_path))?;
        let device_id = first_open_setup(&mut conn)?;
        tracing::info!(db = %db_path.display(), %device_id, "store opened");
        Ok(Store {
            data_dir: data_dir.to_path_buf(),
            db_path,
            device_id,
        })
    }

    /// A new connection on this store, configured like every other. Each thread or task that
    /// writes should have its own.
    pub fn connect(&self) -> Result<Connection> {
        open_connection(&self.db_path)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// This terminal's device id (also the node of its HLC stamps).
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }
}

/// Opens a connection with the store's settings. Does not migrate; use [`Store::open`] first.
/// Every page read from the database file is checked against its seal (`till_pages`): a
/// damaged page is `database_corrupt`, never a wrong figure. A database file that is not there
/// yet is created private first.
pub fn open_connection(db_path: &Path) -> Result<Connection> {
    till_pages::register()?;
    open_with(db_path, Some(till_pages::VFS))
}

/// A connection like [`open_connection`] that reads pages without checking their seals: for
/// salvaging what is readable from a damaged copy, where each ticket is checked against its
/// journal entry instead.
pub(crate) fn open_unchecked(db_path: &Path) -> Result<Connection> {
    open_with(db_path, None)
}

/// A URI naming `db_path` through SQLite's own VFS, for an `ATTACH` that reads a damaged copy
/// the way [`open_unchecked`] does.
pub(crate) fn unchecked_uri(db_path: &Path) -> Result<String> {
    let mut path = String::new();
    for c in db_path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => path.push_str(&format!("%{:02X}", u32::from(c))),
            c => path.push(c),
        }
    }
    Ok(format!("file:{path}?vfs={}", till_pages::platform_vfs()?))
}

fn open_with(db_path: &Path, vfs: Option<&str>) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    data_dir::create_private_file(db_path)?;
    let conn = match vfs {
        Some(vfs) => Connection::open_with_flags_and_vfs(db_path, flags, vfs),
        None => Connection::open_with_flags(db_path, flags),
    }
    .map_err(|e| with_path(e.into(), db_path))?;
    conn.busy_handler(Some(wait_for_writer))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| with_path(e.into(), db_path))?;
    // FULL: a commit is on disk (WAL fsynced) before it returns, so a confirmed sale survives a
    // power cut.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| with_path(e.into(), db_path))?;
    Ok(conn)
}

/// SQLite's busy handler: whether to try again after the `tries`-th busy answer. SQLite's own
/// `busy_timeout` sleeps 1, 2, 5, 10, 15… ms between tries, so a ring-up that meets a write of the
/// sync engine's lasting one millisecond could sleep 8 ms or more; this one tries every 50 µs at
/// first, then every 2 ms, and gives up after about [`BUSY_TIMEOUT`].
fn wait_for_writer(tries: i32) -> bool {
    let tries = u32::try_from(tries).unwrap_or(0);
    let coarse_tries =
        u32::try_from(BUSY_TIMEOUT.as_millis() / BUSY_COARSE_PAUSE.as_millis()).unwrap_or(u32::MAX);
    if tries < BUSY_FINE_TRIES {
        std::thread::sleep(BUSY_FINE_PAUSE);
        true
    } else if tries - BUSY_FINE_TRIES < coarse_tries {
        std::thread::sleep(BUSY_COARSE_PAUSE);
        true
    } else {
        false
    }
}

/// Gives every page of the store room for its seal: at once for a new store; an existing store
/// without it is rewritten once (`VACUUM`, out of WAL mode, which needs no other connection
/// open). When another connection holds the store, the rewrite waits for a later open and the
/// store works meanwhile, unsealed.
fn seal_pages(conn: &Connection, db_path: &Path) -> Result<()> {
    if till_pages::reserved_bytes(conn)? == till_pages::RESERVED_BYTES {
        return Ok(());
    }
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if pages == 0 {
        till_pages::reserve(conn)?;
        return Ok(());
    }
    let rewrite = || -> Result<()> {
        let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(CoreError::Database(format!(
                "the store is in use (journal mode stays {mode})"
            )));
        }
        till_pages::reserve(conn)?;
        conn.execute_batch("VACUUM")?;
        Ok(())
    };
    // Another connection is a reason to wait for a later open, not to wait here.
    conn.busy_handler(None)?;
    let rewritten = rewrite();
    conn.busy_handler(Some(wait_for_writer))?;
    match rewritten {
        Ok(()) => {
            tracing::info!(db = %db_path.display(), "the store's pages are sealed from now on")
        }
        Err(e) => {
            tracing::warn!(db = %db_path.display(), error = %e, "the store's pages cannot be sealed yet; trying again at the next open")
        }
    }
    Ok(())
}

/// `PRAGMA quick_check`: anything but a single `ok` means the file is damaged.
fn check_integrity(conn: &Connection, db_path: &Path) -> Result<()> {
    let rows: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| with_path(e.into(), db_path))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    let detail = rows
        .iter()
        .take(5)
        .map(|row| integrity::in_words(row))
        .collect::<Vec<_>>()
        .join("; ");
    tracing::error!(db = %db_path.display(), %detail, "database failed its integrity check");
    Err(CoreError::DatabaseCorrupt {
        path: db_path.to_path_buf(),
        detail,
    })
}

fn with_path(e: CoreError, db_path: &Path) -> CoreError {
    match e {
        CoreError::DatabaseCorrupt { detail, .. } => CoreError::DatabaseCorrupt {
            path: db_path.to_path_buf(),
            detail,
        },
        other => other,
    }
}

/// Makes the device id and loads the demo catalog, once, in one transaction.
fn first_open_setup(conn: &mut Connection) -> Result<Uuid> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let device_id = match config::get(&tx, &config::DEVICE_ID)? {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7();
            config::set(&tx, &config::DEVICE_ID, &id)?;
            id
        }
    };
    if !catalog::exists(&tx)? {
        catalog::apply_snapshot(&tx, &catalog::demo()?)?;
        tracing::info!("loaded the demo catalog");
    }
    tx.commit()?;
    Ok(device_id)
}
