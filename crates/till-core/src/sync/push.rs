//! Pushing the outbox: one page of unsettled mutations at a time, in sequence order, never the
//! whole queue in memory. Each batch is marked in flight in one short transaction, sent, and its
//! per-item outcomes are applied in another: applied and duplicate record the server's identity,
//! rejected and mismatched items go to the failed list, conflicts to the conflict table, a gap
//! makes the next batch resend from the sequence the server expects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, TransactionBehavior};
use till_protocol::{ConflictCurrent, Mutation, MutationBody, Outcome, PushResponse};
use uuid::Uuid;

use crate::outbox::{self, OutboxEntry, OutboxState};
use crate::store::wal::{let_writers_in, Checkpointer, WRITE_CHUNK};
use crate::Clock;

use super::conflicts::{self, Detected, PolicySet};
use super::customers;
use super::error::SyncError;
use super::give_way::GiveWay;
use super::persisted;
use super::transport::{Transport, TransportError};

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Mutations sent in this batch.
    pub sent: u64,
    /// Mutations the server settled (applied, duplicate, conflict, rejected).
    pub settled: u64,
    pub conflicts: u64,
    pub failed: u64,
    /// Tickets now known to the server: (local ticket id, server number).
    pub synced_tickets: Vec<(Uuid, Option<u64>)>,
    /// The round trip took this long.
    pub round_trip_ms: u64,
    /// The server's clock minus ours, from this round trip.
    pub clock_offset_ms: Option<i64>,
}

/// The push side of a cycle: owns the batch size and the resend point across batches.
#[derive(Debug)]
pub struct Pusher {
    pub terminal_id: Uuid,
    pub batch_size: usize,
    pub max_batch_size: usize,
    /// Set by a gap answer: the next batch starts here whatever the rows' states.
    resend_from: Option<u64>,
    /// The next batch, already marked in flight and sent while the last answer is applied.
    ahead: Option<Sent>,
    /// Checkpoints the engine's writes.
    checkpointer: Checkpointer,
    /// Holds the engine's writes while the cashier is ringing up.
    give_way: GiveWay,
}

/// A batch read and marked in flight, with its request body, not sent yet.
struct Prepared {
    batch: Vec<OutboxEntry>,
    body: Vec<u8>,
}

/// A batch on its way: its rows (marked in flight) and the request running as its own task.
struct Sent {
    batch: Vec<OutboxEntry>,
    request: tokio::task::JoinHandle<Result<PushResponse, TransportError>>,
    sent_at: i64,
    started: Instant,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("first", &self.batch.first().map(|e| e.seq))
            .field("last", &self.batch.last().map(|e| e.seq))
            .finish()
    }
}

impl Pusher {
    pub fn new(
        terminal_id: Uuid,
        batch_size: usize,
        max_batch_size: usize,
        give_way: Duration,
    ) -> Self {
        let max = max_batch_size.clamp(1, till_protocol::MAX_PUSH_BATCH);
        Pusher {
            terminal_id,
            batch_size: batch_size.clamp(1, max),
            max_batch_size: max,
            resend_from: None,
            ahead: None,
            checkpointer: Checkpointer::default(),
            give_way: GiveWay::new(give_way),
        }
    }

    /// Whether a batch was sent ahead and still waits for its answer to be applied.
    pub fn has_batch_ahead(&self) -> bool {
        self.ahead.is_some()
    }

