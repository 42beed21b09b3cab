//! Settling a push batch, written once over [`Tx`]: the batch's facts are loaded through the
//! backend's transaction, [`crate::decide`] says what each mutation gets, and the backend
//! writes it. Every check of a mutation runs before its first write, so a refused mutation
//! leaves nothing behind.

use till_protocol::{
    ChainHead, DisputeSettled, DisputeSettlement, Mutation, MutationBody, Outcome, Ticket,
    TicketKind,
};
use uuid::Uuid;

use super::tx::{Lock, Tx};
use super::{customers, shifts};
use super::{PushOutcome, StorageError};
use crate::clock::now_ms;
use crate::decide::customers::{CustomerDecision, EditBase, Made, StoredCustomer};
use crate::decide::disputes::{self, CounterSale, NewDispute};
use crate::decide::push::{Batch, Next, Received};
use crate::decide::stamps::StampLimit;
use crate::decide::tickets::{self, Reversal, ReversalFacts};
use crate::decide::{self, text, Rejection};

/// An applied mutation's outcome, or why it was refused.
pub(super) type Applied = Result<Outcome, Rejection>;

/// What a push brings: its mutations, those the terminal withdraws, and the terminal's newest
/// link.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pushed<'a> {
    pub mutations: &'a [Received],
    pub withdraw: &'a [Uuid],
    pub head: Option<&'a ChainHead>,
}

