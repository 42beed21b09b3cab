//! Disagreements between this terminal and the back office that sync will not settle by
//! overwriting: a customer edited on both sides, deleted on the server while edited here, a
//! refund of a ticket another terminal already refunded, a closed shift whose Z report the back
//! office does not agree with. Each is stored with both sides, the differing fields and the
//! policy of its entity kind; a policy may settle it, else a person resolves it (money is only
//! ever settled by a person: a disputed reversal, a shift). A resolution records who chose what
//! and when, in the conflict and in the journal, and queues the result, if any, as a new mutation
//! against the server's version, carrying the winning edit's stamp.
//!
//! One open conflict per entity: every edit of a customer that meets the back office's copy joins
//! it, each adding the fields it changed. Its policy decides once no edit of that customer waits
//! for the server any more, so it settles the edits together and never one without the others.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use till_protocol::Operator;

use crate::journal::{self, ConflictResolved, Event};
use crate::{approvals, outbox, Clock};

use super::customers;
use super::error::SyncError;

mod customer;
mod policy;
mod reversal;
pub mod review;
mod shift;
mod sides;
mod totals;

pub use policy::{
    ConflictPolicy, Decision, FieldMerge, LastWriterWins, Manual, PolicySet, ServerWins,
    TerminalWins,
};
pub use sides::{
    ConflictEntity, ConflictReason, CustomerField, CustomerSides, LocalEdit, LocalReason,
    ShiftSides, Sides, TicketSides, TotalsSides,
};

/// A stored conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub id: i64,
    pub entity_id: Uuid,
    /// The outbox mutation the server answered with a conflict, if it came from a push.
    pub outbox_seq: Option<u64>,
    /// Why it exists (the first reason found, when a later one merged into it).
    pub reason: ConflictReason,
    /// Both sides, typed by entity.
    pub sides: Sides,
    /// The policy that applied.
    pub policy: String,
    pub detected_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution: Option<Resolution>,
    /// The mutation that carries the resolution to the server, if one was needed.
    pub resolution_seq: Option<u64>,
}

impl Conflict {
    /// The kind of entity it is about.
    pub fn entity(&self) -> ConflictEntity {
        self.sides.entity()
    }

    /// A void or refund of this terminal the back office stored and counts though its sale was
    /// reversed before: settled by a manager only.
    pub fn is_disputed_reversal(&self) -> bool {
        self.reason == ConflictReason::Local(LocalReason::DisputedReversal)
    }

    /// Whether only a person may settle it, never a policy: it is about money (a disputed
    /// reversal, a shift whose Z report the back office does not agree with).
    pub fn only_a_person_settles(&self) -> bool {
        only_a_person_settles(self.reason, &self.sides)
    }
}

fn only_a_person_settles(reason: ConflictReason, sides: &Sides) -> bool {
    reason == ConflictReason::Local(LocalReason::DisputedReversal)
        || matches!(sides, Sides::Shift(_) | Sides::Totals(_))
}

/// The JSON of a conflict that `tillctl conflicts list --json` and `show` print, and scripts
/// read: the stored row, each side in its stored shape.
#[derive(Serialize)]
struct Printed<'a> {
    id: i64,
    entity_kind: ConflictEntity,
    entity_id: Uuid,
    outbox_seq: Option<u64>,
    reason: ConflictReason,
    local: Option<Value>,
    server: Option<Value>,
    base: Option<Value>,
    fields: Vec<String>,
    policy: &'a str,
    detected_at_ms: i64,
    resolved_at_ms: Option<i64>,
    resolved_by: Option<&'a str>,
    resolution: Option<Value>,
    resolution_seq: Option<u64>,
}

impl Serialize for Conflict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let columns = self.sides.to_columns().map_err(S::Error::custom)?;
        Printed {
            id: self.id,
            entity_kind: self.entity(),
            entity_id: self.entity_id,
            outbox_seq: self.outbox_seq,
            reason: self.reason,
            local: columns.local,
            server: columns.server,
            base: columns.base,
            fields: columns.fields,
            policy: &self.policy,
            detected_at_ms: self.detected_at_ms,
            resolved_at_ms: self.resolved_at_ms,
            resolved_by: self.resolved_by.as_deref(),
            // As a JSON value, as it was read back from the table before.
            resolution: self
                .resolution
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(S::Error::custom)?,
            resolution_seq: self.resolution_seq,
        }
        .serialize(serializer)
    }
}

