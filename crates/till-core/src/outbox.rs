//! Mutations waiting for the back office. Each is written in the same transaction as the change
//! it describes, numbered by the gapless mutation sequence, and stored as the exact JSON bytes
//! that will be sent, so every resend is byte-identical (the server compares payloads of a
//! replayed mutation id). Every write to the outbox goes through this module.
//!
//! An outbox row's `seq` is this till's own, never reused. The back office numbers a
//! terminal's mutations from 1; a till enrolled as a new terminal after its history diverged
//! ([`requeue_for`]) starts that numbering again, so the sequence a mutation carries to the back
//! office is its `seq` less the [`seq_base`] of the identity it was queued under (0 until then).

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use till_protocol::{Hlc, Mutation, MutationBody, Operator, Recovered};
use uuid::Uuid;

use crate::config;
use crate::counters;
use crate::error::{CoreError, Result};
use crate::push_chain;

/// The local sequence number the current terminal identity's numbering follows.
const SEQ_BASE: config::Key<u64> = config::Key::new("outbox_seq_base");

/// What the back-office sequence of a mutation is offset by: `seq - seq_base` (0 until the till
/// was enrolled as a new terminal after its history diverged).
pub fn seq_base(conn: &Connection) -> Result<u64> {
    Ok(config::get(conn, &SEQ_BASE)?.unwrap_or(0))
}

/// Whether `wire`, the sequence a mutation carries to the back office, fits the outbox row `seq`
/// of a till whose current identity numbers from `base`: `seq - base` for a row of the current
/// identity; for a row queued under an earlier one (settled since), at most `seq`.
pub fn wire_seq_fits(seq: u64, wire: u64, base: u64) -> bool {
    if seq > base {
        wire == seq - base
    } else {
        (1..=seq).contains(&wire)
    }
}

/// The last sequence the current terminal identity numbered, as the back office counts.
pub fn numbered(conn: &Connection) -> Result<u64> {
    Ok(counters::last(conn, counters::MUTATION)?.saturating_sub(seq_base(conn)?))
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Written locally, not yet sent (or to be sent again).
    Pending,
    /// Sent; the answer has not been recorded yet. Resent as is after a crash.
    InFlight,
    /// The server applied it (or reported it a duplicate of an applied one).
    Applied,
    /// The server rejected it for good; it waits for a manager on the failed list.
    Failed,
    /// The server's copy moved on; it waits for a resolution.
    Conflict,
    /// A manager chose to drop it.
    Discarded,
}

impl OutboxState {
    pub const ALL: [OutboxState; 6] = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Applied,
        OutboxState::Failed,
        OutboxState::Conflict,
        OutboxState::Discarded,
    ];

    /// The name stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Applied => "applied",
            OutboxState::Failed => "failed",
            OutboxState::Conflict => "conflict",
            OutboxState::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The `kind` column: the mutation body's tag, and the id of the entity it is about.
pub fn describe(body: &MutationBody) -> (&'static str, Uuid) {
    match body {
        MutationBody::TicketCreated(t) => ("ticket_created", t.id),
        MutationBody::TicketVoided(t) => ("ticket_voided", t.id),
        MutationBody::TicketRefunded(t) => ("ticket_refunded", t.id),
        MutationBody::CustomerCreated(c) => ("customer_created", c.id),
        MutationBody::CustomerUpdated(c) => ("customer_updated", c.id),
        MutationBody::CustomerDeleted(c) => ("customer_deleted", c.id),
        MutationBody::DisputeSettled(d) => ("dispute_settled", d.reversal_id),
        MutationBody::ShiftOpened(s) => ("shift_opened", s.shift_id),
        MutationBody::CashMoved(m) => ("cash_moved", m.id),
        MutationBody::ShiftClosed(s) => ("shift_closed", s.shift_id),
    }
}

