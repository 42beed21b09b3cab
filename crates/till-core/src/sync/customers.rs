//! The terminal's copy of the back office's customers, and local edits queued as outbox
//! mutations. `version` is the last server version known and `made_by` what made it. A local
//! edit names its base by identity: the newest edit of the same customer still waiting for the
//! server, else what made the version the local copy is based on; the back office applies it
//! only while that is what made its current version. Each edit also keeps the fields it was made
//! on, so a conflict knows exactly which fields that edit changed.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use till_protocol::{
    Customer, CustomerCreated, CustomerDeleted, CustomerFields, CustomerUpdated, Hlc, Mutation,
    MutationBody, Operator,
};
use uuid::Uuid;

use crate::error::CoreError;
use crate::item_state::ItemSyncState;
use crate::{hlc, outbox, Clock};

use super::conflicts::{review, ConflictEntity, CustomerField};
use super::error::SyncError;

/// A customer as the terminal holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCustomer {
    pub id: Uuid,
    /// The last server version known (0: created here, not yet applied).
    pub version: u64,
    pub fields: CustomerFields,
    /// A local change is waiting for the server.
    pub pending: bool,
    /// Deleted here; the deletion is waiting for the server.
    pub deleted: bool,
    /// What made the server version `version` (`None`: created here, or not told).
    pub made_by: Option<Uuid>,
}

/// A customer as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerView {
    pub id: Uuid,
    pub version: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    /// Its tags, in order.
    pub tags: Vec<String>,
    pub loyalty_points: i64,
    pub sync_state: ItemSyncState,
}

impl CustomerView {
    /// `customer` as listed: in conflict while a conflict about it waits for a manager (its
    /// fields here are then this till's unconfirmed edit), else pending or synced.
    pub fn new(c: LocalCustomer, in_conflict: bool) -> Self {
        CustomerView {
            id: c.id,
            version: c.version,
            name: c.fields.name,
            email: c.fields.email,
            phone: c.fields.phone,
            note: c.fields.note,
            tags: c.fields.tags.into_iter().collect(),
            loyalty_points: c.fields.loyalty_points,
            sync_state: if in_conflict {
                ItemSyncState::Conflict
            } else if c.pending {
                ItemSyncState::Pending
            } else {
                ItemSyncState::Synced
            },
        }
    }
}

/// `customer` as the app lists it, with its conflict state.
pub fn view(conn: &Connection, c: LocalCustomer) -> Result<CustomerView, SyncError> {
    let in_conflict = review::is_open(conn, ConflictEntity::Customer, c.id)?;
    Ok(CustomerView::new(c, in_conflict))
}

/// [`search`], as the app lists the customers found.
pub fn search_views(
    conn: &Connection,
    query: &str,
    limit: u32,
) -> Result<Vec<CustomerView>, SyncError> {
    search(conn, query, limit)?
        .into_iter()
        .map(|c| view(conn, c))
        .collect()
}

const COLUMNS: &str =
    "id, version, name, email, phone, note, pending, deleted, made_by, tags, loyalty_points";

