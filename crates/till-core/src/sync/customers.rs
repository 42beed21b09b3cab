//! The terminal's copy of the back office's customers, and local edits queued as outbox
//! mutations. `version` is the last server version known; a local edit is sent against the
//! version the server will have reached once the edits already queued are applied.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use till_protocol::{
    Customer, CustomerCreated, CustomerDeleted, CustomerFields, CustomerUpdated, Hlc, Mutation,
    MutationBody,
};
use uuid::Uuid;

use crate::item_state::ItemSyncState;
use crate::{hlc, outbox, Clock};

use super::conflicts::{review, ConflictEntity};
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

const COLUMNS: &str = "id, version, name, email, phone, note, pending, deleted";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LocalCustomer> {
    let id: String = r.get(0)?;
    Ok(LocalCustomer {
        id: Uuid::parse_str(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })?,
        version: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        fields: CustomerFields {
            name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            note: r.get(5)?,
        },
        pending: r.get::<_, i64>(6)? != 0,
        deleted: r.get::<_, i64>(7)? != 0,
    })
}

/// Customers whose name, email or phone contains `query` (case-insensitive), by name.
pub fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<LocalCustomer>, SyncError> {
    let pattern = format!("%{}%", query.trim());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customers WHERE deleted = 0
         AND (name LIKE ?1 OR email LIKE ?1 OR phone LIKE ?1) ORDER BY name LIMIT ?2"
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

/// The HLC stamp of the newest change of `entity` made here and not yet settled: what
/// last-writer-wins weighs against the server's stamp.
pub(crate) fn unsettled_stamp(conn: &Connection, entity: Uuid) -> Result<Option<Hlc>, SyncError> {
    outbox::newest_unsettled(conn, entity)?
        .map(|e| serde_json::from_slice::<Mutation>(&e.payload).map(|m| m.hlc))
        .transpose()
        .map_err(SyncError::from)
}

/// Saves a customer here and queues the change: a create when `id` is `None`, else an update.
pub fn save(
    conn: &mut Connection,
    id: Option<Uuid>,
    fields: CustomerFields,
    clock: &dyn Clock,
) -> Result<LocalCustomer, SyncError> {
    fields.check().map_err(SyncError::InvalidInput)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock.now_ms();
    let stamp = hlc::tick(&tx, now)?;
    let id = match id {
        None => {
            let id = Uuid::now_v7();
            tx.prepare_cached(
                "INSERT INTO customers (id, version, name, email, phone, note, base, pending, updated_at_ms)
                 VALUES (?1, 0, ?2, ?3, ?4, ?5, NULL, 1, ?6)",
            )?
            .execute(params![
                id.to_string(),
                fields.name,
                fields.email,
                fields.phone,
                fields.note,
                now
            ])?;
            let body = MutationBody::CustomerCreated(CustomerCreated { id, fields });
            outbox::enqueue(&tx, body, stamp, now)?;
            id
        }
        Some(id) => {
            let current = get(&tx, id)?
                .filter(|c| !c.deleted)
                .ok_or_else(|| SyncError::NotFound(format!("customer {id}")))?;
            let base_version = current.version + unsettled_for(&tx, id)?;
            tx.prepare_cached(
                "UPDATE customers SET name = ?2, email = ?3, phone = ?4, note = ?5, pending = 1,
                 updated_at_ms = ?6 WHERE id = ?1",
            )?
            .execute(params![
                id.to_string(),
                fields.name,
                fields.email,
                fields.phone,
                fields.note,
                now
            ])?;
            let body = MutationBody::CustomerUpdated(CustomerUpdated {
                id,
                base_version,
                fields,
            });
            outbox::enqueue(&tx, body, stamp, now)?;
            id
        }
    };
    let saved = get(&tx, id)?.ok_or_else(|| SyncError::NotFound(format!("customer {id}")))?;
    tx.commit()?;
    Ok(saved)
}

/// Deletes a customer here and queues the deletion.
pub fn delete(conn: &mut Connection, id: Uuid, clock: &dyn Clock) -> Result<(), SyncError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock.now_ms();
    let current = get(&tx, id)?
        .filter(|c| !c.deleted)
        .ok_or_else(|| SyncError::NotFound(format!("customer {id}")))?;
    let base_version = current.version + unsettled_for(&tx, id)?;
    let stamp = hlc::tick(&tx, now)?;
    tx.prepare_cached(
        "UPDATE customers SET deleted = 1, pending = 1, updated_at_ms = ?2 WHERE id = ?1",
    )?
    .execute(params![id.to_string(), now])?;
    let body = MutationBody::CustomerDeleted(CustomerDeleted { id, base_version });
    outbox::enqueue(&tx, body, stamp, now)?;
    tx.commit()?;
    Ok(())
}

/// Stores the server's copy as the new base (no local change pending).
pub(crate) fn put_server(conn: &Connection, c: &Customer, now_ms: i64) -> Result<(), SyncError> {
    let base = serde_json::to_string(&c.fields)?;
    conn.prepare_cached(
        "INSERT INTO customers (id, version, name, email, phone, note, base, pending, deleted, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, ?8)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name,
           email = excluded.email, phone = excluded.phone, note = excluded.note,
           base = excluded.base, pending = 0, deleted = 0, updated_at_ms = excluded.updated_at_ms",
    )?
    .execute(params![
        c.id.to_string(),
        i64::try_from(c.version).unwrap_or(i64::MAX),
        c.fields.name,
        c.fields.email,
        c.fields.phone,
        c.fields.note,
        base,
        now_ms
    ])?;
    Ok(())
}

/// Records the server's version and base after a local change was applied, keeping the local
/// fields (which are what the server now holds, or newer local edits).
pub(crate) fn mark_applied(
    conn: &Connection,
    id: Uuid,
    version: u64,
    applied_fields: Option<&CustomerFields>,
) -> Result<(), SyncError> {
    let still_pending = unsettled_for(conn, id)? > 0;
    let base = applied_fields.map(serde_json::to_string).transpose()?;
    conn.prepare_cached(
        "UPDATE customers SET version = max(version, ?2), base = coalesce(?3, base), pending = ?4
         WHERE id = ?1",
    )?
    .execute(params![
        id.to_string(),
        i64::try_from(version).unwrap_or(i64::MAX),
        base,
        i64::from(still_pending)
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

/// Sets the local copy to `fields` on top of server `version` with `base`, pending or not.
pub(crate) fn set_local(
    conn: &Connection,
    id: Uuid,
    version: u64,
    fields: &CustomerFields,
    base: Option<&CustomerFields>,
    pending: bool,
    now_ms: i64,
) -> Result<(), SyncError> {
    let base = base.map(serde_json::to_string).transpose()?;
    conn.prepare_cached(
        "INSERT INTO customers (id, version, name, email, phone, note, base, pending, deleted, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name,
           email = excluded.email, phone = excluded.phone, note = excluded.note,
           base = excluded.base, pending = excluded.pending, deleted = 0,
           updated_at_ms = excluded.updated_at_ms",
    )?
    .execute(params![
        id.to_string(),
        i64::try_from(version).unwrap_or(i64::MAX),
        fields.name,
        fields.email,
        fields.phone,
        fields.note,
        base,
        i64::from(pending),
        now_ms
    ])?;
    Ok(())
}
