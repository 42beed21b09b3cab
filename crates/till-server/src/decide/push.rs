//! Settling a push batch: the outcome a mutation gets before its body is looked at (a replay, a
//! mismatch, a reused or skipped sequence), and what a settled batch leaves to write. What an
//! applied mutation does is decided by [`super::tickets`] and [`super::customers`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use till_protocol::{Mutation, MutationBody, MutationResult, Outcome, Ticket};
use uuid::Uuid;

use super::{tickets, Rejection};
use crate::storage::{PushOutcome, StorageError};

/// A mutation as it arrived in a push: parsed, and its JSON exactly as received (its element of
/// the batch's `mutations` array, byte for byte). The payload hash is taken over those bytes, so
/// a change of the server's own structs never turns an honest replay into a mismatch.
#[derive(Debug, Clone)]
pub struct Received {
    pub mutation: Mutation,
    pub json: Box<RawValue>,
}

impl Received {
    /// A mutation as a terminal sends it (the JSON its outbox stores).
    pub fn from_mutation(mutation: Mutation) -> Result<Received, serde_json::Error> {
        let json = serde_json::value::to_raw_value(&mutation)?;
        Ok(Received { mutation, json })
    }
}

impl<'de> Deserialize<'de> for Received {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        let mutation = serde_json::from_str(json.get()).map_err(serde::de::Error::custom)?;
        Ok(Received { mutation, json })
    }
}

/// How the stored hash of a mutation taken over the bytes received begins. A stored hash without
/// it was taken by the rule before: over the parsed mutation written out again by the server.
pub const RECEIVED_PREFIX: &str = "received:";

/// The payload hash kept for a mutation settled now: [`RECEIVED_PREFIX`] and the hex SHA-256 of
/// its JSON as received. Two sends of the same bytes hash alike; any changed byte differs.
pub fn payload_hash(received: &Received) -> String {
    format!(
        "{RECEIVED_PREFIX}{}",
        sha256_hex(received.json.get().as_bytes())
    )
}

/// The hash the rule before this one kept: the hex SHA-256 of the mutation's JSON as the
/// server's structs write it out. Written as it is hashed, never held whole.
pub fn reserialised_hash(mutation: &Mutation) -> Result<String, serde_json::Error> {
    let mut hasher = HashWriter(Sha256::new());
    serde_json::to_writer(&mut hasher, mutation)?;
    Ok(hex::encode(hasher.0.finalize()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `received` carries the payload a mutation was settled with, whichever way its stored
/// hash was taken. A hash of the rule before matches the bytes received (what the terminal's
/// structs wrote then, which the server's wrote alike) or the mutation written out by today's
/// structs.
pub fn same_payload(stored_hash: &str, received: &Received) -> Result<bool, serde_json::Error> {
    let raw = sha256_hex(received.json.get().as_bytes());
    Ok(match stored_hash.strip_prefix(RECEIVED_PREFIX) {
        Some(hex) => hex == raw,
        None => stored_hash == raw || stored_hash == reserialised_hash(&received.mutation)?,
    })
}

/// Feeds whatever is written into a SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a mutation id was settled with before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub payload_hash: String,
    /// The outcome JSON as first answered.
    pub outcome_json: String,
}

/// What the server recorded for each mutation id it was asked about, and which terminal
/// settled it.
pub type RecordedBy = HashMap<Uuid, (Uuid, Recorded)>;

/// The first decision on a mutation, before its body is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Settled before with the same payload: answer the stored outcome.
    Replay(String),
    /// Settled before with another payload: refuse, record nothing.
    Mismatch,
    /// A new id on a sequence number already settled by another mutation.
    SeqReused,
    /// The sequence skips ahead of `last + 1`.
    Gap { expected_seq: u64 },
    /// The next sequence: apply it.
    Apply,
}

/// What the server recorded for a mutation id, and how the mutation received compares with it.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub record: &'a Recorded,
    /// An id settled by another terminal is never this terminal's replay.
    pub by_this_terminal: bool,
    /// The mutation received carries the payload recorded ([`same_payload`]).
    pub same_payload: bool,
}

