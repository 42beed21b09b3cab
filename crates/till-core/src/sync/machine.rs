//! The sync engine's decisions as a state machine without I/O. [`Machine::step`] takes an
//! [`Event`] (a command, a timer, a probe's answer, a cycle's outcome) with the time it happened,
//! updates the machine and returns the [`Effect`]s to carry out (start a cycle, probe, schedule
//! the next wake, persist, publish, reply, exit). Time comes in with each event and the jitter
//! from the generator the machine is given, so a test drives it as a table of transitions
//! (`machine_tests.rs`) without tokio.
//!
//! Two drivers carry out its effects, so both follow one failure policy: the engine's tokio
//! actor ([`super::engine`], [`Mode::Background`]) and [`drain`](super::drain()) (`tillctl sync`,
//! [`Mode::Foreground`]).
//!
//! Adding a state or a trigger is a variant here, its rows in [`Machine::step`] and in the table.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;

use super::backoff::{Backoff, BackoffPolicy};
use super::engine::SyncNowAnswer;
use super::error::SyncError;
use super::persisted::{PersistedState, Record};
use super::state::SyncState;
use super::status::{ErrorInfo, Reading};
use super::transport::{ErrorClass, TransportError};
use super::SyncConfig;

/// How long a cycle waits when another process holds the data dir's sync lock.
pub const BUSY_RETRY: Duration = Duration::from_secs(1);

/// A nudge (the window gaining focus, the network coming back) within this long of the last one
/// that acted does nothing: focus changes come in bursts, and a nudge is only a hint.
pub const NUDGE_GAP: Duration = Duration::from_secs(5);

/// Why "Sync now" does nothing on a till whose history diverged.
pub const DIVERGED_REASON: &str = "this till's history differs from the back office's; enrol it \
     as a new terminal (see Settings)";

/// Why "Sync now" does nothing on a till whose push chain the back office refused.
pub const JOURNAL_BREAK_REASON: &str = "the back office refused this till's push chain (a \
     queued sale changed after it was recorded); sync stays stopped until someone looks";

/// A protocol stop: nothing is sent or pulled, also after a restart, until a person acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// This till's history differs from the back office's.
    Diverged,
    /// The back office refused this till's push chain.
    JournalBreak,
}

impl Stop {
    /// The state shown while it lasts.
    pub fn state(self) -> SyncState {
        match self {
            Stop::Diverged => SyncState::Diverged,
            Stop::JournalBreak => SyncState::JournalBreak,
        }
    }

    /// Why "Sync now" does nothing meanwhile.
    fn reason(self) -> &'static str {
        match self {
            Stop::Diverged => DIVERGED_REASON,
            Stop::JournalBreak => JOURNAL_BREAK_REASON,
        }
    }
}

/// The timings the machine schedules with, from [`SyncConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub tick: Duration,
    pub backlog_tick: Duration,
    pub debounce: Duration,
    pub probe_interval: Duration,
    pub shutdown_grace: Duration,
    pub backoff: BackoffPolicy,
    /// Server errors or timeouts in a row that open the circuit; zero never opens it.
    pub circuit_threshold: u32,
}

impl From<&SyncConfig> for Timing {
    fn from(config: &SyncConfig) -> Self {
        Timing {
            tick: config.tick,
            backlog_tick: config.backlog_tick,
            debounce: config.debounce,
            probe_interval: config.probe_interval,
            shutdown_grace: config.shutdown_grace,
            backoff: config.backoff,
            circuit_threshold: config.circuit_threshold,
        }
    }
}

/// Who waits for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The app's engine: syncs in the background, probes the server's health while offline,
    /// obeys the pause flag.
    Background,
    /// `drain`: a person waits for the queue to empty. Every wake runs a real cycle (never a
    /// silent probe), a backlog a cycle left is taken up at once, and the stored pause flag is
    /// not obeyed (the person asked for this sync).
    Foreground,
}

