//! The receipt printer: its settings, the print queue and sending it. Whatever prints is queued
//! first ([`jobs`]), inside the transaction of what it prints: a sale's receipt and its drawer
//! kick commit with the sale, so a crash never loses a receipt, and a printer that is off or out
//! of paper never blocks or loses a sale. [`flush`] then sends the waiting jobs in order, each
//! marked printed right after the printer took it, and stops at the first failure. It never
//! holds a write transaction while it talks to the printer.

use std::fs::{File, OpenOptions};
use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use till_protocol::{Tender, Ticket};

use crate::clock::Clock;
use crate::config::{self, Key};
use crate::error::{CoreError, Result};
use crate::receipt::{self, escpos, Letterhead, Paper, Receipt};
use crate::shifts::ShiftView;
use crate::store::Store;
use crate::{catalog, sync, tickets};

pub mod background;
pub mod jobs;
pub mod port;
pub mod target;

use jobs::{JobKind, JobOf};
pub use target::{Target, TargetError};

/// Where jobs print.
pub const TARGET: Key<Target> = Key::new("printer.target");
/// Whether a sale's receipt prints after its payment without being asked.
pub const AUTO: Key<bool> = Key::new("printer.auto");
/// The paper's width.
pub const PAPER: Key<Paper> = Key::new("printer.paper");
/// How the last attempt to print went.
const LAST_SEND: Key<Reachable> = Key::new("printer.last_send");

/// A drawer kick older than this is dropped rather than sent: a drawer that springs open
/// minutes after the sale, with nobody at the till, is worse than one that stayed shut.
pub const KICK_EXPIRES_AFTER_MS: i64 = 60_000;

/// The lock file that lets one process at a time send the queue.
const LOCK_FILE: &str = "print.lock";

impl From<TargetError> for CoreError {
    fn from(e: TargetError) -> Self {
        CoreError::InvalidInput(e.to_string())
    }
}

/// The printer's settings as stored; a till that never set them has no printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSettings {
    pub target: Target,
    pub auto: bool,
    pub paper: Paper,
}

/// Reads the printer's settings.
pub fn settings(conn: &Connection) -> Result<PrinterSettings> {
    Ok(PrinterSettings {
        target: config::get(conn, &TARGET)?.unwrap_or(Target::None),
        auto: config::get(conn, &AUTO)?.unwrap_or(false),
        paper: config::get(conn, &PAPER)?.unwrap_or(Paper::Mm80),
    })
}

/// Sets where jobs print, from its text ([`Target`] says what it may be). A new printer starts
/// with no known state; with `none`, nothing more is queued.
pub fn set_target(conn: &Connection, text: &str) -> Result<Target> {
    let target: Target = text.parse()?;
    config::set(conn, &TARGET, &target)?;
    config::remove(conn, &LAST_SEND)?;
    Ok(target)
}

/// Turns printing after each payment on or off.
pub fn set_auto(conn: &Connection, on: bool) -> Result<()> {
    config::set(conn, &AUTO, &on)
}

/// Sets the paper's width; later jobs are laid out for it.
pub fn set_paper(conn: &Connection, paper: Paper) -> Result<()> {
    config::set(conn, &PAPER, &paper)
}

/// Whether the printer took the last job sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reachable {
    Ok,
    Offline,
}

/// The printer at a glance: `state` is `none` without a printer, `offline` when the last send
/// failed, `ok` otherwise; `queued` counts what waits to print on paper ([`jobs::waiting`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrinterStatus {
    pub target: String,
    #[cfg_attr(feature = "ts", ts(type = "\"ok\" | \"offline\" | \"none\""))]
    pub state: &'static str,
    pub queued: u64,
}

impl PrinterStatus {
    /// What the status bar says when something waits: `Printer offline — 2 receipts waiting`;
    /// `None` when all is printed.
    pub fn summary(&self) -> Option<String> {
        if self.queued == 0 {
            return None;
        }
        let jobs = if self.queued == 1 {
            "receipt"
        } else {
            "receipts"
        };
        let waiting = format!("{} {jobs} waiting", self.queued);
        Some(match self.state {
            "offline" => format!("Printer offline — {waiting}"),
            _ => waiting,
        })
    }
}

