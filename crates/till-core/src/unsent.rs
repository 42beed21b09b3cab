//! What the back office does not hold yet: the figures a till about to close asks about. A
//! mutation counts while it is still to be sent (`pending`) or sent without a recorded answer
//! (`in_flight`); failed and conflicting ones wait for a manager, not for sync.

use rusqlite::Connection;

use crate::error::Result;

/// The mutations not yet at the back office.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsent {
    /// Ticket mutations among them: sales, voids and refunds.
    pub sales: u64,
    /// All of them, tickets and everything else (customers, shifts, cash movements).
    pub all: u64,
}

/// Counts the mutations not yet at the back office, in one statement (one snapshot).
pub fn count(conn: &Connection) -> Result<Unsent> {
    let (sales, all): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE kind IN ('ticket_created', 'ticket_voided', 'ticket_refunded')),
                    count(*)
             FROM outbox WHERE state IN ('pending', 'in_flight')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Unsent {
        sales: u64::try_from(sales).unwrap_or(0),
        all: u64::try_from(all).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn queue(conn: &Connection, seq: i64, kind: &str, state: &str) {
        conn.execute(
            "INSERT INTO outbox (seq, mutation_id, kind, entity_id, state, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?2, ?4, 0, 0)",
            rusqlite::params![seq, uuid::Uuid::now_v7().to_string(), kind, state],
        )
        .expect("queues a row");
    }

    #[test]
    fn counts_ticket_mutations_still_to_send_apart_from_the_rest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        assert_eq!(count(&conn).expect("counts"), Unsent::default());

        queue(&conn, 1, "ticket_created", "pending");
        queue(&conn, 2, "ticket_refunded", "in_flight");
        queue(&conn, 3, "customer_updated", "pending");
        queue(&conn, 4, "ticket_created", "applied");
        queue(&conn, 5, "ticket_voided", "failed");
        queue(&conn, 6, "ticket_created", "conflict");
        assert_eq!(
            count(&conn).expect("counts"),
            Unsent { sales: 2, all: 3 },
            "only what sync can still deliver counts; settled and reviewed items do not"
        );
    }
}
