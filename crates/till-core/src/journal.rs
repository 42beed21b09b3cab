//! The append-only, hash-chained journal of tickets. Entry `n` belongs to ticket number `n` and
//! holds `hash = SHA-256(prev_hash || canonical bytes of the ticket)`, where `prev_hash` is the
//! previous entry's hash (32 zero bytes for the first) and the canonical bytes are the ticket's
//! `till_protocol::Ticket` JSON with `journal_hash` set to `""` (the struct's field order is
//! fixed, so the bytes are too). [`verify`] rebuilds every ticket from its rows and recomputes
//! the chain, so an edited row, a deleted ticket or a reordering shows up as a broken link.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use till_protocol::Ticket;
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::{config, counters, tickets};

/// The `prev_hash` of the first entry: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bytes the hash covers: the ticket as JSON with an empty `journal_hash`.
pub fn canonical_bytes(ticket: &Ticket) -> Result<Vec<u8>> {
    let mut t = ticket.clone();
    t.journal_hash = String::new();
    serde_json::to_vec(&t).map_err(|e| CoreError::Database(e.to_string()))
}

/// `SHA-256(prev || canonical bytes)` in hex; `prev_hex` is the previous hash in hex.
pub fn chain_hash(prev_hex: &str, ticket: &Ticket) -> Result<String> {
    let prev = hex::decode(prev_hex)
        .map_err(|e| CoreError::Database(format!("journal hash {prev_hex:?}: {e}")))?;
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(canonical_bytes(ticket)?);
    Ok(hex::encode(h.finalize()))
}

/// Where a store's chain goes on from when it replaced a damaged one: the last entry of the
/// damaged store's journal. Its entries come back when they are salvaged; meanwhile new tickets
/// link to it, so the chain is whole once they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Base {
    pub position: u64,
    pub hash: String,
}

/// The [`Base`] of a store that replaced a damaged one.
pub const BASE: config::Key<Base> = config::Key::new("journal_base");

/// The hash of the last entry (or of the [`BASE`] when it is later), or [`GENESIS`] for an
/// empty journal.
pub fn last_hash(conn: &Connection) -> Result<String> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT position, hash FROM journal ORDER BY position DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let base = config::get(conn, &BASE)?;
    Ok(match (last, base) {
        (Some((position, _)), Some(base)) if base.position >= position as u64 => base.hash,
        (Some((_, hash)), _) => hash,
        (None, Some(base)) => base.hash,
        (None, None) => GENESIS.to_string(),
    })
}

/// Appends the entry of `ticket`, whose `journal_hash` was computed from `prev_hash`.
pub(crate) fn append(conn: &Connection, ticket: &Ticket, prev_hash: &str) -> Result<()> {
    let n = i64::try_from(ticket.number)
        .map_err(|_| CoreError::Database("ticket number out of range".into()))?;
    conn.prepare_cached(
        "INSERT INTO journal (position, ticket_id, ticket_number, prev_hash, hash)
         VALUES (?1, ?2, ?1, ?3, ?4)",
    )?
    .execute(params![
        n,
        ticket.id.to_string(),
        prev_hash,
        ticket.journal_hash
    ])?;
    Ok(())
}

/// Why a link of the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The ticket's content no longer hashes to its recorded hash.
    Edited,
    /// A ticket or its journal entry is gone.
    Missing,
    /// Tickets or entries are out of their original order.
    Reordered,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Edited => "edited",
            BreakKind::Missing => "missing",
            BreakKind::Reordered => "reordered",
        }
    }
}

/// The first broken link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The ticket number where the chain first fails.
    pub ticket_number: u64,
    pub kind: BreakKind,
    pub detail: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ticket {}: {} ({})",
            self.ticket_number,
            self.kind.as_str(),
            self.detail
        )
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked before the first break (all of them when the chain holds).
    pub verified: u64,
    pub broken: Option<BrokenLink>,
}

impl Verification {
    pub fn holds(&self) -> bool {
        self.broken.is_none()
    }
}

struct Entry {
    position: i64,
    ticket_id: String,
    ticket_number: i64,
    prev_hash: String,
    hash: String,
}

