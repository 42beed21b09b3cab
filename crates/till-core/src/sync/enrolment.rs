//! The `sync_state` row: which server this terminal is enrolled with, and where sync stands
//! (pull cursor, next retry, last success and error, clock offset, pause flag).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use crate::store::Store;
use crate::{config, Clock};

use super::error::SyncError;
use super::status::ErrorInfo;
use super::transport::{HttpTransport, Timeouts, Transport};

/// The server a terminal syncs with, from `tillctl enrol` or the app's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    pub server_url: String,
    #[serde(skip)]
    pub token: String,
    pub terminal_id: Uuid,
    pub terminal_name: String,
}

/// Where sync stands, as persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRow {
    pub cursor: u64,
    pub next_retry_at_ms: Option<i64>,
    pub last_success_at_ms: Option<i64>,
    pub last_error: Option<ErrorInfo>,
    pub clock_offset_ms: Option<i64>,
    pub paused: bool,
    pub ack_needed: bool,
    pub server_acked_seq: u64,
    pub failures_in_a_row: u32,
}

/// The stored enrolment, if any.
pub fn get(conn: &Connection) -> Result<Option<Enrolment>, SyncError> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT server_url, token, terminal_id, terminal_name FROM sync_state WHERE id = 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((Some(server_url), Some(token), Some(terminal_id), name)) = row else {
        return Ok(None);
    };
    let terminal_id = Uuid::parse_str(&terminal_id)
        .map_err(|e| SyncError::Protocol(format!("stored terminal id: {e}")))?;
    Ok(Some(Enrolment {
        server_url,
        token,
        terminal_id,
        terminal_name: name.unwrap_or_default(),
    }))
}

/// Asks the server who `token` belongs to and stores the enrolment. A different terminal than
/// before starts its pull from the beginning.
///
/// The server tracks one gapless mutation sequence per terminal, so one data dir stays one
/// terminal: enrolling is refused (`enrolment_refused`, nothing changed) when this till already
/// numbered mutations under another terminal, or when the token's terminal already holds
/// mutations from another till. Re-enrolling as the same terminal (a new token or URL) and a
/// first enrolment after selling offline are fine.
pub async fn enrol(store: &Store, server_url: &str, token: &str) -> Result<Enrolment, SyncError> {
    if token.trim().is_empty() {
        return Err(SyncError::InvalidInput("the token is empty".into()));
    }
    let transport = HttpTransport::new(server_url, token, Timeouts::default())?;
    let who = transport.whoami().await?;
    let enrolment = Enrolment {
        server_url: server_url.trim_end_matches('/').to_string(),
        token: token.to_string(),
        terminal_id: who.terminal_id,
        terminal_name: who.name,
    };
    let mut conn = store.connect()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let before = get(&tx)?;
    let same_terminal = before
        .as_ref()
        .is_some_and(|b| b.terminal_id == enrolment.terminal_id);
    if !same_terminal {
        let numbered = crate::counters::last(&tx, crate::counters::MUTATION)?;
        if let Some(b) = before.as_ref().filter(|_| numbered > 0) {
            return Err(SyncError::EnrolmentRefused(format!(
                "this till is terminal {} and has numbered {numbered} mutations for it; it cannot \
                 become terminal {} (enrol it with a token of terminal {} or use a new data dir)",
                b.terminal_id, enrolment.terminal_id, b.terminal_id
            )));
        }
        if who.last_applied_seq > 0 {
            return Err(SyncError::EnrolmentRefused(format!(
                "terminal {} ({}) already holds {} mutations from another till; add a new \
                 terminal with `till-server terminal add` for this one",
                enrolment.terminal_id, enrolment.terminal_name, who.last_applied_seq
            )));
        }
    }
    tx.prepare_cached(
        "UPDATE sync_state SET server_url = ?1, token = ?2, terminal_id = ?3, terminal_name = ?4,
         last_error_code = NULL, last_error_message = NULL, next_retry_at_ms = NULL,
         failures_in_a_row = 0 WHERE id = 1",
    )?
    .execute(params![
        enrolment.server_url,
        enrolment.token,
        enrolment.terminal_id.to_string(),
        enrolment.terminal_name
    ])?;
    if !same_terminal {
        tx.execute(
            "UPDATE sync_state SET cursor = 0, server_acked_seq = 0 WHERE id = 1",
            [],
        )?;
    }
    config::set(&tx, &config::SYNC_STATE, &"idle".to_string())?;
    tx.commit()?;
    tracing::info!(terminal = %enrolment.terminal_id, server = %enrolment.server_url, "enrolled");
    Ok(enrolment)
}

/// The persisted sync state.
pub fn read(conn: &Connection) -> Result<SyncRow, SyncError> {
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
            Ok(SyncRow {
                cursor: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                next_retry_at_ms: r.get(1)?,
                last_success_at_ms: r.get(2)?,
                last_error: code.map(|code| ErrorInfo {
                    code,
                    message: message.unwrap_or_default(),
                }),
                clock_offset_ms: r.get(5)?,
                paused: r.get::<_, i64>(6)? != 0,
                ack_needed: r.get::<_, i64>(7)? != 0,
                server_acked_seq: u64::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
                failures_in_a_row: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
            })
        })?;
    Ok(row)
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

pub fn set_paused(conn: &Connection, paused: bool) -> Result<(), SyncError> {
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

/// Records a successful cycle: clears the error and the retry time.
pub fn record_success(conn: &Connection, clock: &dyn Clock) -> Result<(), SyncError> {
    let now = clock.now_ms();
    conn.prepare_cached(
        "UPDATE sync_state SET last_success_at_ms = ?1, last_error_code = NULL,
         last_error_message = NULL, next_retry_at_ms = NULL, failures_in_a_row = 0 WHERE id = 1",
    )?
    .execute([now])?;
    config::set(conn, &config::LAST_SYNC_AT_MS, &now)?;
    Ok(())
}

/// Records a failed attempt and when the next one may start.
pub fn record_failure(
    conn: &Connection,
    error: &ErrorInfo,
    next_retry_at_ms: Option<i64>,
    failures_in_a_row: u32,
) -> Result<(), SyncError> {
    conn.prepare_cached(
        "UPDATE sync_state SET last_error_code = ?1, last_error_message = ?2,
         next_retry_at_ms = ?3, failures_in_a_row = ?4 WHERE id = 1",
    )?
    .execute(params![
        error.code,
        error.message,
        next_retry_at_ms,
        failures_in_a_row
    ])?;
    Ok(())
}

/// Mirrors the engine state into the store so `tillctl status` of another process sees it.
pub fn set_state_name(conn: &Connection, name: &str) -> Result<(), SyncError> {
    config::set(conn, &config::SYNC_STATE, &name.to_string())?;
    Ok(())
}