    /// The next page: the oldest unsettled rows after `after` (the batch still being applied,
    /// when sending ahead), else from the resend point after a gap, else the oldest unsettled.
    fn page(&self, conn: &Connection, after: Option<u64>) -> Result<Vec<OutboxEntry>, SyncError> {
        let limit = u32::try_from(self.batch_size).unwrap_or(1000);
        match (self.resend_from, after) {
            // Sent ahead only after a clean answer: the batch before settled in order. Without
            // a batch ahead, the oldest unsettled rows.
            (_, Some(_)) | (None, None) => {
                Ok(outbox::unsettled_after(conn, after.unwrap_or(0), limit)?)
            }
            (Some(from), None) => {
                let page = outbox::from_seq(conn, from, limit)?;
                if page.first().map(|e| e.seq) != Some(from) {
                    return Err(SyncError::Protocol(format!(
                        "the back office expects mutation {from} next, which this till no longer \
                         holds; sync stops until someone looks at it"
                    )));
                }
                Ok(page)
            }
        }
    }

    /// Settles one batch: the one sent ahead during the last call, or a new one. While its
    /// answer is applied, the following batch is already marked in flight and sent (when
    /// `send_ahead` and the answer was clean), so the server works on it meanwhile. The server
    /// still receives one request at a time, in sequence order. `Ok(None)` when nothing is left.
    pub async fn push_batch(
        &mut self,
        conn: &mut Connection,
        transport: &Arc<dyn Transport>,
        policies: &PolicySet,
        clock: &dyn Clock,
        send_ahead: bool,
    ) -> Result<Option<BatchReport>, SyncError> {
        let result = self
            .settle_one(conn, transport, policies, clock, send_ahead)
            .await;
        if result.is_err() {
            self.abandon_ahead(conn)?;
        }
        result
    }

    /// Drops the batch sent ahead without applying its answer: its rows stay in flight and the
    /// next attempt asks the server what it settled before resending.
    pub fn abandon_ahead(&mut self, conn: &Connection) -> Result<(), SyncError> {
        if let Some(ahead) = self.ahead.take() {
            ahead.request.abort();
            persisted::set_ack_needed(conn, true)?;
        }
        Ok(())
    }

