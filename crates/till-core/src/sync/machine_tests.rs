//! The engine's machine as a table of transitions: given the events that brought it where it
//! is, one more event leads to a state and a list of effects. No tokio, no store, no network.
//!
//! The table's back-off has no jitter (a zero base: every wait is what the server asked for, or
//! nothing), so every effect is exact; the tests after it check the jittered waits.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::backoff::BackoffPolicy;
use super::machine::*;
use super::persisted::Record;
use super::state::SyncState;
use super::status::ErrorInfo;
use crate::error_code::ErrorCode;

/// The wall clock (Unix milliseconds) at the table's origin.
const WALL: i64 = 1_700_000_000_000;

/// When the event under test happens, after the events that led to it (at the origin).
const LATER: Duration = Duration::from_secs(10);

fn timing(backoff: BackoffPolicy) -> Timing {
    Timing {
        tick: Duration::from_secs(30),
        backlog_tick: Duration::from_secs(1),
        debounce: Duration::from_millis(300),
        probe_interval: Duration::from_secs(10),
        shutdown_grace: Duration::from_secs(5),
        backoff,
    }
}

fn no_jitter() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::ZERO,
        cap: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(600),
    }
}

fn machine(mode: Mode, backoff: BackoffPolicy) -> Machine {
    Machine::new(timing(backoff), mode, StdRng::seed_from_u64(7))
}

fn at(origin: Instant, after: Duration) -> Now {
    Now {
        at: origin + after,
        wall_ms: WALL + i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
    }
}

fn started() -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        stop: None,
    }
}

fn started_paused() -> Event {
    Event::Started {
        paused: true,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        stop: None,
    }
}

/// Started on a till whose history diverged before a restart.
fn started_diverged() -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        stop: Some(Stop::Diverged),
    }
}

/// Started after the back office refused the till's push chain, `paused` or not.
fn started_journal_break(paused: bool) -> Event {
    Event::Started {
        paused,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        stop: Some(Stop::JournalBreak),
    }
}

/// Started with a retry time recorded `ms` after the event under test.
fn started_retrying_in(ms: i64) -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: Some(WALL + i64::try_from(LATER.as_millis()).unwrap_or(0) + ms),
        failures_in_a_row: 3,
        stop: None,
    }
}

fn done(drained: bool) -> Event {
    Event::CycleEnded(CycleOutcome::Done { drained })
}

fn failed(kind: FailureKind, code: &str) -> Event {
    Event::CycleEnded(CycleOutcome::Failed(Failure {
        kind,
        error: ErrorInfo {
            code: ErrorCode::parse(code).expect("a known code"),
            message: format!("{code} in a test"),
        },
    }))
}

fn unreachable() -> Event {
    failed(FailureKind::Unreachable, "server_unreachable")
}

fn diverged() -> Event {
    failed(FailureKind::Diverged, "diverged")
}

/// What a cycle that found a diverged history leads to: recorded, shown, nothing scheduled.
const DIVERGES: &[&str] = &[
    "persist failure diverged retry none (0 in a row)",
    "persist state diverged",
    "publish diverged Settled after 1 forced",
];

/// What the first cycle after a start does as it begins.
const FIRST_CYCLE: &[&str] = &[
    "persist state syncing",
    "publish syncing Settled after 0 forced",
    "start cycle",
];

/// What a refused push chain leaves.
const CHAIN_REFUSED: &[&str] = &[
    "persist failure journal_break retry none (0 in a row)",
    "persist state journal_break",
    "publish journal_break Settled after 1 forced",
];

