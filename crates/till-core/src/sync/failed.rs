//! Items the server rejected for good. They never leave the list silently: a person retries one
//! (it is queued again as a new mutation, since the server settled the old sequence number
//! forever) or discards it with a reason, and either action is recorded in `outbox_actions`.

use rusqlite::{params, Connection, TransactionBehavior};
use serde::Serialize;
use till_protocol::{Approval, Mutation, Operator};
use uuid::Uuid;

use crate::approvals::{self, Needed};
use crate::journal::{self, Event, FailedItemDiscarded};
use crate::outbox::{self, OutboxState};
use crate::{hlc, tickets, Clock};

use super::error::SyncError;

/// A failed item as the manager sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedItem {
    pub seq: u64,
    pub mutation_id: Uuid,
    pub kind: String,
    pub entity_id: Uuid,
    /// The server's code (`depends_on_failed` when it waits on another failed item).
    pub code: String,
    pub reason: String,
    pub attempts: u32,
    pub failed_at_ms: i64,
}

/// A failed item as the app's review list shows it: the ticket it carries, by this till's number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FailedItem"))]
pub struct ReviewItem {
    pub seq: u64,
    pub mutation_id: Uuid,
    /// The mutation type (`ticket_created`, `customer_updated`, …).
    pub kind: String,
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<u64>,
    pub code: String,
    pub reason: String,
    pub failed_at_ms: i64,
    pub attempts: u32,
}

/// The failed items, oldest first, each ticket item with the ticket it carries.
pub fn review_list(conn: &Connection, limit: u32) -> Result<Vec<ReviewItem>, SyncError> {
    Ok(list(conn, limit)?
        .into_iter()
        .map(|f| {
            let ticket = if f.kind.starts_with("ticket") {
                tickets::load(conn, f.entity_id).ok().flatten()
            } else {
                None
            };
            ReviewItem {
                seq: f.seq,
                mutation_id: f.mutation_id,
                kind: f.kind,
                ticket_id: ticket.as_ref().map(|t| t.id),
                ticket_number: ticket.as_ref().map(|t| t.number),
                code: f.code,
                reason: f.reason,
                failed_at_ms: f.failed_at_ms,
                attempts: f.attempts,
            }
        })
        .collect())
}

/// Splits `code: reason` as stored in `last_error`.
fn split_error(raw: Option<&str>) -> (String, String) {
    match raw.and_then(|s| s.split_once(": ")) {
        Some((code, reason)) => (code.to_string(), reason.to_string()),
        None => ("rejected".into(), raw.unwrap_or_default().to_string()),
    }
}

/// The failed items, oldest first.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<FailedItem>, SyncError> {
    let mut out = Vec::new();
    for e in outbox::in_state(conn, OutboxState::Failed, limit)? {
        let (code, reason) = split_error(e.last_error.as_deref());
        out.push(FailedItem {
            seq: e.seq,
            mutation_id: e.mutation_id,
            kind: e.kind,
            entity_id: e.entity_id,
            code,
            reason,
            attempts: e.attempts,
            failed_at_ms: e.updated_at_ms,
        });
    }
    Ok(out)
}

fn failed_entry(conn: &Connection, seq: u64) -> Result<outbox::OutboxEntry, SyncError> {
    let entry =
        outbox::get(conn, seq)?.ok_or_else(|| SyncError::NotFound(format!("item {seq}")))?;
    if entry.state != OutboxState::Failed {
        return Err(SyncError::NotApplicable(format!(
            "item {seq} is {}, not failed",
            entry.state.as_str()
        )));
    }
    Ok(entry)
}

/// Who acts on a failed item: on a till with employees the `operator` signed in (whose name is
/// recorded, `pin_required` without one), else `actor` as named.
fn who<'a>(
    conn: &Connection,
    what: &str,
    actor: &'a str,
    operator: Option<&'a Operator>,
) -> Result<&'a str, SyncError> {
    approvals::check(conn, operator, None, None)?;
    let actor = operator.map_or(actor, |o| o.name.as_str());
    super::attribution::name(what, actor)
}

/// Queues a failed item again as a new mutation with the same content, sent as the
/// `operator`'s (or, on a till without employees, as whoever made it); returns its new sequence
/// number. Items that waited on it (`depends_on_failed`), and those that waited on them, are
/// queued again after it, each after what it waits for.
pub fn retry(
    conn: &mut Connection,
    seq: u64,
    actor: &str,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<u64, SyncError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let actor = who(&tx, "the name of who retries", actor, operator)?;
    let new_seq = requeue(&tx, seq, actor, operator, clock)?;
    let mut parents = std::collections::VecDeque::from([seq]);
    while let Some(parent) = parents.pop_front() {
        for dependent in outbox::waiting_for(&tx, parent)? {
            requeue(&tx, dependent, actor, operator, clock)?;
            parents.push_back(dependent);
        }
    }
    tx.commit()?;
    Ok(new_seq)
}