    async fn settle_one(
        &mut self,
        conn: &mut Connection,
        transport: &Arc<dyn Transport>,
        policies: &PolicySet,
        clock: &dyn Clock,
        send_ahead: bool,
    ) -> Result<Option<BatchReport>, SyncError> {
        let sent = match self.ahead.take() {
            Some(sent) => sent,
            None => match self.send(conn, transport, clock).await? {
                Some(sent) => sent,
                None => return Ok(None),
            },
        };
        let Sent {
            batch,
            request,
            sent_at,
            started,
        } = sent;
        // While the server works on this batch, the next one is read, marked in flight and
        // encoded, so a clean answer is followed by the next request at once. A failure here
        // must not cost this answer: the next batch is then sent the ordinary way.
        let mut next = None;
        if let (true, Some(last)) = (send_ahead, batch.last()) {
            match self.prepare(conn, transport, clock, Some(last.seq)).await {
                Ok(prepared) => next = prepared,
                Err(e) => tracing::debug!(error = %e, "could not prepare the next batch"),
            }
        }
        let answer = match request.await {
            Ok(answer) => answer,
            Err(e) => Err(TransportError::NoAnswer(format!(
                "the push task ended: {e}"
            ))),
        };
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(next) = &next {
                    reset_to_pending(&tx, &next.batch, clock.now_ms())?;
                }
                if e.ambiguous() {
                    persisted::set_ack_needed(&tx, true)?;
                }
                if let TransportError::Refused { .. } = e {
                    // The server settled nothing of a refused request, so failing its items here
                    // would leave the server waiting for a sequence this till never sends again.
                    // They stay queued in order; the engine backs off and shows the error.
                    reset_to_pending(&tx, &batch, clock.now_ms())?;
                }
                tx.commit()?;
                if matches!(e, TransportError::NoAnswer(_)) && self.batch_size > 1 {
                    self.batch_size = (self.batch_size / 2).max(1);
                }
                return Err(e.into());
            }
        };
        let round_trip_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let received_at = clock.now_ms();
        let offset = response.server_time_ms - (sent_at + received_at) / 2;
        if let Some(next) = next {
            if clean(&batch, &response) {
                self.ahead = Some(self.start(conn, transport, clock, next).await);
            } else {
                // Never sent: the rows go back to waiting, and follow this answer's verdict.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                reset_to_pending(&tx, &next.batch, clock.now_ms())?;
                tx.commit()?;
            }
        }
        let mut report = self
            .apply(conn, &batch, &response, offset, policies, clock)
            .await?;
        report.round_trip_ms = round_trip_ms;
        report.clock_offset_ms = Some(offset);
        if report.settled == report.sent && round_trip_ms < 2_000 {
            // The server keeps up: send more at once next time.
            self.batch_size = (self.batch_size * 2).min(self.max_batch_size);
        }
        Ok(Some(report))
    }

    /// Prepares the next batch (see [`Pusher::prepare`]) and starts its request.
    async fn send(
        &mut self,
        conn: &mut Connection,
        transport: &Arc<dyn Transport>,
        clock: &dyn Clock,
    ) -> Result<Option<Sent>, SyncError> {
        match self.prepare(conn, transport, clock, None).await? {
            Some(prepared) => Ok(Some(self.start(conn, transport, clock, prepared).await)),
            None => Ok(None),
        }
    }

    /// Reads the next page, marks it in flight and encodes its request. Without `after`: the
    /// oldest unsettled rows, asking the ack endpoint first when the last attempt was ambiguous.
    /// With `after` (the batch whose answer is awaited): the rows after it, unless asking the
    /// ack endpoint would be needed first, which then waits for the ordinary way.
    async fn prepare(
        &mut self,
        conn: &mut Connection,
        transport: &Arc<dyn Transport>,
        clock: &dyn Clock,
        after: Option<u64>,
    ) -> Result<Option<Prepared>, SyncError> {
        let batch = self.page(conn, after)?;
        // Rows still in flight were sent by an attempt that never heard back (a crash, a kill,
        // an abandoned shutdown): as ambiguous as a lost answer.
        let resumed = batch.iter().any(|e| e.state == OutboxState::InFlight);
        if resumed || persisted::read(conn)?.ack_needed {
            if after.is_some() {
                return Ok(None);
            }
            // The last attempt may have been applied without us hearing back: ask first.
            let ack = transport.ack(self.terminal_id).await?;
            tracing::info!(
                last_applied_seq = ack.last_applied_seq,
                "asked the server what it settled after an ambiguous failure"
            );
            persisted::set_server_acked(conn, ack.last_applied_seq)?;
            persisted::set_ack_needed(conn, false)?;
        }
        if batch.is_empty() {
            if after.is_none() {
                self.resend_from = None;
            }
            return Ok(None);
        }
        self.give_way.before_write(conn).await?;
        // A few short statements, each committed on its own, with a breath between them so a
        // ring-up waiting for the lock gets it (inside one explicit transaction SQLite would also
        // write a statement journal of every page changed).
        let now = clock.now_ms();
        for (i, chunk) in batch.chunks(WRITE_CHUNK).enumerate() {
            if i > 0 {
                let_writers_in().await;
            }
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            outbox::mark_in_flight(conn, first.seq, last.seq, now)?;
        }
        let body = request_body(self.terminal_id, &batch);
        Ok(Some(Prepared { batch, body }))
    }

    /// Starts the request of a prepared batch as a task of its own.
    async fn start(
        &mut self,
        conn: &mut Connection,
        transport: &Arc<dyn Transport>,
        clock: &dyn Clock,
        prepared: Prepared,
    ) -> Sent {
        let Prepared { batch, body } = prepared;
        let sent_at = clock.now_ms();
        let started = Instant::now();
        let transport = Arc::clone(transport);
        let request = tokio::spawn(async move { transport.push(body).await });
        // Copying the marked rows back into the database waits until the request is on its way
        // (on a single-threaded runtime the request task only runs when this one yields).
        for _ in 0..REQUEST_YIELDS {
            tokio::task::yield_now().await;
        }
        self.checkpointer.wrote(conn, batch.len(), false);
        Sent {
            batch,
            request,
            sent_at,
            started,
        }
    }

    async fn apply(
        &mut self,
        conn: &mut Connection,
        batch: &[OutboxEntry],
        response: &PushResponse,
        clock_offset_ms: i64,
        policies: &PolicySet,
        clock: &dyn Clock,
    ) -> Result<BatchReport, SyncError> {
        let now = clock.now_ms();
        let mut report = BatchReport {
            sent: batch.len() as u64,
            ..BatchReport::default()
        };
        let mut results = response.results.iter().peekable();
        let mut gap = None;
        // Mutations the server refused to settle (a reused id with another payload).
        let mut mismatched = Vec::new();
        // Short write transactions, so a ring-up on another connection never waits long.
        let chunks = batch.chunks(WRITE_CHUNK).count();
        for (index, chunk) in batch.chunks(WRITE_CHUNK).enumerate() {
            // Between chunks the request sent ahead gets its turn on a single-threaded runtime,
            // and a ring-up waiting for the lock gets it.
            tokio::task::yield_now().await;
            if index > 0 {
                let_writers_in().await;
            }
            self.give_way.before_write(conn).await?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if index + 1 == chunks {
                // The batch's bookkeeping rides in its last write, not in writes of its own.
                persisted::set_clock_offset(&tx, clock_offset_ms)?;
                persisted::set_server_acked(&tx, response.last_applied_seq)?;
            }
            for entry in chunk {
                // Results come in the order sent; skip any the server sent for others (logged).
                while results.peek().is_some_and(|r| r.seq < entry.seq) {
                    if let Some(stray) = results.next() {
                        tracing::warn!(seq = stray.seq, "result for a mutation not in the batch");
                    }
                }
                let result = match results.peek() {
                    Some(r) if r.seq == entry.seq && r.mutation_id == entry.mutation_id => {
                        results.next()
                    }
                    _ => None,
                };
                let Some(result) = result else {
                    tracing::warn!(
                        seq = entry.seq,
                        "no result for a mutation sent; it stays queued"
                    );
                    reset_to_pending(&tx, std::slice::from_ref(entry), now)?;
                    continue;
                };
                if gap.is_some() {
                    reset_to_pending(&tx, std::slice::from_ref(entry), now)?;
                    continue;
                }
                let outcome = match &result.outcome {
                    Outcome::Duplicate { original } => original.as_ref(),
                    other => other,
                };
                let result_json = serde_json::to_string(&result.outcome)?;
                match outcome {
                    Outcome::Applied {
                        server_id,
                        server_number,
                        version,
                    } => {
                        outbox::set_state(
                            &tx,
                            entry.seq,
                            OutboxState::Applied,
                            Some(&result_json),
                            None,
                            now,
                        )?;
                        if entry.kind.starts_with("ticket_") {
                            // The entity is the ticket: no need to parse the payload.
                            record_ticket(
                                &tx,
                                entry.entity_id,
                                *server_id,
                                *server_number,
                                *version,
                                now,
                            )?;
                            report
                                .synced_tickets
                                .push((entry.entity_id, *server_number));
                        } else {
                            let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
                            on_applied(&tx, &mutation.body, *version)?;
                        }
                        report.settled += 1;
                    }
                    Outcome::Conflict { reason, current } => {
                        outbox::set_state(
                            &tx,
                            entry.seq,
                            OutboxState::Conflict,
                            Some(&result_json),
                            None,
                            now,
                        )?;
                        let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
                        let detected = conflict_from_push(&tx, entry, &mutation, *reason, current)?;
                        conflicts::record(&tx, policies, detected, clock)?;
                        report.conflicts += 1;
                        report.settled += 1;
                    }
                    Outcome::Rejected { code, message } => {
                        let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
                        match failed_dependency(&tx, &mutation)? {
                            Some(parent) => {
                                set_failed(
                                    &tx,
                                    entry.seq,
                                    "depends_on_failed",
                                    &format!("waits for item {parent} ({code}: {message})"),
                                    now,
                                )?;
                                outbox::set_depends_on(&tx, entry.seq, parent)?;
                            }
                            None => set_failed(&tx, entry.seq, code, message, now)?,
                        }
                        report.failed += 1;
                        report.settled += 1;
                    }
                    Outcome::Mismatch { message } => {
                        set_failed(&tx, entry.seq, "mismatch", message, now)?;
                        mismatched.push(entry.seq);
                        report.failed += 1;
                        report.settled += 1;
                    }
                    Outcome::Gap { expected_seq } => {
                        tracing::warn!(expected_seq, sent = entry.seq, "sequence gap; resending");
                        reset_to_pending(&tx, std::slice::from_ref(entry), now)?;
                        gap = Some(*expected_seq);
                    }
                    Outcome::Duplicate { .. } => {
                        set_failed(
                            &tx,
                            entry.seq,
                            "unexpected_outcome",
                            "nested duplicate",
                            now,
                        )?;
                        report.failed += 1;
                        report.settled += 1;
                    }
                }
            }
            tx.commit()?;
            let quiet = index + 1 == chunks && self.ahead.is_none();
            self.checkpointer.wrote(conn, chunk.len(), quiet);
        }
        if let Some(expected) = gap.filter(|e| mismatched.contains(e)) {
            // Resending would meet the same refusal forever: stop, back off, show why.
            return Err(SyncError::Protocol(format!(
                "the back office needs mutation {expected} next but refuses it as a mismatch \
                 (was this data dir enrolled elsewhere, or the server restored from a backup?); \
                 sync stops until someone looks at it"
            )));
        }
        self.resend_from = gap;
        Ok(report)
    }
}