fn uuid_column(i: usize, text: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

/// The stored form of a customer's tags: a JSON array.
fn tags_text(tags: &BTreeSet<String>) -> Result<String, SyncError> {
    Ok(serde_json::to_string(tags)?)
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LocalCustomer> {
    let id: String = r.get(0)?;
    let made_by: Option<String> = r.get(8)?;
    let tags: String = r.get(9)?;
    let tags = serde_json::from_str(&tags).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(LocalCustomer {
        id: uuid_column(0, &id)?,
        version: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        fields: CustomerFields {
            name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            note: r.get(5)?,
            tags,
            loyalty_points: r.get(10)?,
        },
        pending: r.get::<_, i64>(6)? != 0,
        deleted: r.get::<_, i64>(7)? != 0,
        made_by: made_by.as_deref().map(|m| uuid_column(8, m)).transpose()?,
    })
}

/// Customers whose name, email, phone or one of whose tags contains `query` (case-insensitive),
/// by name.
pub fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<LocalCustomer>, SyncError> {
    let pattern = format!("%{}%", query.trim());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customers WHERE deleted = 0
         AND (name LIKE ?1 OR email LIKE ?1 OR phone LIKE ?1
              OR EXISTS (SELECT 1 FROM json_each(customers.tags) WHERE json_each.value LIKE ?1))
         ORDER BY name LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![pattern, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One customer, deleted ones included.
pub fn get(conn: &Connection, id: Uuid) -> rusqlite::Result<Option<LocalCustomer>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM customers WHERE id = ?1"))?
        .query_row([id.to_string()], from_row)
        .optional()
}

/// One customer not deleted here; `not_found` otherwise.
pub fn live(conn: &Connection, id: Uuid) -> Result<LocalCustomer, SyncError> {
    get(conn, id)?
        .filter(|c| !c.deleted)
        .ok_or_else(|| SyncError::NotFound(format!("customer {id}")))
}

/// The fields the local copy was based on (the server's at `version`), if known.
pub fn base(conn: &Connection, id: Uuid) -> Result<Option<CustomerFields>, SyncError> {
    let raw: Option<Option<String>> = conn
        .prepare_cached("SELECT base FROM customers WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(raw
        .flatten()
        .map(|s| serde_json::from_str(&s))
        .transpose()?)
}

/// How many mutations of `entity` are queued and not yet settled.
pub(crate) fn unsettled_for(conn: &Connection, entity: Uuid) -> Result<u64, SyncError> {
    Ok(outbox::unsettled_count(conn, entity)?)
}

/// The base a new edit of customer `id` names: what the newest edit of it still waiting for the
/// server makes its version by (the new one was made on top of it; [`Mutation::made_by`]), else
/// what made the server version the local copy is based on (`made_by`).
pub(crate) fn edit_base(
    conn: &Connection,
    id: Uuid,
    made_by: Option<Uuid>,
) -> Result<Option<Uuid>, SyncError> {
    let queued = outbox::newest_unsettled(conn, id)?
        .map(|e| serde_json::from_slice::<Mutation>(&e.payload).map(|m| m.made_by()))
        .transpose()?;
    Ok(queued.or(made_by))
}

/// Keeps the fields the edit `mutation_id` of customer `id` was made on.
pub(crate) fn keep_edit_base(
    conn: &Connection,
    mutation_id: Uuid,
    id: Uuid,
    base: &CustomerFields,
) -> Result<(), SyncError> {
    conn.prepare_cached(
        "INSERT INTO customer_edits (mutation_id, customer_id, base) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        mutation_id.to_string(),
        id.to_string(),
        serde_json::to_string(base)?
    ])?;
    Ok(())
}

/// The fields the edit `mutation` changed, against the fields it was made on; `None` when those
/// are not known (an edit queued before they were kept, or a create).
pub(crate) fn changed_by(
    conn: &Connection,
    mutation: &Mutation,
) -> Result<Option<Vec<CustomerField>>, SyncError> {
    let MutationBody::CustomerUpdated(edit) = &mutation.body else {
        return Ok(None);
    };
    let base: Option<String> = conn
        .prepare_cached("SELECT base FROM customer_edits WHERE mutation_id = ?1")?
        .query_row([mutation.id.to_string()], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(base
        .map(|b| serde_json::from_str::<CustomerFields>(&b))
        .transpose()?
        .map(|base| CustomerField::differing(&base, &edit.fields)))
}

/// The fields changed by the edits of customer `id` still waiting for the server, each against
/// its own base, in display order; `None` when one of them does not know its base.
pub(crate) fn changed_while_unsettled(
    conn: &Connection,
    id: Uuid,
) -> Result<Option<Vec<CustomerField>>, SyncError> {
    let mut changed = Vec::new();
    for entry in outbox::unsettled_about(conn, id)? {
        let mutation: Mutation = serde_json::from_slice(&entry.payload)?;
        match changed_by(conn, &mutation)? {
            Some(fields) => changed.extend(fields),
            None => return Ok(None),
        }
    }
    Ok(Some(CustomerField::union(changed)))
}

/// Forgets what the edit `mutation_id` was made on, once it no longer needs it.
pub(crate) fn forget_edit_base(conn: &Connection, mutation_id: Uuid) -> Result<(), SyncError> {
    conn.prepare_cached("DELETE FROM customer_edits WHERE mutation_id = ?1")?
        .execute([mutation_id.to_string()])?;
    Ok(())
}

/// The HLC stamp of the newest change of `entity` made here and not yet settled: what
/// last-writer-wins weighs against the server's stamp.
pub(crate) fn unsettled_stamp(conn: &Connection, entity: Uuid) -> Result<Option<Hlc>, SyncError> {
    outbox::newest_unsettled(conn, entity)?
        .map(|e| serde_json::from_slice::<Mutation>(&e.payload).map(|m| m.hlc))
        .transpose()
        .map_err(SyncError::from)
}

/// Saves a customer here and queues the change, made by no one named: see [`save_by`].
pub fn save(
    conn: &mut Connection,
    id: Option<Uuid>,
    fields: CustomerFields,
    clock: &dyn Clock,
) -> Result<LocalCustomer, SyncError> {
    save_by(conn, id, fields, None, clock)
}

/// Saves a customer here and queues the change: a create when `id` is `None`, else an update.
/// The change is sent as `operator`'s (who signed in to make it, on a till with employees).
pub fn save_by(
    conn: &mut Connection,
    id: Option<Uuid>,
    fields: CustomerFields,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<LocalCustomer, SyncError> {
    fields.check().map_err(SyncError::InvalidInput)?;
    if let Some(field) = fields.field_with_card_number() {
        return Err(CoreError::CardNumberInText {
            field: format!("the customer's {field}"),
        }
        .into());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock.now_ms();
    let stamp = hlc::tick(&tx, now)?;
    let id = match id {
        None => {
            let id = Uuid::now_v7();
            set_created(&tx, id, &fields, now)?;
            let body = MutationBody::CustomerCreated(CustomerCreated { id, fields });
            outbox::enqueue(&tx, body, operator.cloned(), stamp, now)?;
            id
        }
        Some(id) => {
            let current = live(&tx, id)?;
            let base_version = current.version + unsettled_for(&tx, id)?;
            let base = edit_base(&tx, id, current.made_by)?;
            tx.prepare_cached(
                "UPDATE customers SET name = ?2, email = ?3, phone = ?4, note = ?5, pending = 1,
                 updated_at_ms = ?6, tags = ?7, loyalty_points = ?8 WHERE id = ?1",
            )?
            .execute(params![
                id.to_string(),
                fields.name,
                fields.email,
                fields.phone,
                fields.note,
                now,
                tags_text(&fields.tags)?,
                fields.loyalty_points
            ])?;
            let body = MutationBody::CustomerUpdated(CustomerUpdated {
                id,
                base_version,
                base,
                fields,
            });
            let queued = outbox::enqueue(&tx, body, operator.cloned(), stamp, now)?;
            keep_edit_base(&tx, queued.id, id, &current.fields)?;
            id
        }
    };
    let saved = get(&tx, id)?.ok_or_else(|| SyncError::NotFound(format!("customer {id}")))?;
    tx.commit()?;
    Ok(saved)
}

/// Deletes a customer here and queues the deletion, made by no one named: see [`delete_by`].
pub fn delete(conn: &mut Connection, id: Uuid, clock: &dyn Clock) -> Result<(), SyncError> {
    delete_by(conn, id, None, clock)
}

/// Deletes a customer here and queues the deletion, sent as `operator`'s.
pub fn delete_by(
    conn: &mut Connection,
    id: Uuid,
    operator: Option<&Operator>,
    clock: &dyn Clock,
) -> Result<(), SyncError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock.now_ms();
    let current = live(&tx, id)?;
    let base_version = current.version + unsettled_for(&tx, id)?;
    let base = edit_base(&tx, id, current.made_by)?;
    let stamp = hlc::tick(&tx, now)?;
    tx.prepare_cached(
        "UPDATE customers SET deleted = 1, pending = 1, updated_at_ms = ?2 WHERE id = ?1",
    )?
    .execute(params![id.to_string(), now])?;
    let body = MutationBody::CustomerDeleted(CustomerDeleted {
        id,
        base_version,
        base,
    });
    outbox::enqueue(&tx, body, operator.cloned(), stamp, now)?;
    tx.commit()?;
    Ok(())
}

/// Stores the server's copy as the new base (no local change pending).
pub(crate) fn put_server(conn: &Connection, c: &Customer, now_ms: i64) -> Result<(), SyncError> {
    set_local(conn, c.id, c, &c.fields, false, now_ms)
}

/// Records the server's version and base after the local change `mutation` was applied as
/// `version`, keeping the local fields (which are what the server now holds, or newer local
/// edits). The version that change made is the base of the next edit.
pub(crate) fn mark_applied(
    conn: &Connection,
    id: Uuid,
    mutation: &Mutation,
    version: u64,
    applied_fields: Option<&CustomerFields>,
) -> Result<(), SyncError> {
    forget_edit_base(conn, mutation.id)?;
    let still_pending = unsettled_for(conn, id)? > 0;
    let base = applied_fields.map(serde_json::to_string).transpose()?;
    conn.prepare_cached(
        "UPDATE customers SET made_by = CASE WHEN ?2 >= version THEN ?5 ELSE made_by END,
           version = max(version, ?2), base = coalesce(?3, base), pending = ?4
         WHERE id = ?1",
    )?
    .execute(params![
        id.to_string(),
        i64::try_from(version).unwrap_or(i64::MAX),
        base,
        i64::from(still_pending),
        mutation.made_by().to_string()
    ])?;
    if !still_pending {
        conn.prepare_cached("DELETE FROM customers WHERE id = ?1 AND deleted = 1")?
            .execute([id.to_string()])?;
    }
    Ok(())
}

/// Removes a customer the server deleted.
pub(crate) fn remove(conn: &Connection, id: Uuid) -> Result<(), SyncError> {
    conn.prepare_cached("DELETE FROM customers WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

/// Marks a customer deleted here, the deletion waiting for the server.
pub(crate) fn mark_deleted(conn: &Connection, id: Uuid) -> Result<(), SyncError> {
    conn.prepare_cached("UPDATE customers SET deleted = 1, pending = 1 WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

/// Sets the local copy of customer `id` to `fields` on top of the server's version `server`
/// (its number, what made it, and its fields as the base), pending or not.
pub(crate) fn set_local(
    conn: &Connection,
    id: Uuid,
    server: &Customer,
    fields: &CustomerFields,
    pending: bool,
    now_ms: i64,
) -> Result<(), SyncError> {
    let base = serde_json::to_string(&server.fields)?;
    conn.prepare_cached(
        "INSERT INTO customers (id, version, name, email, phone, note, base, pending, deleted,
                                updated_at_ms, made_by, tags, loyalty_points)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name,
           email = excluded.email, phone = excluded.phone, note = excluded.note,
           base = excluded.base, pending = excluded.pending, deleted = 0,
           updated_at_ms = excluded.updated_at_ms, made_by = excluded.made_by,
           tags = excluded.tags, loyalty_points = excluded.loyalty_points",
    )?
    .execute(params![
        id.to_string(),
        i64::try_from(server.version).unwrap_or(i64::MAX),
        fields.name,
        fields.email,
        fields.phone,
        fields.note,
        base,
        i64::from(pending),
        now_ms,
        server.made_by.map(|m| m.to_string()),
        tags_text(&fields.tags)?,
        fields.loyalty_points
    ])?;
    Ok(())
}

/// Sets a customer created here (never applied) to `fields`, pending.
pub(crate) fn set_created(
    conn: &Connection,
    id: Uuid,
    fields: &CustomerFields,
    now_ms: i64,
) -> Result<(), SyncError> {
    conn.prepare_cached(
        "INSERT INTO customers (id, version, name, email, phone, note, base, pending, updated_at_ms,
                                tags, loyalty_points)
         VALUES (?1, 0, ?2, ?3, ?4, ?5, NULL, 1, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        fields.name,
        fields.email,
        fields.phone,
        fields.note,
        now_ms,
        tags_text(&fields.tags)?,
        fields.loyalty_points
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use till_protocol::{CustomerDeleted, Hlc, MutationBody};

    use super::*;

    #[test]
    fn an_edit_queued_after_a_recovered_one_names_it_by_its_original_id() {
        let mut conn = Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        let id = Uuid::now_v7();
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        let body = MutationBody::CustomerDeleted(CustomerDeleted {
            id,
            base_version: 1,
            base: None,
        });
        let first = outbox::enqueue(&conn, body, None, hlc, 1).expect("queues");
        assert_eq!(edit_base(&conn, id, None).expect("reads"), Some(first.id));
        outbox::requeue_for(&conn, Uuid::now_v7(), 2).expect("requeues");
        assert_eq!(
            edit_base(&conn, id, None).expect("reads"),
            Some(first.id),
            "queued again under a new id, it still makes its version by the first one"
        );
    }

    #[test]
    fn customers_are_found_by_a_tag_as_by_their_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let mut conn = store.connect().expect("connects");
        let clock = crate::clock::FixedClock(1_000);
        let customer = |name: &str, tags: &[&str]| CustomerFields {
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..CustomerFields::default()
        };
        save_by(
            &mut conn,
            None,
            customer("Ada", &["vip", "staff"]),
            None,
            &clock,
        )
        .expect("saved");
        save_by(
            &mut conn,
            None,
            customer("Bo", &["wholesale"]),
            None,
            &clock,
        )
        .expect("saved");
        save_by(&mut conn, None, customer("Vippy", &[]), None, &clock).expect("saved");
        let names = |query: &str| -> Vec<String> {
            search(&conn, query, 10)
                .expect("searches")
                .into_iter()
                .map(|c| c.fields.name)
                .collect()
        };
        assert_eq!(names("VIP"), ["Ada", "Vippy"], "a tag or a name, any case");
        assert_eq!(names("whole"), ["Bo"], "part of a tag");
        assert_eq!(names("staff"), ["Ada"]);
        assert!(
            names("\"vip\"").is_empty(),
            "the stored form of the tags is not searched"
        );
    }

    #[test]
    fn each_customer_change_is_sent_as_who_made_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let mut conn = store.connect().expect("connects");
        let clock = crate::clock::FixedClock(1_000);
        let ana = Operator {
            id: Uuid::now_v7(),
            name: "Ana".into(),
        };
        let fields = |name: &str| CustomerFields {
            name: name.into(),
            ..CustomerFields::default()
        };
        let by = Some(&ana);
        let ada = save_by(&mut conn, None, fields("Ada"), by, &clock).expect("created");
        save_by(&mut conn, Some(ada.id), fields("Ada L."), by, &clock).expect("edited");
        delete_by(&mut conn, ada.id, by, &clock).expect("deleted");
        let queued = outbox::in_state(&conn, outbox::OutboxState::Pending, 10).expect("lists");
        let kinds: Vec<&str> = queued.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["customer_created", "customer_updated", "customer_deleted"]
        );
        for entry in queued {
            let sent: Mutation = serde_json::from_slice(&entry.payload).expect("a mutation");
            assert_eq!(
                sent.operator.as_ref(),
                Some(&ana),
                "{} names Ana",
                entry.kind
            );
        }
    }
}
