//! The append-only, hash-chained journal: tickets and events (a shift opened or closed, cash
//! moved, a lock-out, …) in one chain. Entry `n` holds `hash = SHA-256(prev_hash || canonical
//! bytes)`, where `prev_hash` is the previous entry's hash (32 zero bytes for the first). A
//! ticket's canonical bytes are its `till_protocol::Ticket` JSON with `journal_hash` set to `""`
//! (the struct's field order is fixed, so the bytes are too); an event's are its [`Event`] JSON,
//! kept verbatim in its entry. Tickets stay numbered 1, 2, 3… among themselves; an event takes the
//! next position without a number. [`verify`] rebuilds every ticket from its rows, reads every
//! event, and recomputes the chain, so an edited row or event, a deleted ticket or a reordering
//! shows up as a broken link.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use till_protocol::shift::{CashMoved, ShiftClosed, ShiftOpened};
use till_protocol::{Approval, Operator, Ticket};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::{config, counters, tickets};

/// The `prev_hash` of the first entry: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something the books must keep that is not a ticket. Its JSON (`{"event": …, "data": …}`) is
/// what its entry keeps and its hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// A shift was opened with its float.
    ShiftOpened(ShiftOpened),
    /// Cash went into or out of the drawer outside a sale, or it opened without one.
    CashMoved(CashMoved),
    /// A shift was closed: its Z report.
    ShiftClosed(ShiftClosed),
    /// Too many wrong PINs in a row: the till refuses every PIN for a while.
    PinLockout(PinLockout),
    /// A failed item was discarded, with the manager's approval it needed.
    FailedItemDiscarded(FailedItemDiscarded),
    /// A conflict was resolved (a shift mismatch: acknowledged).
    ConflictResolved(ConflictResolved),
    /// The unsent queue was written to a file, to reach the back office by hand.
    QueueExported(QueueExported),
}

impl Event {
    /// The bytes its entry keeps and its hash covers.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| CoreError::Database(e.to_string()))
    }

    /// Its name, as in its JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ShiftOpened(_) => "shift_opened",
            Event::CashMoved(_) => "cash_moved",
            Event::ShiftClosed(_) => "shift_closed",
            Event::PinLockout(_) => "pin_lockout",
            Event::FailedItemDiscarded(_) => "failed_item_discarded",
            Event::ConflictResolved(_) => "conflict_resolved",
            Event::QueueExported(_) => "queue_exported",
        }
    }
}

/// The till locked itself after too many wrong PINs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinLockout {
    pub at_ms: i64,
    /// Lock-outs since the last right PIN, this one included.
    pub lockouts: u32,
    pub locked_until_ms: i64,
}

/// A failed item taken off the failed list for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedItemDiscarded {
    pub at_ms: i64,
    pub mutation_id: Uuid,
    pub entity_id: Uuid,
    /// Why the back office refused it.
    pub reason: String,
    /// Why it was discarded, in the words of who discarded it.
    pub why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// A conflict settled by a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictResolved {
    pub at_ms: i64,
    pub conflict_id: i64,
    /// `customer`, `ticket`, `shift`.
    pub entity_kind: String,
    pub entity_id: Uuid,
    /// What was chosen (`acknowledged` for a shift).
    pub resolution: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
}

/// The unsent queue written to a file (`tillctl export-queue`, the app's export): who, and how
/// many mutations of which sequences. The mutations stay queued: the back office answers the
/// till's own push of those it imported as duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueExported {
    pub at_ms: i64,
    pub mutations: u64,
    /// The first and last sequence exported, as the back office numbers them.
    pub first_seq: u64,
    pub last_seq: u64,
    /// Who exported, in their own words on a till without employees.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// The bytes the hash covers: the ticket as JSON with an empty `journal_hash`.
pub fn canonical_bytes(ticket: &Ticket) -> Result<Vec<u8>> {
    let mut t = ticket.clone();
    t.journal_hash = String::new();
    serde_json::to_vec(&t).map_err(|e| CoreError::Database(e.to_string()))
}

