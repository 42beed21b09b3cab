//! The sync engine's persisted state, in the `sync_state` row beside the enrolment: where sync
//! stands (pull cursor, what the server acknowledged, whether an ack must be asked first), its
//! retry timing (next retry, failures in a row, the server faults among them that open the
//! circuit), the last success and error, the clock offset,
//! the pause flag, the state name other processes read (`tillctl status`), and whether this
//! till's history diverged from the back office's.

use rusqlite::{params, Connection};

use crate::config;
use crate::error_code::ErrorCode;

use super::error::SyncError;
use super::state::SyncState;
use super::status::ErrorInfo;

/// Where sync stands, as persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersistedState {
    pub cursor: u64,
    pub next_retry_at_ms: Option<i64>,
    pub last_success_at_ms: Option<i64>,
    pub last_error: Option<ErrorInfo>,
    pub clock_offset_ms: Option<i64>,
    pub paused: bool,
    pub ack_needed: bool,
    pub server_acked_seq: u64,
    pub failures_in_a_row: u32,
    /// Server errors or timeouts in a row: the circuit is open at the engine's threshold.
    pub faults_in_a_row: u32,
    /// Why this till's history differs from the back office's, once the engine found out: a
    /// protocol stop that survives restarts until the till is enrolled as a new terminal.
    pub diverged: Option<String>,
    /// Why the back office refused this till's push chain, once it did: a protocol stop that
    /// survives restarts.
    pub journal_break: Option<String>,
}

/// Why the history diverged (the message shown), while it does.
const DIVERGED: config::Key<String> = config::Key::new("sync_diverged");

/// The back office's words refusing this till's push chain, while sync stops for it.
const JOURNAL_BREAK: config::Key<String> = config::Key::new("sync_journal_break");

/// Why a check at the end of a drain is owed (the last one disagreed, or could not ask), until
/// a check agrees.
const VERIFY_OWED: config::Key<String> = config::Key::new("sync_verify_owed");

/// Server errors or timeouts in a row, while there are any.
const FAULTS_IN_A_ROW: config::Key<u32> = config::Key::new("sync_faults_in_a_row");

/// Reads the engine's persisted state.
pub fn read(conn: &Connection) -> Result<PersistedState, SyncError> {
    let row = conn
        .prepare_cached(
            "SELECT cursor, next_retry_at_ms, last_success_at_ms, last_error_code,
                    last_error_message, clock_offset_ms, paused, ack_needed, server_acked_seq,
                    failures_in_a_row
             FROM sync_state WHERE id = 1",
        )?
        .query_row([], |r| {
            let code: Option<String> = r.get(3)?;
            let message: Option<String> = r.get(4)?;
            Ok(PersistedState {
                cursor: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                next_retry_at_ms: r.get(1)?,
                last_success_at_ms: r.get(2)?,
                // A code this build does not know (written by a newer Till) shows as `internal`,
                // with its message.
                last_error: code.map(|code| ErrorInfo {
                    code: ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal),
                    message: message.unwrap_or_default(),
                }),
                clock_offset_ms: r.get(5)?,
                paused: r.get::<_, i64>(6)? != 0,
                ack_needed: r.get::<_, i64>(7)? != 0,
                server_acked_seq: u64::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
                failures_in_a_row: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
                faults_in_a_row: 0,
                diverged: None,
                journal_break: None,
            })
        })?;
    Ok(PersistedState {
        faults_in_a_row: config::get(conn, &FAULTS_IN_A_ROW)?.unwrap_or(0),
        diverged: diverged(conn)?,
        journal_break: journal_break(conn)?,
        ..row
    })
}

/// Why this till's history differs from the back office's, if it does.
pub fn diverged(conn: &Connection) -> Result<Option<String>, SyncError> {
    Ok(config::get(conn, &DIVERGED)?)
}

/// Records that this till's history differs from the back office's, and why; the engine then
/// sends nothing more.
pub fn set_diverged(conn: &Connection, why: &str) -> Result<(), SyncError> {
    tracing::error!(%why, "this till's history differs from the back office's; sync stops");
    config::set(conn, &DIVERGED, &why.to_string())?;
    Ok(())
}

/// Why the back office refused this till's push chain, if it did.
pub fn journal_break(conn: &Connection) -> Result<Option<String>, SyncError> {
    Ok(config::get(conn, &JOURNAL_BREAK)?)
}

/// Records that the back office refused this till's push chain, in its words; the engine then
/// sends nothing more.
pub fn set_journal_break(conn: &Connection, why: &str) -> Result<(), SyncError> {
    tracing::error!(%why, "the back office refused this till's push chain; sync stops");
    config::set(conn, &JOURNAL_BREAK, &why.to_string())?;
    Ok(())
}

