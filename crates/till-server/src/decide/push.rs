//! Settling a push batch: the outcome a mutation gets before its body is looked at (a replay, a
//! mismatch, a reused or skipped sequence), and what a settled batch leaves to write. What an
//! applied mutation does is decided by [`super::tickets`] and [`super::customers`]. Its unit
//! tests are in `push_tests.rs`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use till_protocol::{
    ChainHead, Mutation, MutationBody, MutationResult, Operator, Outcome, Recovered, Ticket,
};
use uuid::Uuid;

use super::chain::ChainHeads;
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

/// The first of `mutations` whose sequence is out of range: 0, or beyond what a database
/// column holds. Such a batch is refused whole, before anything is settled.
pub fn seq_out_of_range(mutations: &[Received]) -> Option<&Mutation> {
    mutations
        .iter()
        .map(|r| &r.mutation)
        .find(|m| m.seq == 0 || m.seq > i64::MAX as u64)
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

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `received` carries the payload a mutation was settled with, whichever way its stored
/// hash was taken. A hash of the rule before matches the bytes received (what the terminal's
/// structs wrote then, which the server's wrote alike) or the mutation written out by today's
/// structs.
pub fn same_payload(stored_hash: &str, received: &Received) -> Result<bool, serde_json::Error> {
    let raw = sha256_hex(received.json.get().as_bytes());
    Ok(hashes_bytes(stored_hash, &raw)
        || (!stored_hash.starts_with(RECEIVED_PREFIX)
            && stored_hash == reserialised_hash(&received.mutation)?))
}

/// Whether a stored payload hash, by either rule, is `raw`: the hex SHA-256 of a mutation's
/// bytes as sent.
pub fn hashes_bytes(stored_hash: &str, raw: &str) -> bool {
    stored_hash
        .strip_prefix(RECEIVED_PREFIX)
        .unwrap_or(stored_hash)
        == raw
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
    /// The next sequence, after a mutation before it in the batch reused a settled one: the
    /// terminal's history differs from the back office's, so nothing more of the batch applies.
    Diverged,
    /// The sequence skips ahead of `last + 1`.
    Gap { expected_seq: u64 },
    /// The next sequence, a recovered mutation whose original its first terminal delivered
    /// exactly: settle it with the original's outcome (this JSON), apply nothing again.
    Delivered(String),
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

/// What the first terminal of a recovered mutation recorded for its original, when that is
/// exactly the mutation recovered: the same payload, delivered by the terminal it names.
pub fn delivered_before<'a>(
    recovered: &Recovered,
    recorded: &'a RecordedBy,
) -> Option<&'a Recorded> {
    recorded
        .get(&recovered.mutation_id)
        .filter(|(owner, record)| {
            *owner == recovered.terminal_id
                && hashes_bytes(&record.payload_hash, &recovered.payload_sha256)
        })
        .map(|(_, record)| record)
}

