//! What a push answer means for each row of its batch, and writing it down.
//!
//! [`plan`] decides from the batch and the answer alone, without the store: which row the
//! server applied, which conflicts, which it rejected, which go back to waiting (no result for
//! them, or at and after a gap), and what the batch adds up to. [`Writer::apply`] then carries
//! the plan out in short transactions, looking up in the store only what a row's write needs (the
//! failed item a rejected one builds on, the base of a conflicting customer).

use rusqlite::{params, Connection};
use till_protocol::{
    ConflictCurrent, ConflictReason, Mutation, MutationBody, Outcome, PushResponse, ReversalInfo,
};
use uuid::Uuid;

use crate::outbox::{self, OutboxEntry, OutboxState};
use crate::store::wal::{self, let_writers_in, Checkpointer, WRITE_CHUNK};
use crate::Clock;

use super::super::conflicts::{
    self, ConflictEntity, ConflictReason as LocalConflictReason, CustomerSides, Detected,
    LocalEdit, LocalReason, PolicySet, Sides, TicketSides,
};
use super::super::customers;
use super::super::error::SyncError;
use super::super::give_way::GiveWay;
use super::super::persisted;
use super::BatchReport;

/// What becomes of one row of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Settle<'a> {
    /// The server applied it, now or before (a duplicate answers with the original outcome).
    /// `outcome` is the answer as given, kept with the row.
    Applied {
        outcome: &'a Outcome,
        server_id: i64,
        server_number: Option<u64>,
        version: u64,
    },
    /// A reversal of a sale already reversed elsewhere: stored and counted by the server, and a
    /// disputed reversal for a manager here.
    Disputed {
        outcome: &'a Outcome,
        server_id: i64,
        server_number: Option<u64>,
        first: &'a ReversalInfo,
    },
    /// The server's copy moved on: a conflict for a person or a policy to settle.
    Conflict {
        outcome: &'a Outcome,
        reason: ConflictReason,
        current: &'a Option<ConflictCurrent>,
    },
    /// Refused for good: to the failed list, or waiting there for the failed item it builds on.
    Rejected { code: &'a str, message: &'a str },
    /// The id was settled before with another payload: to the failed list.
    Mismatch { message: &'a str },
    /// A duplicate whose original is a duplicate again, which the protocol rules out.
    Unexpected,
    /// Not settled: no result came for it, or it sits at or after a gap. Back to waiting.
    Requeue,
}

/// What an answer means for its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'a> {
    /// One per row of the batch, in the batch's order.
    pub rows: Vec<(&'a OutboxEntry, Settle<'a>)>,
    /// What the batch adds up to (the round trip and clock offset are the caller's).
    pub report: BatchReport,
    /// The sequence the server expects next, after a gap.
    gap: Option<u64>,
    /// Rows the server refused as a mismatch.
    mismatched: Vec<u64>,
}

impl Plan<'_> {
    /// Where the next batch starts after a gap (`None`: the oldest unsettled rows), or a
    /// protocol error when the server expects next a mutation it refuses as a mismatch:
    /// resending would meet the same refusal forever, so sync stops and shows why.
    pub fn resend_from(&self) -> Result<Option<u64>, SyncError> {
        match self.gap {
            Some(expected) if self.mismatched.contains(&expected) => {
                Err(SyncError::Protocol(format!(
                    "the back office needs mutation {expected} next but refuses it as a mismatch \
                     (was this data dir enrolled elsewhere, or the server restored from a backup?); \
                     sync stops until someone looks at it"
                )))
            }
            gap => Ok(gap),
        }
    }
}

/// Decides what becomes of each row of `batch` from the server's `response`. Results come in
/// the order sent; one for a mutation not in the batch is skipped (and logged).
pub fn plan<'a>(batch: &'a [OutboxEntry], response: &'a PushResponse) -> Plan<'a> {
    let mut plan = Plan {
        rows: Vec::with_capacity(batch.len()),
        report: BatchReport {
            sent: batch.len() as u64,
            ..BatchReport::default()
        },
        gap: None,
        mismatched: Vec::new(),
    };
    let mut results = response.results.iter().peekable();
    for entry in batch {
        while results.peek().is_some_and(|r| r.seq < entry.seq) {
            if let Some(stray) = results.next() {
                tracing::warn!(seq = stray.seq, "result for a mutation not in the batch");
            }
        }
        let result = match results.peek() {
            Some(r) if r.seq == entry.seq && r.mutation_id == entry.mutation_id => results.next(),
            _ => None,
        };
        let settle = match result {
            None => {
                tracing::warn!(
                    seq = entry.seq,
                    "no result for a mutation sent; it stays queued"
                );
                Settle::Requeue
            }
            Some(_) if plan.gap.is_some() => Settle::Requeue,
            Some(result) => settle(entry, &result.outcome, &mut plan),
        };
        plan.rows.push((entry, settle));
    }
    plan
}