/// An effect as the table spells it; times are relative to the event under test.
fn render(effect: &Effect, now: Now) -> String {
    let after = |at: Instant| format!("+{}ms", at.saturating_duration_since(now.at).as_millis());
    let wall = |ms: i64| format!("+{}ms", ms - now.wall_ms);
    match effect {
        Effect::StartCycle => "start cycle".into(),
        Effect::Probe => "probe".into(),
        Effect::StopCycle => "stop cycle".into(),
        Effect::AbandonCycle => "abandon cycle".into(),
        Effect::Schedule(None) => "schedule none".into(),
        Effect::Schedule(Some(wake)) => format!("schedule {}", after(*wake)),
        Effect::AbandonAt(grace) => format!("abandon at {}", after(*grace)),
        Effect::Persist(Record::Paused(paused)) => format!("persist paused {paused}"),
        Effect::Persist(Record::ChainRetried) => "persist chain retried".into(),
        Effect::Persist(Record::State(state)) => format!("persist state {}", state.name()),
        Effect::Persist(Record::Success { at_ms }) => format!("persist success {}", wall(*at_ms)),
        Effect::Persist(Record::Failure {
            error,
            next_retry_at_ms,
            failures_in_a_row,
        }) => format!(
            "persist failure {} retry {} ({failures_in_a_row} in a row)",
            error.code,
            next_retry_at_ms.map_or("none".into(), wall)
        ),
        Effect::Publish(s) => format!(
            "publish {} {:?} after {}{}",
            s.state.name(),
            s.reading,
            s.completed_cycles,
            if s.force { " forced" } else { "" }
        ),
        Effect::Reply(answer) => match (&answer.accepted, &answer.reason) {
            (true, None) => "reply accepted".into(),
            (true, Some(why)) => format!("reply accepted: {why}"),
            (false, why) => format!("reply refused: {}", why.as_deref().unwrap_or("")),
        },
        Effect::Exit => "exit".into(),
    }
}

struct Row {
    why: &'static str,
    mode: Mode,
    given: Vec<Event>,
    event: Event,
    state: &'static str,
    effects: &'static [&'static str],
}

fn row(
    why: &'static str,
    given: Vec<Event>,
    event: Event,
    state: &'static str,
    effects: &'static [&'static str],
) -> Row {
    Row {
        why,
        mode: Mode::Background,
        given,
        event,
        state,
        effects,
    }
}

fn foreground(row: Row) -> Row {
    Row {
        mode: Mode::Foreground,
        ..row
    }
}

