//! The status snapshot the engine publishes, and the throttle in front of the injected sink.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::state::SyncState;

/// Progress of the batch in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// The `{code, message}` of the last error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

/// An immutable snapshot of the engine, as the UI's status bar and `tillctl status` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
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
}

impl SyncStatus {
    /// The snapshot of an engine that has not looked at its store yet.
    pub fn initial(state: SyncState) -> Self {
        SyncStatus {
            state,
            online: false,
            pending: 0,
            failed: 0,
            conflicts: 0,
            progress: None,
            throughput_per_s: None,
            eta_secs: None,
            last_success_at_ms: None,
            next_retry_at_ms: None,
            last_error: None,
            clock_offset_ms: None,
            completed_cycles: 0,
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
    use std::sync::Mutex;

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
