//! One row per sync cycle: when it started, how long it took, what it moved, what went wrong;
//! and the Sync activity screen's view of them, where a run of cycles that moved nothing is one
//! line ("no changes since 10:42") and so is a run failing the same way, so neither buries what
//! happened before. A folded line sums its cycles' bytes and requests, and shows the latency of
//! its newest cycle that made a request: the link as it is now, which a percentile of
//! percentiles would only blur.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::error_code::ErrorCode;

use super::error::SyncError;

/// A recorded cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncCycle {
    pub id: i64,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub errors: u64,
    pub error: Option<String>,
    /// Bytes the cycle's requests sent and received on the wire (bodies as sent, after
    /// compression).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// How many requests the cycle made, and the median and 99th percentile of their latency
    /// (none when it made none).
    pub requests: u64,
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    /// What the check at the end of a drain found: `None` when the cycle did not drain (no check
    /// ran), `Some("ok")`, or what disagreed.
    pub verify: Option<String>,
}

/// Records a cycle.
pub fn record(conn: &Connection, cycle: &SyncCycle) -> Result<(), SyncError> {
    conn.prepare_cached(
        "INSERT INTO sync_cycles (started_at_ms, duration_ms, pushed, pulled, conflicts, errors, error,
                                  bytes_sent, bytes_received, requests, latency_p50_ms,
                                  latency_p99_ms, verify)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        cycle.started_at_ms,
        cycle.duration_ms,
        cycle.pushed as i64,
        cycle.pulled as i64,
        cycle.conflicts as i64,
        cycle.errors as i64,
        cycle.error,
        cycle.bytes_sent as i64,
        cycle.bytes_received as i64,
        cycle.requests as i64,
        cycle.latency_p50_ms.map(|ms| ms as i64),
        cycle.latency_p99_ms.map(|ms| ms as i64),
        cycle.verify
    ])?;
    Ok(())
}

/// The most recent cycles, newest first.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<SyncCycle>, SyncError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, started_at_ms, duration_ms, pushed, pulled, conflicts, errors, error,
                bytes_sent, bytes_received, requests, latency_p50_ms, latency_p99_ms, verify
         FROM sync_cycles ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(SyncCycle {
            id: r.get(0)?,
            started_at_ms: r.get(1)?,
            duration_ms: r.get(2)?,
            pushed: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
            pulled: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            conflicts: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            errors: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
            error: r.get(7)?,
            bytes_sent: u64::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
            bytes_received: u64::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
            requests: u64::try_from(r.get::<_, i64>(10)?).unwrap_or(0),
            latency_p50_ms: r
                .get::<_, Option<i64>>(11)?
                .and_then(|ms| u64::try_from(ms).ok()),
            latency_p99_ms: r
                .get::<_, Option<i64>>(12)?
                .and_then(|ms| u64::try_from(ms).ok()),
            verify: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Most cycles the activity view reads to fill its lines.
const MAX_CYCLES_FOLDED: u32 = 20_000;

/// One line of the Sync activity screen: one cycle, or a run of alike cycles folded together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityLine {
    /// The newest cycle's id.
    pub id: i64,
    /// When the oldest cycle of the run started ("no changes since …").
    pub since_ms: i64,
    /// When the newest cycle of the run started.
    pub started_at_ms: i64,
    /// How long the newest cycle took.
    pub duration_ms: i64,
    /// How many cycles the line stands for.
    pub cycles: u64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    /// Items the back office rejected, plus failed cycles.
    pub errors: u64,
    /// Why the cycles failed, if they did.
    pub failure: Option<CycleFailure>,
    /// Bytes on the wire each way and requests made, summed over the line's cycles.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub requests: u64,
    /// The median and 99th-percentile request latency of the newest cycle that made requests.
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
}

/// Why a cycle failed, without the addresses and library detail a cashier cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CycleFailure {
    /// The code the failure was recorded with, if it is one Till knows.
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl CycleFailure {
    /// Reads a recorded error, `"<code>: <message>"` as a cycle records it.
    pub fn parse(recorded: &str) -> CycleFailure {
        let (code, message) = match recorded.split_once(": ") {
            Some((name, rest)) => match ErrorCode::parse(name) {
                Some(code) => (Some(code), rest),
                None => (None, recorded),
            },
            None => (None, recorded),
        };
        CycleFailure {
            code,
            message: without_urls(message),
        }
    }
}

/// `text` without web addresses (and the "for url" that introduces one): what a request to the
/// back office failed on is the same for every address, and the address is in the log.
fn without_urls(text: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        if word.contains("://") {
            if words.ends_with(&["for", "url"]) {
                words.truncate(words.len() - 2);
            }
            continue;
        }
        words.push(word);
    }
    words.join(" ")
}