fn table() -> Vec<Row> {
    use Event::*;
    vec![
        // Start-up.
        row(
            "start: a first cycle at once",
            vec![],
            started(),
            "idle",
            &["publish idle Settled after 0 forced", "schedule +0ms"],
        ),
        row(
            "start: a retry time recorded before a restart is waited for",
            vec![],
            started_retrying_in(30_000),
            "backing_off",
            &[
                "persist state backing_off",
                "publish backing_off Settled after 0 forced",
                "schedule +30000ms",
            ],
        ),
        row(
            "start: never longer than the back-off cap",
            vec![],
            started_retrying_in(3_600_000),
            "backing_off",
            &[
                "persist state backing_off",
                "publish backing_off Settled after 0 forced",
                "schedule +60000ms",
            ],
        ),
        row(
            "start: a retry time gone by is not waited for",
            vec![],
            started_retrying_in(-1),
            "idle",
            &["publish idle Settled after 0 forced", "schedule +0ms"],
        ),
        row(
            "start paused: nothing runs",
            vec![],
            started_paused(),
            "paused",
            &[
                "persist state paused",
                "publish paused Settled after 0 forced",
            ],
        ),
        // Wakes and probes.
        row(
            "wake: a cycle starts",
            vec![started()],
            Wake,
            "syncing",
            FIRST_CYCLE,
        ),
        row(
            "wake while offline: a cheap probe first",
            vec![started(), Wake, unreachable()],
            Wake,
            "offline",
            &["probe"],
        ),
        row(
            "the server answers the probe: a cycle starts",
            vec![started(), Wake, unreachable(), Wake],
            Probed { reachable: true },
            "syncing",
            &[
                "persist state syncing",
                "publish syncing Settled after 1 forced",
                "start cycle",
            ],
        ),
        row(
            "the probe goes unanswered: another one later",
            vec![started(), Wake, unreachable(), Wake],
            Probed { reachable: false },
            "offline",
            &["schedule +0ms"],
        ),
        // Sync now.
        row(
            "sync now: at once",
            vec![started(), Wake, done(true)],
            SyncNow,
            "idle",
            &["schedule +0ms", "reply accepted"],
        ),
        row(
            "sync now while offline: a real cycle, not a silent probe",
            vec![started(), Wake, unreachable(), SyncNow],
            Wake,
            "syncing",
            &[
                "persist state syncing",
                "publish syncing Settled after 1 forced",
                "start cycle",
            ],
        ),
        row(
            "sync now while paused: refused, saying why",
            vec![started_paused()],
            SyncNow,
            "paused",
            &["reply refused: sync is paused"],
        ),
        row(
            "sync now during a cycle: coalesced",
            vec![started(), Wake],
            SyncNow,
            "syncing",
            &["reply accepted: coalesced with the running sync"],
        ),
        row(
            "triggers during a cycle: one follow-up at once",
            vec![started(), Wake, SyncNow, LocalWrite, SyncNow],
            done(true),
            "idle",
            &[
                "persist success +0ms",
                "schedule +0ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
            ],
        ),
        // Cycles that end well.
        row(
            "a drained queue: the next cycle on the periodic tick",
            vec![started(), Wake],
            done(true),
            "idle",
            &[
                "persist success +0ms",
                "schedule +30000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
            ],
        ),
        row(
            "a backlog left: the next cycle sooner",
            vec![started(), Wake],
            done(false),
            "idle",
            &[
                "persist success +0ms",
                "schedule +1000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
            ],
        ),
        // Local writes.
        row(
            "a local write: shown at once, a cycle after the debounce",
            vec![started(), Wake, done(true)],
            LocalWrite,
            "idle",
            &["publish idle Settled after 1 forced", "schedule +300ms"],
        ),
        row(
            "a local write while backing off: shown, the back-off stands",
            vec![
                started(),
                Wake,
                failed(FailureKind::Retry { retry_after: None }, "server_error"),
            ],
            LocalWrite,
            "backing_off",
            &["publish backing_off Settled after 1 forced"],
        ),
        row(
            "a local write during a cycle: folded into a follow-up",
            vec![started(), Wake],
            LocalWrite,
            "syncing",
            &[],
        ),
        // Pause and resume.
        row(
            "pause: nothing runs until a resume",
            vec![started(), Wake, done(true)],
            Pause,
            "paused",
            &[
                "schedule none",
                "persist paused true",
                "persist state paused",
                "publish paused Settled after 1 forced",
            ],
        ),
        row(
            "pause during a cycle: the batch in flight finishes",
            vec![started(), Wake],
            Pause,
            "syncing",
            &["persist paused true", "stop cycle"],
        ),
        row(
            "the cycle a pause stopped ends paused",
            vec![started(), Wake, Pause],
            done(false),
            "paused",
            &[
                "persist success +0ms",
                "schedule +1000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
                "schedule none",
                "persist state paused",
                "publish paused Settled after 1 forced",
            ],
        ),
        row(
            "resume: a cycle at once",
            vec![started_paused()],
            Resume,
            "idle",
            &[
                "persist paused false",
                "schedule +0ms",
                "persist state idle",
                "publish idle Settled after 0 forced",
            ],
        ),
        row(
            "resume during a cycle: recorded, the cycle goes on",
            vec![started(), Wake, Pause],
            Resume,
            "syncing",
            &["persist paused false"],
        ),
        // The failure policy.
        row(
            "another process syncs this data dir: try again in a second, nothing recorded",
            vec![started(), Wake],
            failed(FailureKind::Busy, "sync_busy"),
            "idle",
            &[
                "schedule +1000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
            ],
        ),
        row(
            "not enrolled: recorded, nothing scheduled",
            vec![started(), Wake],
            failed(FailureKind::NotEnrolled, "not_enrolled"),
            "not_enrolled",
            &[
                "persist failure not_enrolled retry none (0 in a row)",
                "persist state not_enrolled",
                "publish not_enrolled Settled after 1 forced",
            ],
        ),
        row(
            "a refused token: recorded, nothing scheduled",
            vec![started(), Wake],
            failed(FailureKind::Auth, "unauthorized"),
            "auth_error",
            &[
                "persist failure unauthorized retry none (0 in a row)",
                "persist state auth_error",
                "publish auth_error Settled after 1 forced",
            ],
        ),
        row(
            "the server out of reach: offline, backing off",
            vec![started(), Wake],
            unreachable(),
            "offline",
            &[
                "persist failure server_unreachable retry +0ms (1 in a row)",
                "schedule +0ms",
                "persist state offline",
                "publish offline Settled after 1 forced",
            ],
        ),
        row(
            "the server asks for 120 s: waited for",
            vec![started(), Wake],
            failed(
                FailureKind::Retry {
                    retry_after: Some(Duration::from_secs(120)),
                },
                "rate_limited",
            ),
            "backing_off",
            &[
                "persist failure rate_limited retry +120000ms (1 in a row)",
                "schedule +120000ms",
                "persist state backing_off",
                "publish backing_off Settled after 1 forced",
            ],
        ),
        row(
            "failures count on from those recorded before a restart",
            vec![started_retrying_in(-1), Wake],
            failed(FailureKind::Retry { retry_after: None }, "server_error"),
            "backing_off",
            &[
                "persist failure server_error retry +0ms (4 in a row)",
                "schedule +0ms",
                "persist state backing_off",
                "publish backing_off Settled after 1 forced",
            ],
        ),
        // A diverged history: a protocol stop.
        row(
            "the history diverged: recorded, nothing scheduled",
            vec![started(), Wake],
            diverged(),
            "diverged",
            DIVERGES,
        ),
        row(
            "start diverged: nothing runs, also after a restart",
            vec![],
            started_diverged(),
            "diverged",
            &[
                "persist state diverged",
                "publish diverged Settled after 0 forced",
            ],
        ),
        row(
            "sync now while diverged: refused, saying why",
            vec![started_diverged()],
            SyncNow,
            "diverged",
            &[
                "reply refused: this till's history differs from the back office's; enrol it as a \
               new terminal (see Settings)",
            ],
        ),
        row(
            "a local write while diverged: shown, nothing scheduled",
            vec![started(), Wake, diverged()],
            LocalWrite,
            "diverged",
            &["publish diverged Settled after 1 forced"],
        ),
        row(
            "pause while diverged: recorded, the state stays",
            vec![started_diverged()],
            Pause,
            "diverged",
            &["persist paused true"],
        ),
        row(
            "resume while diverged: recorded, nothing runs",
            vec![started_diverged(), Pause],
            Resume,
            "diverged",
            &["persist paused false"],
        ),
        row(
            "a wake while diverged: nothing",
            vec![started_diverged()],
            Wake,
            "diverged",
            &[],
        ),
        // A refused push chain: a protocol stop of its own.
        row(
            "the push chain was refused: recorded, nothing scheduled",
            vec![started(), Wake],
            failed(FailureKind::JournalBreak, "journal_break"),
            "journal_break",
            CHAIN_REFUSED,
        ),
        row(
            "sync now after the push chain was refused, also after a restart: a person asks \
             again (the back office may have been reanchored)",
            vec![started_journal_break(false)],
            SyncNow,
            "journal_break",
            &["persist chain retried", "schedule +0ms", "reply accepted"],
        ),
        row(
            "asked again after a refused push chain: a real cycle",
            vec![started_journal_break(false), SyncNow],
            Wake,
            "syncing",
            FIRST_CYCLE,
        ),
        row(
            "refused again: the stop comes back",
            vec![started_journal_break(false), SyncNow, Wake],
            failed(FailureKind::JournalBreak, "journal_break"),
            "journal_break",
            CHAIN_REFUSED,
        ),
        row(
            "sync now after the push chain was refused while paused: refused, saying why",
            vec![started_journal_break(true)],
            SyncNow,
            "journal_break",
            &[
                "reply refused: the back office refused this till's push chain (a queued sale \
               changed after it was recorded); sync stays stopped until someone looks",
            ],
        ),
        row(
            "a wake after the push chain was refused: nothing",
            vec![started_journal_break(false)],
            Wake,
            "journal_break",
            &[],
        ),
        row(
            "diverged while paused: the stop is what shows",
            vec![started(), Wake, Pause],
            diverged(),
            "diverged",
            DIVERGES,
        ),
        foreground(row(
            "drain diverged: nothing scheduled, so the drain ends with the error",
            vec![started(), Wake],
            diverged(),
            "diverged",
            DIVERGES,
        )),
        // Shutdown.
        row(
            "shutdown while idle: stopped",
            vec![started()],
            Shutdown,
            "stopped",
            &[
                "persist state stopped",
                "publish stopped Settled after 0 forced",
                "exit",
            ],
        ),
        row(
            "shutdown during a cycle: the batch in flight gets a grace",
            vec![started(), Wake],
            Shutdown,
            "syncing",
            &["stop cycle", "abandon at +5000ms"],
        ),
        row(
            "the cycle ends within the grace: its answer recorded, then stopped",
            vec![started(), Wake, Shutdown],
            done(true),
            "stopped",
            &[
                "persist success +0ms",
                "schedule +30000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
                "persist state stopped",
                "publish stopped Settled after 1 forced",
                "exit",
            ],
        ),
        row(
            "the grace runs out: the batch in flight is abandoned, queued",
            vec![started(), Wake, Shutdown],
            GraceElapsed,
            "stopped",
            &[
                "abandon cycle",
                "persist failure no_answer retry +0ms (1 in a row)",
                "schedule +0ms",
                "persist state backing_off",
                "publish backing_off Settled after 1 forced",
                "persist state stopped",
                "publish stopped Settled after 1 forced",
                "exit",
            ],
        ),
        row(
            "the grace without a shutdown: nothing",
            vec![started(), Wake],
            GraceElapsed,
            "syncing",
            &[],
        ),
        row(
            "every handle dropped while idle: stopped",
            vec![started()],
            CommandsClosed,
            "stopped",
            &[
                "persist state stopped",
                "publish stopped Settled after 0 forced",
                "exit",
            ],
        ),
        row(
            "every handle dropped during a cycle: it stops, then the engine",
            vec![started(), Wake, CommandsClosed],
            done(false),
            "stopped",
            &[
                "persist success +0ms",
                "schedule +1000ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
                "persist state stopped",
                "publish stopped Settled after 1 forced",
                "exit",
            ],
        ),
        row(
            "a stopped engine does nothing more",
            vec![started(), Shutdown],
            SyncNow,
            "stopped",
            &[],
        ),
        // Snapshots while a cycle runs.
        row(
            "the status tick during a cycle: a throttled snapshot",
            vec![started(), Wake],
            Tick,
            "syncing",
            &["publish syncing During after 0"],
        ),
        row(
            "the status tick between cycles: nothing",
            vec![started()],
            Tick,
            "idle",
            &[],
        ),
        // In the foreground (`drain`).
        foreground(row(
            "drain: the pause flag is not obeyed",
            vec![],
            started_paused(),
            "idle",
            &["publish idle Settled after 0 forced", "schedule +0ms"],
        )),
        foreground(row(
            "drain offline: every wake is a real cycle",
            vec![started(), Wake, unreachable()],
            Wake,
            "syncing",
            &[
                "persist state syncing",
                "publish syncing Settled after 1 forced",
                "start cycle",
            ],
        )),
        foreground(row(
            "drain: a backlog left is taken up at once",
            vec![started(), Wake],
            done(false),
            "idle",
            &[
                "persist success +0ms",
                "schedule +0ms",
                "persist state idle",
                "publish idle Settled after 1 forced",
            ],
        )),
    ]
}