/// Which side wins a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Mine,
    Theirs,
}

/// How a conflict is settled, as a person (or a policy) chooses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "choice", content = "picks", rename_all = "snake_case")]
pub enum Resolution {
    /// This terminal's version wins.
    KeepMine,
    /// The server's version wins; for what can only be acknowledged (a reversal the back office
    /// refused, a shift whose Z report it does not agree with), acknowledges it.
    KeepTheirs,
    /// Field by field, by field name; fields not named keep the server's value. Names are
    /// checked against [`CustomerField`] when the choice is applied, after the conflict is known
    /// to be about a customer.
    Pick(BTreeMap<String, Side>),
    /// A disputed reversal: its cash was handed out, so it stands and stays counted.
    RefundStands,
    /// A disputed reversal: its cash came back, `why` in the manager's words; a counter-sale of
    /// its lines counts it in again, here and in the back office.
    CashCameBack { why: String },
}

/// A conflict as detected, before it is stored.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    pub entity_id: Uuid,
    pub outbox_seq: Option<u64>,
    pub reason: ConflictReason,
    pub sides: Sides,
}

const COLUMNS: &str = "id, entity_kind, entity_id, outbox_seq, reason, local, server, base, \
    policy, detected_at_ms, resolved_at_ms, resolved_by, resolution, resolution_seq";

/// A row as stored, before its columns are read as types.
struct Row {
    id: i64,
    kind: String,
    entity_id: String,
    outbox_seq: Option<u64>,
    reason: String,
    local: Option<Value>,
    server: Option<Value>,
    base: Option<Value>,
    policy: String,
    detected_at_ms: i64,
    resolved_at_ms: Option<i64>,
    resolved_by: Option<String>,
    resolution: Option<Value>,
    resolution_seq: Option<u64>,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let json = |i: usize| -> rusqlite::Result<Option<Value>> {
        let raw: Option<String> = r.get(i)?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    };
    let seq = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?
            .and_then(|s| u64::try_from(s).ok()))
    };
    Ok(Row {
        id: r.get(0)?,
        kind: r.get(1)?,
        entity_id: r.get(2)?,
        outbox_seq: seq(3)?,
        reason: r.get(4)?,
        local: json(5)?,
        server: json(6)?,
        base: json(7)?,
        policy: r.get(8)?,
        detected_at_ms: r.get(9)?,
        resolved_at_ms: r.get(10)?,
        resolved_by: r.get(11)?,
        resolution: json(12)?,
        resolution_seq: seq(13)?,
    })
}

impl Row {
    fn typed(self) -> Result<Conflict, SyncError> {
        let entity = sides::entity_from_column(&self.kind)?;
        let reason = sides::reason_from_column(&self.reason)?;
        Ok(Conflict {
            id: self.id,
            entity_id: Uuid::parse_str(&self.entity_id).unwrap_or_default(),
            outbox_seq: self.outbox_seq,
            reason,
            sides: Sides::from_columns(
                entity,
                reason,
                self.local.as_ref(),
                self.server.as_ref(),
                self.base.as_ref(),
            ),
            policy: self.policy,
            detected_at_ms: self.detected_at_ms,
            resolved_at_ms: self.resolved_at_ms,
            resolved_by: self.resolved_by,
            resolution: self.resolution.and_then(|v| serde_json::from_value(v).ok()),
            resolution_seq: self.resolution_seq,
        })
    }
}

