//! A damaged store: caught, set aside, replaced, salvaged.
//!
//! When the store fails its full check ([`crate::store::integrity`]) or refuses to open as
//! damaged, [`set_aside`] moves the file (with its log) to `till.db.damaged-<unix ms>` and never
//! writes to it again; a fresh store takes its place at once, so the till goes on selling. The
//! fresh store keeps the till's identity from what is readable: its device id and clock, its
//! enrolment, its ticket and mutation numbers (so no number the back office may hold is handed
//! out again), the end of its journal chain, its push chain (the back office checks the next
//! link against the head it accepted), its catalog and customers (pulled again from the start in
//! any case). The store remembers the damage (`store_damaged`), and sync waits.
//!
//! [`recover`] then salvages, from a copy of the damaged file, every ticket that still hashes to
//! its journal entry (or, when its rows are damaged, from the mutation that carried it), every
//! event of its journal that still hashes (with the shifts it records), and every mutation not yet settled, each under its own sequence number, id and bytes: the back
//! office applies those it lacks and answers the others as replays, so each lands exactly once,
//! however often `recover` runs. Sync goes on from there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::{Mutation, MutationBody, Ticket};
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::{self, Key};
use crate::error::{CoreError, Result};
use crate::outbox::OutboxState;
use crate::store::{integrity, open_unchecked, unchecked_uri, Store, DB_FILE};
use crate::{counters, journal, outbox, shifts, tickets};

pub mod notice;

/// What became of a damaged store, kept in the store that replaced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damaged {
    /// Where the damaged file was set aside, untouched.
    pub file: PathBuf,
    pub detected_at_ms: i64,
    /// What the check found.
    pub detail: String,
    /// What [`recover`] salvaged from it; `None` until it ran (sync waits meanwhile).
    pub recovered: Option<Recovery>,
}

/// What one run of [`recover`] salvaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub at_ms: i64,
    pub from: PathBuf,
    /// Tickets written back into this store.
    pub tickets: u64,
    /// Mutations queued again for the back office.
    pub queued: u64,
    /// Items put back on the failed list.
    pub failed: u64,
    /// Tickets and mutations this store already held (an earlier run).
    pub already_here: u64,
    /// Events (a shift opened or closed, cash moved, …) written back into this store.
    #[serde(default)]
    pub events: u64,
    /// Ticket numbers whose ticket could not be read back intact.
    pub unreadable_tickets: Vec<u64>,
    /// Journal positions of events that could not be read back intact.
    #[serde(default)]
    pub unreadable_entries: Vec<u64>,
    /// Sequence numbers above what the back office had acknowledged whose mutation could not be
    /// read: if the back office lacks one, sync stops at it.
    pub unreadable_mutations: Vec<u64>,
}

const STORE_DAMAGED: Key<Damaged> = Key::new("store_damaged");

/// The damage this store replaced, if it replaced a damaged one.
pub fn damaged(conn: &Connection) -> Result<Option<Damaged>> {
    config::get(conn, &STORE_DAMAGED)
}

/// The damaged store this one replaced, while its sales are not yet salvaged (sync waits).
pub fn awaiting_recovery(conn: &Connection) -> Result<Option<Damaged>> {
    Ok(damaged(conn)?.filter(|d| d.recovered.is_none()))
}

/// A store to work on, and the damage it replaced, if any.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    pub damaged: Option<Damaged>,
}

/// Opens the store of `data_dir` after its full check, setting a damaged one aside (see the
/// module). Refuses a newer schema like [`Store::open`].
pub fn open_checked(data_dir: &Path, clock: &dyn Clock) -> Result<Opened> {
    let store = match Store::open(data_dir) {
        Ok(store) => match integrity::check(store.db_path()) {
            Ok(()) => store,
            Err(CoreError::DatabaseCorrupt { detail, .. }) => set_aside(data_dir, &detail, clock)?,
            Err(other) => return Err(other),
        },
        Err(CoreError::DatabaseCorrupt { detail, .. }) => set_aside(data_dir, &detail, clock)?,
        Err(other) => return Err(other),
    };
    let damaged = damaged(&store.connect()?)?;
    Ok(Opened { store, damaged })
}