#[test]
fn every_transition_of_the_table() {
    let origin = Instant::now();
    for row in table() {
        let mut machine = machine(row.mode, no_jitter());
        for event in row.given {
            machine.step(event, at(origin, Duration::ZERO));
        }
        let now = at(origin, LATER);
        let effects: Vec<String> = machine
            .step(row.event, now)
            .iter()
            .map(|e| render(e, now))
            .collect();
        assert_eq!(effects, row.effects, "{}: effects", row.why);
        assert_eq!(machine.state().name(), row.state, "{}: state", row.why);
    }
}

/// The waits of consecutive failures of `kind`, each cycle failing at the wake before.
fn waits(kind: FailureKind, failures: usize) -> (Vec<Duration>, Vec<u32>) {
    let policy = BackoffPolicy {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(600),
    };
    let mut machine = machine(Mode::Background, policy);
    let origin = Instant::now();
    let now = at(origin, Duration::ZERO);
    machine.step(started(), now);
    let (mut waits, mut counts) = (Vec::new(), Vec::new());
    for _ in 0..failures {
        machine.step(Event::Wake, now);
        for effect in machine.step(failed(kind, "server_error"), now) {
            match effect {
                Effect::Schedule(Some(wake)) => waits.push(wake - origin),
                Effect::Persist(Record::Failure {
                    failures_in_a_row, ..
                }) => counts.push(failures_in_a_row),
                _ => {}
            }
        }
    }
    (waits, counts)
}