/// Reads the printer's status.
pub fn status(conn: &Connection) -> Result<PrinterStatus> {
    let target = settings(conn)?.target;
    let state = match (&target, config::get(conn, &LAST_SEND)?) {
        (Target::None, _) => "none",
        (_, Some(Reachable::Offline)) => "offline",
        _ => "ok",
    };
    Ok(PrinterStatus {
        target: target.to_string(),
        state,
        queued: jobs::waiting(conn)?,
    })
}

/// What the receipts of this till print at the top: the store's settings and the till's name
/// (its device id before it is enrolled).
pub fn letterhead(conn: &Connection) -> Result<Letterhead> {
    let till = match sync::enrolment::terminal_name(conn)? {
        Some(name) => name,
        None => config::get(conn, &config::DEVICE_ID)?
            .map(|id| id.to_string())
            .unwrap_or_default(),
    };
    Ok(Letterhead {
        store: catalog::settings(conn)?,
        till,
        zone: jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC),
    })
}

/// The receipt of `ticket` as it stands: the number of the sale it reverses and the back
/// office's number for it, when known.
pub fn receipt_of(conn: &Connection, ticket: &Ticket, copy: bool) -> Result<Receipt> {
    let original = match ticket.reverses {
        Some(id) => tickets::load(conn, id)?.map(|t| t.number),
        None => None,
    };
    let server_number = tickets::summary(conn, ticket.id)?.and_then(|s| s.server_number);
    Ok(receipt::for_ticket(
        &letterhead(conn)?,
        ticket,
        original,
        server_number,
        copy,
    ))
}

/// What a committed ticket queues, in the ticket's own transaction: the drawer kick when cash
/// changed hands, then its receipt when printing after each payment is on. Nothing without a
/// printer.
pub(crate) fn on_ticket(tx: &Connection, ticket: &Ticket, now_ms: i64) -> Result<()> {
    // The one read a till without a printer pays for each sale.
    if config::get(tx, &TARGET)?.is_none_or(|t| t == Target::None) {
        return Ok(());
    }
    let s = settings(tx)?;
    let of = JobOf {
        ticket_id: Some(ticket.id),
        z_number: None,
    };
    if kicks_drawer(ticket) {
        jobs::enqueue(tx, JobKind::DrawerKick, of, &escpos::drawer_kick(), now_ms)?;
    }
    if s.auto {
        let bytes = escpos::render(&receipt_of(tx, ticket, false)?, s.paper);
        jobs::enqueue(tx, JobKind::Receipt, of, &bytes, now_ms)?;
    }
    Ok(())
}

/// Whether a ticket opens the drawer: cash was taken (a sale) or paid back (a void, a refund).
pub fn kicks_drawer(ticket: &Ticket) -> bool {
    ticket
        .tenders
        .iter()
        .any(|t| matches!(t, Tender::Cash { .. }))
}

/// Queues a drawer kick (a drawer opened without a sale), in the caller's transaction; nothing
/// without a printer.
pub(crate) fn on_no_sale(tx: &Connection, now_ms: i64) -> Result<()> {
    if settings(tx)?.target == Target::None {
        return Ok(());
    }
    jobs::enqueue(
        tx,
        JobKind::DrawerKick,
        JobOf::default(),
        &escpos::drawer_kick(),
        now_ms,
    )
}

/// Queues a closed shift's Z report when printing after each payment is on, in the closing
/// transaction.
pub(crate) fn on_shift_closed(tx: &Connection, shift: &ShiftView, now_ms: i64) -> Result<()> {
    let s = settings(tx)?;
    if s.target == Target::None || !s.auto {
        return Ok(());
    }
    queue_z(tx, shift, s.paper, now_ms)
}

fn queue_z(conn: &Connection, shift: &ShiftView, paper: Paper, now_ms: i64) -> Result<()> {
    let bytes = escpos::render(&receipt::for_shift(&letterhead(conn)?, shift), paper);
    let of = JobOf {
        ticket_id: None,
        z_number: Some(shift.z_number),
    };
    jobs::enqueue(conn, JobKind::ZReport, of, &bytes, now_ms)
}