/// An answer with one in-order result per item and no gap: the batch after it can be sent
/// before this one is applied.
fn clean(batch: &[OutboxEntry], response: &PushResponse) -> bool {
    response.results.len() == batch.len()
        && batch.iter().zip(&response.results).all(|(e, r)| {
            e.seq == r.seq
                && e.mutation_id == r.mutation_id
                && !matches!(r.outcome, Outcome::Gap { .. })
        })
}

/// `{"terminal_id": …, "mutations": [payload, …]}` from the stored bytes, unparsed.
fn request_body(terminal_id: Uuid, batch: &[OutboxEntry]) -> Vec<u8> {
    let size = batch.iter().map(|e| e.payload.len() + 1).sum::<usize>() + 80;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"terminal_id\":\"");
    body.extend_from_slice(terminal_id.to_string().as_bytes());
    body.extend_from_slice(b"\",\"mutations\":[");
    for (i, entry) in batch.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&entry.payload);
    }
    body.extend_from_slice(b"]}");
    body
}

fn set_failed(
    conn: &Connection,
    seq: u64,
    code: &str,
    message: &str,
    now: i64,
) -> Result<(), SyncError> {
    tracing::warn!(seq, %code, %message, "item rejected; moved to the failed list");
    let why = format!("{code}: {message}");
    Ok(outbox::set_state(
        conn,
        seq,
        OutboxState::Failed,
        None,
        Some(&why),
        now,
    )?)
}