/// Checks the whole chain: entries numbered 1.., each naming the ticket with its number, each
/// linking to the previous hash, each ticket (rebuilt from its rows) hashing to its entry, no
/// ticket without an entry, and no ticket number handed out but absent. Reads in one snapshot.
pub fn verify(conn: &mut Connection) -> Result<Verification> {
    let tx = conn.transaction()?;
    let result = verify_in(&tx);
    tx.finish()?;
    result
}

/// Where the chain of this store starts: at entry 1 from [`GENESIS`], or, in a store that
/// replaced a damaged one and does not hold that store's entries (yet), right after its
/// [`BASE`].
fn start_of(conn: &Connection) -> Result<(String, u64)> {
    let first: Option<i64> =
        conn.query_row("SELECT min(position) FROM journal", [], |r| r.get(0))?;
    Ok(match (first, config::get(conn, &BASE)?) {
        (None, Some(base)) => (base.hash, base.position + 1),
        (Some(first), Some(base)) if first > 1 && first as u64 == base.position + 1 => {
            (base.hash, base.position + 1)
        }
        _ => (GENESIS.to_string(), 1),
    })
}

fn verify_in(conn: &Connection) -> Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT position, ticket_id, ticket_number, prev_hash, hash FROM journal ORDER BY position",
    )?;
    let entries = stmt.query_map([], |r| {
        Ok(Entry {
            position: r.get(0)?,
            ticket_id: r.get(1)?,
            ticket_number: r.get(2)?,
            prev_hash: r.get(3)?,
            hash: r.get(4)?,
        })
    })?;
    let (mut prev, start) = start_of(conn)?;
    let mut expected = start;
    let broken = |n: u64, kind: BreakKind, detail: String| {
        Ok(Verification {
            verified: n - start,
            broken: Some(BrokenLink {
                ticket_number: n,
                kind,
                detail,
            }),
        })
    };
    for entry in entries {
        let e = entry?;
        let n = expected;
        if e.position != n as i64 {
            return broken(
                n,
                BreakKind::Missing,
                format!("the journal skips from {} to {}", n - 1, e.position),
            );
        }
        if e.ticket_number != n as i64 {
            return broken(
                n,
                BreakKind::Reordered,
                format!("journal entry {n} names ticket number {}", e.ticket_number),
            );
        }
        let id = match Uuid::parse_str(&e.ticket_id) {
            Ok(id) => id,
            Err(_) => {
                return broken(
                    n,
                    BreakKind::Edited,
                    "the entry's ticket id is not a UUID".into(),
                )
            }
        };
        let ticket = match tickets::load(conn, id) {
            Ok(Some(t)) => t,
            Ok(None) => {
                return broken(n, BreakKind::Missing, format!("ticket {id} was deleted"));
            }
            Err(err @ (CoreError::Database(_) | CoreError::InvalidInput(_))) => {
                return broken(
                    n,
                    BreakKind::Edited,
                    format!("its rows are unreadable: {err}"),
                );
            }
            Err(other) => return Err(other),
        };
        if ticket.number != n {
            return broken(
                n,
                BreakKind::Reordered,
                format!("ticket {id} now carries number {}", ticket.number),
            );
        }
        if e.prev_hash != prev {
            return broken(
                n,
                BreakKind::Reordered,
                "its entry does not link to the previous entry's hash".into(),
            );
        }
        let hash = chain_hash(&prev, &ticket)?;
        if hash != e.hash || ticket.journal_hash != e.hash {
            return broken(
                n,
                BreakKind::Edited,
                "its content no longer matches its journal hash".into(),
            );
        }
        prev = e.hash;
        expected += 1;
    }
    let unjournaled: Option<i64> = conn
        .query_row(
            "SELECT min(number) FROM tickets WHERE number >= ?1",
            [expected as i64],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(number) = unjournaled {
        return broken(
            expected,
            BreakKind::Missing,
            format!("ticket {number} exists but the journal ends before it"),
        );
    }
    let issued = counters::last(conn, counters::TICKET)?;
    if issued >= expected {
        return broken(
            expected,
            BreakKind::Missing,
            format!("ticket numbers up to {issued} were issued but the journal ends before"),
        );
    }
    Ok(Verification {
        verified: expected - start,
        broken: None,
    })
}
