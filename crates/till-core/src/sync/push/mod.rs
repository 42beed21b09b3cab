//! Pushing the outbox: one page of unsettled mutations at a time, in sequence order, never the
//! whole queue in memory. Each batch is marked in flight in short statements, sent, and its
//! per-item outcomes are applied in short transactions: applied and duplicate record the
//! server's identity, rejected and mismatched items go to the failed list, conflicts to the
//! conflict table, a gap makes the next batch resend from the sequence the server expects.
//!
//! - [`batches`]: paging, the resend after a gap, the ack protocol after an ambiguous failure,
//!   sending the next batch ahead, and the adaptive batch size;
//! - [`link`]: the link's throughput and round trip, measured from the pushes, and the batch
//!   size that suits it;
//! - [`outcomes`]: what an answer means for each row (a pure plan);
//! - [`writes`]: the writer that carries the plan out on the store;
//! - [`poison`]: finding the one item the back office keeps failing on (halving the batch), so
//!   it is withdrawn to the failed list and the rest flows.
//!
//! How the writes share the store with ring-up (chunks, checkpoints) is the store's:
//! [`crate::store::wal`].

use uuid::Uuid;

pub mod batches;
pub mod link;
pub mod outcomes;
pub mod poison;
pub mod writes;

pub use batches::Pusher;
pub use writes::record_ticket;

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

/// Batches and answers for the tests of this module.
#[cfg(test)]
mod fixtures {
    use till_protocol::{MutationResult, Outcome, PushResponse};
    use uuid::Uuid;

    use crate::outbox::{OutboxEntry, OutboxState};

    /// A row of a ticket sale, in flight, with sequence `seq`.
    pub fn entry(seq: u64) -> OutboxEntry {
        OutboxEntry {
            seq,
            mutation_id: Uuid::now_v7(),
            kind: "ticket_created".into(),
            entity_id: Uuid::now_v7(),
            payload: format!("{{\"seq\":{seq}}}").into_bytes(),
            state: OutboxState::InFlight,
            attempts: 1,
            last_error: None,
            result: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    /// The answer with one result per row of `batch`, in order.
    pub fn answer(batch: &[OutboxEntry], outcome: impl Fn(u64) -> Outcome) -> PushResponse {
        PushResponse {
            results: batch
                .iter()
                .map(|e| MutationResult {
                    mutation_id: e.mutation_id,
                    seq: e.seq,
                    outcome: outcome(e.seq),
                    stored: None,
                })
                .collect(),
            last_applied_seq: batch.last().map_or(0, |e| e.seq),
            server_time_ms: 0,
            head: None,
        }
    }
}
