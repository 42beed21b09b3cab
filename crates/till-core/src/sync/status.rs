//! The status snapshot the engine publishes, how it is read from the store, and the throttle in
//! front of the injected sink. [`SyncStatus`] is the one status type: the engine publishes it,
//! `drain` reports it, and [`crate::status`] reads it for a terminal whose engine is not running
//! here (`tillctl status`, the app before enrolment).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;
use tokio::time::Instant;

use crate::error_code::ErrorCode;
use crate::outbox::{self, OutboxCounts};

use super::conflicts;
use super::enrolment;
use super::error::SyncError;
use super::history::SyncCycle;
use super::persisted::{self, PersistedState};
#[cfg(feature = "ts")]
use super::state::StateName;
use super::state::SyncState;

/// Progress of the batch in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SyncProgress"))]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// The `{code, message}` of the last error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorInfo {
    pub code: ErrorCode,
    pub message: String,
}

/// An immutable snapshot of the engine, as the UI's status bar and `tillctl status` show it: the
/// payload of the app's `sync://state` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// Serialised as the state's name; a back-off's end is `next_retry_at_ms`.
    #[cfg_attr(feature = "ts", ts(as = "StateName"))]
    pub state: SyncState,
    /// Whether the server answered the last time it was asked.
    pub online: bool,
    /// Mutations not yet settled (pending or in flight).
    pub pending: u64,
    /// Mutations the server rejected, waiting for a person.
    pub failed: u64,
    /// Open conflicts.
    pub conflicts: u64,
    /// Items settled of those pending when the running cycle started; null when idle.
    pub progress: Option<Progress>,
    /// Items settled per second in the running cycle.
    pub throughput_per_s: Option<f64>,
    /// Estimated seconds until the queue is drained at that rate.
    pub eta_secs: Option<u64>,
    pub last_success_at_ms: Option<i64>,
    pub next_retry_at_ms: Option<i64>,
    pub last_error: Option<ErrorInfo>,
    /// The server's clock minus ours, measured on the last round trip.
    pub clock_offset_ms: Option<i64>,
    /// Cycles completed since the engine started.
    pub completed_cycles: u64,
    /// This till talks to its back office over plain http to another machine, as its operator
    /// allowed: the token and every sale cross the network unencrypted.
    pub cleartext: bool,
}

impl SyncStatus {
    /// The snapshot of an engine that has not looked at its store yet.
    pub fn initial(state: SyncState) -> Self {
        SyncStatus {
            state,
            next_retry_at_ms: state.until_ms(),
            online: false,
            pending: 0,
            failed: 0,
            conflicts: 0,
            progress: None,
            throughput_per_s: None,
            eta_secs: None,
            last_success_at_ms: None,
            last_error: None,
            clock_offset_ms: None,
            completed_cycles: 0,
            cleartext: false,
        }
    }
}

/// Which status is read: between cycles (`Settled`: the last error, and the retry time of a
/// state that waits for one), while a cycle runs and for `drain`'s report (`During`: online, no
/// stale error), or as another process finds it (`Recorded`: the last error and retry time as
/// recorded, whatever the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Settled,
    During,
    Recorded,
}

/// What the store holds for a snapshot, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub counts: OutboxCounts,
    /// Open conflicts, whether a push or a pull found them (a pull's have no outbox row).
    pub conflicts: u64,
    pub persisted: PersistedState,
    /// The enrolment talks plain http to another machine.
    pub cleartext: bool,
}

impl Stored {
    pub fn read(conn: &Connection) -> Result<Stored, SyncError> {
        Ok(Stored {
            counts: outbox::counts(conn)?,
            conflicts: conflicts::open_count(conn)?,
            persisted: persisted::read(conn)?,
            cleartext: enrolment::get(conn)?.is_some_and(|e| e.cleartext()),
        })
    }
}

impl SyncStatus {
    /// The snapshot of an engine in `state`, as `reading` sees what the store holds.
    pub fn from_store(state: SyncState, reading: Reading, stored: &Stored) -> Self {
        let row = &stored.persisted;
        let mut status = SyncStatus::initial(state);
        status.online = reading == Reading::During || state.online();
        status.pending = stored.counts.pending + stored.counts.in_flight;
        status.failed = stored.counts.failed;
        status.conflicts = stored.conflicts;
        status.last_success_at_ms = row.last_success_at_ms;
        status.clock_offset_ms = row.clock_offset_ms;
        status.cleartext = stored.cleartext;
        match reading {
            Reading::Settled => {
                status.last_error = row.last_error.clone();
                status.next_retry_at_ms = match state {
                    SyncState::Offline => row.next_retry_at_ms,
                    _ => state.until_ms(),
                };
            }
            Reading::Recorded => {
                status.last_error = row.last_error.clone();
                status.next_retry_at_ms = row.next_retry_at_ms;
            }
            Reading::During => {}
        }
        status
    }

