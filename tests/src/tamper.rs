//! What someone with access to a till's OS account can do to its store: lower a sale in its
//! rows and recompute every hash the till keeps of it, so that the till's own checks alone are
//! satisfied. Only the back office's copy of the chain can tell.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use till_protocol::chain;
use till_protocol::{Mutation, MutationBody, Ticket, TicketKind};
use uuid::Uuid;

fn open(data_dir: &Path) -> Connection {
    till_core::store::open_connection(&data_dir.join(till_core::store::DB_FILE))
        .expect("the terminal's store opens")
}

/// Changes the total of sale `number` by `delta` minor units in its rows, then recomputes the
/// journal from its entry on, the push chain from its link on, and the queued payloads of those
/// links, as an attacker who knows the rules would.
pub fn change_sale_total(data_dir: &Path, number: u64, delta: i64) {
    let mut conn = open(data_dir);
    let tx = conn.transaction().expect("a transaction");
    let id: String = tx
        .query_row(
            "UPDATE tickets SET total = total + ?2 WHERE number = ?1 AND kind = 'sale'
             RETURNING id",
            params![number as i64, delta],
            |r| r.get(0),
        )
        .expect("the sale exists");
    rehash_journal(&tx, &id);
    relink_push_chain(&tx, &id);
    tx.commit().expect("commits");
}

/// The ticket `id` rebuilt from its rows, as the till's checks rebuild it.
fn rebuilt(conn: &Connection, id: &str) -> Ticket {
    let id = Uuid::parse_str(id).expect("a ticket id");
    till_core::journal::rebuilt_ticket(conn, id)
        .expect("reads")
        .expect("the ticket exists")
}

/// Recomputes every journal entry from the ticket `id`'s on (ticket entries only: a tamper of
/// a till with events after the sale is not what the tests do).
fn rehash_journal(conn: &Connection, id: &str) {
    let (from, mut prev): (i64, String) = conn
        .query_row(
            "SELECT position, prev_hash FROM journal WHERE ticket_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the ticket's journal entry");
    let entries: Vec<(i64, Option<String>)> = conn
        .prepare("SELECT position, ticket_id FROM journal WHERE position >= ?1 ORDER BY position")
        .expect("prepares")
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads");
    for (position, ticket) in entries {
        let ticket = ticket.expect("only tickets follow the tampered sale");
        let hash = till_core::journal::chain_hash(&prev, &rebuilt(conn, &ticket)).expect("hashes");
        conn.execute(
            "UPDATE journal SET prev_hash = ?2, hash = ?3 WHERE position = ?1",
            params![position, prev, hash],
        )
        .expect("rewrites the entry");
        conn.execute(
            "UPDATE tickets SET journal_hash = ?2 WHERE id = ?1",
            params![ticket, hash],
        )
        .expect("rewrites the ticket's hash");
        prev = hash;
    }
}

/// Recomputes every push-chain link from the ticket `id`'s on, each ticket's content from its
/// rows, and rewrites the payloads the outbox still holds for them (the ticket as its rows now
/// give it, and its new link).
fn relink_push_chain(conn: &Connection, id: &str) {
    let from: i64 = conn
        .query_row(
            "SELECT seq FROM push_chain WHERE ticket_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the sale's link");
    relink_from(conn, from, |_, ticket| {
        ticket.map(|id| body_of(rebuilt(conn, id)))
    });
}

/// Recomputes the whole push chain from the payloads queued (a payload queued damaged by a bug
/// is linked as it was queued): each link from the one before and its payload's body, written
/// into the push chain and the payload. Links whose payload is gone keep their content.
pub fn relink_queue(conn: &Connection) {
    relink_from(conn, 0, |seq, _| payload(conn, seq).map(|m| m.body));
}

/// Recomputes the push-chain links from outbox row `from` on: the content of each from the body
/// `body_now` gives for it (its sequence, its ticket's id), or as recorded when it gives none;
/// the payload still queued, if any, takes that body and its new link.
fn relink_from(
    conn: &Connection,
    from: i64,
    body_now: impl Fn(i64, Option<&str>) -> Option<MutationBody>,
) {
    let mut prev: String = conn
        .query_row(
            "SELECT link FROM push_chain WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
            [from],
            |r| r.get(0),
        )
        .optional()
        .expect("reads")
        .unwrap_or_else(|| chain::GENESIS.to_string());
    let links: Vec<(i64, String, Option<String>)> = conn
        .prepare("SELECT seq, content, ticket_id FROM push_chain WHERE seq >= ?1 ORDER BY seq")
        .expect("prepares")
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads");
    for (seq, content, ticket) in links {
        let body = body_now(seq, ticket.as_deref());
        let content = match &body {
            Some(body) => chain::content(body).expect("serializes"),
            None => content,
        };
        let link = chain::link(&prev, &content).expect("hex");
        conn.execute(
            "UPDATE push_chain SET content = ?2, link = ?3 WHERE seq = ?1",
            params![seq, content, link],
        )
        .expect("rewrites the link");
        edit_payload(conn, seq, |m| {
            if let Some(body) = body {
                m.body = body;
            }
            m.link = Some(link.clone());
        });
        prev = link;
    }
}

fn body_of(ticket: Ticket) -> MutationBody {
    match ticket.kind {
        TicketKind::Sale => MutationBody::TicketCreated(ticket),
        TicketKind::Void => MutationBody::TicketVoided(ticket),
        TicketKind::Refund => MutationBody::TicketRefunded(ticket),
    }
}

/// The payload outbox row `seq` still holds, if any.
fn payload(conn: &Connection, seq: i64) -> Option<Mutation> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT payload FROM outbox_payload WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .optional()
        .expect("reads");
    bytes.map(|b| serde_json::from_slice(&b).expect("a mutation"))
}

/// Rewrites the queued payload of outbox row `seq` by `edit`, if the outbox still holds it.
fn edit_payload(conn: &Connection, seq: i64, edit: impl FnOnce(&mut Mutation)) {
    let Some(mut mutation) = payload(conn, seq) else {
        return;
    };
    edit(&mut mutation);
    conn.execute(
        "UPDATE outbox_payload SET payload = ?2 WHERE seq = ?1",
        params![seq, serde_json::to_vec(&mutation).expect("serializes")],
    )
    .expect("rewrites the payload");
}

/// Makes the till look as if every mutation it queued so far predates the push chain: no links
/// kept, none in the queued payloads, and no chain begun.
pub fn forget_push_chain(data_dir: &Path) {
    let mut conn = open(data_dir);
    let tx = conn.transaction().expect("a transaction");
    let seqs: Vec<i64> = tx
        .prepare("SELECT seq FROM outbox_payload ORDER BY seq")
        .expect("prepares")
        .query_map([], |r| r.get(0))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads");
    for seq in seqs {
        edit_payload(&tx, seq, |m| {
            m.link = None;
            m.format = None;
        });
    }
    tx.execute_batch("DELETE FROM push_chain; DELETE FROM meta WHERE key = 'push_chain_base';")
        .expect("forgets the chain");
    tx.commit().expect("commits");
}
