//! `drain`: the engine's machine driven in the foreground (`tillctl sync`), cycle after cycle,
//! until nothing is left to send. It retries as the machine decides (the app's failure policy:
//! the same back-off, the same records, the same circuit breaker: while it is open only the
//! health endpoint is asked, and a cycle follows once it answers), and ends when the queue is
//! drained, on a failure that no retry mends (a refused token, no enrolment), or at the
//! deadline.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use crate::store::Store;
use crate::{outbox, Clock};

use super::cycle::{outcome, CycleReport, Worker};
use super::engine::probe;
use super::error::SyncError;
use super::machine::{Effect, Event, Machine, Mode, Now, Timing};
use super::persisted;
use super::state::SyncState;
use super::status::{read_status, status_or_last, Reading, SyncStatus};
use super::transport::{Transport, TransportError};
use super::SyncConfig;

/// What [`drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    pub cycles: u64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub retries: u64,
    pub pending: u64,
}

impl DrainReport {
    fn add(&mut self, cycle: &CycleReport) {
        self.pushed += cycle.pushed;
        self.pulled += cycle.pulled;
        self.conflicts += cycle.conflicts;
        self.failed += cycle.failed;
    }
}

/// Runs cycles in the foreground until nothing is left to send, retrying transient failures
/// with back-off, until `deadline`. Stops at once on an auth error. The same cycle and the same
/// machine as the engine's, under the same data-dir lock. `on_cycle` sees the status after each
/// cycle that does not end the drain with its error.
pub async fn drain(
    store: &Store,
    terminal_id: Uuid,
    config: SyncConfig,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    deadline: Option<Duration>,
    mut on_cycle: impl FnMut(&SyncStatus),
) -> Result<DrainReport, SyncError> {
    let mut worker = Worker::new(
        store,
        terminal_id,
        config.clone(),
        Arc::clone(&transport),
        Arc::clone(&clock),
        None,
    )?;
    let started = Instant::now();
    let give_up_at = deadline.map(|d| started + d);
    let mut driver = Foreground {
        machine: Machine::new(
            Timing::from(&config),
            Mode::Foreground,
            StdRng::from_entropy(),
        ),
        clock: clock.as_ref(),
    };
    // Running a sync by hand is asking again after a refused push chain.
    persisted::retry_journal_break(worker.conn())?;
    let recorded = persisted::read(worker.conn())?;
    // The machine waits for a retry time set before a restart, so restarts do not hammer the
    // server; otherwise the first cycle starts at once.
    driver.step(Event::started(&recorded), worker.conn());
    let mut wake = driver.machine.wake().unwrap_or(started);
    let live = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let mut report = DrainReport::default();
    let mut last = SyncStatus::initial(SyncState::Syncing);
    loop {
        tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
        if driver.step(Event::Wake, worker.conn()) == Next::Probe {
            // The circuit is open: a cycle only once the back office's health answers.
            let probed = probe(transport.as_ref()).await;
            if let Next::Wait(at) = driver.step(probed, worker.conn()) {
                match at.filter(|at| give_up_at.is_none_or(|limit| *at <= limit)) {
                    Some(at) => wake = at,
                    None => return Err(deadline_passed()),
                }
                continue;
            }
        }
        let result = worker.cycle(&stop, &live).await;
        report.cycles += 1;
        if let Ok(cycle) = &result {
            report.add(cycle);
        }
        let code = result.as_ref().err().map(SyncError::code);
        driver.step(Event::CycleEnded(outcome(&result)), worker.conn());
        let next = driver.machine.wake();
        let now = Instant::now();
        let after = after_cycle(result, next, now, give_up_at)?;
        if let (Some(code), After::Again(at)) = (code, after) {
            report.retries += 1;
            let wait_ms = u64::try_from(at.saturating_duration_since(now).as_millis());
            tracing::info!(
                code = code.as_str(),
                wait_ms = wait_ms.ok(),
                "retrying after a failure"
            );
        }
        let read = read_status(
            worker.conn(),
            &live,
            driver.machine.state(),
            report.cycles,
            Reading::During,
        );
        last = status_or_last(read, &last);
        on_cycle(&last);
        match after {
            After::Drained => {
                let counts = outbox::counts(worker.conn())?;
                report.pending = counts.pending + counts.in_flight;
                return Ok(report);
            }
            After::DeadlinePassed => return Err(deadline_passed()),
            After::Again(at) => wake = at,
        }
    }
}

