//! The batches of a push: which rows go next (in sequence order, or from the sequence the server
//! asked for after a gap), asking the ack endpoint before resending after an ambiguous failure,
//! sending the next batch while the last answer is applied, the batch size, which grows while
//! the server keeps up, shrinks when a request goes unanswered and follows what the link
//! carries ([`super::link`]), and isolating an item the server keeps failing on
//! ([`super::poison`]) until it is withdrawn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use till_protocol::{ChainHead, Outcome, PushResponse};
use uuid::Uuid;

use crate::outbox::{self, OutboxEntry, OutboxState};
use crate::push_chain;
use crate::store::wal::{let_writers_in, Checkpointer, WRITE_CHUNK};
use crate::Clock;

use super::super::conflicts::PolicySet;
use super::super::error::SyncError;
use super::super::give_way::GiveWay;
use super::super::persisted;
use super::super::transport::{Transport, TransportError};
use super::link::{batch_for, BatchTiming, LinkEstimate};
use super::outcomes::{self, Numbering, Settle};
use super::poison::{Poison, Verdict};
use super::writes::{reset_to_pending, Writer};
use super::BatchReport;

/// The push side of a cycle: owns the batch size and the resend point across batches.
#[derive(Debug)]
pub struct Pusher {
    terminal_id: Uuid,
    size: BatchSize,
    /// The link as the last requests showed it, and the time a batch aims at on it.
    link: LinkEstimate,
    timing: BatchTiming,
    /// Set by a gap answer: the next batch starts at this row.
    resend_from: Option<u64>,
    /// The next batch, already marked in flight and sent while the last answer is applied.
    ahead: Option<Sent>,
    /// The search for an item the server keeps failing on.
    poison: Poison,
    /// The item found: the next batch is it alone, withdrawn.
    withdrawal: Option<Withdrawal>,
    /// Checkpoints the engine's writes.
    checkpointer: Checkpointer,
    /// Holds the engine's writes while the cashier is ringing up.
    give_way: GiveWay,
}

/// An item the server failed on every time it was sent alone, and the failure it met: the
/// code and message its failed-list entry shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Withdrawal {
    seq: u64,
    mutation_id: Uuid,
    code: String,
    message: String,
}

/// A batch read and marked in flight, with its request body, not sent yet.
struct Prepared {
    batch: Vec<OutboxEntry>,
    body: Vec<u8>,
}