/// Decides the first step for a mutation at `seq`, given what its id was settled with and the
/// terminal's last settled sequence.
pub fn classify(known: Option<Known<'_>>, last_seq: u64, seq: u64) -> Step {
    match known {
        Some(k) if k.by_this_terminal && k.same_payload => {
            Step::Replay(k.record.outcome_json.clone())
        }
        Some(_) => Step::Mismatch,
        None if seq <= last_seq => Step::SeqReused,
        None if seq > last_seq + 1 => Step::Gap {
            expected_seq: last_seq + 1,
        },
        None => Step::Apply,
    }
}

/// The outcome of every step but [`Step::Apply`], which needs the backend's own writes
/// (`Ok(None)`). A stored outcome that no longer parses is an error of the database.
pub fn answer(step: &Step, mutation: &Mutation) -> Result<Option<Outcome>, serde_json::Error> {
    Ok(Some(match step {
        Step::Replay(json) => Outcome::Duplicate {
            original: Box::new(serde_json::from_str(json)?),
        },
        Step::Mismatch => Outcome::Mismatch {
            message: format!(
                "mutation {} was settled before with a different payload",
                mutation.id
            ),
        },
        Step::SeqReused => Rejection::new(
            "seq_reused",
            format!(
                "sequence {} is already settled by another mutation",
                mutation.seq
            ),
        )
        .into_outcome(),
        Step::Gap { expected_seq } => Outcome::Gap {
            expected_seq: *expected_seq,
        },
        Step::Apply => return Ok(None),
    }))
}

/// The stored name of a mutation's kind.
pub fn mutation_kind(body: &MutationBody) -> &'static str {
    match body {
        MutationBody::TicketCreated(_) => "ticket_created",
        MutationBody::TicketVoided(_) => "ticket_voided",
        MutationBody::TicketRefunded(_) => "ticket_refunded",
        MutationBody::CustomerCreated(_) => "customer_created",
        MutationBody::CustomerUpdated(_) => "customer_updated",
        MutationBody::CustomerDeleted(_) => "customer_deleted",
        MutationBody::DisputeSettled(_) => "dispute_settled",
    }
}

/// A mutation this batch settled, as it is recorded: kept forever, so a replay answers
/// `outcome_json` byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub id: Uuid,
    pub seq: u64,
    pub kind: &'static str,
    pub payload_hash: String,
    pub outcome_json: String,
    /// For ticket mutations, the ticket the terminal sent (for the duplicate checks of stats).
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
}

/// What a mutation needs after [`Batch::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Its outcome is known without looking at its body, and is among the results.
    Answered,
    /// Its sequence is next: the backend applies it, then reports with [`Batch::applied`].
    Apply { hash: String },
}

/// What a settled batch answers and leaves to write, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub outcome: PushOutcome,
    /// The mutations settled now, in sequence order.
    pub settled: Vec<Settled>,
    /// The stock moves of the tickets stored now, summed per product.
    pub stock: BTreeMap<Uuid, i64>,
}

/// One push batch as it settles, mutation by mutation, in the order sent. Never applies a
/// mutation out of sequence: once a sequence is skipped, the rest of the batch is a gap too.
#[derive(Debug)]
pub struct Batch {
    terminal_id: Uuid,
    last_seq: u64,
    gap: Option<u64>,
    /// What each mutation id of the batch was settled with, before or in this batch, so an id
    /// sent twice in one batch is a replay the second time.
    recorded: RecordedBy,
    results: Vec<MutationResult>,
    settled: Vec<Settled>,
    stock: BTreeMap<Uuid, i64>,
}

impl Batch {
    /// A batch of `terminal_id`, whose mutations up to `last_seq` are settled; `recorded` holds
    /// what the batch's mutation ids were settled with before.
    pub fn new(terminal_id: Uuid, last_seq: u64, recorded: RecordedBy) -> Self {
        Batch {
            terminal_id,
            last_seq,
            gap: None,
            recorded,
            results: Vec::new(),
            settled: Vec::new(),
            stock: BTreeMap::new(),
        }
    }