/// When an event happened: the monotonic instant the machine schedules against, and the wall
/// clock (Unix milliseconds) that retry times are recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub at: Instant,
    pub wall_ms: i64,
}

/// What a finished cycle came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CycleOutcome {
    /// The cycle ran to its end, or to a stop. `drained`: nothing unsent was left.
    Done { drained: bool },
    /// The cycle failed.
    Failed(Failure),
}

/// A failed cycle: what to do about it, and the `{code, message}` recorded and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub error: ErrorInfo,
}

/// What to do about a failed cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Another process or engine holds the data dir's sync lock: try again shortly.
    Busy,
    /// No enrolment is stored: nothing to do until there is one.
    NotEnrolled,
    /// The server refused the token (401/403): nothing is sent until it is fixed.
    Auth,
    /// This till's history differs from the back office's: nothing is sent until the till is
    /// enrolled as a new terminal, whatever anyone asks.
    Diverged,
    /// The back office refused this till's push chain: nothing is sent until a person looks,
    /// whatever anyone asks.
    JournalBreak,
    /// The server could not be reached at all: back off, probing its health meanwhile.
    Unreachable,
    /// The back office failed the request (5xx) or gave no answer (a timeout, a reset): back
    /// off as for [`Retry`](Self::Retry); enough of them in a row open the circuit.
    ServerFault { retry_after: Option<Duration> },
    /// Anything else (429, a malformed answer, a refused request, a protocol or store error):
    /// back off, at least as long as the server asked (`retry_after`).
    Retry { retry_after: Option<Duration> },
}

impl Failure {
    /// Classifies a cycle's error.
    pub fn of(error: &SyncError) -> Failure {
        let kind = match error {
            SyncError::Busy => FailureKind::Busy,
            SyncError::NotEnrolled => FailureKind::NotEnrolled,
            SyncError::Diverged(_) => FailureKind::Diverged,
            SyncError::JournalBreak(_) => FailureKind::JournalBreak,
            SyncError::Transport(e) if e.class() == ErrorClass::Auth => FailureKind::Auth,
            SyncError::Transport(e) if e.unreachable() => FailureKind::Unreachable,
            SyncError::Transport(
                e @ (TransportError::Server { .. } | TransportError::NoAnswer(_)),
            ) => FailureKind::ServerFault {
                retry_after: e.retry_after(),
            },
            SyncError::Transport(e) => FailureKind::Retry {
                retry_after: e.retry_after(),
            },
            _ => FailureKind::Retry { retry_after: None },
        };
        Failure {
            kind,
            error: ErrorInfo {
                code: error.code(),
                message: error.to_string(),
            },
        }
    }
}

/// Something that happened to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The driver started, with what the store recorded before: a pause, a retry time, the
    /// failures in a row and the server faults among them (an open circuit) survive a restart,
    /// so a restart never hammers the server; a protocol stop survives it too.
    Started {
        paused: bool,
        next_retry_at_ms: Option<i64>,
        failures_in_a_row: u32,
        faults_in_a_row: u32,
        stop: Option<Stop>,
    },
    /// A person pressed "Sync now".
    SyncNow,
    /// A person paused sync.
    Pause,
    /// A person resumed sync.
    Resume,
    /// A mutation was queued locally (a ring-up, a customer edit).
    LocalWrite,
    /// A hint that now is a good time to try (the app's window gained focus, the system says
    /// the network came back), with whether anything waits to be sent. While offline, backing
    /// off or with the circuit open the server's health is probed at once; while idle with
    /// something pending a cycle starts; at most one acts per [`NUDGE_GAP`].
    Nudge { pending: bool },
    /// The app is closing.
    Shutdown,
    /// Every handle on the engine was dropped: no command can come any more.
    CommandsClosed,
    /// The wake the machine last scheduled has come.
    Wake,
    /// The health probe answered: `reachable` when the server did.
    Probed { reachable: bool },
    /// The status tick, while a cycle runs.
    Tick,
    /// The running cycle ended.
    CycleEnded(CycleOutcome),
    /// The grace a shutdown gives the batch in flight ran out before the cycle ended.
    GraceElapsed,
}