/// A batch on its way: its rows (marked in flight) and the request running as its own task.
struct Sent {
    batch: Vec<OutboxEntry>,
    /// The request body's size.
    bytes: usize,
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
        timing: BatchTiming,
        give_way: Duration,
    ) -> Self {
        Pusher {
            terminal_id,
            size: BatchSize::new(batch_size, max_batch_size),
            link: LinkEstimate::default(),
            timing,
            resend_from: None,
            ahead: None,
            poison: Poison::default(),
            withdrawal: None,
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
        let size = match (&self.withdrawal, self.poison.limit()) {
            (Some(_), _) => 1,
            (None, Some(limit)) => limit.min(self.size.current),
            (None, None) => self.size.current,
        };
        let limit = u32::try_from(size).unwrap_or(1000);
        match (self.resend_from, after) {
            // Sent ahead only after a clean answer: the batch before settled in order. Without
            // a batch ahead, the oldest unsettled rows.
            (_, Some(_)) | (None, None) => {
                Ok(outbox::unsettled_after(conn, after.unwrap_or(0), limit)?)
            }
            (Some(from), None) => resend_page(conn, from, limit),
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
            bytes,
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
                // A refused push chain is a stop, not a failed batch: it is never withdrawn.
                let journal_break = e.journal_break();
                if let Some(why) = &journal_break {
                    persisted::set_journal_break(&tx, why)?;
                }
                tx.commit()?;
                if let Some(why) = journal_break {
                    return Err(SyncError::JournalBreak(why));
                }
                if matches!(e, TransportError::NoAnswer(_)) {
                    // As if answered when it gave up: the link is at best that slow.
                    self.link.answered(bytes, started.elapsed());
                    self.size.unanswered();
                }
                self.suspect(&batch, &e);
                return Err(e.into());
            }
        };
        let elapsed = started.elapsed();
        self.link.answered(bytes, elapsed);
        let round_trip_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let received_at = clock.now_ms();
        let offset = response.server_time_ms - (sent_at + received_at) / 2;
        let numbering = numbering(conn)?;
        let withdrawal = self.withdrawal.take();
        let mut plan = outcomes::plan(&batch, &response, numbering);
        match &withdrawal {
            Some(w) => {
                record_withdrawal(&mut plan, w);
                self.poison.withdrawn();
            }
            None => self.poison.answered(batch.len()),
        }
        if let Some(next) = next {
            if clean(&batch, &response, numbering) && plan.diverged.is_none() {
                self.ahead = Some(self.start(conn, transport, clock, next).await);
            } else {
                // Never sent: the rows go back to waiting, and follow this answer's verdict.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                reset_to_pending(&tx, &next.batch, clock.now_ms())?;
                tx.commit()?;
            }
        }
        let mut writer = Writer {
            conn,
            give_way: &mut self.give_way,
            checkpointer: &mut self.checkpointer,
            policies,
            clock,
        };
        let quiet = self.ahead.is_none();
        writer.apply(&plan, &response, offset, quiet).await?;
        self.resend_from = plan.resend_from()?;
        let mut report = plan.report;
        report.round_trip_ms = round_trip_ms;
        report.clock_offset_ms = Some(offset);
        let all_settled = report.settled == report.sent;
        self.size.answered(all_settled, round_trip_ms);
        if let Some(link) = self.link.quality() {
            let item_bytes = bytes / batch.len().max(1);
            self.size
                .suit(all_settled, batch_for(link, item_bytes as u64, self.timing));
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
        // While an item is isolated, each batch waits for the answer before it.
        if after.is_some() && (self.poison.limit().is_some() || self.withdrawal.is_some()) {
            return Ok(None);
        }
        let batch = self.page(conn, after)?;
        // The item to withdraw is still the oldest unsettled one (not settled meanwhile).
        if self.withdrawal.as_ref().map(|w| w.seq) != batch.first().map(|e| e.seq) {
            self.withdrawal = None;
        }
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
            let numbered = numbering(conn)?.numbered;
            if ack.last_applied_seq > numbered {
                let why = format!(
                    "this till's history differs from the back office's (a restored or copied \
                     data dir?): it settled {} mutations of this terminal, this till numbered \
                     {numbered}; enrol this till as a new terminal to deliver its sales",
                    ack.last_applied_seq
                );
                persisted::set_diverged(conn, &why)?;
                return Err(SyncError::Diverged(why));
            }
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
        let withdraw = self.withdrawal.as_ref().map(|w| w.mutation_id);
        let head = push_chain::head(conn)?;
        let body = request_body(self.terminal_id, &batch, withdraw, head.as_ref());
        Ok(Some(Prepared { batch, body }))
    }

    /// Counts a failure of `batch` against it when the batch itself may be what fails, and
    /// marks its first row for withdrawal once that row failed alone time and again.
    fn suspect(&mut self, batch: &[OutboxEntry], error: &TransportError) {
        let Some(first) = batch.first().filter(|_| error.may_be_the_batch()) else {
            return;
        };
        if self.poison.failed(first.seq, batch.len()) == Verdict::Withdraw {
            let (code, message) = error.reason();
            tracing::warn!(
                seq = first.seq,
                %code,
                "the back office fails on this item every time; it is withdrawn to the failed list"
            );
            self.withdrawal = Some(Withdrawal {
                seq: first.seq,
                mutation_id: first.mutation_id,
                code,
                message,
            });
        }
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
        let bytes = body.len();
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
            bytes,
            request,
            sent_at,
            started,
        }
    }
}

/// The page resent after a gap: the unsettled rows from `from`, the sequence the back office
/// expects next. A row settled here (applied, failed, in conflict, discarded) is never sent
/// again, so a manager's discard never comes back and a conflict is never detected (and its
/// policy run) twice. When the back office expects such a row, or one this till no longer holds,
/// its history is behind this till's: sync stops and says so.
fn resend_page(conn: &Connection, from: u64, limit: u32) -> Result<Vec<OutboxEntry>, SyncError> {
    let page = outbox::unsettled_after(conn, from.saturating_sub(1), limit)?;
    if page.first().map(|e| e.seq) == Some(from) {
        return Ok(page);
    }
    let held = match outbox::get(conn, from)? {
        Some(entry) => format!("which this till settled as {}", entry.state.as_str()),
        None => "which this till no longer holds".to_string(),
    };
    Err(SyncError::Protocol(format!(
        "the back office expects mutation {from} next, {held}; a settled item is never sent \
         again, so sync stops until someone looks at it"
    )))
}

/// How often sending yields to the request task before checkpointing: enough for the HTTP
/// client to hand the body to the socket.
const REQUEST_YIELDS: usize = 4;

/// An answer slower than this does not grow the batch.
const QUICK_ANSWER_MS: u64 = 2_000;

/// How many mutations go in one request: doubles while the server keeps up, halves after a
/// request that went unanswered, never beyond what the link carries in a batch's target time,
/// always between 1 and the largest batch allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchSize {
    current: usize,
    max: usize,
}

