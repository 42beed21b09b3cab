//! Writing a push [`Plan`] down: [`Writer::apply`] carries it out on the engine's connection in
//! short transactions, looking up in the store only what a row's write needs (the failed item a
//! rejected one builds on, the base of a conflicting customer): the outbox row settles, an
//! applied ticket records the back office's identity, a conflict or a disputed reversal goes to
//! the conflict table, and a diverged history stops sync until the till is enrolled anew.

use rusqlite::{params, Connection};
use till_protocol::shift::Reconciliation;
use till_protocol::{ConflictCurrent, Mutation, MutationBody, Outcome, PushResponse, ReversalInfo};
use uuid::Uuid;

use crate::outbox::{self, OutboxEntry, OutboxState};
use crate::push_chain;
use crate::shifts;
use crate::store::wal::{self, let_writers_in, Checkpointer, WRITE_CHUNK};
use crate::Clock;

use super::super::conflicts::{
    self, ConflictEntity, ConflictReason as LocalConflictReason, CustomerSides, Detected,
    LocalEdit, LocalReason, PolicySet, ShiftSides, Sides, TicketSides,
};
use super::super::customers;
use super::super::error::SyncError;
use super::super::give_way::GiveWay;
use super::super::persisted;
use super::outcomes::{is_ticket, Plan, Settle};

/// Carries out a [`Plan`] on the engine's connection, in transactions of at most
/// [`WRITE_CHUNK`] rows, giving way to the cashier before each.
pub struct Writer<'a> {
    pub conn: &'a mut Connection,
    pub give_way: &'a mut GiveWay,
    pub checkpointer: &'a mut Checkpointer,
    pub policies: &'a PolicySet,
    pub clock: &'a dyn Clock,
}

impl Writer<'_> {
    /// Writes every row of `plan`; the batch's bookkeeping (the clock offset of this round trip,
    /// what the server says it applied) rides in the last transaction. `quiet`: nothing is sent
    /// behind this batch, so its writes are checkpointed at once.
    pub async fn apply(
        &mut self,
        plan: &Plan<'_>,
        response: &PushResponse,
        clock_offset_ms: i64,
        quiet: bool,
    ) -> Result<(), SyncError> {
        let (policies, clock) = (self.policies, self.clock);
        let now = clock.now_ms();
        let chunks = plan.rows.chunks(WRITE_CHUNK).count();
        for (index, chunk) in plan.rows.chunks(WRITE_CHUNK).enumerate() {
            // Between chunks the request sent ahead gets its turn on a single-threaded runtime,
            // and a ring-up waiting for the lock gets it.
            tokio::task::yield_now().await;
            if index > 0 {
                let_writers_in().await;
            }
            self.give_way.before_write(self.conn).await?;
            let last = index + 1 == chunks;
            // A conflict may be settled by its policy at once, queueing a new mutation: that
            // sequence number must survive a power cut like a sale's. So must the stop of a
            // diverged history.
            let durable = (last && plan.diverged.is_some())
                || chunk
                    .iter()
                    .any(|(_, settle)| matches!(settle, Settle::Conflict { .. }));
            wal::write(self.conn, durable, |tx| {
                if last {
                    persisted::set_clock_offset(tx, clock_offset_ms)?;
                    persisted::set_server_acked(tx, response.last_applied_seq)?;
                    if let Some(head) = &response.head {
                        push_chain::record_server_head(tx, head)?;
                    }
                    if let Some(why) = &plan.diverged {
                        persisted::set_diverged(tx, why)?;
                    }
                }
                for (entry, settle) in chunk {
                    write(tx, entry, settle, now, policies, clock)?;
                }
                Ok::<_, SyncError>(())
            })?;
            self.checkpointer
                .wrote(self.conn, chunk.len(), last && quiet);
        }
        Ok(())
    }
}