/// Forgets the back office's refusal of this till's push chain: a person asked to sync again
/// (the back office may have been reanchored by hand). A push refused again records it anew.
pub fn retry_journal_break(conn: &Connection) -> Result<(), SyncError> {
    if journal_break(conn)?.is_some() {
        tracing::warn!("asked to sync again after the back office refused this till's push chain");
        config::remove(conn, &JOURNAL_BREAK)?;
    }
    Ok(())
}

/// Why a check at the end of a drain is owed, if one is: the next drain checks.
pub fn verify_owed(conn: &Connection) -> Result<Option<String>, SyncError> {
    Ok(config::get(conn, &VERIFY_OWED)?)
}

/// Keeps why a check at the end of a drain is owed, or forgets it (`None`: a check agreed).
pub fn set_verify_owed(conn: &Connection, why: Option<&str>) -> Result<(), SyncError> {
    match why {
        Some(why) => config::set(conn, &VERIFY_OWED, &why.to_string())?,
        None => config::remove(conn, &VERIFY_OWED)?,
    }
    Ok(())
}

/// Forgets the divergence: the till was enrolled as a new terminal.
pub(super) fn clear_diverged(conn: &Connection) -> Result<(), SyncError> {
    config::remove(conn, &DIVERGED)?;
    Ok(())
}

pub fn set_cursor(conn: &Connection, cursor: u64) -> Result<(), SyncError> {
    conn.prepare_cached("UPDATE sync_state SET cursor = ?1 WHERE id = 1")?
        .execute([i64::try_from(cursor).unwrap_or(i64::MAX)])?;
    Ok(())
}

pub fn set_ack_needed(conn: &Connection, needed: bool) -> Result<(), SyncError> {
    conn.prepare_cached("UPDATE sync_state SET ack_needed = ?1 WHERE id = 1")?
        .execute([i64::from(needed)])?;
    Ok(())
}

pub fn set_server_acked(conn: &Connection, seq: u64) -> Result<(), SyncError> {
    conn.prepare_cached(
        "UPDATE sync_state SET server_acked_seq = max(server_acked_seq, ?1) WHERE id = 1",
    )?
    .execute([i64::try_from(seq).unwrap_or(i64::MAX)])?;
    Ok(())
}

fn set_paused(conn: &Connection, paused: bool) -> Result<(), SyncError> {
    conn.prepare_cached("UPDATE sync_state SET paused = ?1 WHERE id = 1")?
        .execute([i64::from(paused)])?;
    Ok(())
}

/// Beyond this, the terminal's clock is reported as off (HLC stamps still order events).
pub const CLOCK_WARN_MS: i64 = 120_000;

pub fn set_clock_offset(conn: &Connection, offset_ms: i64) -> Result<(), SyncError> {
    if offset_ms.abs() > CLOCK_WARN_MS {
        tracing::warn!(offset_ms, "this terminal's clock is off from the server's");
    }
    conn.prepare_cached("UPDATE sync_state SET clock_offset_ms = ?1 WHERE id = 1")?
        .execute([offset_ms])?;
    Ok(())
}