    /// Decides what `received`, the next mutation of the batch, needs.
    pub fn next(&mut self, received: &Received) -> Result<Next, StorageError> {
        let mutation = &received.mutation;
        if let Some(expected_seq) = self.gap {
            self.answer(mutation, Outcome::Gap { expected_seq });
            return Ok(Next::Answered);
        }
        let known = match self.recorded.get(&mutation.id) {
            Some((owner, record)) => Some(Known {
                record,
                by_this_terminal: *owner == self.terminal_id,
                same_payload: same_payload(&record.payload_hash, received)
                    .map_err(|e| StorageError::Database(format!("cannot hash a mutation: {e}")))?,
            }),
            None => None,
        };
        let step = classify(known, self.last_seq, mutation.seq);
        if let Step::Gap { expected_seq } = step {
            self.gap = Some(expected_seq);
        }
        let answered = answer(&step, mutation).map_err(|e| {
            StorageError::Corrupt(format!("stored outcome of {}: {e}", mutation.id))
        })?;
        Ok(match answered {
            Some(outcome) => {
                self.answer(mutation, outcome);
                Next::Answered
            }
            None => Next::Apply {
                hash: payload_hash(received),
            },
        })
    }

    /// Settles `mutation`, applied with `outcome` (also a rejection or a conflict: those settle
    /// their sequence too).
    pub fn applied(
        &mut self,
        mutation: &Mutation,
        hash: String,
        outcome: Outcome,
    ) -> Result<(), StorageError> {
        let outcome_json = serde_json::to_string(&outcome)
            .map_err(|e| StorageError::Database(format!("cannot serialise an outcome: {e}")))?;
        let (ticket_id, ticket_number) = match &mutation.body {
            MutationBody::TicketCreated(t)
            | MutationBody::TicketVoided(t)
            | MutationBody::TicketRefunded(t) => (Some(t.id), i64::try_from(t.number).ok()),
            _ => (None, None),
        };
        self.recorded.insert(
            mutation.id,
            (
                self.terminal_id,
                Recorded {
                    payload_hash: hash.clone(),
                    outcome_json: outcome_json.clone(),
                },
            ),
        );
        self.settled.push(Settled {
            id: mutation.id,
            seq: mutation.seq,
            kind: mutation_kind(&mutation.body),
            payload_hash: hash,
            outcome_json,
            ticket_id,
            ticket_number,
        });
        self.last_seq = mutation.seq;
        self.answer(mutation, outcome);
        Ok(())
    }

    /// Adds the stock moves of `ticket`, just stored, to the batch's.
    pub fn move_stock(&mut self, ticket: &Ticket) {
        for (product, delta) in tickets::stock_deltas(ticket) {
            *self.stock.entry(product).or_default() += delta;
        }
    }

    pub fn finish(self) -> Settlement {
        Settlement {
            outcome: PushOutcome {
                results: self.results,
                last_applied_seq: self.last_seq,
            },
            settled: self.settled,
            stock: self.stock,
        }
    }