/// Queues a mutation: takes the next mutation sequence number, links it to the push chain
/// ([`push_chain`]) and stores the serialized mutation as state `pending`. Call inside the
/// transaction of the change it describes. The mutation returned carries the sequence the back
/// office sees ([`seq_base`]). `operator` is who made the change (`None` on a till without
/// employees).
pub fn enqueue(
    conn: &Connection,
    body: MutationBody,
    operator: Option<Operator>,
    hlc: Hlc,
    now_ms: i64,
) -> Result<Mutation> {
    let seq = counters::next(conn, counters::MUTATION)?;
    let mut mutation = Mutation {
        id: Uuid::now_v7(),
        seq: seq - seq_base(conn)?,
        hlc,
        wall_clock_ms: now_ms,
        body,
        recovered: None,
        operator,
        format: Some(till_protocol::PAYLOAD_FORMAT),
        link: None,
    };
    push_chain::link_next(conn, seq, &mut mutation)?;
    insert(conn, seq, &mutation, now_ms, now_ms)?;
    Ok(mutation)
}

/// Stores `mutation` as the pending row `seq`.
fn insert(
    conn: &Connection,
    seq: u64,
    mutation: &Mutation,
    created_at_ms: i64,
    now_ms: i64,
) -> Result<()> {
    let payload = serde_json::to_vec(mutation).map_err(|e| CoreError::Database(e.to_string()))?;
    let (kind, entity) = describe(&mutation.body);
    conn.prepare_cached(
        "INSERT INTO outbox (seq, mutation_id, kind, entity_id, state, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
    )?
    .execute(params![
        seq_i64(seq)?,
        mutation.id.to_string(),
        kind,
        entity.to_string(),
        created_at_ms,
        now_ms
    ])?;
    conn.prepare_cached("INSERT INTO outbox_payload (seq, payload) VALUES (?1, ?2)")?
        .execute(params![seq_i64(seq)?, payload])?;
    Ok(())
}

/// Queues every unsettled mutation again for a new terminal identity, after this till's history
/// diverged under `old_terminal`: in order, each takes the next local sequence number and is
/// numbered from 1 for the new identity, gets a new mutation id (the old one may be the back
/// office's already) and names where it was first numbered and the hash of what was sent there
/// ([`Recovered`]), so the back office recognises what it already holds. Its content (a
/// ticket with its id and number, a customer change with the base it names and the fields it was
/// made on) is unchanged. The push chain begins anew for the new identity, from its first
/// mutation. Returns how many. Call in the transaction that enrols the new identity.
pub fn requeue_for(conn: &Connection, old_terminal: Uuid, now_ms: i64) -> Result<u64> {
    let base = counters::last(conn, counters::MUTATION)?;
    push_chain::restart_at(conn, base + 1)?;
    let unsettled: Vec<i64> = conn
        .prepare_cached(
            "SELECT seq FROM outbox WHERE state IN ('pending', 'in_flight') ORDER BY seq",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for old_seq in &unsettled {
        let old_seq = u64::try_from(*old_seq)
            .map_err(|_| CoreError::Database(format!("outbox sequence {old_seq}")))?;
        let entry = get(conn, old_seq)?
            .ok_or_else(|| CoreError::Database(format!("outbox entry {old_seq} vanished")))?;
        let first: Mutation = serde_json::from_slice(&entry.payload)?;
        let seq = counters::next(conn, counters::MUTATION)?;
        let mut mutation = Mutation {
            id: Uuid::now_v7(),
            seq: seq - base,
            recovered: Some(Recovered {
                terminal_id: old_terminal,
                mutation_id: first.id,
                seq: first.seq,
                payload_sha256: hex::encode(Sha256::digest(&entry.payload)),
            }),
            ..first
        };
        push_chain::link_next(conn, seq, &mut mutation)?;
        conn.prepare_cached("DELETE FROM outbox_payload WHERE seq = ?1")?
            .execute([seq_i64(old_seq)?])?;
        conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute([seq_i64(old_seq)?])?;
        insert(conn, seq, &mutation, entry.created_at_ms, now_ms)?;
        // The fields a queued customer edit was made on follow it to its new id.
        conn.prepare_cached("UPDATE customer_edits SET mutation_id = ?2 WHERE mutation_id = ?1")?
            .execute([first.id.to_string(), mutation.id.to_string()])?;
    }
    config::set(conn, &SEQ_BASE, &base)?;
    Ok(unsettled.len() as u64)
}

/// Queues again, under its own (local) sequence number `seq` and id, a mutation salvaged from a
/// damaged store (`payload` its bytes as first sent, so the server recognises a replay), as
/// `pending` or, with `failed` (its reason), back on the failed list. Returns `false`, changing nothing, when this
/// store already holds that mutation or that sequence number.
pub fn restore(
    conn: &Connection,
    seq: u64,
    mutation: &Mutation,
    payload: &[u8],
    failed: Option<&str>,
    created_at_ms: i64,
    now_ms: i64,
) -> Result<bool> {
    let (kind, entity) = describe(&mutation.body);
    let state = if failed.is_some() {
        "failed"
    } else {
        "pending"
    };
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO outbox (seq, mutation_id, kind, entity_id, state, last_error,
                                           created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            seq_i64(seq)?,
            mutation.id.to_string(),
            kind,
            entity.to_string(),
            state,
            failed,
            created_at_ms,
            now_ms
        ])?;
    if added == 0 {
        return Ok(false);
    }
    conn.prepare_cached("INSERT INTO outbox_payload (seq, payload) VALUES (?1, ?2)")?
        .execute(params![seq_i64(seq)?, payload])?;
    Ok(true)
}