impl Event {
    /// [`Event::Started`] with what `persisted` holds.
    pub fn started(persisted: &PersistedState) -> Event {
        Event::Started {
            paused: persisted.paused,
            next_retry_at_ms: persisted.next_retry_at_ms,
            failures_in_a_row: persisted.failures_in_a_row,
            faults_in_a_row: persisted.faults_in_a_row,
            stop: if persisted.diverged.is_some() {
                Some(Stop::Diverged)
            } else if persisted.journal_break.is_some() {
                Some(Stop::JournalBreak)
            } else {
                None
            },
        }
    }
}

/// A snapshot to publish: the engine in `state` after `completed_cycles`, read as `reading`.
/// `force`d snapshots (a state change, a local write) go past the throttle at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub state: SyncState,
    pub completed_cycles: u64,
    pub reading: Reading,
    pub force: bool,
}

/// What the driver carries out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a cycle; report [`Event::CycleEnded`] when it ends.
    StartCycle,
    /// Ask the server's health endpoint (cheap, no token) whether it is reachable again;
    /// report [`Event::Probed`].
    Probe,
    /// Ask the running cycle to stop once the batch in flight is settled.
    StopCycle,
    /// Drop the running cycle without waiting for its answer: the batch in flight stays
    /// queued, to be checked with the server's ack endpoint on the next start.
    AbandonCycle,
    /// Report [`Event::Wake`] at this instant, or never (`None`), instead of the wake before.
    /// A wake is reported once.
    Schedule(Option<Instant>),
    /// Report [`Event::GraceElapsed`] at this instant, unless the cycle ends first.
    AbandonAt(Instant),
    /// Write one of the engine's records to the store.
    Persist(Record),
    /// Read a snapshot from the store and publish it.
    Publish(Snapshot),
    /// Answer the "Sync now" just received.
    Reply(SyncNowAnswer),
    /// End the driver (answering a shutdown, if one was asked).
    Exit,
}

/// What the engine is busy with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    /// Waiting for a wake or a command.
    Waiting,
    /// A health probe is out.
    Probing,
    /// A cycle runs.
    Cycling,
    /// The engine stopped; every event is ignored.
    Stopped,
}

/// The engine's state, decided event by event.
#[derive(Debug)]
pub struct Machine {
    timing: Timing,
    mode: Mode,
    /// Draws the jitter of each back-off.
    rng: StdRng,
    backoff: Backoff,
    state: SyncState,
    activity: Activity,
    paused: bool,
    /// A protocol stop (a diverged history, a refused push chain): nothing runs any more.
    stop: Option<Stop>,
    /// Set by "Sync now": the next wake runs a real cycle even while offline, so the person who
    /// asked gets an answer (a finished cycle, or its error) instead of a silent probe.
    asked: bool,
    /// A trigger came during the running cycle: one more follows it at once.
    follow_up: bool,
    /// When the next wake comes, if one is scheduled.
    wake: Option<Instant>,
    /// Server errors or timeouts in a row (the last failures, with no success or other failure
    /// between them): at [`Timing::circuit_threshold`] the circuit is open.
    faults: u32,
    /// When the last nudge that acted came.
    last_nudge: Option<Instant>,
    /// A shutdown was asked while a cycle ran: stop once it ends.
    shutting_down: bool,
    /// No command can come any more: stop once the running cycle ends.
    commands_closed: bool,
    completed_cycles: u64,
}

