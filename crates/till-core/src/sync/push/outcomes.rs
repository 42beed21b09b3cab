//! What a push answer means for each row of its batch, as a pure plan.
//!
//! [`plan`] decides from the batch and the answer alone, without the store: which row the
//! server applied, which conflicts, which it rejected, which go back to waiting (no result for
//! them, or at and after a gap), and what the batch adds up to. [`super::writes::Writer`] then
//! carries the plan out.

use till_protocol::{
    ConflictCurrent, ConflictReason, Mutation, MutationBody, MutationResult, Outcome, PushResponse,
    ReversalInfo, StoredFigures,
};

use crate::outbox::OutboxEntry;

use super::super::conflicts::TotalsSides;
use super::super::error::SyncError;
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
        /// A ticket the back office stored with other figures than sent: both sides, for a
        /// manager (`totals_differ`).
        totals_differ: Option<TotalsSides>,
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

/// How this till's outbox rows are numbered for the back office: a row's sequence there is its
/// `seq` less `base` ([`crate::outbox::seq_base`]); `numbered` is the last sequence this till numbered
/// there ([`crate::outbox::numbered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Numbering {
    pub base: u64,
    pub numbered: u64,
}

impl Numbering {
    /// The sequence the back office knows `entry` by.
    pub fn wire(&self, entry: &OutboxEntry) -> u64 {
        entry.seq.saturating_sub(self.base)
    }
}

/// What an answer means for its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'a> {
    /// One per row of the batch, in the batch's order.
    pub rows: Vec<(&'a OutboxEntry, Settle<'a>)>,
    /// What the batch adds up to (the round trip and clock offset are the caller's).
    pub report: BatchReport,
    /// The row the server expects next, after a gap.
    gap: Option<u64>,
    /// Why the answer shows that the back office's history of this terminal is not this
    /// till's, if it does.
    pub diverged: Option<String>,
}

impl Plan<'_> {
    /// Where the next batch starts after a gap (`None`: the oldest unsettled rows), or
    /// `diverged` when the answer shows the back office holds another history of this terminal
    /// (a restored or copied data dir): sending more would merge two tills' sales under one
    /// identity, so sync stops until the till is enrolled as a new terminal.
    pub fn resend_from(&self) -> Result<Option<u64>, SyncError> {
        match &self.diverged {
            Some(why) => Err(SyncError::Diverged(why.clone())),
            None => Ok(self.gap),
        }
    }
}

/// Whether `outcome`, the answer for the mutation the back office knows as `seq`, shows that its
/// history of this terminal is not this till's: a new mutation refused on a sequence settled by
/// another (`seq_reused`) or held after one (`history_diverged`), or the very sequence the back
/// office expects next refused as another mutation's (`mismatch`, resent forever otherwise).
fn divergence(seq: u64, outcome: &Outcome, next_expected: u64) -> Option<String> {
    match outcome {
        Outcome::Rejected { code, message }
            if code == "seq_reused" || code == "history_diverged" =>
        {
            Some(format!(
                "this till's history differs from the back office's (a restored or copied data \
                 dir?): it refused mutation {seq} ({code}: {message}); enrol this till as a new \
                 terminal to deliver its sales"
            ))
        }
        Outcome::Mismatch { message } if seq == next_expected => Some(format!(
            "this till's history differs from the back office's (a restored or copied data \
             dir?): it expects mutation {seq} next but holds another one ({message}); enrol \
             this till as a new terminal to deliver its sales"
        )),
        _ => None,
    }
}

/// Decides what becomes of each row of `batch` from the server's `response`, the rows numbered
/// by `numbering`. Results come in the order sent; one for a mutation not in the batch is
/// skipped (and logged). A row whose answer shows a diverged history stays queued, for the
/// new identity the till is then enrolled as.
pub fn plan<'a>(
    batch: &'a [OutboxEntry],
    response: &'a PushResponse,
    numbering: Numbering,
) -> Plan<'a> {
    let mut plan = Plan {
        rows: Vec::with_capacity(batch.len()),
        report: BatchReport {
            sent: batch.len() as u64,
            ..BatchReport::default()
        },
        gap: None,
        diverged: None,
    };
    if response.last_applied_seq > numbering.numbered {
        plan.diverged = Some(format!(
            "this till's history differs from the back office's (a restored or copied data \
             dir?): it settled {} mutations of this terminal, this till numbered {}; enrol this \
             till as a new terminal to deliver its sales",
            response.last_applied_seq, numbering.numbered
        ));
    }
    let next_expected = response
        .results
        .iter()
        .find_map(|r| match r.outcome {
            Outcome::Gap { expected_seq } => Some(expected_seq),
            _ => None,
        })
        .unwrap_or(response.last_applied_seq + 1);
    let mut results = response.results.iter().peekable();
    for entry in batch {
        let seq = numbering.wire(entry);
        while results.peek().is_some_and(|r| r.seq < seq) {
            if let Some(stray) = results.next() {
                tracing::warn!(seq = stray.seq, "result for a mutation not in the batch");
            }
        }
        let result = match results.peek() {
            Some(r) if r.seq == seq && r.mutation_id == entry.mutation_id => results.next(),
            _ => None,
        };
        let settle = match result {
            None => {
                tracing::warn!(seq, "no result for a mutation sent; it stays queued");
                Settle::Requeue
            }
            Some(_) if plan.gap.is_some() => Settle::Requeue,
            Some(result) => match divergence(seq, &result.outcome, next_expected) {
                Some(why) => {
                    plan.diverged.get_or_insert(why);
                    Settle::Requeue
                }
                None => settle(entry, result, numbering, &mut plan),
            },
        };
        plan.rows.push((entry, settle));
    }
    plan
}