/// Puts the rows of a batch that were sent without an answer to act on back to waiting.
fn reset_to_pending(conn: &Connection, batch: &[OutboxEntry], now: i64) -> Result<(), SyncError> {
    Ok(outbox::reset_to_pending(
        conn,
        batch.iter().map(|e| e.seq),
        now,
    )?)
}

/// The failed item this mutation builds on, if any: the sale a void or refund reverses, or an
/// earlier change of the same customer.
fn failed_dependency(conn: &Connection, mutation: &Mutation) -> Result<Option<u64>, SyncError> {
    let parent = match &mutation.body {
        MutationBody::TicketVoided(t) | MutationBody::TicketRefunded(t) => t.reverses,
        MutationBody::CustomerUpdated(c) => Some(c.id),
        MutationBody::CustomerDeleted(c) => Some(c.id),
        _ => None,
    };
    let Some(parent) = parent else {
        return Ok(None);
    };
    Ok(outbox::last_failed_before(conn, parent, mutation.seq)?)
}

/// How often sending yields to the request task before checkpointing: enough for the HTTP
/// client to hand the body to the socket.
const REQUEST_YIELDS: usize = 4;

/// Records the back office's identity of a ticket this terminal pushed (what
/// [`crate::tickets::list`] and [`crate::tickets::summary`] report as its server number).
pub fn record_ticket(
    conn: &Connection,
    ticket_id: Uuid,
    server_id: i64,
    server_number: Option<u64>,
    version: u64,
    now: i64,
) -> Result<(), SyncError> {
    conn.prepare_cached(
        "INSERT INTO ticket_sync (ticket_id, server_id, server_number, version, synced_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ticket_id) DO UPDATE SET server_id = excluded.server_id,
           server_number = excluded.server_number, version = excluded.version",
    )?
    .execute(params![
        ticket_id.to_string(),
        server_id,
        server_number.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        i64::try_from(version).unwrap_or(i64::MAX),
        now
    ])?;
    Ok(())
}