/// `SHA-256(prev || canonical bytes)` in hex; `prev_hex` is the previous hash in hex.
pub fn chain_hash(prev_hex: &str, ticket: &Ticket) -> Result<String> {
    hash_bytes(prev_hex, &canonical_bytes(ticket)?)
}

/// `SHA-256(prev || bytes)` in hex.
fn hash_bytes(prev_hex: &str, bytes: &[u8]) -> Result<String> {
    let prev = hex::decode(prev_hex)
        .map_err(|e| CoreError::Database(format!("journal hash {prev_hex:?}: {e}")))?;
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(bytes);
    Ok(hex::encode(h.finalize()))
}

/// Where a store's chain goes on from when it replaced a damaged one: the last entry of the
/// damaged store's journal. Its entries come back when they are salvaged; meanwhile new entries
/// link to it, so the chain is whole once they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Base {
    pub position: u64,
    pub hash: String,
    /// The last ticket number of the damaged journal (absent in a base recorded when every
    /// entry was a ticket: then it is `position`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<u64>,
}

impl Base {
    /// The last ticket number before the base.
    pub fn last_ticket(&self) -> u64 {
        self.ticket_number.unwrap_or(self.position)
    }
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

/// The position the next entry takes: right after the last entry, or after the [`BASE`] when
/// it is later.
fn next_position(conn: &Connection) -> Result<i64> {
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(position), 0) FROM journal")?
        .query_row([], |r| r.get(0))?;
    let base = config::get(conn, &BASE)?.map_or(0, |b| i64::try_from(b.position).unwrap_or(0));
    Ok(last.max(base) + 1)
}

/// Appends the entry of `ticket`, whose `journal_hash` was computed from `prev_hash`. The entry
/// keeps the ticket's shift: the ticket's rows predate shifts, and its hash covers it.
pub(crate) fn append(conn: &Connection, ticket: &Ticket, prev_hash: &str) -> Result<()> {
    let n = i64::try_from(ticket.number)
        .map_err(|_| CoreError::Database("ticket number out of range".into()))?;
    conn.prepare_cached(
        "INSERT INTO journal (position, ticket_id, ticket_number, shift_id, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        next_position(conn)?,
        ticket.id.to_string(),
        n,
        ticket.shift_id.map(|s| s.to_string()),
        prev_hash,
        ticket.journal_hash
    ])?;
    Ok(())
}

/// Appends `event` to the chain inside the caller's write transaction; returns its hash.
pub fn append_event(tx: &Connection, event: &Event) -> Result<String> {
    let bytes = event.canonical_bytes()?;
    let prev = last_hash(tx)?;
    let hash = hash_bytes(&prev, &bytes)?;
    let text = String::from_utf8(bytes).map_err(|e| CoreError::Database(e.to_string()))?;
    insert_event(tx, next_position(tx)?, &text, &prev, &hash)?;
    Ok(hash)
}

fn insert_event(tx: &Connection, position: i64, text: &str, prev: &str, hash: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO journal (position, event, prev_hash, hash) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![position, text, prev, hash])?;
    Ok(())
}

/// Writes back an event entry salvaged from a damaged store at its own `position`, exactly as
/// it was; `false` (nothing written) when its bytes no longer hash to `hash` or are no event.
pub(crate) fn restore_event(
    tx: &Connection,
    position: i64,
    text: &str,
    prev: &str,
    hash: &str,
) -> Result<Option<Event>> {
    let Ok(event) = serde_json::from_str::<Event>(text) else {
        return Ok(None);
    };
    if hash_bytes(prev, text.as_bytes())? != hash {
        return Ok(None);
    }
    insert_event(tx, position, text, prev, hash)?;
    Ok(Some(event))
}