/// What `outcome` means for `entry`, counted into `plan`.
fn settle<'a>(entry: &'a OutboxEntry, outcome: &'a Outcome, plan: &mut Plan<'a>) -> Settle<'a> {
    let original = match outcome {
        Outcome::Duplicate { original } => original.as_ref(),
        other => other,
    };
    let report = &mut plan.report;
    let settle = match original {
        Outcome::Applied {
            server_id,
            server_number,
            version,
        } => {
            if is_ticket(entry) {
                report
                    .synced_tickets
                    .push((entry.entity_id, *server_number));
            }
            Settle::Applied {
                outcome,
                server_id: *server_id,
                server_number: *server_number,
                version: *version,
            }
        }
        Outcome::Disputed {
            server_id,
            server_number,
            first,
        } => {
            report
                .synced_tickets
                .push((entry.entity_id, *server_number));
            report.conflicts += 1;
            Settle::Disputed {
                outcome,
                server_id: *server_id,
                server_number: *server_number,
                first,
            }
        }
        Outcome::Conflict { reason, current } => {
            report.conflicts += 1;
            Settle::Conflict {
                outcome,
                reason: *reason,
                current,
            }
        }
        Outcome::Rejected { code, message } => {
            report.failed += 1;
            Settle::Rejected { code, message }
        }
        Outcome::Mismatch { message } => {
            plan.mismatched.push(entry.seq);
            report.failed += 1;
            Settle::Mismatch { message }
        }
        Outcome::Gap { expected_seq } => {
            tracing::warn!(expected_seq, sent = entry.seq, "sequence gap; resending");
            plan.gap = Some(*expected_seq);
            return Settle::Requeue;
        }
        Outcome::Duplicate { .. } => {
            report.failed += 1;
            Settle::Unexpected
        }
    };
    report.settled += 1;
    settle
}