impl ActivityLine {
    fn of(c: &SyncCycle) -> ActivityLine {
        ActivityLine {
            id: c.id,
            since_ms: c.started_at_ms,
            started_at_ms: c.started_at_ms,
            duration_ms: c.duration_ms,
            cycles: 1,
            pushed: c.pushed,
            pulled: c.pulled,
            conflicts: c.conflicts,
            errors: c.errors,
            failure: c.error.as_deref().map(CycleFailure::parse),
            bytes_sent: c.bytes_sent,
            bytes_received: c.bytes_received,
            requests: c.requests,
            latency_p50_ms: c.latency_p50_ms,
            latency_p99_ms: c.latency_p99_ms,
        }
    }

    /// Whether the line stands for cycles that moved nothing and went well.
    fn quiet(&self) -> bool {
        self.pushed == 0
            && self.pulled == 0
            && self.conflicts == 0
            && self.errors == 0
            && self.failure.is_none()
    }

    /// Whether `older`, the cycle before this line's oldest, reads the same: both quiet, or both
    /// failed with the same code and moved nothing.
    fn alike(&self, older: &ActivityLine) -> bool {
        let moved = |l: &ActivityLine| l.pushed > 0 || l.pulled > 0 || l.conflicts > 0;
        match (&self.failure, &older.failure) {
            (None, None) => self.quiet() && older.quiet(),
            (Some(a), Some(b)) => {
                a.code.is_some() && a.code == b.code && !moved(self) && !moved(older)
            }
            _ => false,
        }
    }

    fn absorb(&mut self, older: ActivityLine) {
        self.since_ms = older.since_ms;
        self.cycles += older.cycles;
        self.errors += older.errors;
        self.bytes_sent += older.bytes_sent;
        self.bytes_received += older.bytes_received;
        self.requests += older.requests;
        if self.latency_p50_ms.is_none() {
            self.latency_p50_ms = older.latency_p50_ms;
            self.latency_p99_ms = older.latency_p99_ms;
        }
    }
}

/// Folds cycles, newest first, into the screen's lines: a run of cycles that moved nothing and
/// went well is one line, and so is a run that failed with the same code without moving anything.
pub fn fold(cycles: &[SyncCycle]) -> Vec<ActivityLine> {
    let mut lines: Vec<ActivityLine> = Vec::new();
    for c in cycles {
        let line = ActivityLine::of(c);
        match lines.last_mut() {
            Some(newer) if newer.alike(&line) => newer.absorb(line),
            _ => lines.push(line),
        }
    }
    lines
}