/// Moves the damaged store of `data_dir` aside and opens a fresh one in its place, keeping what
/// is readable of the till's identity (see the module). Returns the fresh store.
pub fn set_aside(data_dir: &Path, detail: &str, clock: &dyn Clock) -> Result<Store> {
    let now = clock.now_ms();
    let db = data_dir.join(DB_FILE);
    let aside = data_dir.join(format!("{DB_FILE}.damaged-{now}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(&db, suffix);
        if from.exists() {
            std::fs::rename(&from, with_suffix(&aside, suffix))?;
        }
    }
    tracing::error!(file = %aside.display(), %detail, "the store is damaged: set aside, selling into a fresh one");
    let fresh = Store::open(data_dir)?;
    {
        let mut conn = fresh.connect()?;
        let scratch = Scratch::copy(&aside, data_dir, now)?;
        if let Err(e) = seed(&mut conn, &scratch.path) {
            tracing::error!(error = %e, "nothing of the damaged store's identity could be read");
        }
        config::set(
            &conn,
            &STORE_DAMAGED,
            &Damaged {
                file: aside,
                detected_at_ms: now,
                detail: detail.to_string(),
                recovered: None,
            },
        )?;
    }
    // Again, so the handle carries the device id taken over from the damaged store.
    Store::open(data_dir)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A copy of a damaged file and its log to read from, so the file itself is never opened (an
/// open may write: it replays the log). Removed on drop.
struct Scratch {
    dir: PathBuf,
    path: PathBuf,
}

impl Scratch {
    fn copy(damaged: &Path, data_dir: &Path, now: i64) -> Result<Scratch> {
        let dir = data_dir.join(format!("recovering-{now}"));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(DB_FILE);
        for suffix in ["", "-wal"] {
            let from = with_suffix(damaged, suffix);
            if from.exists() {
                std::fs::copy(&from, with_suffix(&path, suffix))?;
            }
        }
        Ok(Scratch { dir, path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove the scratch copy");
        }
    }
}

/// Takes over into the fresh store on `conn` what is readable of the till's identity in the
/// damaged copy at `old` (read without checking its pages' seals, like the salvage): each part
/// on its own, so what cannot be read is simply left as new.
fn seed(conn: &mut Connection, old: &Path) -> Result<()> {
    conn.execute("ATTACH DATABASE ?1 AS old", [unchecked_uri(old)?])?;
    let parts: [(&str, &str); 7] = [
        (
            "identity and clock",
            "INSERT OR REPLACE INTO main.meta (key, value)
             SELECT key, value FROM old.meta
             WHERE key IN ('device_id', 'hlc_last', 'outbox_seq_base')",
        ),
        (
            "enrolment",
            "UPDATE main.sync_state SET
                 (server_url, token, terminal_id, terminal_name, server_acked_seq, paused) =
                 (SELECT server_url, token, terminal_id, terminal_name, server_acked_seq, paused
                  FROM old.sync_state WHERE id = 1),
                 ack_needed = 1
             WHERE id = 1 AND EXISTS (SELECT 1 FROM old.sync_state WHERE id = 1);
             INSERT OR REPLACE INTO main.meta (key, value)
             SELECT key, value FROM old.meta WHERE key IN ('enrolment.trust', 'sync_diverged')",
        ),
        (
            "numbers",
            "UPDATE main.counters SET value = max(value,
                 coalesce((SELECT value FROM old.counters c WHERE c.name = counters.name), 0),
                 CASE name
                     WHEN 'ticket' THEN coalesce((SELECT max(ticket_number) FROM old.journal), 0)
                     WHEN 'mutation' THEN coalesce((SELECT max(seq) FROM old.outbox), 0)
                     ELSE 0
                 END)",
        ),
        (
            "journal chain",
            "INSERT OR REPLACE INTO main.meta (key, value)
             SELECT 'journal_base', json_object('position', position, 'hash', hash,
                 'ticket_number', coalesce((SELECT max(ticket_number) FROM old.journal), 0))
             FROM old.journal ORDER BY position DESC LIMIT 1",
        ),
        (
            "push chain",
            "INSERT OR IGNORE INTO main.push_chain SELECT * FROM old.push_chain WHERE 1;
             INSERT OR REPLACE INTO main.meta (key, value)
             SELECT key, value FROM old.meta
             WHERE key IN ('push_chain_base', 'server_head', 'sync_journal_break')",
        ),
        (
            "catalog",
            "DELETE FROM main.products; DELETE FROM main.tax_rates;
             DELETE FROM main.store_settings;
             INSERT INTO main.store_settings SELECT * FROM old.store_settings WHERE 1;
             INSERT INTO main.tax_rates SELECT * FROM old.tax_rates WHERE 1;
             INSERT INTO main.products SELECT * FROM old.products WHERE 1;",
        ),
        (
            "customers",
            "INSERT INTO main.customers SELECT * FROM old.customers WHERE 1",
        ),
    ];
    // Each copy has a WHERE clause, so SQLite reads the rows one by one instead of copying the
    // damaged file's pages (and indexes) as they are.
    for (part, sql) in parts {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match tx.execute_batch(sql) {
            Ok(()) => tx.commit()?,
            Err(e) => {
                tracing::warn!(%part, error = %e, "not taken over from the damaged store");
                tx.rollback()?;
            }
        }
    }
    conn.execute("DETACH DATABASE old", [])?;
    Ok(())
}

/// Salvages into `store` every readable ticket and every unsettled mutation of the damaged file
/// `from` (by default the one this store replaced), in one transaction, each exactly once: a run
/// over what is already here changes nothing. See the module.
pub fn recover(store: &Store, from: Option<&Path>, clock: &dyn Clock) -> Result<Recovery> {
    let mut conn = store.connect()?;
    let replaced = damaged(&conn)?;
    let from = match (from, &replaced) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(d)) => d.file.clone(),
        (None, None) => {
            return Err(CoreError::InvalidInput(
                "this store replaced no damaged store: name one with --from".into(),
            ))
        }
    };
    if !from.exists() {
        return Err(CoreError::InvalidInput(format!(
            "{} does not exist",
            from.display()
        )));
    }
    let now = clock.now_ms();
    let scratch = Scratch::copy(&from, store.data_dir(), now)?;
    let mut old = open_unchecked(&scratch.path)?;
    // The copy is the salvage's own: brought to this Till's schema, a store an older Till wrote
    // reads like one of today. A copy too damaged to migrate is read as it is.
    if let Err(e) = crate::migrations::migrate(&mut old) {
        tracing::warn!(error = %e, "the damaged copy keeps its own schema");
    }
    let mutations = read_mutations(&old);
    let mut report = Recovery {
        at_ms: now,
        from: from.clone(),
        ..Recovery::default()
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    restore_entries(&old, &tx, &mutations, &mut report)?;
    restore_mutations(&tx, &mutations, now, &mut report)?;
    let acked: u64 = old
        .query_row(
            "SELECT server_acked_seq FROM sync_state WHERE id = 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|s| u64::try_from(s).unwrap_or(0))
        .unwrap_or(0);
    report.unreadable_mutations = mutations
        .unreadable
        .iter()
        .copied()
        .filter(|&seq| seq > acked)
        .collect();
    if let Some(mut d) = replaced.filter(|d| d.file == from) {
        d.recovered = Some(report.clone());
        config::set(&tx, &STORE_DAMAGED, &d)?;
    }
    tx.commit()?;
    tracing::info!(?report, "salvaged the damaged store");
    Ok(report)
}

/// A mutation read back from the damaged copy: its row's state and reason, its exact bytes.
struct Salvaged {
    /// Its outbox row's (local) sequence number.
    seq: u64,
    mutation: Mutation,
    payload: Vec<u8>,
    state: Option<OutboxState>,
    last_error: Option<String>,
    created_at_ms: i64,
}

/// The damaged copy's outbox, read row by row by sequence number (each a lookup of its own, so a
/// damaged page loses only the rows on it), and the numbers that could not be read.
struct Mutations {
    found: Vec<Salvaged>,
    unreadable: Vec<u64>,
}

impl Mutations {
    /// The tickets the salvaged mutations carry, by id.
    fn tickets(&self) -> HashMap<Uuid, &Ticket> {
        self.found
            .iter()
            .filter_map(|s| match &s.mutation.body {
                MutationBody::TicketCreated(t)
                | MutationBody::TicketVoided(t)
                | MutationBody::TicketRefunded(t) => Some((t.id, t)),
                _ => None,
            })
            .collect()
    }
}

fn read_mutations(old: &Connection) -> Mutations {
    let last = [
        "SELECT max(seq) FROM outbox",
        "SELECT value FROM counters WHERE name = 'mutation'",
    ]
    .iter()
    .filter_map(|sql| old.query_row(sql, [], |r| r.get::<_, Option<i64>>(0)).ok())
    .flatten()
    .max()
    .unwrap_or(0);
    // Where the numbering of the terminal identity it was enrolled as last starts (0 when the
    // meta row is unreadable: a mutation of a later identity then fails its check).
    let base = outbox::seq_base(old).unwrap_or(0);
    let mut out = Mutations {
        found: Vec::new(),
        unreadable: Vec::new(),
    };
    for seq in 1..=last {
        let row = old
            .query_row(
                "SELECT o.mutation_id, o.entity_id, o.state, o.last_error, o.created_at_ms,
                        p.payload
                 FROM outbox AS o LEFT JOIN outbox_payload AS p USING (seq) WHERE o.seq = ?1",
                [seq],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<Vec<u8>>>(5)?,
                    ))
                },
            )
            .optional();
        let seq_u = u64::try_from(seq).unwrap_or(0);
        match row {
            // Pruned long after it was applied: nothing to salvage.
            Ok(None) => {}
            Ok(Some((id, entity, state, last_error, created_at_ms, payload))) => {
                match integrity::matches_row(seq, base, &id, &entity, payload.as_deref()) {
                    Ok(mutation) => out.found.push(Salvaged {
                        seq: seq_u,
                        mutation,
                        payload: payload.unwrap_or_default(),
                        state: OutboxState::parse(&state),
                        last_error,
                        created_at_ms,
                    }),
                    Err(why) => {
                        tracing::warn!(seq, %why, "a queued mutation is unreadable");
                        out.unreadable.push(seq_u);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(seq, error = %e, "a queued mutation is unreadable");
                out.unreadable.push(seq_u);
            }
        }
    }
    out
}

/// One entry of the damaged journal, as read.
struct OldEntry {
    ticket: Option<(String, u64)>,
    shift_id: Option<String>,
    event: Option<String>,
    prev: String,
    hash: String,
}

/// Entry `position` of the damaged journal, if readable; a store damaged before its journal
/// kept events has tickets only.
fn read_entry(old: &Connection, position: i64) -> Option<OldEntry> {
    let read = |sql: &str| {
        old.query_row(sql, [position], |r| {
            let ticket: (Option<String>, Option<i64>) = (r.get(0)?, r.get(1)?);
            Ok(OldEntry {
                ticket: match ticket {
                    (Some(id), Some(n)) => Some((id, u64::try_from(n).unwrap_or(0))),
                    _ => None,
                },
                shift_id: r.get(2)?,
                event: r.get(3)?,
                prev: r.get(4)?,
                hash: r.get(5)?,
            })
        })
    };
    read(
        "SELECT ticket_id, ticket_number, shift_id, event, prev_hash, hash
         FROM journal WHERE position = ?1",
    )
    .or_else(|_| {
        read(
            "SELECT ticket_id, ticket_number, NULL, NULL, prev_hash, hash
             FROM journal WHERE position = ?1",
        )
    })
    .ok()
}

/// Writes back every entry of the damaged journal that hashes as recorded, at its own position:
/// each ticket read from its rows or else from the mutation that carried it, each event from its
/// entry (with the shift rows it records), in position order (a refund after its sale, a shift's
/// close after its opening). Ticket numbers issued there and not written back are reported.
fn restore_entries(
    old: &Connection,
    tx: &Connection,
    mutations: &Mutations,
    report: &mut Recovery,
) -> Result<()> {
    let carried = mutations.tickets();
    let last_position: i64 = old
        .query_row("SELECT max(position) FROM journal", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .unwrap_or(0);
    let last_ticket: i64 = old
        .query_row("SELECT max(ticket_number) FROM journal", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .unwrap_or(0)
        .max(
            old.query_row(
                "SELECT value FROM counters WHERE name = 'ticket'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0),
        );
    for position in 1..=last_position {
        let here: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM journal WHERE position = ?1)",
                [position],
                |r| r.get(0),
            )
            .unwrap_or(false);
        if here {
            report.already_here += 1;
            continue;
        }
        let Some(entry) = read_entry(old, position) else {
            continue;
        };
        tx.execute("SAVEPOINT entry", [])?;
        let done = match (&entry.ticket, &entry.event) {
            (Some((id, number)), None) => {
                restore_ticket(old, tx, &carried, &entry, id, *number, position)
            }
            (None, Some(text)) => restore_event(tx, &entry, text, position),
            _ => Ok(false),
        };
        let written = matches!(done, Ok(true));
        if !written {
            tx.execute("ROLLBACK TO entry", [])?;
        }
        tx.execute("RELEASE entry", [])?;
        match (written, &entry.ticket) {
            (true, Some(_)) => report.tickets += 1,
            (true, None) => report.events += 1,
            (false, Some(_)) => {}
            (false, None) => report
                .unreadable_entries
                .push(u64::try_from(position).unwrap_or(0)),
        }
    }
    for number in 1..=last_ticket {
        let here: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tickets WHERE number = ?1)",
                [number],
                |r| r.get(0),
            )
            .unwrap_or(false);
        if !here {
            report
                .unreadable_tickets
                .push(u64::try_from(number).unwrap_or(0));
        }
    }
    raise_counter(
        tx,
        counters::TICKET,
        u64::try_from(last_ticket).unwrap_or(0),
    )
}

/// Writes back the ticket of a damaged entry when it hashes to it, at `position`.
fn restore_ticket(
    old: &Connection,
    tx: &Connection,
    carried: &HashMap<Uuid, &Ticket>,
    entry: &OldEntry,
    id: &str,
    number: u64,
    position: i64,
) -> Result<bool> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(false);
    };
    let Ok(shift_id) = entry.shift_id.as_deref().map(Uuid::parse_str).transpose() else {
        return Ok(false);
    };
    let hashes = |t: &Ticket| {
        t.number == number
            && t.journal_hash == entry.hash
            && journal::chain_hash(&entry.prev, t).is_ok_and(|h| h == entry.hash)
    };
    let from_rows = tickets::load(old, id).ok().flatten().map(|mut t| {
        t.shift_id = shift_id;
        t
    });
    let Some(ticket) = from_rows
        .filter(|t| hashes(t))
        .or_else(|| carried.get(&id).map(|t| (*t).clone()).filter(|t| hashes(t)))
    else {
        return Ok(false);
    };
    tickets::restore(tx, &ticket, &entry.prev)?;
    journal::place_ticket(tx, ticket.id, position)?;
    Ok(true)
}

