//! The till's side of the push chain ([`till_protocol::chain`]): every mutation queued gets its
//! link, computed from the link before and its body in the transaction that queues it, and
//! kept in the `push_chain` table for good (outbox rows are pruned once applied). The back
//! office recomputes the same chain and answers each push with the head it accepted, which the
//! till keeps ([`SERVER_HEAD`]). [`verify`] recomputes the local chain, a ticket's content from
//! the ticket rebuilt from its rows, so a ticket edited in its rows breaks the chain here, or,
//! when every hash was recomputed too, no longer holds the head the back office accepted.
//!
//! Mutations queued before the chain existed have no link: the chain begins at the first one
//! queued after it ([`BASE`]), from [`GENESIS`]. A till enrolled as a new terminal after its
//! history diverged begins a new chain for the new identity ([`restart_at`]).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use till_protocol::chain::{self, ChainHead, GENESIS};
use till_protocol::{Mutation, MutationBody, TicketKind};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::{config, journal, outbox};

/// The outbox sequence of the first mutation of the current chain (linked from [`GENESIS`]).
const BASE: config::Key<u64> = config::Key::new("push_chain_base");

/// The head the back office last accepted, in its numbering.
const SERVER_HEAD: config::Key<ChainHead> = config::Key::new("server_head");

/// Links `mutation`, about to be queued as outbox row `seq`: sets its [`Mutation::link`] and
/// records the link. Call inside the transaction that queues it, before its payload is written.
pub(crate) fn link_next(conn: &Connection, seq: u64, mutation: &mut Mutation) -> Result<()> {
    let base = match config::get(conn, &BASE)? {
        Some(base) => base,
        None => {
            config::set(conn, &BASE, &seq)?;
            seq
        }
    };
    let prev: Option<String> = conn
        .prepare_cached(
            "SELECT link FROM push_chain WHERE seq >= ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![sql_seq(base)?, sql_seq(seq)?], |r| r.get(0))
        .optional()?;
    let content = chain::content(&mutation.body)?;
    let link = chain::link(prev.as_deref().unwrap_or(GENESIS), &content)
        .map_err(|e| CoreError::Database(format!("push chain: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO push_chain (seq, content, link, ticket_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        sql_seq(seq)?,
        content,
        link,
        ticket_of(&mutation.body).map(|id| id.to_string())
    ])?;
    mutation.link = Some(link);
    Ok(())
}

/// Begins a new chain at outbox row `seq` (the first mutation of a new terminal identity) and
/// forgets the head the back office accepted for the old one.
pub(crate) fn restart_at(conn: &Connection, seq: u64) -> Result<()> {
    config::set(conn, &BASE, &seq)?;
    config::remove(conn, &SERVER_HEAD)
}

/// The newest link of the chain, in the back office's numbering: what a push names as the
/// terminal's head. `None` before the chain began.
pub fn head(conn: &Connection) -> Result<Option<ChainHead>> {
    let Some(base) = config::get(conn, &BASE)? else {
        return Ok(None);
    };
    let newest: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT seq, link FROM push_chain WHERE seq >= ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([sql_seq(base)?], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let seq_base = outbox::seq_base(conn)?;
    Ok(newest.map(|(seq, link)| ChainHead {
        seq: u64::try_from(seq).unwrap_or(0).saturating_sub(seq_base),
        link,
    }))
}

/// Keeps `head`, the head the back office accepted after a push.
pub fn record_server_head(conn: &Connection, head: &ChainHead) -> Result<()> {
    config::set(conn, &SERVER_HEAD, head)
}

/// The head the back office last accepted, if it has accepted a link yet.
pub fn server_head(conn: &Connection) -> Result<Option<ChainHead>> {
    config::get(conn, &SERVER_HEAD)
}

/// The ticket a ticket mutation carries.
fn ticket_of(body: &MutationBody) -> Option<Uuid> {
    match body {
        MutationBody::TicketCreated(t)
        | MutationBody::TicketVoided(t)
        | MutationBody::TicketRefunded(t) => Some(t.id),
        _ => None,
    }
}

fn sql_seq(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| CoreError::Database(format!("sequence {seq} out of range")))
}

/// The first link of the local chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The sequence of the mutation, as the back office numbers it.
    pub seq: u64,
    pub detail: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Links checked before the first break (all of them when the chain holds).
    pub checked: u64,
    /// The newest link checked.
    pub head: Option<ChainHead>,
    pub broken: Option<ChainBreak>,
    /// The head the back office last accepted.
    pub server_head: Option<ChainHead>,
    /// Whether the back office's head is the local chain's link at its sequence; `None` before
    /// it accepted a link.
    pub server_head_matches: Option<bool>,
}

impl ChainCheck {
    /// Whether the local chain holds and the back office's head, if any, is one of its links.
    pub fn holds(&self) -> bool {
        self.broken.is_none() && self.server_head_matches != Some(false)
    }
}

/// One stored link, with the content its mutation has now (a ticket's recomputed from its rows;
/// `Err` when the ticket cannot be rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    seq: u64,
    content: String,
    link: String,
    now: std::result::Result<String, String>,
}