/// Queues a reprint of the receipt of the ticket `code` names ([`tickets::lookup`]), marked
/// `COPY` when `copy`, or when its original was queued before: a ticket has one original.
/// Refused as invalid input without a printer.
pub fn queue_reprint(conn: &Connection, code: &str, copy: bool, now_ms: i64) -> Result<Ticket> {
    let s = printer_needed(conn)?;
    let ticket = tickets::lookup(conn, code)?;
    let copy = copy || jobs::has_original(conn, ticket.id)?;
    let bytes = escpos::render(&receipt_of(conn, &ticket, copy)?, s.paper);
    let kind = if copy {
        JobKind::Copy
    } else {
        JobKind::Receipt
    };
    let of = JobOf {
        ticket_id: Some(ticket.id),
        z_number: None,
    };
    jobs::enqueue(conn, kind, of, &bytes, now_ms)?;
    Ok(ticket)
}

/// Queues a shift's Z (or X) report.
pub fn queue_report(conn: &Connection, shift: &ShiftView, now_ms: i64) -> Result<()> {
    let s = printer_needed(conn)?;
    queue_z(conn, shift, s.paper, now_ms)
}

/// Queues a test page.
pub fn queue_test(conn: &Connection, now_ms: i64) -> Result<()> {
    let s = printer_needed(conn)?;
    let page = receipt::test_page(&letterhead(conn)?, s.paper, now_ms);
    let bytes = escpos::render(&page, s.paper);
    jobs::enqueue(conn, JobKind::Test, JobOf::default(), &bytes, now_ms)
}

fn printer_needed(conn: &Connection) -> Result<PrinterSettings> {
    let s = settings(conn)?;
    if s.target == Target::None {
        return Err(CoreError::InvalidInput(
            "no printer is set (tillctl printer set tcp://HOST:PORT)".into(),
        ));
    }
    Ok(s)
}

/// What a [`flush`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Flushed {
    /// Jobs the printer took.
    pub printed: u64,
    /// Jobs still waiting to print on paper ([`jobs::waiting`]).
    pub queued: u64,
    /// Why the printer did not take the next job, when it did not.
    pub error: Option<String>,
}

/// What to do with a waiting job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Send,
    /// A drawer kick too old to open the drawer now.
    Drop,
}

/// Decides a waiting job's fate at `now_ms`.
pub fn step(kind: JobKind, created_at_ms: i64, now_ms: i64) -> Step {
    if kind == JobKind::DrawerKick && now_ms - created_at_ms > KICK_EXPIRES_AFTER_MS {
        Step::Drop
    } else {
        Step::Send
    }
}

/// Sends the waiting jobs in order, each marked printed in its own short write right after the
/// printer took it, and stops at the first one it did not take (the printer is offline), leaving
/// it and the rest queued. One process sends at a time (the others wait for it, then find what
/// it left). Each connect and write gives up after [`port::TIMEOUT`]. Without a printer it only
/// counts what waits.
pub fn flush(store: &Store, clock: &dyn Clock) -> Result<Flushed> {
    let conn = store.connect()?;
    let mut flushed = Flushed {
        printed: 0,
        queued: 0,
        error: None,
    };
    let target = settings(&conn)?.target;
    if target != Target::None {
        let _lock = SendLock::acquire(store.data_dir())?;
        while let Some(job) = jobs::next_waiting(&conn)? {
            let now = clock.now_ms();
            if step(job.kind, job.created_at_ms, now) == Step::Drop {
                jobs::mark_done(&conn, job.id, now, Some("expired: not sent"))?;
                continue;
            }
            if let Err(e) = port::send(&target, &job.bytes, port::TIMEOUT) {
                let message = format!("printer {target}: {e}");
                jobs::mark_failed(&conn, job.id, &message)?;
                flushed.error = Some(message);
                break;
            }
            jobs::mark_done(&conn, job.id, clock.now_ms(), None)?;
            flushed.printed += 1;
        }
        let reached = match flushed.error {
            Some(_) => Reachable::Offline,
            None => Reachable::Ok,
        };
        config::set(&conn, &LAST_SEND, &reached)?;
    }
    flushed.queued = jobs::waiting(&conn)?;
    Ok(flushed)
}

/// The advisory lock on `print.lock` in the data dir, held while sending; released on drop and
/// by the OS when the process dies.
struct SendLock {
    file: File,
}

impl SendLock {
    fn acquire(data_dir: &Path) -> Result<SendLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))?;
        file.lock()?;
        Ok(SendLock { file })
    }
}

impl Drop for SendLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests;