fn seq_i64(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| CoreError::Database(format!("sequence {seq} out of range")))
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: u64,
    pub mutation_id: Uuid,
    pub kind: String,
    pub entity_id: Uuid,
    /// The serialized `Mutation`, byte for byte as sent.
    pub payload: Vec<u8>,
    pub state: OutboxState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub result: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The columns [`entry_from_row`] reads, in order, from [`ENTRY_SOURCE`].
const ENTRY_COLUMNS: &str = "seq, mutation_id, kind, entity_id, payload, state, attempts, \
     last_error, result, created_at_ms, updated_at_ms";

/// Where [`ENTRY_COLUMNS`] come from: each outbox row with its payload, which lives in a table of
/// its own so that the engine's state changes rewrite small rows.
const ENTRY_SOURCE: &str = "outbox JOIN outbox_payload USING (seq)";

/// Reads an [`OutboxEntry`] from a row selected with [`ENTRY_COLUMNS`].
fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let bad = |i: usize, msg: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, msg.into())
    };
    let seq: i64 = r.get(0)?;
    let mutation_id: String = r.get(1)?;
    let entity_id: String = r.get(3)?;
    let state: String = r.get(5)?;
    Ok(OutboxEntry {
        seq: u64::try_from(seq).map_err(|e| bad(0, e.to_string()))?,
        mutation_id: Uuid::parse_str(&mutation_id).map_err(|e| bad(1, e.to_string()))?,
        kind: r.get(2)?,
        entity_id: Uuid::parse_str(&entity_id).map_err(|e| bad(3, e.to_string()))?,
        payload: r.get(4)?,
        state: OutboxState::parse(&state).ok_or_else(|| bad(5, format!("state {state}")))?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        result: r.get(8)?,
        created_at_ms: r.get(9)?,
        updated_at_ms: r.get(10)?,
    })
}

/// One entry by sequence number.
pub fn get(conn: &Connection, seq: u64) -> Result<Option<OutboxEntry>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_SOURCE} WHERE seq = ?1"
        ))?
        .query_row([seq_i64(seq)?], entry_from_row)
        .optional()?)
}

/// The unsettled entries (`in_flight`, then `pending`, merged in sequence order) after `after`,
/// at most `limit`. Each state walks the (state, seq) index in order and stops at the limit (one
/// `state IN (…) ORDER BY seq` would read every queued row to sort them, for every batch of a
/// long backlog), and only sequence numbers are merged: payloads are read once, for the rows
/// chosen.
pub fn unsettled_after(conn: &Connection, after: u64, limit: u32) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM {ENTRY_SOURCE} WHERE seq IN (
             SELECT seq FROM (SELECT seq FROM outbox WHERE state = 'in_flight' AND seq > ?2
                              ORDER BY seq LIMIT ?1)
             UNION ALL
             SELECT seq FROM (SELECT seq FROM outbox WHERE state = 'pending' AND seq > ?2
                              ORDER BY seq LIMIT ?1)
             ORDER BY seq LIMIT ?1)
         ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![limit, seq_i64(after)?], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest failed entry about `entity` before `seq`: what an entry about it builds on.