/// What `result` means for `entry`, counted into `plan`.
fn settle<'a>(
    entry: &'a OutboxEntry,
    result: &'a MutationResult,
    numbering: Numbering,
    plan: &mut Plan<'a>,
) -> Settle<'a> {
    let outcome = &result.outcome;
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
            let totals_differ = result
                .stored
                .as_ref()
                .and_then(|stored| totals_differ(entry, stored));
            if totals_differ.is_some() {
                report.conflicts += 1;
            }
            Settle::Applied {
                outcome,
                server_id: *server_id,
                server_number: *server_number,
                version: *version,
                totals_differ,
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
            report.failed += 1;
            Settle::Mismatch { message }
        }
        Outcome::Gap { expected_seq } => {
            tracing::warn!(expected_seq, sent = entry.seq, "sequence gap; resending");
            plan.gap = Some(expected_seq + numbering.base);
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

/// Both sides of a ticket the back office echoes as `stored` with other figures than `entry`
/// sent; `None` when it stored them as sent (or the row carries no ticket).
fn totals_differ(entry: &OutboxEntry, stored: &StoredFigures) -> Option<TotalsSides> {
    let mutation: Mutation = match serde_json::from_slice(&entry.payload) {
        Ok(mutation) => mutation,
        Err(e) => {
            tracing::warn!(seq = entry.seq, error = %e, "cannot read a pushed ticket back");
            return None;
        }
    };
    let (MutationBody::TicketCreated(ticket)
    | MutationBody::TicketVoided(ticket)
    | MutationBody::TicketRefunded(ticket)) = &mutation.body
    else {
        return None;
    };
    let sides = TotalsSides {
        mine: Some(StoredFigures::of(ticket)),
        theirs: Some(stored.clone()),
    };
    (!sides.differing().is_empty()).then_some(sides)
}

/// Whether the row's entity is a ticket (a sale, void or refund): its identity is the row's
/// entity id, so its payload need not be parsed.
pub(super) fn is_ticket(entry: &OutboxEntry) -> bool {
    entry.kind.starts_with("ticket_")
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::super::fixtures::{answer, entry};
    use super::*;

    fn applied(seq: u64) -> Outcome {
        Outcome::Applied {
            server_id: 100 + i64::try_from(seq).unwrap_or(0),
            server_number: Some(seq),
            version: 1,
        }
    }

    /// The numbering of a till that never changed identity and numbered plenty.
    fn mine() -> Numbering {
        Numbering {
            base: 0,
            numbered: 1_000,
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
        let plan = plan(&batch, &response, mine());
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
        let plan = plan(&batch, &response, mine());
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
        let plan = plan(&batch, &response, mine());
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
        let plan = plan(&batch, &response, mine());
        assert_eq!(kinds(&plan), ["applied", "requeue", "applied"]);
        assert_eq!(plan.report.settled, 2);

        let mut other_id = answer(&batch, applied);
        other_id.results[0].mutation_id = Uuid::now_v7();
        assert_eq!(
            kinds(&super::plan(&batch, &other_id, mine()))[0],
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
        let plan = plan(&batch, &response, mine());
        assert_eq!(
            kinds(&plan),
            ["requeue", "requeue"],
            "kept for the identity the till is enrolled as next"
        );
        assert!(
            matches!(plan.resend_from(), Err(SyncError::Diverged(_))),
            "resending would meet the same refusal: the back office holds another history"
        );
    }

    #[test]
    fn every_sign_of_another_history_stops_sync_and_keeps_the_rows_queued() {
        let batch: Vec<OutboxEntry> = (4..=6).map(entry).collect();
        let rejected = |code: &str| Outcome::Rejected {
            code: code.into(),
            message: "in a test".into(),
        };
        let mut acked_above = answer(&batch, applied);
        acked_above.last_applied_seq = 9;
        let cases = [
            (
                "a new mutation on a settled sequence",
                answer(&batch, |seq| match seq {
                    4 => applied(4),
                    5 => rejected("seq_reused"),
                    _ => rejected("history_diverged"),
                }),
                ["applied", "requeue", "requeue"],
            ),
            (
                "the sequence expected next refused as another mutation's",
                {
                    let mut a = answer(&batch, |seq| match seq {
                        4 => applied(4),
                        5 => Outcome::Mismatch {
                            message: "another payload".into(),
                        },
                        _ => Outcome::Gap { expected_seq: 5 },
                    });
                    a.last_applied_seq = 4;
                    a
                },
                ["applied", "requeue", "requeue"],
            ),
            (
                "more settled than this till ever numbered",
                acked_above,
                ["applied", "applied", "applied"],
            ),
        ];
        for (why, response, expected) in cases {
            let numbering = Numbering {
                base: 0,
                numbered: 6,
            };
            let plan = plan(&batch, &response, numbering);
            assert_eq!(kinds(&plan), expected, "{why}");
            assert!(
                matches!(plan.resend_from(), Err(SyncError::Diverged(_))),
                "{why}: a protocol stop"
            );
        }
        let rejected_for_good = answer(&batch, |_| rejected("totals_mismatch"));
        assert!(
            plan(&batch, &rejected_for_good, mine()).diverged.is_none(),
            "any other refusal is an item's own"
        );
    }

    #[test]
    fn a_till_enrolled_anew_is_answered_in_its_new_numbering() {
        // Outbox rows 11 to 13 are the new identity's sequences 1 to 3.
        let numbering = Numbering {
            base: 10,
            numbered: 3,
        };
        let in_wire = |mut response: PushResponse| {
            for r in &mut response.results {
                r.seq -= 10;
            }
            response.last_applied_seq -= 10;
            response
        };
        let batch: Vec<OutboxEntry> = (11..=13).map(entry).collect();
        let all = in_wire(answer(&batch, applied));
        assert_eq!(
            kinds(&plan(&batch, &all, numbering)),
            ["applied", "applied", "applied"]
        );
        let later: Vec<OutboxEntry> = (12..=13).map(entry).collect();
        let gap = in_wire(answer(&later, |_| Outcome::Gap { expected_seq: 1 }));
        assert_eq!(
            plan(&later, &gap, numbering).resend_from().ok(),
            Some(Some(11)),
            "the back office's sequence 1 is outbox row 11"
        );
    }

    /// A sale of 12.00 paid cash, queued as row `seq`.
    fn sale_row(seq: u64) -> (OutboxEntry, StoredFigures) {
        let ticket: till_protocol::Ticket = serde_json::from_value(serde_json::json!({
            "id": Uuid::now_v7(), "number": seq, "kind": "sale", "reverses": null,
            "created_at_ms": 0, "hlc": {"wall_ms": 0, "counter": 0, "node": Uuid::nil()},
            "currency": {"code": "EUR", "exponent": 2}, "prices_include_tax": true,
            "customer_id": null, "lines": [], "ticket_discount": null,
            "taxes": [{"rate_bp": 2000, "base": 1000, "tax": 200}],
            "totals": {"subtotal": 1200, "discount_total": 0, "tax_total": 200, "total": 1200},
            "tenders": [{"kind": "cash", "tendered": 1200, "change": 0}],
            "journal_hash": ""
        }))
        .expect("a ticket");
        let sent = StoredFigures::of(&ticket);
        let mutation = till_protocol::Mutation {
            id: Uuid::now_v7(),
            seq,
            hlc: ticket.hlc,
            wall_clock_ms: 0,
            body: MutationBody::TicketCreated(ticket),
            recovered: None,
            operator: None,
            format: None,
            link: None,
        };
        let mut row = entry(seq);
        row.payload = serde_json::to_vec(&mutation).expect("serializes");
        (row, sent)
    }

    #[test]
    fn a_ticket_echoed_with_other_figures_is_applied_and_a_conflict_for_a_manager() {
        let (same, sent) = sale_row(1);
        let (other, _) = sale_row(2);
        let batch = vec![same, other];
        let mut response = answer(&batch, applied);
        response.results[0].stored = Some(sent.clone());
        let stored = StoredFigures {
            total: sent.total + 1,
            ..sent.clone()
        };
        response.results[1].stored = Some(stored.clone());
        let plan = plan(&batch, &response, mine());
        assert_eq!(
            kinds(&plan),
            ["applied", "applied"],
            "the sales exist there"
        );
        let differs = |row: usize| match &plan.rows[row].1 {
            Settle::Applied { totals_differ, .. } => totals_differ.clone(),
            other => panic!("applied: {other:?}"),
        };
        assert_eq!(differs(0), None, "stored as sent: nothing to review");
        assert_eq!(
            differs(1),
            Some(TotalsSides {
                mine: Some(sent),
                theirs: Some(stored),
            }),
            "stored otherwise: both sides for a manager"
        );
        assert_eq!((plan.report.settled, plan.report.conflicts), (2, 1));
    }
}