/// Writes what becomes of one row.
fn write(
    tx: &Connection,
    entry: &OutboxEntry,
    settle: &Settle<'_>,
    now: i64,
    policies: &PolicySet,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    match settle {
        Settle::Applied {
            outcome,
            server_id,
            server_number,
            version,
            totals_differ,
        } => {
            keep_answer(tx, entry.seq, OutboxState::Applied, outcome, now)?;
            if let Some(sides) = totals_differ {
                let detected = Detected {
                    entity_id: entry.entity_id,
                    outbox_seq: Some(entry.seq),
                    reason: LocalConflictReason::Local(LocalReason::TotalsDiffer),
                    sides: Sides::Totals(sides.clone()),
                };
                conflicts::record(tx, policies, detected, clock)?;
            }
            if is_ticket(entry) {
                record_ticket(
                    tx,
                    entry.entity_id,
                    *server_id,
                    *server_number,
                    *version,
                    now,
                )?;
            } else {
                let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
                on_applied(tx, &mutation, *version)?;
            }
        }
        Settle::Disputed {
            outcome,
            server_id,
            server_number,
            first,
        } => {
            keep_answer(tx, entry.seq, OutboxState::Applied, outcome, now)?;
            record_ticket(tx, entry.entity_id, *server_id, *server_number, 1, now)?;
            let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
            let detected = disputed_reversal(entry, &mutation, first);
            conflicts::record(tx, policies, detected, clock)?;
        }
        Settle::Conflict {
            outcome,
            reason,
            current,
        } => {
            keep_answer(tx, entry.seq, OutboxState::Conflict, outcome, now)?;
            let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
            on_shift_mismatch(tx, &mutation, current)?;
            let detected = conflict_from_push(tx, entry, &mutation, *reason, current)?;
            conflicts::record(tx, policies, detected, clock)?;
        }
        Settle::Rejected { code, message } => {
            let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
            match failed_dependency(tx, entry.seq, &mutation)? {
                Some(parent) => {
                    set_failed(
                        tx,
                        entry.seq,
                        "depends_on_failed",
                        &format!("waits for item {parent} ({code}: {message})"),
                        now,
                    )?;
                    outbox::set_depends_on(tx, entry.seq, parent)?;
                }
                None => set_failed(tx, entry.seq, code, message, now)?,
            }
        }
        Settle::Mismatch { message } => set_failed(tx, entry.seq, "mismatch", message, now)?,
        Settle::Unexpected => {
            set_failed(tx, entry.seq, "unexpected_outcome", "nested duplicate", now)?
        }
        Settle::Requeue => reset_to_pending(tx, std::slice::from_ref(entry), now)?,
    }
    if entry.kind.starts_with("customer_") {
        conflicts::decide_waiting(
            tx,
            policies,
            ConflictEntity::Customer,
            entry.entity_id,
            clock,
        )?;
    }
    Ok(())
}