/// Stores a conflict (merging into the entity's open conflict, if any) inside the caller's
/// transaction, then lets the kind's policy settle it when it can. Returns the conflict id.
pub(crate) fn record(
    conn: &Connection,
    policies: &PolicySet,
    d: Detected,
    clock: &dyn Clock,
) -> Result<i64, SyncError> {
    let now = clock.now_ms();
    if let Some(stamp) = d.sides.server_stamp() {
        crate::hlc::receive(conn, stamp, now)?;
    }
    let policy = policies
        .for_conflict(d.reason, &d.sides)
        .map_or(Manual.name(), |p| p.name());
    let kind = d.sides.entity().as_str();
    let open = open_for(conn, d.sides.entity(), d.entity_id)?;
    let sides = match (&open, d.sides) {
        (Some(open), Sides::Customer(later)) => match &open.sides {
            Sides::Customer(before) => Sides::Customer(before.merged_with(later)),
            Sides::Ticket(_) | Sides::Shift(_) | Sides::Totals(_) => Sides::Customer(later),
        },
        (_, sides) => sides,
    };
    let columns = sides.to_columns()?;
    let fields = serde_json::to_string(&columns.fields)?;
    let enc = |v: &Option<Value>| v.as_ref().map(Value::to_string);
    let reason = d.reason.as_str();
    let seq = d.outbox_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let id = match open.map(|c| c.id) {
        Some(id) => {
            conn.prepare_cached(
                "UPDATE conflicts SET outbox_seq = coalesce(?2, outbox_seq),
                 reason = coalesce(reason, ?3), local = ?4, server = ?5,
                 base = coalesce(base, ?6), fields = ?7 WHERE id = ?1",
            )?
            .execute(params![
                id,
                seq,
                reason,
                enc(&columns.local),
                enc(&columns.server),
                enc(&columns.base),
                fields
            ])?;
            id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO conflicts (entity_kind, entity_id, outbox_seq, reason, local, server,
                 base, fields, policy, detected_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                kind,
                d.entity_id.to_string(),
                seq,
                reason,
                enc(&columns.local),
                enc(&columns.server),
                enc(&columns.base),
                fields,
                policy,
                now
            ])?;
            conn.last_insert_rowid()
        }
    };
    tracing::info!(conflict = id, entity = %d.entity_id, %reason, "conflict recorded");
    decide(conn, policies, &get(conn, id)?, clock)?;
    Ok(id)
}

/// Lets the policy of the entity's open conflict settle it, if it is waiting for the edits of
/// that entity still out with the server and none is any more. Called when a mutation about
/// `entity` settles.
pub(crate) fn decide_waiting(
    conn: &Connection,
    policies: &PolicySet,
    entity: ConflictEntity,
    entity_id: Uuid,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    match open_for(conn, entity, entity_id)? {
        Some(open) => decide(conn, policies, &open, clock),
        None => Ok(()),
    }
}

/// The entity's open conflict, if any.
fn open_for(
    conn: &Connection,
    entity: ConflictEntity,
    entity_id: Uuid,
) -> Result<Option<Conflict>, SyncError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conflicts WHERE entity_kind = ?1 AND entity_id = ?2
         AND resolved_at_ms IS NULL"
    ))?
    .query_row(params![entity.as_str(), entity_id.to_string()], from_row)
    .optional()?
    .map(Row::typed)
    .transpose()
}

/// Lets the policy of `conflict`'s kind settle it when it may: a customer's once none of its
/// edits waits for the server; a disputed reversal's or a shift's never (money: a manager
/// decides).
fn decide(
    conn: &Connection,
    policies: &PolicySet,
    conflict: &Conflict,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    let Some(policy) = policies.for_conflict(conflict.reason, &conflict.sides) else {
        return Ok(());
    };
    if conflict.entity() == ConflictEntity::Customer
        && customers::unsettled_for(conn, conflict.entity_id)? > 0
    {
        return Ok(());
    }
    if let Decision::Resolve(resolution) = policy.decide(conflict) {
        let actor = format!("policy:{}", policy.name());
        apply_resolution(conn, conflict, &resolution, &actor, None, clock)?;
    }
    Ok(())
}

/// Conflicts, newest first; open ones only unless `include_resolved`.
pub fn list(conn: &Connection, include_resolved: bool) -> Result<Vec<Conflict>, SyncError> {
    let filter = if include_resolved {
        ""
    } else {
        "WHERE resolved_at_ms IS NULL"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conflicts {filter} ORDER BY id DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|row| row?.typed()).collect()
}