pub fn last_failed_before(conn: &Connection, entity: Uuid, seq: u64) -> Result<Option<u64>> {
    use rusqlite::OptionalExtension;
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT seq FROM outbox WHERE entity_id = ?1 AND state = 'failed' AND seq < ?2
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![entity.to_string(), seq_i64(seq)?], |r| r.get(0))
        .optional()?;
    Ok(found.and_then(|s| u64::try_from(s).ok()))
}

/// How many entries about `entity` are not settled yet.
pub fn unsettled_count(conn: &Connection, entity: Uuid) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM outbox WHERE entity_id = ?1 AND state IN ('pending', 'in_flight')",
        )?
        .query_row([entity.to_string()], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The newest entry about `entity` not settled yet.
pub fn newest_unsettled(conn: &Connection, entity: Uuid) -> Result<Option<OutboxEntry>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_SOURCE}
             WHERE entity_id = ?1 AND state IN ('pending', 'in_flight')
             ORDER BY seq DESC LIMIT 1"
        ))?
        .query_row([entity.to_string()], entry_from_row)
        .optional()?)
}

/// The entries about `entity` not settled yet, oldest first.
pub fn unsettled_about(conn: &Connection, entity: Uuid) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM {ENTRY_SOURCE}
         WHERE entity_id = ?1 AND state IN ('pending', 'in_flight') ORDER BY seq"
    ))?;
    let rows = stmt.query_map([entity.to_string()], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many entries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub applied: u64,
    pub failed: u64,
    pub conflict: u64,
    pub discarded: u64,
}

/// Counts the entries per state.
pub fn counts(conn: &Connection) -> Result<OutboxCounts> {
    let mut out = OutboxCounts::default();
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let state: String = r.get(0)?;
        let n: i64 = r.get(1)?;
        let n = u64::try_from(n).unwrap_or(0);
        match OutboxState::parse(&state) {
            Some(OutboxState::Pending) => out.pending = n,
            Some(OutboxState::InFlight) => out.in_flight = n,
            Some(OutboxState::Applied) => out.applied = n,
            Some(OutboxState::Failed) => out.failed = n,
            Some(OutboxState::Conflict) => out.conflict = n,
            Some(OutboxState::Discarded) => out.discarded = n,
            None => {}
        }
    }
    Ok(out)
}

/// The entries in `state`, in sequence order, at most `limit` (e.g. the failed list).
pub fn in_state(conn: &Connection, state: OutboxState, limit: u32) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM {ENTRY_SOURCE} WHERE state = ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![state.as_str(), limit], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks the unsettled entries from `first` to `last` as sent, counting one more attempt each.
/// Call just before sending them. One statement: outside an explicit transaction it needs no
/// statement journal.
pub fn mark_in_flight(conn: &Connection, first: u64, last: u64, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at_ms = ?3
         WHERE seq BETWEEN ?1 AND ?2 AND state IN ('pending', 'in_flight')",
    )?
    .execute(params![seq_i64(first)?, seq_i64(last)?, now_ms])?;
    Ok(())
}

/// Puts entries sent without an answer to act on back to waiting.
pub fn reset_to_pending(
    conn: &Connection,
    seqs: impl IntoIterator<Item = u64>,
    now_ms: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', updated_at_ms = ?2
         WHERE seq = ?1 AND state = 'in_flight'",
    )?;
    for seq in seqs {
        stmt.execute(params![seq_i64(seq)?, now_ms])?;
    }
    Ok(())
}