impl BatchSize {
    fn new(first: usize, max: usize) -> Self {
        let max = max.clamp(1, till_protocol::MAX_PUSH_BATCH);
        BatchSize {
            current: first.clamp(1, max),
            max,
        }
    }

    /// After an answer: every item settled, quickly, means the server keeps up, so the next
    /// request carries more.
    fn answered(&mut self, all_settled: bool, round_trip_ms: u64) {
        if all_settled && round_trip_ms < QUICK_ANSWER_MS {
            self.current = (self.current * 2).min(self.max);
        }
    }

    /// After a request that got no answer (a timeout, a cut connection): smaller requests.
    fn unanswered(&mut self) {
        self.current = (self.current / 2).max(1);
    }

    /// After an answer on a link measured to suit batches of `suits`: at once down to it when
    /// the batch is larger; doubling towards it when smaller and every item settled, even
    /// when answers are slow (a long round trip wants a bigger batch, not a smaller one).
    fn suit(&mut self, all_settled: bool, suits: usize) {
        let suits = suits.clamp(1, self.max);
        if self.current > suits {
            self.current = suits;
        } else if all_settled {
            self.current = (self.current * 2).min(suits);
        }
    }
}

/// How this till's rows are numbered for the back office now.
fn numbering(conn: &Connection) -> Result<Numbering, SyncError> {
    Ok(Numbering {
        base: outbox::seq_base(conn)?,
        numbered: outbox::numbered(conn)?,
    })
}

/// An answer with one in-order result per item and no gap: the batch after it can be sent
/// before this one is applied (unless it shows another history, see [`outcomes::plan`]).
fn clean(batch: &[OutboxEntry], response: &PushResponse, numbering: Numbering) -> bool {
    response.results.len() == batch.len()
        && batch.iter().zip(&response.results).all(|(e, r)| {
            numbering.wire(e) == r.seq
                && e.mutation_id == r.mutation_id
                && !matches!(r.outcome, Outcome::Gap { .. })
        })
}

/// The withdrawn row goes to the failed list with the failure the server met on it, not the
/// server's word for withdrawing it.
fn record_withdrawal<'a>(plan: &mut outcomes::Plan<'a>, withdrawal: &'a Withdrawal) {
    for (entry, settle) in &mut plan.rows {
        let withdrawn = matches!(settle, Settle::Rejected { code, .. } if *code == "withdrawn");
        if entry.seq == withdrawal.seq && withdrawn {
            *settle = Settle::Rejected {
                code: &withdrawal.code,
                message: &withdrawal.message,
            };
        }
    }
}