/// Walks the links from `first` (the chain's first sequence): consecutive sequences, each
/// link from the one before and the content its mutation has now.
fn walk(
    first: u64,
    links: impl IntoIterator<Item = Stored>,
) -> (u64, Option<ChainHead>, Option<ChainBreak>) {
    let mut prev = GENESIS.to_string();
    let mut checked = 0;
    let mut head = None;
    for (expected, s) in (first..).zip(links) {
        let broken = |detail: String| ChainBreak { seq: s.seq, detail };
        let fault = if s.seq != expected {
            Some(broken(format!(
                "the chain skips from {} to {}",
                expected.saturating_sub(1),
                s.seq
            )))
        } else {
            match &s.now {
                Err(why) => Some(broken(why.clone())),
                Ok(now) if *now != s.content => Some(broken(
                    "its ticket's rows no longer give its recorded content".into(),
                )),
                Ok(_) if chain::link(&prev, &s.content).ok().as_ref() != Some(&s.link) => Some(
                    broken("its link does not follow from the link before and its content".into()),
                ),
                Ok(_) => None,
            }
        };
        if let Some(fault) = fault {
            return (checked, head, Some(fault));
        }
        prev = s.link.clone();
        checked += 1;
        head = Some(ChainHead {
            seq: s.seq,
            link: s.link,
        });
    }
    (checked, head, None)
}

/// Checks the local chain and the head the back office accepted against it. Reads in one
/// snapshot.
pub fn verify(conn: &mut Connection) -> Result<ChainCheck> {
    let tx = conn.transaction()?;
    let result = verify_in(&tx);
    tx.finish()?;
    result
}

fn verify_in(conn: &Connection) -> Result<ChainCheck> {
    let seq_base = outbox::seq_base(conn)?;
    let base = config::get(conn, &BASE)?;
    let mut stored = Vec::new();
    if let Some(base) = base {
        let mut stmt = conn.prepare(
            "SELECT seq, content, link, ticket_id FROM push_chain WHERE seq >= ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([sql_seq(base)?], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        for row in rows {
            let (seq, content, link, ticket) = row?;
            let now = match ticket {
                Some(id) => content_of_ticket(conn, &id)?,
                None => Ok(content.clone()),
            };
            stored.push(Stored {
                seq: u64::try_from(seq).unwrap_or(0).saturating_sub(seq_base),
                content,
                link,
                now,
            });
        }
    }
    let first = base.map_or(1, |b| b.saturating_sub(seq_base));
    let (checked, head, broken) = walk(first, stored);
    let server_head = server_head(conn)?;
    let server_head_matches = match &server_head {
        None => None,
        Some(h) => Some(link_at(conn, seq_base, h.seq)?.as_deref() == Some(h.link.as_str())),
    };
    Ok(ChainCheck {
        checked,
        head,
        broken,
        server_head,
        server_head_matches,
    })
}

/// The local link at `seq` (the back office's numbering).
fn link_at(conn: &Connection, seq_base: u64, seq: u64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT link FROM push_chain WHERE seq = ?1")?
        .query_row([sql_seq(seq + seq_base)?], |r| r.get(0))
        .optional()?)
}