/// Records where an entry now stands: `result` is the server's outcome JSON when it answered
/// (kept when `None`), `last_error` why it is not settled, was rejected or was dropped. The
/// payload is never changed.
pub fn set_state(
    conn: &Connection,
    seq: u64,
    state: OutboxState,
    result: Option<&str>,
    last_error: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = ?2, result = coalesce(?3, result), last_error = ?4,
                 updated_at_ms = ?5
             WHERE seq = ?1",
        )?
        .execute(params![
            seq_i64(seq)?,
            state.as_str(),
            result,
            last_error,
            now_ms
        ])?;
    if changed == 0 {
        return Err(CoreError::InvalidInput(format!("no outbox entry {seq}")));
    }
    Ok(())
}

/// Records the failed entry that the failed entry `seq` waits for.
pub fn set_depends_on(conn: &Connection, seq: u64, parent: u64) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET depends_on_seq = ?2 WHERE seq = ?1")?
        .execute(params![seq_i64(seq)?, seq_i64(parent)?])?;
    Ok(())
}

/// The failed entries waiting for the failed entry `parent`, oldest first.
pub fn waiting_for(conn: &Connection, parent: u64) -> Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq FROM outbox WHERE state = 'failed' AND depends_on_seq = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([seq_i64(parent)?], |r| r.get::<_, i64>(0))?;
    rows.map(|seq| Ok(u64::try_from(seq?).unwrap_or(0)))
        .collect()
}

/// Drops an entry in conflict once its conflict is resolved; an entry in any other state is
/// left alone.
pub fn discard_conflicted(conn: &Connection, seq: u64, why: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'discarded', last_error = ?2, updated_at_ms = ?3
         WHERE seq = ?1 AND state = 'conflict'",
    )?
    .execute(params![seq_i64(seq)?, why, now_ms])?;
    Ok(())
}

/// Drops every entry about `entity` in conflict, once the conflict they make up is resolved.
pub fn discard_conflicted_about(
    conn: &Connection,
    entity: Uuid,
    why: &str,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'discarded', last_error = ?2, updated_at_ms = ?3
         WHERE entity_id = ?1 AND state = 'conflict'",
    )?
    .execute(params![entity.to_string(), why, now_ms])?;
    Ok(())
}

/// Deletes the applied entries settled before `before_ms` (their payloads go with them);
/// returns how many.
pub fn prune_applied(conn: &Connection, before_ms: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM outbox WHERE state = 'applied' AND updated_at_ms < ?1")?
        .execute([before_ms])?)
}