/// The Sync activity screen's most recent `limit` lines, newest first.
pub fn activity(conn: &Connection, limit: u32) -> Result<Vec<ActivityLine>, SyncError> {
    let mut lines = fold(&list(conn, MAX_CYCLES_FOLDED)?);
    lines.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(id: i64, pushed: u64, error: Option<&str>) -> SyncCycle {
        SyncCycle {
            id,
            started_at_ms: id * 30_000,
            duration_ms: 40,
            pushed,
            pulled: 0,
            conflicts: 0,
            errors: u64::from(error.is_some()),
            error: error.map(Into::into),
            bytes_sent: 0,
            bytes_received: 0,
            requests: 0,
            latency_p50_ms: None,
            latency_p99_ms: None,
            verify: None,
        }
    }

    const UNREACHABLE: &str = "server_unreachable: cannot reach the server: error sending \
        request for url (http://127.0.0.1:8787/v1/push)";

    #[test]
    fn idle_cycles_fold_into_one_line_since_the_first_of_them() {
        let cycles = [
            cycle(9, 0, None),
            cycle(8, 0, None),
            cycle(7, 0, None),
            cycle(6, 3, None),
            cycle(5, 0, None),
        ];
        let lines = fold(&cycles);
        assert_eq!(lines.len(), 3, "idle, the sale that moved, idle: {lines:?}");
        assert_eq!((lines[0].id, lines[0].cycles), (9, 3));
        assert_eq!(
            lines[0].since_ms,
            7 * 30_000,
            "no changes since the 7th cycle"
        );
        assert_eq!(lines[0].started_at_ms, 9 * 30_000);
        assert_eq!(
            (lines[1].pushed, lines[1].cycles),
            (3, 1),
            "a cycle that moved stands alone"
        );
    }

    #[test]
    fn a_run_of_the_same_failure_is_one_line_and_never_hides_another() {
        let cycles = [
            cycle(6, 0, Some(UNREACHABLE)),
            cycle(5, 0, Some(UNREACHABLE)),
            cycle(
                4,
                0,
                Some("unauthorized: the server refused this terminal's token (401): no"),
            ),
            cycle(3, 0, None),
            cycle(2, 0, Some(UNREACHABLE)),
        ];
        let lines = fold(&cycles);
        let codes: Vec<_> = lines
            .iter()
            .map(|l| (l.cycles, l.failure.as_ref().and_then(|f| f.code)))
            .collect();
        assert_eq!(
            codes,
            [
                (2, Some(ErrorCode::ServerUnreachable)),
                (1, Some(ErrorCode::Unauthorized)),
                (1, None),
                (1, Some(ErrorCode::ServerUnreachable)),
            ]
        );
        assert_eq!(lines[0].errors, 2, "both failures are counted");
    }

    #[test]
    fn a_folded_line_sums_the_wire_and_shows_the_newest_latency() {
        let measured = |id, sent, latency: Option<u64>| SyncCycle {
            bytes_sent: sent,
            bytes_received: sent * 3,
            requests: u64::from(latency.is_some()),
            latency_p50_ms: latency,
            latency_p99_ms: latency.map(|ms| ms * 2),
            ..cycle(id, 0, None)
        };
        let cycles = [
            measured(4, 0, None),
            measured(3, 300, Some(45)),
            measured(2, 200, Some(900)),
            measured(1, 100, Some(20)),
        ];
        let lines = fold(&cycles);
        assert_eq!(lines.len(), 1, "four quiet cycles: {lines:?}");
        let line = &lines[0];
        assert_eq!(
            (line.bytes_sent, line.bytes_received, line.requests),
            (600, 1_800, 3)
        );
        assert_eq!(
            (line.latency_p50_ms, line.latency_p99_ms),
            (Some(45), Some(90)),
            "the newest cycle that made a request; the newest made none"
        );
    }

    #[test]
    fn a_failure_reads_without_its_code_prefix_or_any_address() {
        let f = CycleFailure::parse(UNREACHABLE);
        assert_eq!(f.code, Some(ErrorCode::ServerUnreachable));
        assert_eq!(f.message, "cannot reach the server: error sending request");
        let f = CycleFailure::parse("something odd: see https://example.org/x for more");
        assert_eq!(f.code, None, "an unknown prefix is part of the message");
        assert_eq!(f.message, "something odd: see for more");
    }
}