#[test]
fn back_off_waits_are_jittered_within_a_ceiling_that_doubles_up_to_the_cap() {
    let (waits, counts) = waits(FailureKind::Retry { retry_after: None }, 10);
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<u32>>(),
        "each failure counted"
    );
    for (i, wait) in waits.iter().enumerate() {
        let ceiling = Duration::from_secs(1 << i).min(Duration::from_secs(60));
        assert!(*wait <= ceiling, "wait {i} ({wait:?}) within {ceiling:?}");
    }
    let distinct: std::collections::HashSet<_> = waits.iter().collect();
    assert!(distinct.len() > 5, "full jitter, not a ladder: {waits:?}");
}

#[test]
fn probes_while_offline_come_at_least_every_probe_interval() {
    let policy = BackoffPolicy {
        base: Duration::from_secs(60),
        cap: Duration::from_secs(600),
        max_retry_after: Duration::from_secs(600),
    };
    let mut machine = machine(Mode::Background, policy);
    let origin = Instant::now();
    let now = at(origin, Duration::ZERO);
    machine.step(started(), now);
    machine.step(Event::Wake, now);
    machine.step(unreachable(), now);
    for _ in 0..20 {
        assert_eq!(machine.step(Event::Wake, now), [Effect::Probe]);
        machine.step(Event::Probed { reachable: false }, now);
        let wake = machine.wake().map(|w| w - origin);
        assert!(
            wake.is_some_and(|w| w <= Duration::from_secs(10)),
            "a long back-off never delays noticing the server is back: {wake:?}"
        );
    }
}