/// Whether the row's entity is a ticket (a sale, void or refund): its identity is the row's
/// entity id, so its payload need not be parsed.
fn is_ticket(entry: &OutboxEntry) -> bool {
    entry.kind.starts_with("ticket_")
}

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
            // sequence number must survive a power cut like a sale's.
            let durable = chunk
                .iter()
                .any(|(_, settle)| matches!(settle, Settle::Conflict { .. }));
            wal::write(self.conn, durable, |tx| {
                if last {
                    persisted::set_clock_offset(tx, clock_offset_ms)?;
                    persisted::set_server_acked(tx, response.last_applied_seq)?;
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
        } => {
            keep_answer(tx, entry.seq, OutboxState::Applied, outcome, now)?;
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
            let detected = conflict_from_push(tx, entry, &mutation, *reason, current)?;
            conflicts::record(tx, policies, detected, clock)?;
        }
        Settle::Rejected { code, message } => {
            let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
            match failed_dependency(tx, &mutation)? {
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
    let made_by = mutation.id;
    match &mutation.body {
        MutationBody::TicketCreated(_)
        | MutationBody::TicketVoided(_)
        | MutationBody::TicketRefunded(_) => {}
        MutationBody::CustomerCreated(c) => {
            customers::mark_applied(conn, c.id, made_by, version, Some(&c.fields))?
        }
        MutationBody::CustomerUpdated(c) => {
            customers::mark_applied(conn, c.id, made_by, version, Some(&c.fields))?
        }
        MutationBody::CustomerDeleted(c) => {
            customers::mark_applied(conn, c.id, made_by, version, None)?
        }
        MutationBody::DisputeSettled(_) => {}
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
/// server's from its current copy (a deleted customer has none), the base the local edit started
/// from.
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
        MutationBody::DisputeSettled(_) => Sides::Ticket(TicketSides {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{answer, entry};
    use super::*;

    fn applied(seq: u64) -> Outcome {
        Outcome::Applied {
            server_id: 100 + i64::try_from(seq).unwrap_or(0),
            server_number: Some(seq),
            version: 1,
        }
    }

    fn kinds(plan: &Plan<'_>) -> Vec<&'static str> {
        plan.rows
            .iter()
            .map(|(_, settle)| match settle {
                Settle::Applied { .. } => "applied",
                Settle::Disputed { .. } => "disputed",
                Settle::Conflict { .. } => "conflict",
                Settle::Rejected { .. } => "rejected",
                Settle::Mismatch { .. } => "mismatch",
                Settle::Unexpected => "unexpected",
                Settle::Requeue => "requeue",
            })
            .collect()
    }

    #[test]
    fn each_outcome_settles_its_row_and_counts_once() {
        let mut batch: Vec<OutboxEntry> = (1..=6).map(entry).collect();
        batch[0].kind = "customer_created".into();
        let response = answer(&batch, |seq| match seq {
            1 => applied(1),
            2 => Outcome::Duplicate {
                original: Box::new(applied(2)),
            },
            3 => Outcome::Conflict {
                reason: ConflictReason::StaleVersion,
                current: None,
            },
            4 => Outcome::Rejected {
                code: "invalid_ticket".into(),
                message: "no lines".into(),
            },
            5 => Outcome::Duplicate {
                original: Box::new(Outcome::Duplicate {
                    original: Box::new(applied(5)),
                }),
            },
            _ => Outcome::Mismatch {
                message: "another payload".into(),
            },
        });
        let plan = plan(&batch, &response);
        assert_eq!(
            kinds(&plan),
            [
                "applied",
                "applied",
                "conflict",
                "rejected",
                "unexpected",
                "mismatch"
            ],
            "a duplicate settles as its original"
        );
        assert_eq!(
            (
                plan.report.sent,
                plan.report.settled,
                plan.report.conflicts,
                plan.report.failed
            ),
            (6, 6, 1, 3)
        );
        assert_eq!(
            plan.report.synced_tickets,
            [(batch[1].entity_id, Some(2))],
            "tickets the server holds are announced, a replayed one too; customers are not"
        );
        assert!(
            matches!(
                plan.rows[1].1,
                Settle::Applied {
                    outcome: Outcome::Duplicate { .. },
                    ..
                }
            ),
            "the row keeps the answer as given"
        );
        assert_eq!(
            plan.resend_from().ok(),
            Some(None),
            "no gap, no resend point"
        );
    }

    #[test]
    fn a_disputed_reversal_is_synced_and_counted_as_a_conflict_for_a_manager() {
        let batch: Vec<OutboxEntry> = (1..=1).map(entry).collect();
        let first = ReversalInfo {
            ticket_id: Uuid::now_v7(),
            kind: till_protocol::TicketKind::Refund,
            terminal_id: None,
            total: None,
        };
        let response = answer(&batch, |_| Outcome::Disputed {
            server_id: 8,
            server_number: Some(40),
            first: first.clone(),
        });
        let plan = plan(&batch, &response);
        assert_eq!(kinds(&plan), ["disputed"]);
        assert_eq!(
            plan.report.synced_tickets,
            [(batch[0].entity_id, Some(40))],
            "the back office holds it"
        );
        assert_eq!((plan.report.settled, plan.report.conflicts), (1, 1));
    }

    #[test]
    fn a_gap_sends_its_row_and_every_later_one_back_to_waiting() {
        let batch: Vec<OutboxEntry> = (5..=8).map(entry).collect();
        let response = answer(&batch, |seq| match seq {
            5 => applied(5),
            6 => Outcome::Gap { expected_seq: 4 },
            _ => applied(seq),
        });
        let plan = plan(&batch, &response);
        assert_eq!(kinds(&plan), ["applied", "requeue", "requeue", "requeue"]);
        assert_eq!(plan.report.settled, 1, "nothing after a gap was applied");
        assert_eq!(
            plan.resend_from().ok(),
            Some(Some(4)),
            "the next batch starts where the server asks"
        );
    }

    #[test]
    fn a_row_without_its_result_waits_and_a_stray_result_is_skipped() {
        let batch: Vec<OutboxEntry> = (2..=4).map(entry).collect();
        let mut response = answer(&batch, applied);
        response.results.remove(1);
        let mut stray = response.results[0].clone();
        stray.seq = 1;
        response.results.insert(0, stray);
        let plan = plan(&batch, &response);
        assert_eq!(kinds(&plan), ["applied", "requeue", "applied"]);
        assert_eq!(plan.report.settled, 2);

        let mut other_id = answer(&batch, applied);
        other_id.results[0].mutation_id = Uuid::now_v7();
        assert_eq!(
            kinds(&super::plan(&batch, &other_id))[0],
            "requeue",
            "a result for another mutation with the same sequence settles nothing"
        );
    }

    #[test]
    fn a_gap_at_a_mutation_refused_as_a_mismatch_stops_sync_instead_of_resending_forever() {
        let batch: Vec<OutboxEntry> = (3..=4).map(entry).collect();
        let response = answer(&batch, |seq| match seq {
            3 => Outcome::Mismatch {
                message: "another payload".into(),
            },
            _ => Outcome::Gap { expected_seq: 3 },
        });
        let plan = plan(&batch, &response);
        assert_eq!(kinds(&plan), ["mismatch", "requeue"]);
        assert!(
            matches!(plan.resend_from(), Err(SyncError::Protocol(_))),
            "resending would meet the same refusal"
        );
    }
}