/// The content of the mutation of ticket `id` rebuilt from its rows, or why it cannot be.
fn content_of_ticket(conn: &Connection, id: &str) -> Result<std::result::Result<String, String>> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(Err(format!("its ticket id {id:?} is not a UUID")));
    };
    let ticket = match journal::rebuilt_ticket(conn, id) {
        Ok(Some(ticket)) => ticket,
        Ok(None) => return Ok(Err(format!("its ticket {id} was deleted"))),
        Err(err @ (CoreError::Database(_) | CoreError::InvalidInput(_))) => {
            return Ok(Err(format!("its ticket's rows are unreadable: {err}")))
        }
        Err(other) => return Err(other),
    };
    let body = match ticket.kind {
        TicketKind::Sale => MutationBody::TicketCreated(ticket),
        TicketKind::Void => MutationBody::TicketVoided(ticket),
        TicketKind::Refund => MutationBody::TicketRefunded(ticket),
    };
    Ok(Ok(chain::content(&body)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::testing::{body, conn};
    use till_protocol::Hlc;

    fn queue(conn: &Connection, n: u128) -> Mutation {
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        outbox::enqueue(conn, body(n), None, hlc, 10).expect("queues")
    }

    /// Queues two mutations and records the first one's link as the back office's head.
    fn two_queued_the_first_accepted(conn: &Connection) -> (Mutation, ChainHead) {
        let first = queue(conn, 1);
        queue(conn, 2);
        let accepted = ChainHead {
            seq: 1,
            link: first.link.clone().expect("linked"),
        };
        record_server_head(conn, &accepted).expect("records");
        (first, accepted)
    }

    #[test]
    fn every_queued_mutation_carries_its_link_and_the_head_is_the_newest() {
        let mut conn = conn();
        let first = queue(&conn, 1);
        let second = queue(&conn, 2);
        let content = chain::content(&first.body).expect("serializes");
        assert_eq!(
            first.link,
            Some(chain::link(GENESIS, &content).expect("hex")),
            "the first link follows from GENESIS"
        );
        let head = head(&conn).expect("reads").expect("a head");
        assert_eq!((head.seq, Some(head.link)), (2, second.link.clone()));
        let payload = outbox::get(&conn, 2)
            .expect("reads")
            .expect("queued")
            .payload;
        let sent: Mutation = serde_json::from_slice(&payload).expect("a mutation");
        assert_eq!(sent.link, second.link, "the payload sent carries the link");
        let check = verify(&mut conn).expect("verifies");
        assert!(check.holds(), "{check:?}");
        assert_eq!((check.checked, check.server_head_matches), (2, None));
    }

    #[test]
    fn a_new_terminal_identity_begins_a_new_chain_from_genesis() {
        let mut conn = conn();
        let (first, _) = two_queued_the_first_accepted(&conn);
        let requeued = outbox::requeue_for(&conn, Uuid::now_v7(), 20).expect("requeues");
        assert_eq!(requeued, 2);
        let sent: Mutation = serde_json::from_slice(
            &outbox::get(&conn, 3)
                .expect("reads")
                .expect("queued")
                .payload,
        )
        .expect("a mutation");
        assert_eq!(sent.seq, 1, "numbered from 1 for the new identity");
        assert_eq!(
            sent.link, first.link,
            "the same body linked from GENESIS again"
        );
        let check = verify(&mut conn).expect("verifies");
        assert!(check.holds(), "{check:?}");
        assert_eq!(check.head.map(|h| h.seq), Some(2));
        assert_eq!(
            check.server_head, None,
            "the old identity's head is forgotten"
        );
    }

    #[test]
    fn a_server_head_that_is_not_a_local_link_fails_the_check() {
        let mut conn = conn();
        let (_, accepted) = two_queued_the_first_accepted(&conn);
        assert_eq!(
            verify(&mut conn).expect("verifies").server_head_matches,
            Some(true)
        );
        record_server_head(&conn, &ChainHead { seq: 2, ..accepted }).expect("records");
        let check = verify(&mut conn).expect("verifies");
        assert_eq!(check.server_head_matches, Some(false), "another link at 2");
        assert!(
            !check.holds(),
            "a head the back office holds and the till not fails"
        );
    }

    fn chain_of(contents: &[&str]) -> Vec<Stored> {
        let mut prev = GENESIS.to_string();
        contents
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let content = c.repeat(64);
                let link = chain::link(&prev, &content).expect("hex");
                prev = link.clone();
                Stored {
                    seq: i as u64 + 1,
                    now: Ok(content.clone()),
                    content,
                    link,
                }
            })
            .collect()
    }

    #[test]
    fn a_whole_chain_holds_up_to_its_head() {
        let links = chain_of(&["a", "b", "c"]);
        let last = links[2].link.clone();
        let (checked, head, broken) = walk(1, links);
        assert_eq!(broken, None, "an untouched chain holds");
        assert_eq!(checked, 3);
        assert_eq!(head, Some(ChainHead { seq: 3, link: last }));
    }

    #[test]
    fn a_ticket_whose_rows_changed_breaks_the_chain_at_its_link() {
        let mut links = chain_of(&["a", "b", "c"]);
        links[1].now = Ok("d".repeat(64));
        let (checked, _, broken) = walk(1, links);
        assert_eq!(checked, 1, "the links before hold");
        assert_eq!(
            broken.map(|b| b.seq),
            Some(2),
            "the edited ticket's link breaks"
        );
    }

    #[test]
    fn a_recorded_content_rewritten_without_its_link_breaks_the_chain() {
        let mut links = chain_of(&["a", "b"]);
        links[0].content = "e".repeat(64);
        links[0].now = Ok("e".repeat(64));
        let (_, _, broken) = walk(1, links);
        assert_eq!(broken.map(|b| b.seq), Some(1));
    }

    #[test]
    fn a_missing_link_breaks_the_chain() {
        let mut links = chain_of(&["a", "b", "c"]);
        links.remove(1);
        let (checked, _, broken) = walk(1, links);
        assert_eq!((checked, broken.map(|b| b.seq)), (1, Some(3)));
    }

    #[test]
    fn a_chain_begun_after_older_mutations_starts_at_its_base() {
        let mut links = chain_of(&["a", "b"]);
        for (i, l) in links.iter_mut().enumerate() {
            l.seq = 41 + i as u64;
        }
        assert_eq!(
            walk(41, links.clone()).2,
            None,
            "the chain starts at its base"
        );
        assert_eq!(walk(40, links).2.map(|b| b.seq), Some(41));
    }
}