/// Moves the entry of the ticket `ticket_id` to `position` (a salvaged ticket is appended at the
/// end, then put back where it stood in the damaged store).
pub(crate) fn place_ticket(tx: &Connection, ticket_id: Uuid, position: i64) -> Result<()> {
    tx.execute(
        "UPDATE journal SET position = ?2 WHERE ticket_id = ?1",
        params![ticket_id.to_string(), position],
    )?;
    Ok(())
}

/// The tickets counted in shift `shift_id`, in number order.
pub fn tickets_of_shift(conn: &Connection, shift_id: Uuid) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ticket_id FROM journal WHERE shift_id = ?1 ORDER BY ticket_number",
    )?;
    let ids = stmt
        .query_map([shift_id.to_string()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|id| parse_id(id)).collect()
}

/// The shift the ticket `ticket_id` was rung up in, if any.
pub fn shift_of(conn: &Connection, ticket_id: Uuid) -> Result<Option<Uuid>> {
    let shift: Option<Option<String>> = conn
        .prepare_cached("SELECT shift_id FROM journal WHERE ticket_id = ?1")?
        .query_row([ticket_id.to_string()], |r| r.get(0))
        .optional()?;
    shift.flatten().map(|s| parse_id(&s)).transpose()
}

/// The ticket `ticket_id` rebuilt from its rows, with the shift its journal entry keeps: what
/// its journal hash and its mutation covered when it was rung up. `None` when it is gone.
pub fn rebuilt_ticket(conn: &Connection, ticket_id: Uuid) -> Result<Option<Ticket>> {
    let Some(mut ticket) = tickets::load(conn, ticket_id)? else {
        return Ok(None);
    };
    ticket.shift_id = shift_of(conn, ticket_id)?;
    Ok(Some(ticket))
}

fn parse_id(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| CoreError::Database(format!("journal id {text:?}: {e}")))
}

/// Why a link of the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A ticket's or event's content no longer hashes to its recorded hash.
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
    /// The ticket number where the chain first fails; at an event, the number the next ticket
    /// takes.
    pub ticket_number: u64,
    /// The journal position where the chain first fails.
    pub position: u64,
    /// The event's name when the break is at an event, not a ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'static str>,
    pub kind: BreakKind,
    pub detail: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.event {
            None => write!(f, "ticket {}", self.ticket_number)?,
            Some(event) => write!(f, "entry {} ({event})", self.position)?,
        }
        write!(f, ": {} ({})", self.kind.as_str(), self.detail)
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked before the first break (all of them when the chain holds).
    pub verified: u64,
    /// Of those, tickets.
    pub tickets: u64,
    /// Of those, events.
    pub events: u64,
    /// Of the events, closed shifts (Z reports).
    pub z_reports: u64,
    pub broken: Option<BrokenLink>,
}

impl Verification {
    pub fn holds(&self) -> bool {
        self.broken.is_none()
    }
}

/// One row of the journal: a ticket's entry (`ticket` set) or an event's (`event` set).
struct Entry {
    position: i64,
    ticket: Option<(String, i64)>,
    shift_id: Option<String>,
    event: Option<String>,
    prev_hash: String,
    hash: String,
}

/// Checks the whole chain: entries at positions 1.. without a gap, each linking to the previous
/// hash; ticket entries naming tickets 1, 2, 3… in order, each ticket (rebuilt from its rows)
/// hashing to its entry; event entries hashing to the event they keep; no ticket without an
/// entry, and no ticket number handed out but absent. Reads in one snapshot.
pub fn verify(conn: &mut Connection) -> Result<Verification> {
    let tx = conn.transaction()?;
    let result = verify_in(&tx);
    tx.finish()?;
    result
}

/// Where the chain of this store starts: at entry 1 from [`GENESIS`], or, in a store that
/// replaced a damaged one and does not hold that store's entries (yet), right after its
/// [`BASE`]. Also the last ticket number before the start.
fn start_of(conn: &Connection) -> Result<(String, u64, u64)> {
    let first: Option<i64> =
        conn.query_row("SELECT min(position) FROM journal", [], |r| r.get(0))?;
    Ok(match (first, config::get(conn, &BASE)?) {
        (None, Some(base)) => (base.hash.clone(), base.position + 1, base.last_ticket()),
        (Some(first), Some(base)) if first > 1 && first as u64 == base.position + 1 => {
            (base.hash.clone(), base.position + 1, base.last_ticket())
        }
        _ => (GENESIS.to_string(), 1, 0),
    })
}

