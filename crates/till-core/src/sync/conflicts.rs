//! Disagreements between this terminal and the back office that sync will not settle by
//! overwriting: a customer edited on both sides, deleted on the server while edited here, a
//! refund of a ticket another terminal already refunded. Each is stored with both sides, the
//! differing fields and the policy of its entity kind; a policy may settle it at once, else a
//! person resolves it. A resolution records who chose what and when, and queues the result as a
//! new mutation against the server's version.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use till_protocol::{
    Customer, CustomerCreated, CustomerDeleted, CustomerFields, CustomerUpdated, Hlc, MutationBody,
};
use uuid::Uuid;

use crate::{hlc, outbox, Clock};

use super::customers;
use super::error::SyncError;

/// A stored conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub id: i64,
    /// `customer` or `ticket`.
    pub entity_kind: String,
    pub entity_id: Uuid,
    /// The outbox mutation the server answered with a conflict, if it came from a push.
    pub outbox_seq: Option<u64>,
    /// `stale_version`, `deleted`, `already_reversed`, `already_exists`, `concurrent_edit`.
    pub reason: String,
    /// This terminal's side (for customers `{fields, hlc}`, `null` when deleted here).
    pub local: Option<Value>,
    /// The server's side (for customers the `Customer`, `null` when deleted there).
    pub server: Option<Value>,
    /// The common ancestor, where known (customers: the fields both sides started from).
    pub base: Option<Value>,
    /// The fields whose values differ between the two sides.
    pub fields: Vec<String>,
    /// The policy that applied.
    pub policy: String,
    pub detected_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution: Option<Value>,
    /// The mutation that carries the resolution to the server, if one was needed.
    pub resolution_seq: Option<u64>,
}

/// Which side wins a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Mine,
    Theirs,
}

/// How a conflict is settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "choice", content = "picks", rename_all = "snake_case")]
pub enum Resolution {
    /// This terminal's version wins.
    KeepMine,
    /// The server's version wins.
    KeepTheirs,
    /// Field by field; fields not named keep the server's value.
    Pick(BTreeMap<String, Side>),
}

/// What a policy decides about a fresh conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave it for a person.
    Manual,
    /// Settle it now.
    Resolve(Resolution),
}

/// A rule for one entity kind. Deployments may implement their own and pass it in a
/// [`PolicySet`].
pub trait ConflictPolicy: Send + Sync {
    /// A stable name stored with each conflict.
    fn name(&self) -> &'static str;
    fn decide(&self, conflict: &Conflict) -> Decision;
}

/// Merges field by field when the two sides changed different fields; manual when both changed
/// the same field (or when there is no common ancestor). The default for customers.
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldMerge;

/// Always leaves the conflict for a person. The default for tickets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Manual;

/// The later change wins, comparing HLC stamps: the local edit's stamp against the stamp the
/// server keeps with its version (the stamp of the terminal change that made it, or the back
/// office's clock for an edit made there). Manual when either side has no stamp.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastWriterWins;

/// The server's version always wins.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerWins;

/// This terminal's version always wins.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalWins;

fn fields_of(side: Option<&Value>, key: Option<&str>) -> Option<CustomerFields> {
    let v = side?;
    let v = match key {
        Some(k) => v.get(k)?,
        None => v,
    };
    serde_json::from_value(v.clone()).ok()
}

impl ConflictPolicy for FieldMerge {
    fn name(&self) -> &'static str {
        "field_merge"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        if c.entity_kind != "customer" {
            return Decision::Manual;
        }
        let (Some(mine), Some(theirs), Some(base)) = (
            fields_of(c.local.as_ref(), Some("fields")),
            fields_of(c.server.as_ref(), Some("fields")),
            fields_of(c.base.as_ref(), None),
        ) else {
            return Decision::Manual;
        };
        let changed_here = base.differing(&mine);
        let changed_there = base.differing(&theirs);
        if changed_here.iter().any(|f| changed_there.contains(f)) {
            return Decision::Manual;
        }
        let picks = changed_here
            .into_iter()
            .map(|f| (f.to_string(), Side::Mine))
            .collect();
        Decision::Resolve(Resolution::Pick(picks))
    }
}