/// The offset of the back office's clock from this terminal's (server − local), as last
/// measured on a round trip; `None` before any.
pub fn clock_offset(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT clock_offset_ms FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Records a successful cycle at `at_ms`: clears the error, the retry time and the failures
/// (so the circuit is closed).
fn record_success(conn: &Connection, at_ms: i64) -> Result<(), SyncError> {
    conn.prepare_cached(
        "UPDATE sync_state SET last_success_at_ms = ?1, last_error_code = NULL,
         last_error_message = NULL, next_retry_at_ms = NULL, failures_in_a_row = 0 WHERE id = 1",
    )?
    .execute([at_ms])?;
    config::remove(conn, &FAULTS_IN_A_ROW)?;
    Ok(())
}

/// Records a failed attempt and when the next one may start.
fn record_failure(
    conn: &Connection,
    error: &ErrorInfo,
    next_retry_at_ms: Option<i64>,
    failures_in_a_row: u32,
    faults_in_a_row: u32,
) -> Result<(), SyncError> {
    conn.prepare_cached(
        "UPDATE sync_state SET last_error_code = ?1, last_error_message = ?2,
         next_retry_at_ms = ?3, failures_in_a_row = ?4 WHERE id = 1",
    )?
    .execute(params![
        error.code.as_str(),
        error.message,
        next_retry_at_ms,
        failures_in_a_row
    ])?;
    if faults_in_a_row == 0 {
        config::remove(conn, &FAULTS_IN_A_ROW)?;
    } else {
        config::set(conn, &FAULTS_IN_A_ROW, &faults_in_a_row)?;
    }
    Ok(())
}

/// Mirrors the engine state into the store so `tillctl status` of another process sees it.
fn set_state_name(conn: &Connection, name: &str) -> Result<(), SyncError> {
    config::set(conn, &config::SYNC_STATE, &name.to_string())?;
    Ok(())
}

/// The state the engine last recorded (`idle` before it ever ran), with `next_retry_at_ms` as
/// the end of a back-off; `diverged` whenever the history diverged, whoever found out. A name
/// this version does not know (written by a newer Till) reads as `idle`.
pub fn state(conn: &Connection, next_retry_at_ms: Option<i64>) -> Result<SyncState, SyncError> {
    if diverged(conn)?.is_some() {
        return Ok(SyncState::Diverged);
    }
    if journal_break(conn)?.is_some() {
        return Ok(SyncState::JournalBreak);
    }
    let name = config::get(conn, &config::SYNC_STATE)?;
    let name = name.as_deref().unwrap_or("idle");
    Ok(
        SyncState::from_name(name, next_retry_at_ms).unwrap_or_else(|| {
            tracing::warn!(name, "unknown sync state recorded; shown as idle");
            SyncState::Idle
        }),
    )
}

/// A record the engine keeps of itself, for its next start and for other processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A person paused (`true`) or resumed sync; a restart keeps it.
    Paused(bool),
    /// The engine's state, for `tillctl status` of another process.
    State(SyncState),
    /// A failed attempt: why, when the next one may start (a restart waits for it too), how
    /// many failed in a row (a restart goes on backing off from there) and how many of the last
    /// were server errors or timeouts (a restart keeps an open circuit open).
    Failure {
        error: ErrorInfo,
        next_retry_at_ms: Option<i64>,
        failures_in_a_row: u32,
        faults_in_a_row: u32,
    },
    /// A cycle succeeded at `at_ms` (Unix milliseconds): clears the error and the retry time.
    Success { at_ms: i64 },
    /// A person asked to sync again after a `journal_break` ([`retry_journal_break`]).
    ChainRetried,
}

/// Writes `record`. A failure is logged and the engine goes on: these records inform the next
/// start and other processes, and no decision of the running engine waits on them.
pub fn keep(conn: &Connection, record: &Record) {
    let written = match record {
        Record::Paused(paused) => set_paused(conn, *paused),
        Record::State(state) => set_state_name(conn, state.name()),
        Record::Failure {
            error,
            next_retry_at_ms,
            failures_in_a_row,
            faults_in_a_row,
        } => record_failure(
            conn,
            error,
            *next_retry_at_ms,
            *failures_in_a_row,
            *faults_in_a_row,
        ),
        Record::Success { at_ms } => record_success(conn, *at_ms),
        Record::ChainRetried => retry_journal_break(conn),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, ?record, "could not record the sync engine's state");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn recorded_error(code: &str) -> ErrorInfo {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        conn.execute(
            "UPDATE sync_state SET last_error_code = ?1, last_error_message = 'something new'
             WHERE id = 1",
            [code],
        )
        .expect("records an error");
        read(&conn)
            .expect("reads")
            .last_error
            .expect("an error was recorded")
    }

    #[test]
    fn server_faults_in_a_row_survive_a_restart_until_a_success() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        let failure = |faults| Record::Failure {
            error: ErrorInfo {
                code: ErrorCode::ServerError,
                message: "500".into(),
            },
            next_retry_at_ms: Some(42),
            failures_in_a_row: faults,
            faults_in_a_row: faults,
        };
        keep(&conn, &failure(5));
        let read_back = read(&conn).expect("reads");
        assert_eq!(
            (read_back.faults_in_a_row, read_back.next_retry_at_ms),
            (5, Some(42)),
            "an open circuit stays open after a restart"
        );
        keep(&conn, &Record::Success { at_ms: 43 });
        assert_eq!(
            read(&conn).expect("reads").faults_in_a_row,
            0,
            "a success closes the circuit"
        );
        keep(&conn, &failure(2));
        keep(&conn, &failure(0));
        assert_eq!(
            read(&conn).expect("reads").faults_in_a_row,
            0,
            "another kind of failure breaks the run"
        );
    }

    #[test]
    fn the_engines_recorded_error_keeps_its_code_and_an_unknown_one_is_internal() {
        let known = recorded_error("server_error");
        assert_eq!(known.code, ErrorCode::ServerError);
        assert_eq!(known.message, "something new");
        let unknown = recorded_error("from_a_newer_till");
        assert_eq!(
            unknown.code,
            ErrorCode::Internal,
            "the UI only knows its own codes"
        );
        assert_eq!(
            unknown.message, "something new",
            "the message still says what happened"
        );
    }
}