/// `{"terminal_id": …, "mutations": [payload, …]}` from the stored bytes, unparsed, and the
/// mutation to `withdraw`, if any.
fn request_body(
    terminal_id: Uuid,
    batch: &[OutboxEntry],
    withdraw: Option<Uuid>,
    head: Option<&ChainHead>,
) -> Vec<u8> {
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
    body.push(b']');
    if let Some(id) = withdraw {
        body.extend_from_slice(b",\"withdraw\":[\"");
        body.extend_from_slice(id.to_string().as_bytes());
        body.extend_from_slice(b"\"]");
    }
    if let Some(head) = head {
        // A head is a number and 64 hex digits: it always serialises.
        if let Ok(json) = serde_json::to_vec(head) {
            body.extend_from_slice(b",\"head\":");
            body.extend_from_slice(&json);
        }
    }
    body.push(b'}');
    body
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{answer, entry};
    use super::*;

    fn applied(seq: u64) -> Outcome {
        Outcome::Applied {
            server_id: i64::try_from(seq).unwrap_or(0),
            server_number: Some(seq),
            version: 1,
        }
    }

    #[test]
    fn the_batch_grows_while_the_server_keeps_up_and_shrinks_when_it_does_not_answer() {
        let mut size = BatchSize::new(100, 400);
        size.answered(true, 50);
        assert_eq!(size.current, 200, "a quick, complete answer doubles it");
        size.answered(true, 50);
        size.answered(true, 50);
        assert_eq!(size.current, 400, "never above the largest batch");
        size.answered(false, 50);
        size.answered(true, QUICK_ANSWER_MS);
        assert_eq!(
            size.current, 400,
            "an answer with unsettled items or a slow one does not grow it"
        );
        size.unanswered();
        assert_eq!(size.current, 200, "a request without an answer halves it");
        let mut one = BatchSize::new(0, 0);
        one.unanswered();
        assert_eq!(one, BatchSize { current: 1, max: 1 }, "never below one");
        assert_eq!(
            BatchSize::new(10, usize::MAX).max,
            till_protocol::MAX_PUSH_BATCH,
            "never above the protocol's limit"
        );
    }

    #[test]
    fn the_batch_follows_what_the_link_carries() {
        let mut size = BatchSize::new(100, 1000);
        size.suit(true, 52);
        assert_eq!(size.current, 52, "down to the link at once");
        size.suit(true, 300);
        assert_eq!(size.current, 104, "up towards it by doubling");
        size.suit(false, 300);
        assert_eq!(size.current, 104, "not while items stay unsettled");
        size.suit(true, 300);
        assert_eq!(size.current, 208);
        size.suit(true, 300);
        assert_eq!(size.current, 300, "never beyond it");
        size.suit(true, 5000);
        assert_eq!(size.current, 600);
        size.suit(true, 5000);
        assert_eq!(size.current, 1000, "nor beyond the largest batch");
        size.suit(true, 0);
        assert_eq!(size.current, 1, "at least one");
    }

    #[test]
    fn only_a_complete_in_order_answer_without_a_gap_lets_the_next_batch_go_ahead() {
        let batch: Vec<OutboxEntry> = (1..=3).map(entry).collect();
        assert!(clean(
            &batch,
            &answer(&batch, applied),
            Numbering::default()
        ));
        let mut short = answer(&batch, applied);
        short.results.pop();
        assert!(
            !clean(&batch, &short, Numbering::default()),
            "a missing result"
        );
        let gap = answer(&batch, |seq| match seq {
            2 => Outcome::Gap { expected_seq: 1 },
            _ => applied(seq),
        });
        assert!(
            !clean(&batch, &gap, Numbering::default()),
            "a gap resends from the server's point"
        );
        let mut swapped = answer(&batch, applied);
        swapped.results.swap(0, 1);
        assert!(
            !clean(&batch, &swapped, Numbering::default()),
            "results out of order"
        );
    }

    /// A store with `states.len()` queued mutations, the n-th in `states[n - 1]`.
    fn outbox_in(states: &[OutboxState]) -> Connection {
        let mut conn = Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        let hlc = till_protocol::Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        for (i, state) in states.iter().enumerate() {
            let body =
                till_protocol::MutationBody::CustomerDeleted(till_protocol::CustomerDeleted {
                    id: Uuid::now_v7(),
                    base_version: 1,
                    base: None,
                });
            let m = outbox::enqueue(&conn, body, None, hlc, 1).expect("queues");
            assert_eq!(m.seq, i as u64 + 1);
            outbox::set_state(&conn, m.seq, *state, None, None, 1).expect("sets");
        }
        conn
    }

    #[test]
    fn a_resend_after_a_gap_sends_only_rows_still_unsettled() {
        use OutboxState::*;
        let seqs = |page: Vec<OutboxEntry>| page.iter().map(|e| e.seq).collect::<Vec<_>>();
        let conn = outbox_in(&[Applied, Pending, Discarded, Conflict, InFlight, Pending]);
        assert_eq!(
            resend_page(&conn, 2, 100).map(seqs).ok(),
            Some(vec![2, 5, 6]),
            "a discarded row never comes back, a conflict is never sent (and judged) twice"
        );
        for (from, says) in [
            (1, "settled as applied"),
            (3, "settled as discarded"),
            (4, "settled as conflict"),
            (9, "no longer holds"),
        ] {
            let stop = resend_page(&conn, from, 100).expect_err("nothing settled is resent");
            assert!(
                matches!(&stop, SyncError::Protocol(m) if m.contains(says)),
                "the back office expecting {from}: {stop}"
            );
        }
    }

    #[test]
    fn the_request_body_carries_the_stored_payloads_byte_for_byte() {
        let terminal = Uuid::now_v7();
        let batch: Vec<OutboxEntry> = (7..=8).map(entry).collect();
        let body = request_body(terminal, &batch, None, None);
        assert_eq!(
            String::from_utf8_lossy(&body),
            format!(
                "{{\"terminal_id\":\"{terminal}\",\"mutations\":[{{\"seq\":7}},{{\"seq\":8}}]}}"
            ),
            "a resend is byte-identical to the first send"
        );
        let withdrawn = batch[1].mutation_id;
        let head = ChainHead {
            seq: 12,
            link: till_protocol::chain::GENESIS.into(),
        };
        let body = request_body(terminal, &batch[1..], Some(withdrawn), Some(&head));
        let request: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            request["withdraw"],
            serde_json::json!([withdrawn]),
            "the item given up on is named: {request}"
        );
        assert_eq!(
            request["head"],
            serde_json::json!({"seq": 12, "link": head.link}),
            "the till's newest link is named, beyond the batch: {request}"
        );
    }
}
