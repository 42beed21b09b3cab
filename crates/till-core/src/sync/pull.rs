//! Pulling the back office's changes since the stored cursor, page by page. Each page and its
//! cursor commit in one transaction, so a crash never skips or half-applies a page. Catalog
//! changes go to the catalog; customers to the local copy, except that a change to a customer
//! with a local edit still pending becomes a conflict instead of overwriting it. The stamps of
//! the customer versions pulled are merged into this terminal's clock.

use rusqlite::Connection;
use till_protocol::{ChangeKind, Customer, PullResponse};

use crate::store::wal;
use crate::{catalog, Clock};

use super::conflicts::{
    self, ConflictReason, CustomerSides, Detected, LocalEdit, LocalReason, PolicySet, Sides,
};
use super::customers;
use super::error::SyncError;
use super::persisted;
use super::transport::Transport;

/// What one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageReport {
    pub applied: u64,
    pub conflicts: u64,
    pub has_more: bool,
    pub clock_offset_ms: i64,
}

/// Fetches and applies one page after the stored cursor.
pub async fn pull_page(
    conn: &mut Connection,
    transport: &dyn Transport,
    limit: u32,
    policies: &PolicySet,
    clock: &dyn Clock,
) -> Result<PageReport, SyncError> {
    let cursor = persisted::read(conn)?.cursor;
    let sent_at = clock.now_ms();
    let page = transport.pull(cursor, limit).await?;
    let offset = page.server_time_ms - (sent_at + clock.now_ms()) / 2;
    let mut report = apply_page(conn, &page, policies, clock)?;
    report.clock_offset_ms = offset;
    persisted::set_clock_offset(conn, offset)?;
    Ok(report)
}

/// Applies a page and its cursor in one transaction.
pub fn apply_page(
    conn: &mut Connection,
    page: &PullResponse,
    policies: &PolicySet,
    clock: &dyn Clock,
) -> Result<PageReport, SyncError> {
    let now = clock.now_ms();
    let mut report = PageReport {
        has_more: page.has_more && !page.changes.is_empty(),
        ..PageReport::default()
    };
    // A customer change may meet a local edit: the conflict's policy may settle it at once and
    // queue a new mutation, whose sequence number must survive a power cut like a sale's.
    let durable = page.changes.iter().any(|c| {
        matches!(
            c.change,
            ChangeKind::CustomerUpserted(_) | ChangeKind::CustomerDeleted { .. }
        )
    });
    wal::write(conn, durable, |tx| {
        for change in &page.changes {
            match &change.change {
                ChangeKind::Settings(s) => catalog::set_settings(tx, s)?,
                ChangeKind::TaxRateUpserted(r) => catalog::upsert_tax_rate(tx, r)?,
                ChangeKind::TaxRateDeleted { id } => catalog::delete_tax_rate(tx, id)?,
                ChangeKind::ProductUpserted(p) => catalog::upsert_product(tx, p)?,
                ChangeKind::ProductDeleted { id } => catalog::delete_product(tx, *id)?,
                ChangeKind::CustomerUpserted(c) => {
                    if apply_customer(tx, Some(c), c.id, c.version, policies, clock, now)? {
                        report.conflicts += 1;
                    }
                }
                ChangeKind::CustomerDeleted { id, version } => {
                    if apply_customer(tx, None, *id, *version, policies, clock, now)? {
                        report.conflicts += 1;
                    }
                }
                ChangeKind::EmployeeUpserted(e) => crate::employees::upsert(tx, e)?,
            }
            report.applied += 1;
        }
        // The stamps of the back office's versions: a change made here after seeing them is
        // later. Only a page with customer changes brings any, and it commits durably.
        let newest = page.changes.iter().filter_map(|c| match &c.change {
            ChangeKind::CustomerUpserted(c) => c.hlc,
            _ => None,
        });
        if let Some(stamp) = newest.max() {
            crate::hlc::receive(tx, stamp, now)?;
        }
        persisted::set_cursor(tx, page.cursor)?;
        Ok::<_, SyncError>(())
    })?;
    Ok(report)
}

/// Applies a server customer (or its tombstone). Returns whether it became a conflict.
fn apply_customer(
    conn: &Connection,
    incoming: Option<&Customer>,
    id: uuid::Uuid,
    version: u64,
    policies: &PolicySet,
    clock: &dyn Clock,
    now: i64,
) -> Result<bool, SyncError> {
    let local = customers::get(conn, id)?;
    let pending = match &local {
        Some(l) => l.pending || customers::unsettled_for(conn, id)? > 0,
        None => false,
    };
    match (local, pending) {
        (Some(local), true) if version > local.version => {
            let stamp = match customers::unsettled_stamp(conn, id)? {
                Some(stamp) => stamp,
                None => crate::hlc::last(conn)?,
            };
            conflicts::record(
                conn,
                policies,
                Detected {
                    entity_id: id,
                    outbox_seq: None,
                    reason: if incoming.is_some() {
                        ConflictReason::Local(LocalReason::ConcurrentEdit)
                    } else {
                        ConflictReason::Server(till_protocol::ConflictReason::Deleted)
                    },
                    sides: Sides::Customer(CustomerSides {
                        mine: (!local.deleted).then_some(LocalEdit {
                            fields: local.fields,
                            hlc: Some(stamp),
                            changed: customers::changed_while_unsettled(conn, id)?,
                        }),
                        theirs: incoming.cloned(),
                        base: customers::base(conn, id)?,
                    }),
                },
                clock,
            )?;
            Ok(true)
        }
        // Our own change coming back, or an older copy: the local row already knows better.
        (_, true) => Ok(false),
        (Some(local), false) if version < local.version => Ok(false),
        (_, false) => {
            match incoming {
                Some(c) => customers::put_server(conn, c, now)?,
                None => customers::remove(conn, id)?,
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::{config, hlc};
    use till_protocol::{Change, CustomerFields, Hlc};
    use uuid::Uuid;

    #[test]
    fn a_pull_merges_the_stamps_of_the_versions_it_brings_into_the_clock() {
        let mut conn = Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        config::set(&conn, &config::DEVICE_ID, &Uuid::now_v7()).expect("identity");
        let now = 1_700_000_000_000;
        let office = Hlc {
            wall_ms: now + 30_000,
            counter: 7,
            node: Uuid::nil(),
        };
        let page = PullResponse {
            changes: vec![Change {
                seq: 1,
                change: ChangeKind::CustomerUpserted(Customer {
                    id: Uuid::now_v7(),
                    version: 1,
                    fields: CustomerFields {
                        name: "Ada".into(),
                        ..CustomerFields::default()
                    },
                    hlc: Some(office),
                    made_by: Some(Uuid::now_v7()),
                }),
            }],
            cursor: 1,
            has_more: false,
            server_time_ms: now,
        };
        apply_page(&mut conn, &page, &PolicySet::default(), &FixedClock(now)).expect("applies");
        let next = hlc::tick(&conn, now).expect("stamps");
        assert!(
            next > office,
            "an edit made after seeing a version is later than it, whatever this clock says"
        );
    }
}