/// Settles the pushed mutations of `terminal_id` in order, in the caller's transaction, applying
/// none of those it withdraws; a customer change stamped beyond `stamps` is refused. A break of
/// the terminal's push chain refuses the whole push: the caller's transaction is not committed.
pub(super) async fn settle<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    pushed: Pushed<'_>,
    stamps: StampLimit,
) -> Result<PushOutcome, T::Error> {
    let Pushed {
        mutations,
        withdraw,
        head,
    } = pushed;
    let last_seq = tx
        .lock_terminal(terminal_id)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {terminal_id}"),
        })?;
    let chain = tx.chain_heads(terminal_id).await?;
    // Each mutation's own id, and the original of each recovered one.
    let ids: Vec<Uuid> = mutations
        .iter()
        .map(|received| &received.mutation)
        .flat_map(|m| std::iter::once(m.id).chain(m.recovered.as_ref().map(|r| r.mutation_id)))
        .collect();
    let recorded = tx.recorded(&ids).await?;
    let mut settling = Settling {
        tx,
        terminal_id,
        stamps,
        batch: Batch::new(terminal_id, last_seq, recorded).chained(chain.clone()),
    };
    for received in mutations {
        if let Next::Apply { hash } = settling.batch.next(received)? {
            let mutation = &received.mutation;
            let outcome = if withdraw.contains(&mutation.id) {
                decide::push::withdrawn()
            } else {
                settling.apply(mutation).await?
            };
            settling.batch.applied(mutation, hash, outcome)?;
        }
    }
    settling.batch.announce(head)?;
    let settlement = settling.batch.finish();
    if !settlement.settled.is_empty() {
        settling.tx.record_batch(terminal_id, &settlement).await?;
    }
    if settlement.chain != chain {
        settling
            .tx
            .set_chain_heads(terminal_id, &settlement.chain)
            .await?;
    }
    let mut outcome = settlement.outcome;
    for (result, received) in outcome.results.iter_mut().zip(mutations) {
        if let Some(ticket) = tickets::echoed(&received.mutation.body, &result.outcome) {
            result.stored = settling.tx.stored_figures(ticket).await?;
        }
    }
    Ok(outcome)
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
        if let Err(r) = decide::formats::check(mutation.format()) {
            return Ok(r.into_outcome());
        }
        let made = Made {
            by: mutation.made_by(),
            hlc: mutation.hlc,
        };
        if let Some(operator) = &mutation.operator {
            if let Err(r) = text::check_operator("the mutation's operator", operator) {
                return Ok(Rejection::new(r.code, r.message).into_outcome());
            }
        }
        let applied = match &mutation.body {
            MutationBody::TicketCreated(t) => self.sale(mutation.id, t).await?,
            MutationBody::TicketVoided(t) => {
                self.reversal(mutation.id, TicketKind::Void, t).await?
            }
            MutationBody::TicketRefunded(t) => {
                self.reversal(mutation.id, TicketKind::Refund, t).await?
            }
            MutationBody::CustomerCreated(c) => {
                self.customer(c.id, made, |current| {
                    decide::customers::created(current, &c.fields, mutation.format(), made)
                })
                .await?
            }
            MutationBody::CustomerUpdated(c) => {
                self.customer(c.id, made, |current| {
                    let base = EditBase::of(c.base, c.base_version);
                    decide::customers::updated(current, base, &c.fields, mutation.format(), made)
                })
                .await?
            }
            MutationBody::CustomerDeleted(c) => {
                self.customer(c.id, made, |current| {
                    let base = EditBase::of(c.base, c.base_version);
                    decide::customers::deleted(current, base, made)
                })
                .await?
            }
            MutationBody::DisputeSettled(d) => self.settle_dispute(d).await?,
            MutationBody::ShiftOpened(opened) => {
                shifts::open(self.tx, self.terminal_id, opened).await?
            }
            MutationBody::CashMoved(moved) => {
                shifts::move_cash(self.tx, self.terminal_id, moved).await?
            }
            MutationBody::ShiftClosed(closed) => {
                shifts::close(self.tx, self.terminal_id, closed).await?
            }
        };
        Ok(applied.unwrap_or_else(Rejection::into_outcome))
    }

    /// A customer change `made` by the mutation: refused when stamped beyond the clock skew
    /// allowed, else as `decide` says on the customer as stored.
    async fn customer(
        &mut self,
        id: Uuid,
        made: Made,
        decide: impl FnOnce(Option<&StoredCustomer>) -> Result<CustomerDecision, Rejection>,
    ) -> Result<Applied, T::Error> {
        if let Err(refused) = self.stamps.check(made.hlc) {
            return Ok(Err(refused));
        }
        customers::apply(self.tx, id, decide).await
    }

    async fn sale(&mut self, mutation_id: Uuid, ticket: &Ticket) -> Result<Applied, T::Error> {
        if let Err(r) = tickets::check_ticket(TicketKind::Sale, ticket) {
            return Ok(Err(r));
        }
        Ok(self.store(mutation_id, ticket).await?.map(applied_ticket))
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
        let earlier = self.tx.reversals_of(original_id).await?;
        let facts = ReversalFacts {
            terminal_id: self.terminal_id,
            cross_till_returns: self.tx.office_settings().await?.allow_cross_till_returns,
            sold: &sold,
            earlier: &earlier,
        };
        match tickets::reversal(kind, ticket, original_id, original.as_ref(), facts) {
            Reversal::Reject(r) => Ok(Err(r)),
            Reversal::Disputed { first } => {
                let stored_first = self.tx.ticket(first, Lock::No).await?.ok_or_else(|| {
                    StorageError::Corrupt(format!("reversal {first} of {original_id} is missing"))
                })?;
                let (server_id, server_number) = match self.store(mutation_id, ticket).await? {
                    Ok(stored) => stored,
                    Err(refused) => return Ok(Err(refused)),
                };
                let dispute = NewDispute {
                    reversal_id: ticket.id,
                    sale_id: original_id,
                    first_id: first,
                    terminal_id: self.terminal_id,
                    total: ticket.totals.total,
                };
                self.tx.insert_dispute(&dispute, now_ms()).await?;
                let named = tickets::first_reversal(first, &stored_first, self.terminal_id);
                Ok(Ok(tickets::disputed(server_id, server_number, named)))
            }
            Reversal::Insert => {
                let stored = self.store(mutation_id, ticket).await?;
                if stored.is_ok() {
                    self.tx.mark_reversed(original_id, ticket.id).await?;
                }
                Ok(stored.map(applied_ticket))
            }
        }
    }

    /// A manager's settlement of a disputed reversal of this terminal.
    async fn settle_dispute(&mut self, settled: &DisputeSettled) -> Result<Applied, T::Error> {
        let dispute = self.tx.dispute(settled.reversal_id).await?;
        let counter = match settled.settlement {
            DisputeSettlement::RefundStands => None,
            DisputeSettlement::CashCameBack { counter_sale } => {
                match self.tx.ticket(counter_sale, Lock::No).await? {
                    Some(ticket) => Some(CounterSale {
                        ticket,
                        used: self.tx.counts_back_a_dispute(counter_sale).await?,
                    }),
                    None => None,
                }
            }
        };
        let closed = match disputes::settle_dispute(
            settled,
            self.terminal_id,
            dispute.as_ref(),
            counter.as_ref(),
        ) {
            Ok(closed) => closed,
            Err(refused) => return Ok(Err(refused)),
        };
        self.tx
            .close_dispute(settled.reversal_id, &closed, now_ms())
            .await?;
        Ok(Ok(Outcome::Applied {
            server_id: dispute.map(|d| d.server_id).unwrap_or_default(),
            server_number: None,
            version: 1,
        }))
    }

    /// Stores a checked ticket and its stock moves: its server id and number, or a refusal when
    /// its id is stored already.
    async fn store(
        &mut self,
        mutation_id: Uuid,
        ticket: &Ticket,
    ) -> Result<Result<(i64, u64), Rejection>, T::Error> {
        let inserted = self
            .tx
            .insert_ticket(self.terminal_id, mutation_id, ticket)
            .await?;
        let Some(stored) = inserted else {
            let stored = self.tx.ticket(ticket.id, Lock::No).await?;
            let server_id = stored.map(|t| t.server_id).unwrap_or_default();
            return Ok(Err(tickets::duplicate(ticket.id, server_id)));
        };
        self.batch.move_stock(ticket);
        Ok(Ok(stored))
    }
}

/// The answer to a ticket stored as `server_id` under back-office number `server_number`.
fn applied_ticket((server_id, server_number): (i64, u64)) -> Outcome {
    Outcome::Applied {
        server_id,
        server_number: Some(server_number),
        version: 1,
    }
}