/// Brings the local customer up to the version the server applied.
fn on_applied(conn: &Connection, body: &MutationBody, version: u64) -> Result<(), SyncError> {
    match body {
        MutationBody::TicketCreated(_)
        | MutationBody::TicketVoided(_)
        | MutationBody::TicketRefunded(_) => {}
        MutationBody::CustomerCreated(c) => {
            customers::mark_applied(conn, c.id, version, Some(&c.fields))?
        }
        MutationBody::CustomerUpdated(c) => {
            customers::mark_applied(conn, c.id, version, Some(&c.fields))?
        }
        MutationBody::CustomerDeleted(c) => customers::mark_applied(conn, c.id, version, None)?,
    }
    Ok(())
}

fn conflict_from_push(
    conn: &Connection,
    entry: &OutboxEntry,
    mutation: &Mutation,
    reason: till_protocol::ConflictReason,
    current: &Option<ConflictCurrent>,
) -> Result<Detected, SyncError> {
    let reason = serde_json::to_value(reason)?
        .as_str()
        .unwrap_or("conflict")
        .to_string();
    let deleted_there = reason == "deleted";
    let server = match current {
        // A tombstone is no side to merge with: the server's side is "deleted".
        Some(ConflictCurrent::Customer(_)) if deleted_there => None,
        Some(ConflictCurrent::Customer(c)) => Some(serde_json::to_value(c)?),
        Some(ConflictCurrent::Reversal(r)) => Some(serde_json::to_value(r)?),
        None => None,
    };
    let customer_local = |fields: Option<&till_protocol::CustomerFields>| serde_json::json!({ "fields": fields, "hlc": mutation.hlc });
    let (kind, local) = match &mutation.body {
        MutationBody::CustomerCreated(c) => ("customer", Some(customer_local(Some(&c.fields)))),
        MutationBody::CustomerUpdated(c) => ("customer", Some(customer_local(Some(&c.fields)))),
        MutationBody::CustomerDeleted(_) => ("customer", None),
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => ("ticket", Some(serde_json::json!({ "ticket": t }))),
    };
    let base = if kind == "customer" {
        customers::base(conn, entry.entity_id)?
            .map(serde_json::to_value)
            .transpose()?
    } else {
        None
    };
    Ok(Detected {
        entity_kind: kind,
        entity_id: entry.entity_id,
        outbox_seq: Some(entry.seq),
        reason,
        local,
        server,
        base,
    })
}