    fn answer(&mut self, mutation: &Mutation, outcome: Outcome) {
        self.results.push(MutationResult {
            mutation_id: mutation.id,
            seq: mutation.seq,
            outcome,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn applied(server_id: i64) -> Outcome {
        Outcome::Applied {
            server_id,
            server_number: Some(server_id as u64),
            version: 1,
        }
    }

    /// Runs `batch` through a [`Batch`], applying every mutation the batch lets through with
    /// an `applied` outcome numbered in order.
    fn settle(
        terminal_id: Uuid,
        last_seq: u64,
        recorded: RecordedBy,
        batch: &[Mutation],
    ) -> Settlement {
        let batch: Vec<Received> = batch.iter().cloned().map(received).collect();
        settle_received(terminal_id, last_seq, recorded, &batch)
    }

    fn settle_received(
        terminal_id: Uuid,
        last_seq: u64,
        recorded: RecordedBy,
        batch: &[Received],
    ) -> Settlement {
        let mut settling = Batch::new(terminal_id, last_seq, recorded);
        for (i, received) in batch.iter().enumerate() {
            if let Next::Apply { hash } = settling.next(received).expect("decides") {
                settling
                    .applied(&received.mutation, hash, applied(i as i64 + 1))
                    .expect("settles");
            }
        }
        settling.finish()
    }

    fn received(mutation: Mutation) -> Received {
        Received::from_mutation(mutation).expect("serialises")
    }

    /// `mutation` as an older terminal might have written it: the same content, its keys in
    /// another order than today's structs write them.
    fn reordered(mutation: &Mutation) -> Received {
        let value = serde_json::to_value(mutation).expect("serialises");
        let mut keys: Vec<(&String, &serde_json::Value)> =
            value.as_object().expect("an object").iter().collect();
        keys.reverse();
        let body = keys
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::Value::String((*k).clone())))
            .collect::<Vec<_>>()
            .join(",");
        serde_json::from_str(&format!("{{{body}}}")).expect("parses")
    }

    fn sale(seq: u64) -> Mutation {
        sample::mutation(
            seq,
            till_protocol::MutationBody::TicketCreated(sample::sale(seq)),
        )
    }

    #[test]
    fn the_payload_hash_is_the_sha256_of_the_whole_json_so_stored_hashes_still_match() {
        let mutation = sale(1);
        let whole = serde_json::to_vec(&mutation).expect("serialises");
        assert_eq!(
            reserialised_hash(&mutation).expect("hashes"),
            hex::encode(Sha256::digest(&whole)),
            "the rule before: the whole JSON as the server writes it out"
        );
        assert_eq!(
            payload_hash(&received(mutation)),
            format!("received:{}", hex::encode(Sha256::digest(whole))),
            "the rule now: the bytes received, marked as such"
        );
    }

    #[test]
    fn a_payload_is_hashed_as_received_not_as_todays_structs_write_it() {
        let mutation = sale(1);
        let older = reordered(&mutation);
        assert_eq!(older.mutation, mutation, "the same mutation");
        assert_ne!(
            payload_hash(&older),
            payload_hash(&received(mutation)),
            "other bytes, another hash"
        );
        assert_eq!(
            payload_hash(&older),
            format!(
                "received:{}",
                hex::encode(Sha256::digest(older.json.get().as_bytes()))
            )
        );
    }

    #[test]
    fn a_hash_taken_by_the_rule_before_still_recognises_a_replay() {
        let mutation = sale(1);
        let sent = received(mutation.clone());
        let before = reserialised_hash(&mutation).expect("hashes");
        assert!(
            same_payload(&before, &sent).expect("compares"),
            "a mutation settled before the change replays as a duplicate"
        );
        let older = reordered(&mutation);
        let older_rule = hex::encode(Sha256::digest(older.json.get().as_bytes()));
        assert!(
            same_payload(&older_rule, &older).expect("compares"),
            "a hash an older server took of the bytes its structs wrote matches those bytes"
        );
        assert!(
            !same_payload(&before, &received(sale(2))).expect("compares"),
            "another payload never matches"
        );
        assert!(
            !same_payload(&payload_hash(&sent), &older).expect("compares"),
            "a hash taken as received matches those bytes only"
        );
    }

    #[test]
    fn a_replay_with_the_same_payload_returns_the_stored_outcome() {
        let r = Recorded {
            payload_hash: "h".into(),
            outcome_json: "{}".into(),
        };
        let mine = Known {
            record: &r,
            by_this_terminal: true,
            same_payload: true,
        };
        assert_eq!(classify(Some(mine), 5, 3), Step::Replay("{}".into()));
        let other_payload = Known {
            same_payload: false,
            ..mine
        };
        assert_eq!(classify(Some(other_payload), 5, 3), Step::Mismatch);
        let theirs = Known {
            by_this_terminal: false,
            ..mine
        };
        assert_eq!(
            classify(Some(theirs), 5, 3),
            Step::Mismatch,
            "another terminal's mutation is never this terminal's replay"
        );
    }

    #[test]
    fn sequence_steps_follow_the_last_settled_seq() {
        assert_eq!(classify(None, 5, 5), Step::SeqReused);
        assert_eq!(classify(None, 5, 6), Step::Apply);
        assert_eq!(classify(None, 5, 8), Step::Gap { expected_seq: 6 });
    }

    #[test]
    fn a_batch_applies_in_order_and_records_each_settled_mutation() {
        let terminal = Uuid::now_v7();
        let batch = [sale(1), sale(2)];
        let done = settle(terminal, 0, RecordedBy::new(), &batch);
        assert_eq!(done.outcome.last_applied_seq, 2);
        assert_eq!(done.outcome.results.len(), 2);
        assert_eq!(done.settled.len(), 2, "both mutations are recorded");
        let first = &done.settled[0];
        assert_eq!(first.kind, "ticket_created");
        assert_eq!(first.ticket_number, Some(1));
        assert_eq!(
            first.outcome_json,
            serde_json::to_string(&applied(1)).expect("serialises"),
            "the record keeps the outcome exactly as answered"
        );
    }

    #[test]
    fn after_a_gap_the_rest_of_the_batch_is_a_gap_and_nothing_after_it_applies() {
        let terminal = Uuid::now_v7();
        let batch = [sale(1), sale(3), sale(2)];
        let done = settle(terminal, 0, RecordedBy::new(), &batch);
        let outcomes: Vec<&Outcome> = done.outcome.results.iter().map(|r| &r.outcome).collect();
        assert_eq!(
            outcomes,
            vec![
                &applied(1),
                &Outcome::Gap { expected_seq: 2 },
                &Outcome::Gap { expected_seq: 2 },
            ],
            "seq 2 after the gap must wait for the terminal to resend in order"
        );
        assert_eq!(done.outcome.last_applied_seq, 1);
        assert_eq!(done.settled.len(), 1, "gaps record nothing");
    }

    #[test]
    fn an_id_sent_twice_in_one_batch_is_a_replay_the_second_time() {
        let terminal = Uuid::now_v7();
        let m = sale(1);
        let done = settle(terminal, 0, RecordedBy::new(), &[m.clone(), m]);
        assert_eq!(
            done.outcome.results[1].outcome,
            Outcome::Duplicate {
                original: Box::new(applied(1))
            }
        );
        assert_eq!(done.settled.len(), 1, "a replay records nothing new");
    }

    #[test]
    fn an_id_recorded_before_replays_or_mismatches_and_settles_nothing() {
        let terminal = Uuid::now_v7();
        let m = sale(1);
        let record = Recorded {
            payload_hash: payload_hash(&received(m.clone())),
            outcome_json: serde_json::to_string(&applied(7)).expect("serialises"),
        };
        let mine = RecordedBy::from([(m.id, (terminal, record.clone()))]);
        let done = settle(terminal, 1, mine, std::slice::from_ref(&m));
        assert_eq!(
            done.outcome.results[0].outcome,
            Outcome::Duplicate {
                original: Box::new(applied(7))
            }
        );
        assert!(done.settled.is_empty());

        let theirs = RecordedBy::from([(m.id, (Uuid::now_v7(), record))]);
        let done = settle(terminal, 0, theirs, &[m]);
        assert!(
            matches!(done.outcome.results[0].outcome, Outcome::Mismatch { .. }),
            "another terminal's id is never applied again"
        );
        assert_eq!(done.outcome.last_applied_seq, 0);
    }

    #[test]
    fn the_same_bytes_sent_again_are_a_replay_whatever_order_their_keys_are_in() {
        let terminal = Uuid::now_v7();
        let older = reordered(&sale(1));
        let done = settle_received(terminal, 0, RecordedBy::new(), std::slice::from_ref(&older));
        let recorded = RecordedBy::from([(
            older.mutation.id,
            (
                terminal,
                Recorded {
                    payload_hash: done.settled[0].payload_hash.clone(),
                    outcome_json: done.settled[0].outcome_json.clone(),
                },
            ),
        )]);
        let again = settle_received(terminal, 1, recorded, &[older]);
        assert_eq!(
            again.outcome.results[0].outcome,
            Outcome::Duplicate {
                original: Box::new(applied(1))
            }
        );
    }

    #[test]
    fn a_damaged_stored_outcome_is_an_error_of_the_database() {
        let terminal = Uuid::now_v7();
        let m = sale(1);
        let m = received(m);
        let record = Recorded {
            payload_hash: payload_hash(&m),
            outcome_json: "not json".into(),
        };
        let mut batch = Batch::new(
            terminal,
            1,
            RecordedBy::from([(m.mutation.id, (terminal, record))]),
        );
        assert!(matches!(batch.next(&m), Err(StorageError::Corrupt(_))));
    }

    #[test]
    fn stock_moves_are_summed_per_product_over_the_batch() {
        let mut batch = Batch::new(Uuid::now_v7(), 0, RecordedBy::new());
        let sale = sample::sale(1);
        let refund = sample::reversal(till_protocol::TicketKind::Refund, 2, &sale);
        batch.move_stock(&sale);
        batch.move_stock(&sale);
        batch.move_stock(&refund);
        let stock = batch.finish().stock;
        for line in &sale.lines {
            assert_eq!(
                stock[&line.product_id], -line.quantity,
                "two sales less one refund take one sale's goods out"
            );
        }
    }
}