/// Settles row `seq` in `state`, keeping the server's answer as given.
fn keep_answer(
    conn: &Connection,
    seq: u64,
    state: OutboxState,
    outcome: &Outcome,
    now: i64,
) -> Result<(), SyncError> {
    let result = serde_json::to_string(outcome)?;
    Ok(outbox::set_state(
        conn,
        seq,
        state,
        Some(&result),
        None,
        now,
    )?)
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
pub(super) fn reset_to_pending(
    conn: &Connection,
    batch: &[OutboxEntry],
    now: i64,
) -> Result<(), SyncError> {
    Ok(outbox::reset_to_pending(
        conn,
        batch.iter().map(|e| e.seq),
        now,
    )?)
}

/// The failed item the mutation of row `seq` builds on, if any: the sale a void or refund
/// reverses, or an earlier change of the same customer.
fn failed_dependency(
    conn: &Connection,
    seq: u64,
    mutation: &Mutation,
) -> Result<Option<u64>, SyncError> {
    let parent = match &mutation.body {
        MutationBody::TicketVoided(t) | MutationBody::TicketRefunded(t) => t.reverses,
        MutationBody::CustomerUpdated(c) => Some(c.id),
        MutationBody::CustomerDeleted(c) => Some(c.id),
        _ => None,
    };
    let Some(parent) = parent else {
        return Ok(None);
    };
    Ok(outbox::last_failed_before(conn, parent, seq)?)
}

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
fn on_applied(conn: &Connection, mutation: &Mutation, version: u64) -> Result<(), SyncError> {
    match &mutation.body {
        MutationBody::TicketCreated(_)
        | MutationBody::TicketVoided(_)
        | MutationBody::TicketRefunded(_) => {}
        MutationBody::CustomerCreated(c) => {
            customers::mark_applied(conn, c.id, mutation, version, Some(&c.fields))?
        }
        MutationBody::CustomerUpdated(c) => {
            customers::mark_applied(conn, c.id, mutation, version, Some(&c.fields))?
        }
        MutationBody::CustomerDeleted(c) => {
            customers::mark_applied(conn, c.id, mutation, version, None)?
        }
        MutationBody::ShiftClosed(s) => {
            shifts::reconciled(conn, s.shift_id, &Reconciliation::Matched)?
        }
        MutationBody::DisputeSettled(_)
        | MutationBody::ShiftOpened(_)
        | MutationBody::CashMoved(_) => {}
    }
    Ok(())
}

/// A closed shift the back office answered with a `shift_mismatch`: what differs, kept with the
/// shift (the conflict itself, about the shift, is recorded for a manager like any other).
fn on_shift_mismatch(
    conn: &Connection,
    mutation: &Mutation,
    current: &Option<ConflictCurrent>,
) -> Result<(), SyncError> {
    if let (MutationBody::ShiftClosed(s), Some(ConflictCurrent::Shift(m))) =
        (&mutation.body, current)
    {
        shifts::reconciled(conn, s.shift_id, &Reconciliation::Mismatch(m.clone()))?;
    }
    Ok(())
}

/// The disputed reversal a `disputed` answer reports: this terminal's void or refund, and the
/// reversal the back office holds from before.
fn disputed_reversal(entry: &OutboxEntry, mutation: &Mutation, first: &ReversalInfo) -> Detected {
    let mine = match &mutation.body {
        MutationBody::TicketVoided(t) | MutationBody::TicketRefunded(t) => Some(t.clone()),
        _ => None,
    };
    Detected {
        entity_id: entry.entity_id,
        outbox_seq: Some(entry.seq),
        reason: LocalConflictReason::Local(LocalReason::DisputedReversal),
        sides: Sides::Ticket(TicketSides {
            mine,
            theirs: Some(first.clone()),
        }),
    }
}

/// The reversal the back office holds, from a conflict's current copy.
fn reversal(current: &Option<ConflictCurrent>) -> Option<ReversalInfo> {
    match current {
        Some(ConflictCurrent::Reversal(r)) => Some(r.clone()),
        _ => None,
    }
}

/// The conflict a push answer reports, typed: this terminal's side from the mutation sent, the
/// server's from its current copy (a deleted customer has none; a closed shift's is what the back
/// office found different), the base the local edit started from.
fn conflict_from_push(
    conn: &Connection,
    entry: &OutboxEntry,
    mutation: &Mutation,
    reason: till_protocol::ConflictReason,
    current: &Option<ConflictCurrent>,
) -> Result<Detected, SyncError> {
    let changed = customers::changed_by(conn, mutation)?;
    customers::forget_edit_base(conn, mutation.id)?;
    let local_edit = |fields: &till_protocol::CustomerFields| LocalEdit {
        fields: fields.clone(),
        hlc: Some(mutation.hlc),
        changed: changed.clone(),
    };
    let customer = |mine: Option<LocalEdit>| -> Result<Sides, SyncError> {
        Ok(Sides::Customer(CustomerSides {
            mine,
            // A tombstone is no side to merge with: the server's side is "deleted".
            theirs: match current {
                Some(ConflictCurrent::Customer(c))
                    if reason != till_protocol::ConflictReason::Deleted =>
                {
                    Some(c.clone())
                }
                _ => None,
            },
            base: customers::base(conn, entry.entity_id)?,
        }))
    };
    let sides = match &mutation.body {
        MutationBody::CustomerCreated(c) => customer(Some(local_edit(&c.fields)))?,
        MutationBody::CustomerUpdated(c) => customer(Some(local_edit(&c.fields)))?,
        MutationBody::CustomerDeleted(_) => customer(None)?,
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => Sides::Ticket(TicketSides {
            mine: Some(t.clone()),
            theirs: reversal(current),
        }),
        MutationBody::ShiftClosed(z) => Sides::Shift(ShiftSides {
            mine: Some(z.clone()),
            theirs: match current {
                Some(ConflictCurrent::Shift(m)) => Some(m.clone()),
                _ => None,
            },
        }),
        MutationBody::DisputeSettled(_)
        | MutationBody::ShiftOpened(_)
        | MutationBody::CashMoved(_) => Sides::Ticket(TicketSides {
            mine: None,
            theirs: reversal(current),
        }),
    };
    Ok(Detected {
        entity_id: entry.entity_id,
        outbox_seq: Some(entry.seq),
        reason: LocalConflictReason::Server(reason),
        sides,
    })
}