#[test]
fn a_back_off_shows_and_records_the_same_retry_time() {
    let mut machine = machine(Mode::Background, no_jitter());
    let origin = Instant::now();
    let now = at(origin, Duration::ZERO);
    machine.step(started(), now);
    machine.step(Event::Wake, now);
    let retry = Some(Duration::from_secs(42));
    let effects = machine.step(
        failed(FailureKind::Retry { retry_after: retry }, "server_error"),
        now,
    );
    let recorded = effects.iter().find_map(|e| match e {
        Effect::Persist(Record::Failure {
            next_retry_at_ms, ..
        }) => *next_retry_at_ms,
        _ => None,
    });
    assert_eq!(recorded, Some(WALL + 42_000));
    assert_eq!(
        machine.state(),
        SyncState::BackingOff {
            until_ms: WALL + 42_000
        },
        "the status bar's countdown and a restart wait for the same moment"
    );
}

#[test]
fn failures_are_classified_from_the_cycles_error() {
    use super::error::SyncError;
    use super::transport::TransportError;
    let kind = |e: SyncError| Failure::of(&e).kind;
    assert_eq!(kind(SyncError::Busy), FailureKind::Busy);
    assert_eq!(kind(SyncError::NotEnrolled), FailureKind::NotEnrolled);
    assert_eq!(
        kind(SyncError::Transport(TransportError::Unauthorized {
            status: 401,
            message: "revoked".into(),
        })),
        FailureKind::Auth
    );
    assert_eq!(
        kind(SyncError::Transport(TransportError::Unreachable(
            "refused".into()
        ))),
        FailureKind::Unreachable
    );
    assert_eq!(
        kind(SyncError::Transport(TransportError::RateLimited {
            retry_after: Some(Duration::from_secs(9)),
        })),
        FailureKind::Retry {
            retry_after: Some(Duration::from_secs(9))
        },
        "the server's Retry-After is kept"
    );
    assert_eq!(
        kind(SyncError::Protocol("gap".into())),
        FailureKind::Retry { retry_after: None },
        "anything else backs off"
    );
    assert_eq!(
        kind(SyncError::Diverged("seq_reused".into())),
        FailureKind::Diverged,
        "a diverged history is a protocol stop, never retried"
    );
    let failure = Failure::of(&SyncError::NotEnrolled);
    assert_eq!(
        failure.error.code, "not_enrolled",
        "the code the UI switches on"
    );
}