fn deadline_passed() -> SyncError {
    SyncError::Transport(TransportError::NoAnswer(
        "the deadline passed before the queue drained".into(),
    ))
}

/// What the foreground machine asks for after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Run a cycle now.
    Cycle,
    /// Ask the health endpoint first (the circuit is open).
    Probe,
    /// Wait for this wake (none: nothing more will run).
    Wait(Option<Instant>),
}

/// The machine in the foreground.
struct Foreground<'a> {
    machine: Machine,
    clock: &'a dyn Clock,
}

impl Foreground<'_> {
    /// Hands `event` to the machine and writes its records through `conn` (the worker's, free
    /// between cycles); returns what it asks for next. Snapshots are `on_cycle`'s, once per
    /// cycle; a foreground machine, without commands, never stops a cycle or replies, and
    /// every wake starts a cycle, or a probe while the circuit is open.
    fn step(&mut self, event: Event, conn: &Connection) -> Next {
        let now = Now {
            at: tokio::time::Instant::now().into_std(),
            wall_ms: self.clock.now_ms(),
        };
        let mut next = Next::Wait(None);
        for effect in self.machine.step(event, now) {
            match effect {
                Effect::Persist(record) => persisted::keep(conn, &record),
                Effect::StartCycle => next = Next::Cycle,
                Effect::Probe => next = Next::Probe,
                _ => {}
            }
        }
        match next {
            Next::Wait(_) => Next::Wait(self.machine.wake()),
            other => other,
        }
    }
}

/// What the drain does after a cycle that does not end it with the cycle's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Nothing unsent is left: done.
    Drained,
    /// The deadline passed with the queue not drained.
    DeadlinePassed,
    /// The next cycle, at this instant.
    Again(Instant),
}

/// Decides from a cycle's `result`, the machine's `next` wake, the time and the deadline. The
/// cycle's error when no retry mends it (no wake: a refused token, no enrolment) or the retry
/// would come after the deadline.
fn after_cycle(
    result: Result<CycleReport, SyncError>,
    next: Option<Instant>,
    now: Instant,
    give_up_at: Option<Instant>,
) -> Result<After, SyncError> {
    let late = |at: Instant| give_up_at.is_some_and(|limit| at > limit);
    match (result, next) {
        (Ok(cycle), _) if cycle.drained => Ok(After::Drained),
        (Err(error), None) => Err(error),
        (Err(error), Some(at)) if late(at) => Err(error),
        _ if late(now) => Ok(After::DeadlinePassed),
        (_, next) => Ok(After::Again(next.unwrap_or(now))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_ends_when_drained_on_a_lasting_failure_or_at_its_deadline() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let deadline = Some(t0 + s(60));
        let done = |drained| -> Result<CycleReport, SyncError> {
            Ok(CycleReport {
                drained,
                ..CycleReport::default()
            })
        };
        let failed = || -> Result<CycleReport, SyncError> { Err(SyncError::Busy) };
        type Row = (
            &'static str,
            Result<CycleReport, SyncError>,
            Option<Instant>,
            Instant,
            Option<After>,
        );
        let rows: [Row; 7] = [
            (
                "drained",
                done(true),
                Some(t0 + s(30)),
                t0 + s(1),
                Some(After::Drained),
            ),
            (
                "drained late",
                done(true),
                Some(t0),
                t0 + s(90),
                Some(After::Drained),
            ),
            (
                "backlog left",
                done(false),
                Some(t0 + s(1)),
                t0 + s(1),
                Some(After::Again(t0 + s(1))),
            ),
            (
                "backlog at the deadline",
                done(false),
                Some(t0 + s(61)),
                t0 + s(61),
                Some(After::DeadlinePassed),
            ),
            (
                "retry in time",
                failed(),
                Some(t0 + s(30)),
                t0 + s(1),
                Some(After::Again(t0 + s(30))),
            ),
            (
                "retry after the deadline",
                failed(),
                Some(t0 + s(61)),
                t0 + s(1),
                None,
            ),
            (
                "no retry (auth, not enrolled)",
                failed(),
                None,
                t0 + s(1),
                None,
            ),
        ];
        for (why, result, next, now, expected) in rows {
            assert_eq!(
                after_cycle(result, next, now, deadline).ok(),
                expected,
                "{why}"
            );
        }
        assert_eq!(
            after_cycle(failed(), Some(t0 + s(3600)), t0 + s(1), None).ok(),
            Some(After::Again(t0 + s(3600))),
            "without a deadline a drain retries for as long as it takes"
        );
    }
}