/// A walk along the chain: the hash and position it expects next, the next ticket number, and
/// what it has checked so far.
struct Walk<'c> {
    conn: &'c Connection,
    prev: String,
    position: u64,
    next_ticket: u64,
    v: Verification,
}

impl Walk<'_> {
    fn broken(
        mut self,
        event: Option<&'static str>,
        kind: BreakKind,
        detail: String,
    ) -> Verification {
        self.v.broken = Some(BrokenLink {
            ticket_number: self.next_ticket,
            position: self.position,
            event,
            kind,
            detail,
        });
        self.v
    }

    /// Whether the ticket entry `e` (ticket `id`, numbered `number`) holds: else the break.
    fn ticket(
        &self,
        id: &str,
        number: i64,
        e: &Entry,
    ) -> Result<std::result::Result<(), (BreakKind, String)>> {
        let n = self.next_ticket;
        if number != n as i64 {
            return Ok(Err((
                BreakKind::Reordered,
                format!(
                    "journal entry {} names ticket number {number}",
                    self.position
                ),
            )));
        }
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(Err((
                BreakKind::Edited,
                "the entry's ticket id is not a UUID".into(),
            )));
        };
        let mut ticket = match tickets::load(self.conn, id) {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Ok(Err((
                    BreakKind::Missing,
                    format!("ticket {id} was deleted"),
                )))
            }
            Err(err @ (CoreError::Database(_) | CoreError::InvalidInput(_))) => {
                return Ok(Err((
                    BreakKind::Edited,
                    format!("its rows are unreadable: {err}"),
                )));
            }
            Err(other) => return Err(other),
        };
        if ticket.number != n {
            return Ok(Err((
                BreakKind::Reordered,
                format!("ticket {id} now carries number {}", ticket.number),
            )));
        }
        if e.prev_hash != self.prev {
            return Ok(Err((
                BreakKind::Reordered,
                "its entry does not link to the previous entry's hash".into(),
            )));
        }
        ticket.shift_id = match e.shift_id.as_deref().map(Uuid::parse_str).transpose() {
            Ok(shift) => shift,
            Err(_) => {
                return Ok(Err((
                    BreakKind::Edited,
                    "the entry's shift id is not a UUID".into(),
                )))
            }
        };
        let hash = chain_hash(&self.prev, &ticket)?;
        if hash != e.hash || ticket.journal_hash != e.hash {
            return Ok(Err((
                BreakKind::Edited,
                "its content no longer matches its journal hash".into(),
            )));
        }
        Ok(Ok(()))
    }

    /// The event `text` of entry `e`, when it holds: else the break.
    fn event(
        &self,
        text: &str,
        e: &Entry,
    ) -> Result<std::result::Result<Event, (BreakKind, String)>> {
        let event = match serde_json::from_str::<Event>(text) {
            Ok(event) => event,
            Err(err) => {
                return Ok(Err((
                    BreakKind::Edited,
                    format!("its event is unreadable: {err}"),
                )))
            }
        };
        if e.prev_hash != self.prev {
            return Ok(Err((
                BreakKind::Reordered,
                "its entry does not link to the previous entry's hash".into(),
            )));
        }
        if hash_bytes(&self.prev, text.as_bytes())? != e.hash {
            return Ok(Err((
                BreakKind::Edited,
                "its content no longer matches its journal hash".into(),
            )));
        }
        Ok(Ok(event))
    }
}

