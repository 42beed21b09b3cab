//! Settling a ticket conflict. A void or refund the back office refused as already reversed (an
//! answer from a back office before disputed reversals) is only acknowledged: keep theirs drops
//! it here. A disputed reversal, which the back office stored and counts, is settled by a manager
//! in one of two ways that keep the money true: the refund stands (the cash was handed out), or
//! the cash came back, and a counter-sale of its lines at its figures counts it in again, here
//! (in the journal, under the next ticket number) and in the back office. Either way the
//! settlement is sent with who decided and why.

use rusqlite::Connection;
use till_protocol::{DisputeSettled, DisputeSettlement, MutationBody, Operator};
use uuid::Uuid;

use crate::{hlc, outbox, tickets, Clock};

use super::super::attribution;
use super::super::error::SyncError;
use super::sides::TicketSides;
use super::{Conflict, Resolution};

/// Settles a ticket conflict as `actor` (the `operator` on a till with employees) chose; returns
/// the sequence of the settlement queued for the back office, if one is needed. The settlement
/// and any counter-sale are sent as the operator's.
pub(super) fn settle(
    conn: &Connection,
    c: &Conflict,
    sides: &TicketSides,
    resolution: &Resolution,
    actor: &str,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<Option<u64>, SyncError> {
    let send = |settlement, why: Option<&str>| {
        queue(conn, c.entity_id, settlement, actor, why, operator, clock)
    };
    match (c.is_disputed_reversal(), resolution) {
        (false, Resolution::KeepTheirs) => Ok(None),
        (false, _) => Err(SyncError::NotApplicable(
            "a ticket already reversed on the server cannot be reversed again; \
             resolve with keep theirs to acknowledge it"
                .into(),
        )),
        (true, Resolution::RefundStands) => {
            let settlement = DisputeSettlement::RefundStands;
            send(settlement, None).map(Some)
        }
        (true, Resolution::CashCameBack { why }) => {
            let why = attribution::reason("why the cash came back", why)?;
            let reversal = sides.mine.as_ref().ok_or_else(|| {
                SyncError::NotApplicable(
                    "this till's void or refund is not recorded with the conflict".into(),
                )
            })?;
            let counter = tickets::counter_sale(conn, reversal, operator.cloned(), clock)?;
            let settlement = DisputeSettlement::CashCameBack {
                counter_sale: counter.id,
            };
            send(settlement, Some(why)).map(Some)
        }
        (true, _) => Err(SyncError::NotApplicable(
            "the back office counts this refund, so its money is settled, never dropped: \
             the refund stands, or the cash came back"
                .into(),
        )),
    }
}

/// Queues the settlement of the disputed reversal `reversal_id`.
fn queue(
    conn: &Connection,
    reversal_id: Uuid,
    settlement: DisputeSettlement,
    by: &str,
    why: Option<&str>,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<u64, SyncError> {
    let now = clock.now_ms();
    let body = MutationBody::DisputeSettled(DisputeSettled {
        reversal_id,
        settlement,
        by: by.to_string(),
        why: why.map(str::to_string),
    });
    let stamp = hlc::tick(conn, now)?;
    Ok(outbox::enqueue(conn, body, operator.cloned(), stamp, now)?.seq)
}