impl ConflictPolicy for Manual {
    fn name(&self) -> &'static str {
        "manual"
    }

    fn decide(&self, _: &Conflict) -> Decision {
        Decision::Manual
    }
}

impl ConflictPolicy for LastWriterWins {
    fn name(&self) -> &'static str {
        "last_writer_wins"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        let stamp = |side: Option<&Value>| -> Option<Hlc> {
            serde_json::from_value(side?.get("hlc")?.clone()).ok()
        };
        match (stamp(c.local.as_ref()), stamp(c.server.as_ref())) {
            (Some(mine), Some(theirs)) if mine > theirs => Decision::Resolve(Resolution::KeepMine),
            (Some(_), Some(_)) => Decision::Resolve(Resolution::KeepTheirs),
            _ => Decision::Manual,
        }
    }
}

impl ConflictPolicy for ServerWins {
    fn name(&self) -> &'static str {
        "server_wins"
    }

    fn decide(&self, _: &Conflict) -> Decision {
        Decision::Resolve(Resolution::KeepTheirs)
    }
}

impl ConflictPolicy for TerminalWins {
    fn name(&self) -> &'static str {
        "terminal_wins"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        if c.entity_kind == "ticket" {
            // A reversal cannot be applied twice; a person must look at it.
            return Decision::Manual;
        }
        Decision::Resolve(Resolution::KeepMine)
    }
}

/// The policy of each entity kind.
#[derive(Clone)]
pub struct PolicySet {
    pub customer: Arc<dyn ConflictPolicy>,
    pub ticket: Arc<dyn ConflictPolicy>,
}

impl Default for PolicySet {
    fn default() -> Self {
        PolicySet {
            customer: Arc::new(FieldMerge),
            ticket: Arc::new(Manual),
        }
    }
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("customer", &self.customer.name())
            .field("ticket", &self.ticket.name())
            .finish()
    }
}

impl PolicySet {
    fn for_kind(&self, kind: &str) -> &Arc<dyn ConflictPolicy> {
        if kind == "ticket" {
            &self.ticket
        } else {
            &self.customer
        }
    }

    /// A policy by its stable name (`field_merge`, `manual`, `last_writer_wins`,
    /// `server_wins`, `terminal_wins`).
    pub fn named(name: &str) -> Option<Arc<dyn ConflictPolicy>> {
        Some(match name {
            "field_merge" => Arc::new(FieldMerge),
            "manual" => Arc::new(Manual),
            "last_writer_wins" => Arc::new(LastWriterWins),
            "server_wins" => Arc::new(ServerWins),
            "terminal_wins" => Arc::new(TerminalWins),
            _ => return None,
        })
    }
}

/// A conflict as detected, before it is stored.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    pub entity_kind: &'static str,
    pub entity_id: Uuid,
    pub outbox_seq: Option<u64>,
    pub reason: String,
    pub local: Option<Value>,
    pub server: Option<Value>,
    pub base: Option<Value>,
}

const COLUMNS: &str = "id, entity_kind, entity_id, outbox_seq, reason, local, server, base, \
    fields, policy, detected_at_ms, resolved_at_ms, resolved_by, resolution, resolution_seq";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Conflict> {
    let json = |i: usize| -> rusqlite::Result<Option<Value>> {
        let raw: Option<String> = r.get(i)?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    };
    let entity: String = r.get(2)?;
    let fields: String = r.get(8)?;
    Ok(Conflict {
        id: r.get(0)?,
        entity_kind: r.get(1)?,
        entity_id: Uuid::parse_str(&entity).unwrap_or_default(),
        outbox_seq: r
            .get::<_, Option<i64>>(3)?
            .and_then(|s| u64::try_from(s).ok()),
        reason: r.get(4)?,
        local: json(5)?,
        server: json(6)?,
        base: json(7)?,
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        policy: r.get(9)?,
        detected_at_ms: r.get(10)?,
        resolved_at_ms: r.get(11)?,
        resolved_by: r.get(12)?,
        resolution: json(13)?,
        resolution_seq: r
            .get::<_, Option<i64>>(14)?
            .and_then(|s| u64::try_from(s).ok()),
    })
}