fn requeue(
    conn: &Connection,
    seq: u64,
    actor: &str,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<u64, SyncError> {
    let entry = failed_entry(conn, seq)?;
    let old: Mutation = serde_json::from_slice(&entry.payload)?;
    let now = clock.now_ms();
    let stamp = hlc::tick(conn, now)?;
    let sent_as = operator.cloned().or(old.operator);
    outbox::enqueue(conn, old.body, sent_as, stamp, now)?;
    let new_seq = crate::counters::last(conn, crate::counters::MUTATION)?;
    let why = entry.last_error.as_deref();
    outbox::set_state(conn, seq, OutboxState::Discarded, None, why, now)?;
    conn.prepare_cached(
        "INSERT INTO outbox_actions (seq, action, new_seq, reason, actor, at_ms, last_error)
         VALUES (?1, 'retry', ?2, NULL, ?3, ?4, ?5)",
    )?
    .execute(params![
        i64::try_from(seq).unwrap_or(i64::MAX),
        i64::try_from(new_seq).unwrap_or(i64::MAX),
        actor,
        now,
        entry.last_error
    ])?;
    tracing::info!(seq, new_seq, %actor, "failed item queued again");
    Ok(new_seq)
}

/// Drops a failed item for good, recording who and why, with it and in the journal
/// ([`Event::FailedItemDiscarded`], in the same transaction). On a till with employees it takes
/// the `operator` signed in and a manager's `approval` of the discard ([`Needed::discard`]), both
/// recorded with it.
pub fn discard(
    conn: &mut Connection,
    seq: u64,
    reason: &str,
    actor: &str,
    operator: Option<&Operator>,
    approval: Option<Approval>,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    let reason = super::attribution::reason("the reason", reason)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let actor = who(&tx, "the name of who discards", actor, operator)?;
    let entry = failed_entry(&tx, seq)?;
    let approval = approvals::check(&tx, operator, Some(&Needed::discard(seq)), approval)?;
    let now = clock.now_ms();
    let why = entry.last_error.as_deref();
    outbox::set_state(&tx, seq, OutboxState::Discarded, None, why, now)?;
    tx.prepare_cached(
        "INSERT INTO outbox_actions (seq, action, new_seq, reason, actor, at_ms, last_error,
             approval)
         VALUES (?1, 'discard', NULL, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        i64::try_from(seq).unwrap_or(i64::MAX),
        reason,
        actor,
        now,
        entry.last_error,
        approval.as_ref().map(serde_json::to_string).transpose()?,
    ])?;
    let (_, refused) = split_error(why);
    let event = Event::FailedItemDiscarded(FailedItemDiscarded {
        at_ms: now,
        mutation_id: entry.mutation_id,
        entity_id: entry.entity_id,
        reason: refused,
        why: reason.to_string(),
        operator: operator.cloned(),
        approval: approval.clone(),
    });
    journal::append_event(&tx, &event)?;
    tx.commit()?;
    let approved_by = approval.as_ref().map(|a| a.by.name.as_str());
    tracing::info!(seq, %actor, %reason, ?approved_by, "failed item discarded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use till_protocol::CustomerFields;

    use super::*;
    use crate::clock::FixedClock;
    use crate::journal::testing::{editing_breaks_the_chain, the_only_event};
    use crate::sync::customers;

    #[test]
    fn a_discard_is_an_event_of_the_journal_and_editing_it_breaks_the_chain() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let mut conn = store.connect().expect("connects");
        let clock = FixedClock(1_000);
        let fields = CustomerFields {
            name: "Ada".into(),
            ..CustomerFields::default()
        };
        let ada = customers::save(&mut conn, None, fields, &clock).expect("queued");
        let seq = crate::counters::last(&conn, crate::counters::MUTATION).expect("a sequence");
        let refused = Some("bad_input: not this one");
        outbox::set_state(&conn, seq, OutboxState::Failed, None, refused, 1).expect("fails");

        discard(&mut conn, seq, "a typo", "Ana", None, None, &clock).expect("discards");
        let Event::FailedItemDiscarded(d) = the_only_event(&mut conn) else {
            panic!("a failed_item_discarded event")
        };
        assert_eq!(d.entity_id, ada.id);
        assert_eq!(
            (d.reason.as_str(), d.why.as_str()),
            ("not this one", "a typo"),
            "why the office refused it, and why it was dropped"
        );

        editing_breaks_the_chain(&mut conn, "a typo", "a whim", "failed_item_discarded");
    }
}