/// A store and mutations for the tests of the modules that queue.
#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;
    use till_protocol::{CustomerDeleted, MutationBody};
    use uuid::Uuid;

    /// An empty store in memory, migrated.
    pub fn conn() -> Connection {
        let mut conn = Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        conn
    }

    /// A mutation body told apart by `n`.
    pub fn body(n: u128) -> MutationBody {
        MutationBody::CustomerDeleted(CustomerDeleted {
            id: Uuid::from_u128(n),
            base_version: 1,
            base: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{body, conn};
    use super::*;
    use till_protocol::Hlc;

    #[test]
    fn entries_move_through_their_states_without_touching_the_payload() {
        let conn = conn();
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        let a = enqueue(&conn, body(1), None, hlc, 10).expect("queues");
        let b = enqueue(&conn, body(2), None, hlc, 10).expect("queues");
        assert_eq!(
            (a.seq, b.seq),
            (1, 2),
            "sequence numbers are gapless from 1"
        );
        let payload = get(&conn, 1).expect("reads").expect("exists").payload;

        mark_in_flight(&conn, 1, 2, 20).expect("marks");
        let e = get(&conn, 1).expect("reads").expect("exists");
        assert_eq!((e.state, e.attempts), (OutboxState::InFlight, 1));

        set_state(&conn, 1, OutboxState::Applied, Some("{}"), None, 30).expect("settles");
        reset_to_pending(&conn, [1, 2], 30).expect("resets");
        let c = counts(&conn).expect("counts");
        assert_eq!(
            (c.applied, c.pending, c.in_flight),
            (1, 1, 0),
            "only what was in flight goes back to waiting"
        );
        assert_eq!(
            in_state(&conn, OutboxState::Pending, 10).expect("lists")[0].seq,
            2
        );
        assert_eq!(
            get(&conn, 1).expect("reads").expect("exists").payload,
            payload,
            "a settled entry keeps the bytes it was sent with"
        );
        assert_eq!(
            set_state(&conn, 9, OutboxState::Failed, None, None, 1)
                .expect_err("no entry 9")
                .code(),
            "invalid_input"
        );
    }

    #[test]
    fn a_rows_wire_sequence_follows_the_numbering_of_the_identity_it_was_queued_under() {
        let cases = [
            // (local seq, wire seq, base, fits)
            (5, 5, 0, true),
            (5, 4, 0, false),
            (8, 2, 6, true),
            (8, 8, 6, false),
            (6, 6, 6, true),
            (4, 2, 6, true),
            (4, 5, 6, false),
            (4, 0, 6, false),
        ];
        for (seq, wire, base, fits) in cases {
            assert_eq!(
                wire_seq_fits(seq, wire, base),
                fits,
                "seq {seq}, wire {wire}, base {base}"
            );
        }
    }

    #[test]
    fn a_new_identity_gets_the_unsettled_mutations_renumbered_from_one_naming_their_origin() {
        let conn = conn();
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        for n in 1..=3 {
            enqueue(&conn, body(n), None, hlc, 10).expect("queues");
        }
        set_state(&conn, 1, OutboxState::Applied, Some("{}"), None, 20).expect("settles");
        mark_in_flight(&conn, 3, 3, 20).expect("marks");
        let sent: Vec<Vec<u8>> = [2, 3]
            .iter()
            .map(|&s| get(&conn, s).expect("reads").expect("exists").payload)
            .collect();
        let edit_of = |seq: u64| -> Option<String> {
            let id = get(&conn, seq).expect("reads").expect("exists").mutation_id;
            conn.query_row(
                "SELECT base FROM customer_edits WHERE mutation_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .ok()
        };
        conn.execute(
            "INSERT INTO customer_edits (mutation_id, customer_id, base) VALUES (?1, ?2, '{}')",
            [
                get(&conn, 2)
                    .expect("reads")
                    .expect("exists")
                    .mutation_id
                    .to_string(),
                Uuid::now_v7().to_string(),
            ],
        )
        .expect("keeps an edit's base");
        let old = Uuid::now_v7();
        assert_eq!(requeue_for(&conn, old, 30).expect("requeues"), 2);
        assert_eq!(
            edit_of(4).as_deref(),
            Some("{}"),
            "the fields an edit was made on follow it to its new id"
        );
        assert_eq!(seq_base(&conn).expect("reads"), 3);
        assert!(get(&conn, 2).expect("reads").is_none(), "moved, not copied");
        let moved: Vec<OutboxEntry> = unsettled_after(&conn, 0, 10).expect("reads");
        assert_eq!(moved.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        for (i, (entry, first_payload)) in moved.iter().zip(&sent).enumerate() {
            let first: Mutation = serde_json::from_slice(first_payload).expect("parses");
            let again: Mutation = serde_json::from_slice(&entry.payload).expect("parses");
            assert_eq!(
                again.seq,
                i as u64 + 1,
                "numbered from 1 for the new identity"
            );
            assert_ne!(again.id, first.id, "a new id: the old one may be taken");
            assert_eq!(entry.mutation_id, again.id);
            assert_eq!((entry.state, entry.attempts), (OutboxState::Pending, 0));
            assert_eq!(again.body, first.body, "the content is unchanged");
            assert_eq!(
                again.recovered,
                Some(Recovered {
                    terminal_id: old,
                    mutation_id: first.id,
                    seq: first.seq,
                    payload_sha256: hex::encode(Sha256::digest(first_payload)),
                }),
                "it names where it was first numbered and what was sent there"
            );
        }
        let next = enqueue(&conn, body(9), None, hlc, 40).expect("queues");
        assert_eq!(
            (next.seq, numbered(&conn).expect("reads")),
            (3, 3),
            "new mutations follow on"
        );
        assert_eq!(
            get(&conn, 6).expect("reads").map(|e| e.mutation_id),
            Some(next.id)
        );
    }
}