fn differing(d: &Detected) -> Vec<String> {
    if d.entity_kind == "customer" {
        let mine = fields_of(d.local.as_ref(), Some("fields"));
        let theirs = fields_of(d.server.as_ref(), Some("fields"));
        return match (mine, theirs) {
            (Some(m), Some(t)) => m.differing(&t).into_iter().map(String::from).collect(),
            _ => CustomerFields::NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
    }
    vec!["reversal".to_string()]
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
    let policy = policies.for_kind(d.entity_kind);
    let fields = serde_json::to_string(&differing(&d))?;
    let enc = |v: &Option<Value>| v.as_ref().map(Value::to_string);
    let open: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM conflicts WHERE entity_kind = ?1 AND entity_id = ?2
             AND resolved_at_ms IS NULL",
        )?
        .query_row(params![d.entity_kind, d.entity_id.to_string()], |r| {
            r.get(0)
        })
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
                d.reason,
                enc(&d.local),
                enc(&d.server),
                enc(&d.base),
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
                d.entity_kind,
                d.entity_id.to_string(),
                seq,
                d.reason,
                enc(&d.local),
                enc(&d.server),
                enc(&d.base),
                fields,
                policy.name(),
                now
            ])?;
            conn.last_insert_rowid()
        }
    };
    tracing::info!(conflict = id, entity = %d.entity_id, reason = %d.reason, "conflict recorded");
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
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        .ok_or_else(|| SyncError::NotFound(format!("conflict {id}")))
}