    /// Adds the progress of a running push: items settled of those pending when it started, the
    /// rate so far and the time left at that rate.
    fn with_progress(mut self, live: Live, elapsed: Duration) -> Self {
        self.progress = Some(Progress {
            done: live.done,
            total: live.total,
        });
        let secs = elapsed.as_secs_f64();
        if secs > 0.0 && live.done > 0 {
            let rate = live.done as f64 / secs;
            self.throughput_per_s = Some((rate * 10.0).round() / 10.0);
            self.eta_secs =
                Some((live.total.saturating_sub(live.done) as f64 / rate).ceil() as u64);
        }
        self
    }
}

/// Live progress of the running cycle, shared between the cycle and the status reader.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub done: u64,
    pub total: u64,
    pub started: Instant,
}

/// The status as the store holds it, with the live progress of a running push. A read error is
/// returned, never shown as zero counts.
pub fn read_status(
    conn: &Connection,
    progress: &Mutex<Option<Live>>,
    state: SyncState,
    completed_cycles: u64,
    reading: Reading,
) -> Result<SyncStatus, SyncError> {
    let mut status = SyncStatus::from_store(state, reading, &Stored::read(conn)?);
    status.completed_cycles = completed_cycles;
    if let Some(live) = progress.lock().ok().and_then(|l| *l) {
        status = status.with_progress(live, live.started.elapsed());
    }
    Ok(status)
}

/// The status just read, or, when the store could not be read, the last one shown with the
/// new state and the read error: counts that could not be read are never shown as zero.
pub fn status_or_last(read: Result<SyncStatus, SyncError>, last: &SyncStatus) -> SyncStatus {
    match read {
        Ok(status) => status,
        Err(e) => {
            tracing::error!(error = %e, "could not read the sync status from the store");
            SyncStatus {
                last_error: Some(ErrorInfo {
                    code: ErrorCode::StatusUnreadable,
                    message: format!("the sync status could not be read from the store: {e}"),
                }),
                ..last.clone()
            }
        }
    }
}

/// Where snapshots go: the app maps them to its `sync://state` event, `tillctl` prints them.
/// Called from the engine's task; must not block.
pub trait StatusSink: Send + Sync + 'static {
    fn publish(&self, status: &SyncStatus);

    /// Tickets the server just accepted: (local ticket id, the server's ticket number). The app
    /// maps this to `ticket://synced`. Called once per batch, not per ticket.
    fn tickets_synced(&self, _tickets: &[(uuid::Uuid, Option<u64>)]) {}

    /// A cycle ended and was recorded in the sync history: what it moved and what went wrong.
    /// The app reloads its catalog after one that pulled changes.
    fn cycle_finished(&self, _cycle: &SyncCycle) {}
}

/// A sink that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSink;

impl StatusSink for NoSink {
    fn publish(&self, _status: &SyncStatus) {}
}

/// Sends at most one snapshot per `interval` to the sink; a snapshot that arrives sooner is held
/// and sent when the interval has passed (the latest one wins), so the last state is never lost.
/// A forced snapshot (a local write, a state change) goes out at once.
pub struct Throttle {
    sink: Arc<dyn StatusSink>,
    interval: Duration,
    last_sent: Option<Instant>,
    held: Option<SyncStatus>,
}

impl Throttle {
    pub fn new(sink: Arc<dyn StatusSink>, interval: Duration) -> Self {
        Throttle {
            sink,
            interval,
            last_sent: None,
            held: None,
        }
    }

    /// Offers a snapshot; sends it now when allowed or `force`d, else holds it.
    pub fn offer(&mut self, status: SyncStatus, force: bool) {
        let now = Instant::now();
        let due = self
            .last_sent
            .is_none_or(|last| now.duration_since(last) >= self.interval);
        if force || due {
            self.sink.publish(&status);
            self.last_sent = Some(now);
            self.held = None;
        } else {
            self.held = Some(status);
        }
    }

    /// When a held snapshot may go out, if one is held.
    pub fn flush_at(&self) -> Option<Instant> {
        self.held.as_ref()?;
        Some(
            self.last_sent
                .map_or_else(Instant::now, |l| l + self.interval),
        )
    }

    /// Sends the held snapshot, if any.
    pub fn flush(&mut self) {
        if let Some(status) = self.held.take() {
            self.sink.publish(&status);
            self.last_sent = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<u64>>);

    impl StatusSink for Recorder {
        fn publish(&self, status: &SyncStatus) {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(status.pending);
            }
        }
    }

    fn with_pending(pending: u64) -> SyncStatus {
        SyncStatus {
            pending,
            ..SyncStatus::initial(SyncState::Idle)
        }
    }

    #[test]
    fn a_status_the_store_cannot_give_keeps_the_last_counts_and_says_why() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        let progress = Mutex::new(None);
        let last = SyncStatus {
            pending: 7,
            failed: 2,
            conflicts: 1,
            ..SyncStatus::initial(SyncState::Idle)
        };
        let read = read_status(&conn, &progress, SyncState::Idle, 0, Reading::Settled);
        assert!(read.is_ok(), "a healthy store gives its status");