impl Machine {
    /// A machine that has not started; its back-off jitter comes from `rng`.
    pub fn new(timing: Timing, mode: Mode, rng: StdRng) -> Self {
        Machine {
            timing,
            mode,
            rng,
            backoff: Backoff::new(timing.backoff),
            state: SyncState::Idle,
            activity: Activity::Waiting,
            paused: false,
            stop: None,
            asked: false,
            follow_up: false,
            wake: None,
            faults: 0,
            last_nudge: None,
            shutting_down: false,
            commands_closed: false,
            completed_cycles: 0,
        }
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    pub fn completed_cycles(&self) -> u64 {
        self.completed_cycles
    }

    /// When the next wake comes, if one is scheduled.
    pub fn wake(&self) -> Option<Instant> {
        self.wake
    }

    /// Takes `event`, which happened `now`, and returns what to carry out.
    pub fn step(&mut self, event: Event, now: Now) -> Vec<Effect> {
        let mut fx = Vec::new();
        let activity = self.activity;
        match (activity, event) {
            (Activity::Stopped, _) => {}
            (
                _,
                Event::Started {
                    paused,
                    next_retry_at_ms,
                    failures_in_a_row,
                    faults_in_a_row,
                    stop,
                },
            ) => {
                self.stop = stop;
                self.faults = faults_in_a_row;
                self.started(paused, next_retry_at_ms, failures_in_a_row, now, &mut fx)
            }
            (Activity::Cycling, Event::SyncNow) => {
                self.follow_up = true;
                fx.push(Effect::Reply(SyncNowAnswer {
                    accepted: true,
                    reason: Some("coalesced with the running sync".into()),
                }));
            }
            (_, Event::SyncNow) if self.stop == Some(Stop::JournalBreak) && !self.paused => {
                // A person asks again after a refused push chain: the back office may have
                // been reanchored by hand; if not, it refuses again and the stop comes back.
                self.stop = None;
                fx.push(Effect::Persist(Record::ChainRetried));
                self.asked = true;
                self.schedule(Some(now.at), &mut fx);
                fx.push(Effect::Reply(SyncNowAnswer {
                    accepted: true,
                    reason: None,
                }));
            }
            (_, Event::SyncNow) if self.stop.is_some() => {
                let reason = self.stop.map(|s| s.reason().to_string());
                fx.push(Effect::Reply(SyncNowAnswer {
                    accepted: false,
                    reason,
                }))
            }
            (_, Event::SyncNow) if self.paused => fx.push(Effect::Reply(SyncNowAnswer {
                accepted: false,
                reason: Some("sync is paused".into()),
            })),
            (_, Event::SyncNow) => {
                self.asked = true;
                self.schedule(Some(now.at), &mut fx);
                fx.push(Effect::Reply(SyncNowAnswer {
                    accepted: true,
                    reason: None,
                }));
            }
            (Activity::Cycling, Event::Pause) => {
                self.paused = true;
                fx.push(Effect::Persist(Record::Paused(true)));
                fx.push(Effect::StopCycle);
            }
            (_, Event::Pause) if self.stop.is_some() => {
                self.paused = true;
                fx.push(Effect::Persist(Record::Paused(true)));
            }
            (_, Event::Pause) => {
                self.paused = true;
                self.schedule(None, &mut fx);
                fx.push(Effect::Persist(Record::Paused(true)));
                self.set_state(SyncState::Paused, &mut fx);
            }
            (_, Event::Resume) if self.stop.is_some() => {
                self.paused = false;
                fx.push(Effect::Persist(Record::Paused(false)));
            }
            (Activity::Cycling, Event::Resume) => {
                self.paused = false;
                fx.push(Effect::Persist(Record::Paused(false)));
            }
            (_, Event::Resume) => {
                self.paused = false;
                fx.push(Effect::Persist(Record::Paused(false)));
                self.schedule(Some(now.at), &mut fx);
                self.set_state(SyncState::Idle, &mut fx);
            }
            (Activity::Cycling, Event::LocalWrite) => self.follow_up = true,
            (_, Event::LocalWrite) => {
                self.publish(Reading::Settled, true, &mut fx);
                if !self.paused && self.state == SyncState::Idle {
                    self.wake_by(now.at + self.timing.debounce, &mut fx);
                }
            }
            (Activity::Cycling, Event::Shutdown) => {
                self.shutting_down = true;
                fx.push(Effect::StopCycle);
                fx.push(Effect::AbandonAt(now.at + self.timing.shutdown_grace));
            }
            (_, Event::Shutdown) => self.exit(&mut fx),
            (Activity::Cycling, Event::CommandsClosed) => {
                self.commands_closed = true;
                fx.push(Effect::StopCycle);
            }
            (_, Event::CommandsClosed) => self.exit(&mut fx),
            (Activity::Waiting, Event::Wake) if self.stop.is_some() => self.wake = None,
            (_, Event::Nudge { pending }) => self.nudged(pending, now, &mut fx),
            (Activity::Waiting, Event::Wake) => {
                self.wake = None;
                // While the circuit is open only the health endpoint is asked, also when a
                // person asked or waits (`drain`): a cycle follows as soon as it answers.
                let probe = matches!(self.state, SyncState::CircuitOpen { .. })
                    || (self.mode == Mode::Background
                        && self.state == SyncState::Offline
                        && !self.asked);
                if probe {
                    self.activity = Activity::Probing;
                    fx.push(Effect::Probe);
                } else {
                    self.start_cycle(&mut fx);
                }
            }
            (Activity::Probing, Event::Probed { reachable }) => {
                self.activity = Activity::Waiting;
                if self.paused {
                    // Paused while the probe was out: nothing runs until a resume.
                } else if reachable {
                    // With the circuit open this is its half-open trial: one cycle, and a
                    // server fault there opens it again (the faults in a row stay counted).
                    self.start_cycle(&mut fx);
                } else if matches!(self.state, SyncState::CircuitOpen { .. }) {
                    let wait = self.backoff.fail(&mut self.rng, None);
                    self.schedule(Some(now.at + wait), &mut fx);
                    self.set_state(
                        SyncState::CircuitOpen {
                            until_ms: wall_after(now, wait),
                        },
                        &mut fx,
                    );
                } else {
                    let wait = self
                        .backoff
                        .fail(&mut self.rng, None)
                        .min(self.timing.probe_interval);
                    self.wake_by(now.at + wait, &mut fx);
                    if self.state != SyncState::Offline {
                        // A nudge's probe found no server where a back-off waited for one.
                        self.set_state(SyncState::Offline, &mut fx);
                    }
                }
            }
            (Activity::Cycling, Event::Tick) => self.publish(Reading::During, false, &mut fx),
            (Activity::Cycling, Event::CycleEnded(outcome)) => {
                self.cycle_ended(outcome, now, &mut fx)
            }
            (Activity::Cycling, Event::GraceElapsed) if self.shutting_down => {
                fx.push(Effect::AbandonCycle);
                let abandoned =
                    SyncError::Transport(TransportError::NoAnswer("abandoned at shutdown".into()));
                self.cycle_ended(CycleOutcome::Failed(Failure::of(&abandoned)), now, &mut fx);
            }
            // A wake, probe answer, tick or cycle end that no longer applies.
            (
                _,
                Event::Wake
                | Event::Probed { .. }
                | Event::Tick
                | Event::CycleEnded(_)
                | Event::GraceElapsed,
            ) => {}
        }
        fx
    }

    fn started(
        &mut self,
        paused: bool,
        next_retry_at_ms: Option<i64>,
        failures_in_a_row: u32,
        now: Now,
        fx: &mut Vec<Effect>,
    ) {
        self.backoff = Backoff::with_failures(self.timing.backoff, failures_in_a_row);
        self.paused = paused && self.mode == Mode::Background;
        if let Some(stop) = self.stop {
            self.set_state(stop.state(), fx);
            return;
        }
        if self.paused {
            self.set_state(SyncState::Paused, fx);
            return;
        }
        if self.circuit_open() {
            // Open before the restart: the recorded retry time is the next probe's.
            let wait = next_retry_at_ms
                .map_or(Duration::ZERO, |at| millis_until(at, now))
                .min(self.timing.backoff.cap);
            self.set_state(
                SyncState::CircuitOpen {
                    until_ms: wall_after(now, wait),
                },
                fx,
            );
            self.schedule(Some(now.at + wait), fx);
            return;
        }
        match next_retry_at_ms {
            Some(at) if at > now.wall_ms => {
                let wait = millis_until(at, now);
                self.set_state(SyncState::BackingOff { until_ms: at }, fx);
                self.schedule(Some(now.at + wait.min(self.timing.backoff.cap)), fx);
            }
            _ => {
                self.set_state(SyncState::Idle, fx);
                self.schedule(Some(now.at), fx);
            }
        }
    }

    fn start_cycle(&mut self, fx: &mut Vec<Effect>) {
        self.asked = false;
        self.follow_up = false;
        self.activity = Activity::Cycling;
        self.schedule(None, fx);
        self.set_state(SyncState::Syncing, fx);
        fx.push(Effect::StartCycle);
    }

    fn cycle_ended(&mut self, outcome: CycleOutcome, now: Now, fx: &mut Vec<Effect>) {
        self.activity = Activity::Waiting;
        self.completed_cycles += 1;
        match outcome {
            CycleOutcome::Done { drained } => {
                self.backoff.reset();
                if self.circuit_open() {
                    tracing::info!("the back office answers again: the circuit closes");
                }
                self.faults = 0;
                fx.push(Effect::Persist(Record::Success { at_ms: now.wall_ms }));
                let next = if self.follow_up || (!drained && self.mode == Mode::Foreground) {
                    now.at
                } else if drained {
                    now.at + self.timing.tick
                } else {
                    now.at + self.timing.backlog_tick
                };
                self.schedule(Some(next), fx);
                self.set_state(SyncState::Idle, fx);
            }
            CycleOutcome::Failed(failure) => self.failed(failure, now, fx),
        }
        if self.shutting_down {
            self.exit(fx);
            return;
        }
        if self.paused && self.stop.is_none() {
            self.schedule(None, fx);
            self.set_state(SyncState::Paused, fx);
        }
        if self.commands_closed {
            self.exit(fx);
        }
    }

    /// The failure policy: which state a failure leads to, how long until the next attempt,
    /// and what is recorded.
    fn failed(&mut self, failure: Failure, now: Now, fx: &mut Vec<Effect>) {
        match failure.kind {
            FailureKind::Busy => {}
            FailureKind::ServerFault { .. } => self.faults = self.faults.saturating_add(1),
            _ => self.faults = 0,
        }
        let (state, wait) = match failure.kind {
            FailureKind::Busy => (SyncState::Idle, Some(BUSY_RETRY)),
            FailureKind::NotEnrolled => (SyncState::NotEnrolled, None),
            FailureKind::Auth => (SyncState::AuthError, None),
            FailureKind::Diverged => {
                self.stop = Some(Stop::Diverged);
                (SyncState::Diverged, None)
            }
            FailureKind::JournalBreak => {
                self.stop = Some(Stop::JournalBreak);
                (SyncState::JournalBreak, None)
            }
            FailureKind::Unreachable => (
                SyncState::Offline,
                Some(self.backoff.fail(&mut self.rng, None)),
            ),
            FailureKind::ServerFault { retry_after } if self.circuit_open() => {
                if self.faults == self.timing.circuit_threshold {
                    tracing::warn!(
                        faults = self.faults,
                        "the back office keeps failing: the circuit opens, only its health is probed"
                    );
                }
                (
                    SyncState::CircuitOpen { until_ms: 0 },
                    Some(self.backoff.fail(&mut self.rng, retry_after)),
                )
            }
            FailureKind::Retry { retry_after } | FailureKind::ServerFault { retry_after } => (
                SyncState::BackingOff { until_ms: 0 },
                Some(self.backoff.fail(&mut self.rng, retry_after)),
            ),
        };
        let until_ms = wait.map(|w| wall_after(now, w));
        if failure.kind != FailureKind::Busy {
            fx.push(Effect::Persist(Record::Failure {
                error: failure.error,
                next_retry_at_ms: until_ms,
                failures_in_a_row: self.backoff.failures(),
                faults_in_a_row: self.faults,
            }));
        }
        self.schedule(wait.map(|w| now.at + w), fx);
        let until_ms = until_ms.unwrap_or(0);
        let state = match state {
            SyncState::BackingOff { .. } => SyncState::BackingOff { until_ms },
            SyncState::CircuitOpen { .. } => SyncState::CircuitOpen { until_ms },
            other => other,
        };
        self.set_state(state, fx);
    }

    /// Whether enough server faults came in a row to keep batches back.
    fn circuit_open(&self) -> bool {
        self.timing.circuit_threshold > 0 && self.faults >= self.timing.circuit_threshold
    }

    /// A nudge: probe at once where the engine waits for the server, run at once where it waits
    /// for a tick with something to send; nothing within [`NUDGE_GAP`] of the last that acted,
    /// nothing while busy, paused or stopped.
    fn nudged(&mut self, pending: bool, now: Now, fx: &mut Vec<Effect>) {
        let recent = self
            .last_nudge
            .is_some_and(|last| now.at < last + NUDGE_GAP);
        if recent || self.activity != Activity::Waiting || self.paused || self.stop.is_some() {
            return;
        }
        match self.state {
            SyncState::Offline | SyncState::BackingOff { .. } | SyncState::CircuitOpen { .. } => {
                self.last_nudge = Some(now.at);
                self.activity = Activity::Probing;
                fx.push(Effect::Probe);
            }
            SyncState::Idle if pending => {
                self.last_nudge = Some(now.at);
                self.wake_by(now.at, fx);
            }
            _ => {}
        }
    }

    fn exit(&mut self, fx: &mut Vec<Effect>) {
        self.set_state(SyncState::Stopped, fx);
        self.activity = Activity::Stopped;
        fx.push(Effect::Exit);
    }

    /// Moves to `state` (recording it when it changed) and publishes at once.
    fn set_state(&mut self, state: SyncState, fx: &mut Vec<Effect>) {
        if self.state != state {
            self.state = state;
            fx.push(Effect::Persist(Record::State(state)));
        }
        self.publish(Reading::Settled, true, fx);
    }

    fn publish(&self, reading: Reading, force: bool, fx: &mut Vec<Effect>) {
        fx.push(Effect::Publish(Snapshot {
            state: self.state,
            completed_cycles: self.completed_cycles,
            reading,
            force,
        }));
    }

    /// Schedules the next wake at `at` (or none), when that changes it.
    fn schedule(&mut self, at: Option<Instant>, fx: &mut Vec<Effect>) {
        if self.wake != at {
            self.wake = at;
            fx.push(Effect::Schedule(at));
        }
    }

    /// Brings the next wake forward to `at`, or schedules it there when none is.
    fn wake_by(&mut self, at: Instant, fx: &mut Vec<Effect>) {
        let at = self.wake.map_or(at, |wake| wake.min(at));
        self.schedule(Some(at), fx);
    }
}

/// The wall clock `wait` after `now` (Unix milliseconds).
fn wall_after(now: Now, wait: Duration) -> i64 {
    now.wall_ms
        .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// How long from `now` until the wall clock reads `at_ms`; zero once it has.
fn millis_until(at_ms: i64, now: Now) -> Duration {
    Duration::from_millis(u64::try_from(at_ms.saturating_sub(now.wall_ms)).unwrap_or(0))
}
