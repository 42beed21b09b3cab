//! The print queue (`print_jobs`), the only module that reads or writes it. Jobs print in the
//! order they were queued; a job is waiting until `printed_at_ms` is set.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::Result;

/// What a print job prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A ticket's receipt, printed after its payment.
    Receipt,
    /// A reprint of a ticket's receipt, marked `COPY`.
    Copy,
    /// A shift's Z report.
    ZReport,
    /// A test page.
    Test,
    /// Opening the cash drawer (a cash tender, a drawer opened without a sale).
    DrawerKick,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Receipt => "receipt",
            JobKind::Copy => "copy",
            JobKind::ZReport => "z_report",
            JobKind::Test => "test",
            JobKind::DrawerKick => "drawer_kick",
        }
    }

    fn parse(text: &str) -> Option<JobKind> {
        [
            JobKind::Receipt,
            JobKind::Copy,
            JobKind::ZReport,
            JobKind::Test,
            JobKind::DrawerKick,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A job waiting to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub bytes: Vec<u8>,
    pub created_at_ms: i64,
}

/// What a job prints for: the ticket of a receipt, the Z number of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobOf {
    pub ticket_id: Option<Uuid>,
    pub z_number: Option<u64>,
}

/// Queues `bytes` to print, inside the caller's transaction.
pub fn enqueue(
    conn: &Connection,
    kind: JobKind,
    of: JobOf,
    bytes: &[u8],
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO print_jobs (kind, ticket_id, z_number, bytes, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        kind.as_str(),
        of.ticket_id.map(|id| id.to_string()),
        of.z_number.and_then(|n| i64::try_from(n).ok()),
        bytes,
        now_ms
    ])?;
    Ok(())
}

/// Whether the original receipt of `ticket_id` was queued before (printed or not).
pub fn has_original(conn: &Connection, ticket_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM print_jobs WHERE kind = 'receipt' AND ticket_id = ?1)",
        )?
        .query_row([ticket_id.to_string()], |r| r.get(0))?)
}

/// The first job still waiting, if any.
pub fn next_waiting(conn: &Connection) -> Result<Option<Job>> {
    let row = conn
        .prepare_cached(
            "SELECT id, kind, bytes, created_at_ms FROM print_jobs
             WHERE printed_at_ms IS NULL ORDER BY id LIMIT 1",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .optional()?;
    row.map(|(id, kind, bytes, created_at_ms)| {
        let kind = JobKind::parse(&kind).ok_or_else(|| {
            crate::CoreError::Database(format!("print job {id} has an unknown kind {kind:?}"))
        })?;
        Ok(Job {
            id,
            kind,
            bytes,
            created_at_ms,
        })
    })
    .transpose()
}

/// How many jobs that print on paper are waiting (receipts, copies, reports, test pages; not
/// drawer kicks, which print nothing and expire).
pub fn waiting(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM print_jobs
             WHERE printed_at_ms IS NULL AND kind <> 'drawer_kick'",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Marks job `id` done at `now_ms` (printed, or dropped as `note` says), counting the attempt.
pub fn mark_done(conn: &Connection, id: i64, now_ms: i64, note: Option<&str>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE print_jobs SET printed_at_ms = ?2, attempts = attempts + 1, last_error = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, now_ms, note])?;
    Ok(())
}

/// Records a failed attempt at job `id`; it stays waiting.
pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE print_jobs SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
    )?
    .execute(params![id, error])?;
    Ok(())
}