        conn.execute_batch("DROP TABLE conflicts")
            .expect("a damaged store");
        let read = read_status(&conn, &progress, SyncState::Idle, 0, Reading::Settled);
        assert!(read.is_err(), "the error is not swallowed");
        let shown = status_or_last(read, &last);
        assert_eq!(
            (shown.pending, shown.failed, shown.conflicts),
            (7, 2, 1),
            "never zero counts for counts that could not be read"
        );
        assert_eq!(
            shown.last_error.map(|e| e.code.as_str()),
            Some("status_unreadable")
        );
    }

    fn stored() -> Stored {
        Stored {
            counts: OutboxCounts {
                pending: 3,
                in_flight: 2,
                failed: 1,
                ..OutboxCounts::default()
            },
            conflicts: 4,
            persisted: PersistedState {
                next_retry_at_ms: Some(9_000),
                last_success_at_ms: Some(1_000),
                last_error: Some(ErrorInfo {
                    code: ErrorCode::ServerError,
                    message: "server error 503".into(),
                }),
                clock_offset_ms: Some(-20),
                ..PersistedState::default()
            },
            cleartext: true,
        }
    }

    #[test]
    fn each_reading_shows_the_error_and_retry_time_that_apply() {
        let stored = stored();
        let read = |state, reading| SyncStatus::from_store(state, reading, &stored);

        let idle = read(SyncState::Idle, Reading::Settled);
        assert_eq!(
            (idle.pending, idle.failed, idle.conflicts),
            (5, 1, 4),
            "in flight is pending"
        );
        assert_eq!(idle.last_success_at_ms, Some(1_000));
        assert_eq!(idle.clock_offset_ms, Some(-20));
        assert!(idle.cleartext, "plain http is shown in every reading");
        assert!(
            idle.last_error.is_some(),
            "between cycles the last error is shown"
        );
        assert_eq!(
            idle.next_retry_at_ms, None,
            "an idle engine waits for no retry"
        );

        let backing_off = read(SyncState::BackingOff { until_ms: 7_000 }, Reading::Settled);
        assert_eq!(
            backing_off.next_retry_at_ms,
            Some(7_000),
            "the state's own retry time"
        );
        assert!(backing_off.online, "the server answered, if badly");
        let offline = read(SyncState::Offline, Reading::Settled);
        assert_eq!(
            offline.next_retry_at_ms,
            Some(9_000),
            "the recorded retry time"
        );
        assert!(!offline.online);
        let open = read(SyncState::CircuitOpen { until_ms: 8_000 }, Reading::Settled);
        assert_eq!(
            open.next_retry_at_ms,
            Some(8_000),
            "the status bar counts down to the next probe of an open circuit"
        );
        assert!(
            !open.online,
            "a back office that keeps failing is not there for the till"
        );

        let during = read(SyncState::Syncing, Reading::During);
        assert!(during.online, "a running cycle talks to the server");
        assert_eq!(
            (during.last_error, during.next_retry_at_ms),
            (None, None),
            "no stale error while a cycle runs"
        );

        let recorded = read(SyncState::Stopped, Reading::Recorded);
        assert_eq!(
            (recorded.last_error.is_some(), recorded.next_retry_at_ms),
            (true, Some(9_000)),
            "another process sees what the engine recorded, whatever its state"
        );
    }

    #[test]
    fn progress_shows_the_rate_so_far_and_the_time_left_at_that_rate() {
        let live = Live {
            done: 30,
            total: 90,
            started: Instant::now(),
        };
        let status = SyncStatus::initial(SyncState::Syncing);
        let running = status.clone().with_progress(live, Duration::from_secs(4));
        assert_eq!(
            running.progress,
            Some(Progress {
                done: 30,
                total: 90
            })
        );
        assert_eq!(running.throughput_per_s, Some(7.5));
        assert_eq!(running.eta_secs, Some(8), "60 left at 7.5 a second");

        let starting = status.with_progress(Live { done: 0, ..live }, Duration::ZERO);
        assert_eq!(
            (starting.throughput_per_s, starting.eta_secs),
            (None, None),
            "no rate before anything settled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_snapshots_is_thinned_but_the_last_one_arrives() {
        let recorder = Arc::new(Recorder::default());
        let mut throttle = Throttle::new(recorder.clone(), Duration::from_millis(50));
        for pending in 0..1000 {
            throttle.offer(with_pending(pending), false);
            if let Some(at) = throttle.flush_at() {
                if Instant::now() >= at {
                    throttle.flush();
                }
            }
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        tokio::time::advance(Duration::from_millis(50)).await;
        throttle.flush();
        let seen = recorder.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(
            seen.len() <= 21,
            "1 s of offers yields ~20 snapshots, got {}",
            seen.len()
        );
        assert_eq!(seen.last(), Some(&999), "the latest snapshot is never lost");
    }

    #[tokio::test(start_paused = true)]
    async fn a_forced_snapshot_goes_out_at_once() {
        let recorder = Arc::new(Recorder::default());
        let mut throttle = Throttle::new(recorder.clone(), Duration::from_millis(50));
        throttle.offer(with_pending(1), false);
        throttle.offer(with_pending(2), true);
        let seen = recorder.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, vec![1, 2], "a local write is shown immediately");
    }
}
