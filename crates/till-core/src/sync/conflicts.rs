//! Disagreements between this terminal and the back office that sync will not settle by
//! overwriting: a customer edited on both sides, deleted on the server while edited here, a
//! refund of a ticket another terminal already refunded. Each is stored with both sides, the
//! differing fields and the policy of its entity kind; a policy may settle it at once, else a
//! person resolves it. A resolution records who chose what and when, and queues the result as a
//! new mutation against the server's version.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{outbox, Clock};

use super::error::SyncError;

mod customer;
mod policy;
pub mod review;
mod sides;

pub use policy::{
    ConflictPolicy, Decision, FieldMerge, LastWriterWins, Manual, PolicySet, ServerWins,
    TerminalWins,
};
pub use sides::{
    ConflictEntity, ConflictReason, CustomerField, CustomerSides, LocalEdit, LocalReason, Sides,
    TicketSides,
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
    fields: Vec<&'static str>,
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
    /// The server's version wins.
    KeepTheirs,
    /// Field by field, by field name; fields not named keep the server's value. Names are
    /// checked against [`CustomerField`] when the choice is applied, after the conflict is known
    /// to be about a customer.
    Pick(BTreeMap<String, Side>),
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
        Ok(Conflict {
            id: self.id,
            entity_id: Uuid::parse_str(&self.entity_id).unwrap_or_default(),
            outbox_seq: self.outbox_seq,
            reason: sides::reason_from_column(&self.reason)?,
            sides: Sides::from_columns(
                entity,
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
    let policy = policies.for_sides(&d.sides);
    let kind = d.sides.entity().as_str();
    let columns = d.sides.to_columns()?;
    let fields = serde_json::to_string(&columns.fields)?;
    let enc = |v: &Option<Value>| v.as_ref().map(Value::to_string);
    let reason = d.reason.as_str();
    let open: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM conflicts WHERE entity_kind = ?1 AND entity_id = ?2
             AND resolved_at_ms IS NULL",
        )?
        .query_row(params![kind, d.entity_id.to_string()], |r| r.get(0))
        .optional()?;
    let seq = d.outbox_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let id = match open {
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
                policy.name(),
                now
            ])?;
            conn.last_insert_rowid()
        }
    };
    tracing::info!(conflict = id, entity = %d.entity_id, %reason, "conflict recorded");
    let conflict = get(conn, id)?;
    if let Decision::Resolve(resolution) = policy.decide(&conflict) {
        let actor = format!("policy:{}", policy.name());
        apply_resolution(conn, &conflict, &resolution, &actor, clock)?;
    }
    Ok(id)
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

/// One conflict.
pub fn get(conn: &Connection, id: i64) -> Result<Conflict, SyncError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM conflicts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| SyncError::NotFound(format!("conflict {id}")))?
        .typed()
}

/// Resolves an open conflict as a person chose (`actor` names them), in one transaction.
pub fn resolve(
    conn: &mut Connection,
    id: i64,
    resolution: &Resolution,
    actor: &str,
    clock: &dyn Clock,
) -> Result<Conflict, SyncError> {
    let actor = super::attribution::name("the name of who resolves", actor)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let conflict = get(&tx, id)?;
    if conflict.resolved_at_ms.is_some() {
        return Err(SyncError::NotApplicable(format!(
            "conflict {id} was already resolved"
        )));
    }
    apply_resolution(&tx, &conflict, resolution, actor, clock)?;
    let done = get(&tx, id)?;
    tx.commit()?;
    Ok(done)
}

fn apply_resolution(
    conn: &Connection,
    c: &Conflict,
    resolution: &Resolution,
    actor: &str,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    let now = clock.now_ms();
    let resolution_seq = match &c.sides {
        Sides::Customer(sides) => customer::settle(conn, c.entity_id, sides, resolution, now)?,
        Sides::Ticket(_) => {
            if *resolution != Resolution::KeepTheirs {
                return Err(SyncError::NotApplicable(
                    "a ticket already reversed on the server cannot be reversed again; \
                     resolve with keep theirs to acknowledge it"
                        .into(),
                ));
            }
            None
        }
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