fn verify_in(conn: &Connection) -> Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT position, ticket_id, ticket_number, shift_id, event, prev_hash, hash
         FROM journal ORDER BY position",
    )?;
    let entries = stmt.query_map([], |r| {
        let ticket: (Option<String>, Option<i64>) = (r.get(1)?, r.get(2)?);
        Ok(Entry {
            position: r.get(0)?,
            ticket: match ticket {
                (Some(id), Some(number)) => Some((id, number)),
                _ => None,
            },
            shift_id: r.get(3)?,
            event: r.get(4)?,
            prev_hash: r.get(5)?,
            hash: r.get(6)?,
        })
    })?;
    let (prev, start, last_ticket) = start_of(conn)?;
    let mut walk = Walk {
        conn,
        prev,
        position: start,
        next_ticket: last_ticket + 1,
        v: Verification {
            verified: 0,
            tickets: 0,
            events: 0,
            z_reports: 0,
            broken: None,
        },
    };
    for entry in entries {
        let e = entry?;
        if e.position != walk.position as i64 {
            let detail = format!(
                "the journal skips from {} to {}",
                walk.position - 1,
                e.position
            );
            return Ok(walk.broken(None, BreakKind::Missing, detail));
        }
        match (&e.ticket, &e.event) {
            (Some((id, number)), None) => {
                if let Err((kind, detail)) = walk.ticket(id, *number, &e)? {
                    return Ok(walk.broken(None, kind, detail));
                }
                walk.v.tickets += 1;
                walk.next_ticket += 1;
            }
            (None, Some(text)) => match walk.event(text, &e)? {
                Ok(event) => {
                    walk.v.events += 1;
                    if matches!(event, Event::ShiftClosed(_)) {
                        walk.v.z_reports += 1;
                    }
                }
                Err((kind, detail)) => {
                    let name = serde_json::from_str::<Event>(text).ok().map(|ev| ev.name());
                    return Ok(walk.broken(Some(name.unwrap_or("event")), kind, detail));
                }
            },
            _ => {
                let detail = "the entry is neither a ticket nor an event".into();
                return Ok(walk.broken(None, BreakKind::Edited, detail));
            }
        }
        walk.prev = e.hash;
        walk.position += 1;
        walk.v.verified += 1;
    }
    let unjournaled: Option<i64> = conn
        .query_row(
            "SELECT min(number) FROM tickets WHERE number >= ?1",
            [walk.next_ticket as i64],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(number) = unjournaled {
        let detail = format!("ticket {number} exists but the journal ends before it");
        return Ok(walk.broken(None, BreakKind::Missing, detail));
    }
    let issued = counters::last(conn, counters::TICKET)?;
    if issued >= walk.next_ticket {
        let detail =
            format!("ticket numbers up to {issued} were issued but the journal ends before");
        return Ok(walk.broken(None, BreakKind::Missing, detail));
    }
    Ok(walk.v)
}

/// What tests of the modules that write events check of the journal.
#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;

    use super::{verify, BreakKind, Event};

    /// The one entry of the journal, an event, once the chain is verified to hold and to count
    /// it.
    pub fn the_only_event(conn: &mut Connection) -> Event {
        let v = verify(conn).expect("verifies");
        assert!(v.holds(), "{v:?}");
        assert_eq!(v.events, 1, "verify-journal counts the event");
        let text: String = conn
            .query_row("SELECT event FROM journal WHERE position = 1", [], |r| {
                r.get(0)
            })
            .expect("an entry");
        serde_json::from_str(&text).expect("an event")
    }

    /// Asserts that writing `to` over `from` in the event at position 1 breaks the chain there.
    pub fn editing_breaks_the_chain(conn: &mut Connection, from: &str, to: &str, event: &str) {
        conn.execute(
            "UPDATE journal SET event = replace(event, ?1, ?2) WHERE position = 1",
            [from, to],
        )
        .expect("tampers");
        let broken = verify(conn).expect("verifies").broken;
        let broken = broken.unwrap_or_else(|| panic!("an edited {event} breaks the chain"));
        assert_eq!(
            (broken.kind, broken.event),
            (BreakKind::Edited, Some(event))
        );
    }
}