/// Writes back the event of a damaged entry when it hashes to it, at `position`, with the shift
/// rows it records.
fn restore_event(tx: &Connection, entry: &OldEntry, text: &str, position: i64) -> Result<bool> {
    match journal::restore_event(tx, position, text, &entry.prev, &entry.hash)? {
        Some(event) => {
            shifts::restore(tx, &event)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Queues again every unsettled mutation (and puts every failed item back on the failed list),
/// under its own number, id and bytes.
fn restore_mutations(
    tx: &Connection,
    mutations: &Mutations,
    now: i64,
    report: &mut Recovery,
) -> Result<()> {
    let mut last = 0;
    for s in &mutations.found {
        last = last.max(s.seq);
        let failed = match s.state {
            Some(OutboxState::Pending | OutboxState::InFlight) => None,
            Some(OutboxState::Failed) => Some(s.last_error.as_deref().unwrap_or("failed")),
            _ => continue,
        };
        if outbox::restore(
            tx,
            s.seq,
            &s.mutation,
            &s.payload,
            failed,
            s.created_at_ms,
            now,
        )? {
            if failed.is_some() {
                report.failed += 1;
            } else {
                report.queued += 1;
            }
        } else {
            report.already_here += 1;
        }
    }
    raise_counter(tx, counters::MUTATION, last)
}

/// Makes sure `name` never hands out a number up to `at_least` again.
fn raise_counter(tx: &Connection, name: &str, at_least: u64) -> Result<()> {
    tx.execute(
        "UPDATE counters SET value = max(value, ?2) WHERE name = ?1",
        params![name, i64::try_from(at_least).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use till_protocol::{CustomerDeleted, Hlc};

    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn a_re_enrolled_tills_queue_is_sound_and_salvaged_under_its_numbering() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: Uuid::nil(),
        };
        for _ in 0..3 {
            let body = MutationBody::CustomerDeleted(CustomerDeleted {
                id: Uuid::now_v7(),
                base_version: 1,
                base: None,
            });
            outbox::enqueue(&conn, body, None, hlc, 1).expect("queues");
        }
        outbox::requeue_for(&conn, Uuid::now_v7(), 2).expect("requeues");
        drop(conn);
        let db = dir.path().join(DB_FILE);
        integrity::check(&db).expect("numbered from 1 again for the new identity, it is sound");

        let clock = FixedClock(10);
        let fresh = set_aside(dir.path(), "a test", &clock).expect("sets aside");
        let report = recover(&fresh, None, &clock).expect("recovers");
        assert_eq!(report.queued, 3);
        let conn = fresh.connect().expect("connects");
        assert_eq!(outbox::seq_base(&conn).expect("reads"), 3, "taken over");
        let queued: Vec<(u64, u64)> = outbox::unsettled_after(&conn, 0, 10)
            .expect("reads")
            .iter()
            .map(|e| {
                let m: Mutation = serde_json::from_slice(&e.payload).expect("parses");
                (e.seq, m.seq)
            })
            .collect();
        assert_eq!(
            queued,
            [(4, 1), (5, 2), (6, 3)],
            "each under its own numbers"
        );
        assert_eq!(outbox::numbered(&conn).expect("reads"), 3);
        drop(conn);
        integrity::check(&db).expect("the fresh store is sound too");
    }

    #[test]
    fn a_diverged_till_stays_diverged_in_the_store_that_replaces_a_damaged_one() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path()).expect("opens");
        crate::sync::persisted::set_diverged(&store.connect().expect("connects"), "seq_reused")
            .expect("records");
        let fresh = set_aside(dir.path(), "a test", &FixedClock(10)).expect("sets aside");
        let conn = fresh.connect().expect("connects");
        assert!(
            crate::sync::persisted::diverged(&conn)
                .expect("reads")
                .is_some(),
            "nothing is sent before the till is enrolled as a new terminal"
        );
    }
}