/// How many conflicts wait for a person.
pub fn open_count(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM conflicts WHERE resolved_at_ms IS NULL")?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many of them are disputed reversals: cash this terminal handed out for a sale already
/// reversed elsewhere, counted by the back office until a manager settles it.
pub fn open_disputed_count(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM conflicts WHERE resolved_at_ms IS NULL AND reason = ?1",
        )?
        .query_row(
            [ConflictReason::Local(LocalReason::DisputedReversal).as_str()],
            |r| r.get(0),
        )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// One conflict.
pub fn get(conn: &Connection, id: i64) -> Result<Conflict, SyncError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM conflicts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| SyncError::NotFound(format!("conflict {id}")))?
        .typed()
}

/// Resolves an open conflict as a person chose, in one transaction, which also writes the
/// resolution into the journal ([`Event::ConflictResolved`]). On a till with employees
/// `operator` is who chose (`pin_required` without one; any employee may, a shift's
/// acknowledgement needs no manager's approval): the resolution is recorded under their name and
/// what it queues is sent as theirs; on a till without employees `actor` names who chose.
pub fn resolve(
    conn: &mut Connection,
    id: i64,
    resolution: &Resolution,
    actor: &str,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<Conflict, SyncError> {
    let actor = operator.map_or(actor, |o| o.name.as_str());
    let actor = super::attribution::name("the name of who resolves", actor)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    approvals::check(&tx, operator, None, None)?;
    let conflict = get(&tx, id)?;
    if conflict.resolved_at_ms.is_some() {
        return Err(SyncError::NotApplicable(format!(
            "conflict {id} was already resolved"
        )));
    }
    apply_resolution(&tx, &conflict, resolution, actor, operator, clock)?;
    let done = get(&tx, id)?;
    journal::append_event(&tx, &resolved_event(&done, resolution, operator))?;
    tx.commit()?;
    Ok(done)
}

/// The journal's record of `done`, resolved by a person as `resolution`.
fn resolved_event(done: &Conflict, resolution: &Resolution, operator: Option<&Operator>) -> Event {
    Event::ConflictResolved(ConflictResolved {
        at_ms: done.resolved_at_ms.unwrap_or(done.detected_at_ms),
        conflict_id: done.id,
        entity_kind: done.entity().as_str().to_string(),
        entity_id: done.entity_id,
        resolution: resolution_name(done, resolution).to_string(),
        operator: operator.cloned(),
    })
}

/// What was chosen, in a word: `acknowledged` for what can only be acknowledged, else the
/// choice as [`Resolution`] names it.
fn resolution_name(c: &Conflict, resolution: &Resolution) -> &'static str {
    match resolution {
        Resolution::KeepTheirs if review::Settlement::of(c) == review::Settlement::Acknowledge => {
            "acknowledged"
        }
        Resolution::KeepMine => "keep_mine",
        Resolution::KeepTheirs => "keep_theirs",
        Resolution::Pick(_) => "pick",
        Resolution::RefundStands => "refund_stands",
        Resolution::CashCameBack { .. } => "cash_came_back",
    }
}

fn apply_resolution(
    conn: &Connection,
    c: &Conflict,
    resolution: &Resolution,
    actor: &str,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    let now = clock.now_ms();
    let resolution_seq = match &c.sides {
        Sides::Customer(sides) => {
            let seq = customer::settle(conn, c.entity_id, sides, resolution, operator, now)?;
            let why = format!("conflict {} resolved by {actor}", c.id);
            outbox::discard_conflicted_about(conn, c.entity_id, &why, now)?;
            seq
        }
        Sides::Ticket(sides) => {
            reversal::settle(conn, c, sides, resolution, actor, operator, clock)?
        }
        Sides::Shift(_) => shift::settle(resolution)?,
        Sides::Totals(_) => totals::settle(resolution)?,
    };
    if let Some(seq) = c.outbox_seq {
        let why = format!("conflict {} resolved by {actor}", c.id);
        outbox::discard_conflicted(conn, seq, &why, now)?;
    }
    conn.prepare_cached(
        "UPDATE conflicts SET resolved_at_ms = ?2, resolved_by = ?3, resolution = ?4,
         resolution_seq = ?5 WHERE id = ?1",
    )?
    .execute(params![
        c.id,
        now,
        actor,
        serde_json::to_string(resolution)?,
        resolution_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX))
    ])?;
    tracing::info!(conflict = c.id, %actor, ?resolution, "conflict resolved");
    Ok(())
}