/// The outcome of every step but [`Step::Apply`], which needs the backend's own writes
/// (`Ok(None)`). A stored outcome that no longer parses is an error of the database.
pub fn answer(step: &Step, mutation: &Mutation) -> Result<Option<Outcome>, serde_json::Error> {
    Ok(Some(match step {
        Step::Replay(json) | Step::Delivered(json) => Outcome::Duplicate {
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
        Step::Diverged => Rejection::new(
            "history_diverged",
            format!(
                "sequence {} was not applied: a mutation before it in this batch reused a \
                 settled sequence, so this terminal's history differs from the back office's",
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
        MutationBody::ShiftOpened(_) => "shift_opened",
        MutationBody::CashMoved(_) => "cash_moved",
        MutationBody::ShiftClosed(_) => "shift_closed",
    }
}

/// The outcome of a mutation the terminal withdrew ([`till_protocol::PushRequest::withdraw`]):
/// its sequence settles, nothing of it is applied.
pub fn withdrawn() -> Outcome {
    Rejection::new(
        "withdrawn",
        "withdrawn by the terminal after the back office failed on it alone; nothing of it was \
         applied",
    )
    .into_outcome()
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
    /// For ticket mutations that stored or refused a ticket, the ticket the terminal sent (for
    /// the duplicate checks of stats); none for a recovered mutation delivered before.
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
    /// Where a recovered mutation was first numbered.
    pub recovered: Option<Recovered>,
    /// Who made the change on the till.
    pub operator: Option<Operator>,
    /// Its content and link of the terminal's push chain; none before the chain began.
    pub chain: Option<(String, String)>,
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
    /// The terminal's push chain after the batch.
    pub chain: ChainHeads,
}

/// One push batch as it settles, mutation by mutation, in the order sent. Never applies a
/// mutation out of sequence: once a sequence is skipped, the rest of the batch is a gap too.
#[derive(Debug)]
pub struct Batch {
    terminal_id: Uuid,
    last_seq: u64,
    gap: Option<u64>,
    /// A mutation of the batch reused a settled sequence: nothing after it applies.
    diverged: bool,
    /// What each mutation id of the batch was settled with, before or in this batch, so an id
    /// sent twice in one batch is a replay the second time.
    recorded: RecordedBy,
    results: Vec<MutationResult>,
    settled: Vec<Settled>,
    stock: BTreeMap<Uuid, i64>,
    chain: ChainHeads,
}

impl Batch {
    /// A batch of `terminal_id`, whose mutations up to `last_seq` are settled; `recorded` holds
    /// what the batch's mutation ids were settled with before.
    pub fn new(terminal_id: Uuid, last_seq: u64, recorded: RecordedBy) -> Self {
        Batch {
            terminal_id,
            last_seq,
            gap: None,
            diverged: false,
            recorded,
            results: Vec::new(),
            settled: Vec::new(),
            stock: BTreeMap::new(),
            chain: ChainHeads::default(),
        }
    }

    /// The batch of a terminal whose push chain stands at `chain`: each mutation it settles
    /// must go on from it ([`ChainHeads::settle`]).
    pub fn chained(self, chain: ChainHeads) -> Self {
        Batch { chain, ..self }
    }

    /// Takes the head the push named, once its mutations settled ([`ChainHeads::announce`]).
    pub fn announce(&mut self, head: Option<&ChainHead>) -> Result<(), StorageError> {
        match head {
            Some(head) => self.chain.announce(head).map_err(journal_break),
            None => Ok(()),
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
        let step = match classify(known, self.last_seq, mutation.seq) {
            Step::Apply if self.diverged => Step::Diverged,
            Step::Apply => mutation
                .recovered
                .as_ref()
                .and_then(|r| delivered_before(r, &self.recorded))
                .map_or(Step::Apply, |first| {
                    Step::Delivered(first.outcome_json.clone())
                }),
            other => other,
        };
        match step {
            Step::Gap { expected_seq } => self.gap = Some(expected_seq),
            Step::SeqReused => self.diverged = true,
            _ => {}
        }
        let answered = answer(&step, mutation).map_err(|e| {
            StorageError::Corrupt(format!("stored outcome of {}: {e}", mutation.id))
        })?;
        Ok(match (step, answered) {
            (Step::Delivered(original), Some(outcome)) => {
                self.record(mutation, payload_hash(received), original, None)?;
                self.answer(mutation, outcome);
                Next::Answered
            }
            (_, Some(outcome)) => {
                self.answer(mutation, outcome);
                Next::Answered
            }
            (_, None) => Next::Apply {
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
        let ticket = match &mutation.body {
            // Refused for its format, its ticket was never read: a retry may still deliver it.
            _ if super::formats::check(mutation.format()).is_err() => None,
            MutationBody::TicketCreated(t)
            | MutationBody::TicketVoided(t)
            | MutationBody::TicketRefunded(t) => Some((t.id, i64::try_from(t.number).ok())),
            _ => None,
        };
        self.record(mutation, hash, outcome_json, ticket)?;
        self.answer(mutation, outcome);
        Ok(())
    }

    /// Records `mutation` as settled with `outcome_json` (what a replay answers), carrying
    /// `ticket` (its id and number) when it stored or refused one; its link must go on from the
    /// terminal's chain.
    fn record(
        &mut self,
        mutation: &Mutation,
        hash: String,
        outcome_json: String,
        ticket: Option<(Uuid, Option<i64>)>,
    ) -> Result<(), StorageError> {
        let content = till_protocol::chain::content(&mutation.body)
            .map_err(|e| StorageError::Database(format!("cannot serialise a mutation: {e}")))?;
        let link = self
            .chain
            .settle(mutation.seq, mutation.link.as_deref(), &content)
            .map_err(journal_break)?;
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
            ticket_id: ticket.map(|(id, _)| id),
            ticket_number: ticket.and_then(|(_, number)| number),
            recovered: mutation.recovered.clone(),
            operator: mutation.operator.clone(),
            chain: link.map(|link| (content, link)),
        });
        self.last_seq = mutation.seq;
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
                head: self.chain.accepted.clone(),
            },
            settled: self.settled,
            stock: self.stock,
            chain: self.chain,
        }
    }

    fn answer(&mut self, mutation: &Mutation, outcome: Outcome) {
        self.results.push(MutationResult {
            mutation_id: mutation.id,
            seq: mutation.seq,
            outcome,
            stored: None,
        });
    }
}

/// A break of the terminal's push chain, as the push's refusal.
fn journal_break(b: super::chain::Break) -> StorageError {
    StorageError::JournalBreak(b.to_string())
}
