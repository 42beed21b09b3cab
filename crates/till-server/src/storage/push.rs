//! Settling a push batch, written once over [`Tx`]: the batch's facts are loaded through the
//! backend's transaction, [`crate::decide`] says what each mutation gets, and the backend
//! writes it. Every check of a mutation runs before its first write, so a refused mutation
//! leaves nothing behind.

use till_protocol::{Mutation, MutationBody, Outcome, Ticket, TicketKind};
use uuid::Uuid;

use super::customers;
use super::tx::{Lock, Tx};
use super::{PushOutcome, StorageError};
use crate::decide::push::{Batch, Next};
use crate::decide::stamps::StampLimit;
use crate::decide::tickets::{self, Reversal, ReversalFacts};
use crate::decide::{self, Rejection};

/// An applied mutation's outcome, or why it was refused.
type Applied = Result<Outcome, Rejection>;

/// Settles `mutations` of `terminal_id` in order, in the caller's transaction, applying none of
/// those it `withdraw`s; the stamps it keeps are bounded by `stamps`.
pub(super) async fn settle<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    mutations: &[Mutation],
    withdraw: &[Uuid],
    stamps: StampLimit,
) -> Result<PushOutcome, T::Error> {
    let last_seq = tx
        .lock_terminal(terminal_id)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {terminal_id}"),
        })?;
    // Each mutation's own id, and the original of each recovered one.
    let ids: Vec<Uuid> = mutations
        .iter()
        .flat_map(|m| std::iter::once(m.id).chain(m.recovered.as_ref().map(|r| r.mutation_id)))
        .collect();
    let recorded = tx.recorded(&ids).await?;
    let mut settling = Settling {
        tx,
        terminal_id,
        stamps,
        batch: Batch::new(terminal_id, last_seq, recorded),
    };
    for mutation in mutations {
        if let Next::Apply { hash } = settling.batch.next(mutation)? {
            let outcome = if withdraw.contains(&mutation.id) {
                decide::push::withdrawn()
            } else {
                settling.apply(mutation).await?
            };
            settling.batch.applied(mutation, hash, outcome)?;
        }
    }
    let settlement = settling.batch.finish();
    if !settlement.settled.is_empty() {
        settling.tx.record_batch(terminal_id, &settlement).await?;
    }
    Ok(settlement.outcome)
}

/// A batch of one terminal as it settles in a backend's transaction.
struct Settling<'a, T> {
    tx: &'a mut T,
    terminal_id: Uuid,
    stamps: StampLimit,
    batch: Batch,
}

impl<T: Tx> Settling<'_, T> {
    /// Applies one mutation whose sequence is next.
    async fn apply(&mut self, mutation: &Mutation) -> Result<Outcome, T::Error> {
        let hlc = self.stamps.bound(mutation.hlc);
        let applied = match &mutation.body {
            MutationBody::TicketCreated(t) => self.sale(mutation.id, t).await?,
            MutationBody::TicketVoided(t) => {
                self.reversal(mutation.id, TicketKind::Void, t).await?
            }
            MutationBody::TicketRefunded(t) => {
                self.reversal(mutation.id, TicketKind::Refund, t).await?
            }
            MutationBody::CustomerCreated(c) => {
                customers::apply(self.tx, c.id, |current| {
                    decide::customers::created(current, &c.fields, hlc)
                })
                .await?
            }
            MutationBody::CustomerUpdated(c) => {
                customers::apply(self.tx, c.id, |current| {
                    decide::customers::updated(current, c.base_version, &c.fields, hlc)
                })
                .await?
            }
            MutationBody::CustomerDeleted(c) => {
                customers::apply(self.tx, c.id, |current| {
                    decide::customers::deleted(current, c.base_version, hlc)
                })
                .await?
            }
        };
        Ok(applied.unwrap_or_else(Rejection::into_outcome))
    }

    async fn sale(&mut self, mutation_id: Uuid, ticket: &Ticket) -> Result<Applied, T::Error> {
        if let Err(r) = tickets::check_ticket(TicketKind::Sale, ticket) {
            return Ok(Err(r));
        }
        self.store(mutation_id, ticket).await
    }

    async fn reversal(
        &mut self,
        mutation_id: Uuid,
        kind: TicketKind,
        ticket: &Ticket,
    ) -> Result<Applied, T::Error> {
        if let Err(r) = tickets::check_ticket(kind, ticket) {
            return Ok(Err(r));
        }
        if let Some(stored) = self.tx.ticket(ticket.id, Lock::No).await? {
            return Ok(Err(tickets::duplicate(ticket.id, stored.server_id)));
        }
        let original_id = match tickets::reversed_id(ticket) {
            Ok(id) => id,
            Err(r) => return Ok(Err(r)),
        };
        // Held: a reversal of the same sale elsewhere waits, then finds this one.
        let original = self.tx.ticket(original_id, Lock::Row).await?;
        let sold = self.tx.sold_lines(original_id).await?;
        let facts = ReversalFacts {
            terminal_id: self.terminal_id,
            cross_till_returns: self.tx.office_settings().await?.allow_cross_till_returns,
            sold: &sold,
        };
        match tickets::reversal(kind, ticket, original_id, original.as_ref(), facts) {
            Reversal::Reject(r) => Ok(Err(r)),
            Reversal::Conflict { first } => {
                let stored = self.tx.ticket(first, Lock::No).await?.ok_or_else(|| {
                    StorageError::Corrupt(format!("reversal {first} of {original_id} is missing"))
                })?;
                Ok(Ok(tickets::already_reversed(
                    first,
                    &stored,
                    self.terminal_id,
                )))
            }
            Reversal::Insert => {
                let stored = self.store(mutation_id, ticket).await?;
                if stored.is_ok() {
                    self.tx.mark_reversed(original_id, ticket.id).await?;
                }
                Ok(stored)
            }
        }
    }

    /// Stores a checked ticket and its stock moves, or refuses it when its id is stored
    /// already.
    async fn store(&mut self, mutation_id: Uuid, ticket: &Ticket) -> Result<Applied, T::Error> {
        let inserted = self
            .tx
            .insert_ticket(self.terminal_id, mutation_id, ticket)
            .await?;
        let Some((server_id, server_number)) = inserted else {
            let stored = self.tx.ticket(ticket.id, Lock::No).await?;
            let server_id = stored.map(|t| t.server_id).unwrap_or_default();
            return Ok(Err(tickets::duplicate(ticket.id, server_id)));
        };
        self.batch.move_stock(ticket);
        Ok(Ok(Outcome::Applied {
            server_id,
            server_number: Some(server_number),
            version: 1,
        }))
    }
}
