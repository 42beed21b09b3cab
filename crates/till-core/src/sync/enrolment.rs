//! The enrolment: which server this terminal syncs with, as whom, with which token, and how the
//! server is trusted. The address, token and terminal live in the `sync_state` row beside the
//! engine's own state ([`super::persisted`]); the origin the token was given for and the trust
//! ([`ServerTrust`]) in [`TRUST`], written in the same transaction.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Clock;
use crate::store::Store;
use crate::{config, outbox};

use super::error::SyncError;
use super::lock::SyncLock;
use super::persisted;
use super::state::SyncState;
use super::transport::{Credential, HttpTransport, Timeouts, Transport, TransportError};
use super::trust::{self, ServerTrust};

/// The origin the enrolled token was given for, and how the server is trusted.
pub const TRUST: config::Key<RecordedTrust> = config::Key::new("enrolment.trust");

/// What [`TRUST`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedTrust {
    /// The origin (scheme, host, port) the token was given for.
    pub token_origin: String,
    pub ca_pem: Option<String>,
    pub pin_sha256: Option<String>,
    pub allow_cleartext: bool,
}

/// The server a terminal syncs with, from `tillctl enrol` or the app's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    pub server_url: String,
    #[serde(skip)]
    pub token: String,
    /// The origin the token was given for: it is never sent anywhere else.
    #[serde(skip)]
    pub token_origin: String,
    pub terminal_id: Uuid,
    pub terminal_name: String,
    /// How the server is trusted.
    #[serde(skip)]
    pub trust: ServerTrust,
}

impl Enrolment {
    /// The transport every request of this enrolment goes through: its token, sent to its own
    /// origin only, and its trust.
    pub fn transport(&self, timeouts: Timeouts) -> Result<HttpTransport, TransportError> {
        HttpTransport::connect(
            &self.server_url,
            Some(Credential::new(&self.token, &self.token_origin)),
            &self.trust,
            timeouts,
        )
    }

    /// Whether this enrolment talks plain http to another machine (allowed by its operator).
    pub fn cleartext(&self) -> bool {
        self.trust.allow_cleartext
            && trust::parse(&self.server_url)
                .is_ok_and(|u| trust::is_cleartext_to_another_machine(&u))
    }
}

/// The stored enrolment, if any. An enrolment made before its trust was recorded keeps its
/// address's origin and what it used ([`ServerTrust::of_earlier_enrolment`]).
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
    let (token_origin, trust) = match config::get(conn, &TRUST)? {
        Some(r) => (
            r.token_origin,
            ServerTrust {
                ca_pem: r.ca_pem,
                pin_sha256: r.pin_sha256,
                allow_cleartext: r.allow_cleartext,
            },
        ),
        None => (
            trust::parse(&server_url)
                .map(|u| trust::origin(&u))
                .unwrap_or_default(),
            ServerTrust::of_earlier_enrolment(&server_url),
        ),
    };
    Ok(Some(Enrolment {
        server_url,
        token,
        token_origin,
        terminal_id,
        terminal_name: name.unwrap_or_default(),
        trust,
    }))
}

/// The name the back office gave this till at enrolment; `None` before it.
pub fn terminal_name(conn: &Connection) -> crate::Result<Option<String>> {
    let name: Option<Option<String>> = conn
        .prepare_cached("SELECT terminal_name FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(name.flatten().filter(|n| !n.is_empty()))
}

/// Asks the server who `token` belongs to, over a connection trusted as `trust` says (checked
/// by the caller, [`ServerTrust::check`]), and stores the enrolment: the token bound to the
/// origin of `server_url`, and the trust. A different terminal than before starts its pull from
/// the beginning.
///
/// The server tracks one gapless mutation sequence per terminal, so one data dir stays one
/// terminal: enrolling is refused (`enrolment_refused`, nothing changed) when this till already
/// numbered mutations under another terminal, or when the token's terminal already holds
/// mutations from another till. Re-enrolling as the same terminal (a rotated token, or the same
/// back office at a new address, each with its token) keeps the queue, the cursor and the rest;
/// so does a first enrolment after selling offline.
///
/// The way out of a diverged history (a restored or copied data dir): enrolling as a new
/// terminal, one that holds nothing yet, queues every mutation the back office has not settled
/// again under that identity, renumbered from 1 and flagged recovered
/// ([`outbox::requeue_for`]), and sync resumes.
pub async fn enrol(
    store: &Store,
    server_url: &str,
    token: &str,
    trust: &ServerTrust,
) -> Result<Enrolment, SyncError> {
    if token.trim().is_empty() {
        return Err(SyncError::InvalidInput("the token is empty".into()));
    }
    let credential = Credential::for_address(token, server_url)?;
    let transport = HttpTransport::connect(
        server_url,
        Some(credential.clone()),
        trust,
        Timeouts::default(),
    )?;
    let who = transport.whoami().await?;
    let enrolment = Enrolment {
        server_url: server_url.trim_end_matches('/').to_string(),
        token: token.to_string(),
        token_origin: credential.origin().to_string(),
        terminal_id: who.terminal_id,
        terminal_name: who.name,
        trust: trust.clone(),
    };
    let mut conn = store.connect()?;
    // Renumbering the queue of a diverged till must not meet a cycle sending it.
    let _lock = match persisted::diverged(&conn)? {
        Some(_) => Some(SyncLock::try_acquire(store.data_dir())?),
        None => None,
    };
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let before = get(&tx)?;
    let same_terminal = before
        .as_ref()
        .is_some_and(|b| b.terminal_id == enrolment.terminal_id);
    let diverged = persisted::diverged(&tx)?.is_some();
    let recover = before.as_ref().filter(|_| diverged && !same_terminal);
    if !same_terminal {
        let numbered = crate::counters::last(&tx, crate::counters::MUTATION)?;
        if let Some(b) = before.as_ref().filter(|_| numbered > 0 && !diverged) {
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
    config::set(
        &tx,
        &TRUST,
        &RecordedTrust {
            token_origin: enrolment.token_origin.clone(),
            ca_pem: enrolment.trust.ca_pem.clone(),
            pin_sha256: enrolment.trust.pin_sha256.clone(),
            allow_cleartext: enrolment.trust.allow_cleartext,
        },
    )?;
    if !same_terminal {
        tx.execute(
            "UPDATE sync_state SET cursor = 0, server_acked_seq = 0 WHERE id = 1",
            [],
        )?;
    }
    if let Some(old) = recover {
        let queued = outbox::requeue_for(&tx, old.terminal_id, crate::SystemClock.now_ms())?;
        persisted::set_ack_needed(&tx, false)?;
        persisted::clear_diverged(&tx)?;
        tracing::warn!(
            queued,
            from = %old.terminal_id,
            to = %enrolment.terminal_id,
            "a diverged history is delivered under a new terminal identity"
        );
    }
    let state = if diverged && recover.is_none() {
        SyncState::Diverged
    } else {
        SyncState::Idle
    };
    config::set(&tx, &config::SYNC_STATE, &state.name().to_string())?;
    tx.commit()?;
    tracing::info!(terminal = %enrolment.terminal_id, server = %enrolment.server_url, "enrolled");
    Ok(enrolment)
}