/// Resolves an open conflict as a person chose (`actor` names them), in one transaction.
pub fn resolve(
    conn: &mut Connection,
    id: i64,
    resolution: &Resolution,
    actor: &str,
    clock: &dyn Clock,
) -> Result<Conflict, SyncError> {
    let actor = super::attribution::check("the name of who resolves", actor)?;
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
    let resolution_seq = match c.entity_kind.as_str() {
        "customer" => resolve_customer(conn, c, resolution, now)?,
        _ => {
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

/// Settles a customer conflict locally and queues what the server needs, if anything.
fn resolve_customer(
    conn: &Connection,
    c: &Conflict,
    resolution: &Resolution,
    now: i64,
) -> Result<Option<u64>, SyncError> {
    let theirs: Option<Customer> = c
        .server
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let mine = fields_of(c.local.as_ref(), Some("fields"));
    // `None` is "deleted".
    let result: Option<CustomerFields> = match resolution {
        Resolution::KeepMine => mine.clone(),
        Resolution::KeepTheirs => theirs.as_ref().map(|t| t.fields.clone()),
        Resolution::Pick(picks) => {
            let (Some(m), Some(t)) = (mine.clone(), theirs.as_ref().map(|t| t.fields.clone()))
            else {
                return Err(SyncError::NotApplicable(
                    "one side deleted the customer: keep mine or keep theirs".into(),
                ));
            };
            for name in picks.keys() {
                if !CustomerFields::NAMES.contains(&name.as_str()) {
                    return Err(SyncError::InvalidInput(format!("no customer field {name}")));
                }
            }
            let pick = |name: &str| picks.get(name).copied().unwrap_or(Side::Theirs);
            Some(CustomerFields {
                name: if pick("name") == Side::Mine {
                    m.name
                } else {
                    t.name
                },
                email: if pick("email") == Side::Mine {
                    m.email
                } else {
                    t.email
                },
                phone: if pick("phone") == Side::Mine {
                    m.phone
                } else {
                    t.phone
                },
                note: if pick("note") == Side::Mine {
                    m.note
                } else {
                    t.note
                },
            })
        }
    };
    let server_version = theirs.as_ref().map_or(0, |t| t.version);
    let server_fields = theirs.as_ref().map(|t| t.fields.clone());
    let queued = customers::unsettled_for(conn, c.entity_id)?;
    let body = match (&result, &server_fields) {
        (Some(r), Some(s)) if r == s => None,
        (None, None) => None,
        (Some(r), Some(_)) => Some(MutationBody::CustomerUpdated(CustomerUpdated {
            id: c.entity_id,
            base_version: server_version + queued,
            fields: r.clone(),
        })),
        // Deleted there, kept here: the server never revives a tombstone, so the kept customer
        // comes back as a new one.
        (Some(r), None) => Some(MutationBody::CustomerCreated(CustomerCreated {
            id: uuid::Uuid::now_v7(),
            fields: r.clone(),
        })),
        (None, Some(_)) => Some(MutationBody::CustomerDeleted(CustomerDeleted {
            id: c.entity_id,
            base_version: server_version + queued,
        })),
    };
    if let (Some(fields), Some(MutationBody::CustomerCreated(created))) = (&result, &body) {
        customers::remove(conn, c.entity_id)?;
        customers::set_local(conn, created.id, 0, fields, None, true, now)?;
    }
    match (&result, &body) {
        (Some(_), Some(MutationBody::CustomerCreated(_))) => {}
        (Some(fields), _) => customers::set_local(
            conn,
            c.entity_id,
            server_version,
            fields,
            server_fields.as_ref(),
            body.is_some() || queued > 0,
            now,
        )?,
        (None, Some(_)) => {
            conn.prepare_cached("UPDATE customers SET deleted = 1, pending = 1 WHERE id = ?1")?
                .execute([c.entity_id.to_string()])?;
        }
        (None, None) => customers::remove(conn, c.entity_id)?,
    }
    let Some(body) = body else {
        return Ok(None);
    };
    let stamp = hlc::tick(conn, now)?;
    let mutation = outbox::enqueue(conn, body, stamp, now)?;
    Ok(Some(mutation.seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer_conflict(base: &str, mine: &str, theirs_email: &str) -> Conflict {
        let fields = |name: &str, email: &str| CustomerFields {
            name: name.into(),
            email: Some(email.into()),
            phone: None,
            note: None,
        };
        Conflict {
            id: 1,
            entity_kind: "customer".into(),
            entity_id: Uuid::nil(),
            outbox_seq: None,
            reason: "stale_version".into(),
            local: Some(serde_json::json!({"fields": fields(mine, "a@x")})),
            server: Some(serde_json::json!({
                "id": Uuid::nil(), "version": 2, "fields": fields(base, theirs_email)
            })),
            base: Some(serde_json::to_value(fields(base, "a@x")).expect("json")),
            fields: vec![],
            policy: "field_merge".into(),
            detected_at_ms: 0,
            resolved_at_ms: None,
            resolved_by: None,
            resolution: None,
            resolution_seq: None,
        }
    }

    #[test]
    fn field_merge_takes_both_sides_when_they_changed_different_fields() {
        let c = customer_conflict("Ann", "Anne", "b@x");
        let decision = FieldMerge.decide(&c);
        let expected = Resolution::Pick([("name".to_string(), Side::Mine)].into());
        assert_eq!(
            decision,
            Decision::Resolve(expected),
            "name here, email there"
        );
    }

    #[test]
    fn field_merge_leaves_the_same_field_changed_on_both_sides_to_a_person() {
        let mut c = customer_conflict("Ann", "Anne", "a@x");
        c.server = Some(serde_json::json!({"id": Uuid::nil(), "version": 2,
            "fields": {"name": "Annie", "email": "a@x", "phone": null, "note": null}}));
        assert_eq!(FieldMerge.decide(&c), Decision::Manual);
    }

    #[test]
    fn terminal_wins_never_reapplies_a_reversal() {
        let mut c = customer_conflict("Ann", "Anne", "a@x");
        c.entity_kind = "ticket".into();
        assert_eq!(TerminalWins.decide(&c), Decision::Manual);
        assert_eq!(
            ServerWins.decide(&c),
            Decision::Resolve(Resolution::KeepTheirs)
        );
    }
}
