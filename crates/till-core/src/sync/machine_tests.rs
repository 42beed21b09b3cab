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
        circuit_threshold: 3,
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
        faults_in_a_row: 0,
        stop: None,
    }
}

fn started_paused() -> Event {
    Event::Started {
        paused: true,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        faults_in_a_row: 0,
        stop: None,
    }
}

/// Started on a till whose history diverged before a restart.
fn started_diverged() -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        faults_in_a_row: 0,
        stop: Some(Stop::Diverged),
    }
}

/// Started after the back office refused the till's push chain, `paused` or not.
fn started_journal_break(paused: bool) -> Event {
    Event::Started {
        paused,
        next_retry_at_ms: None,
        failures_in_a_row: 0,
        faults_in_a_row: 0,
        stop: Some(Stop::JournalBreak),
    }
}

/// Started with a retry time recorded `ms` after the event under test.
fn started_retrying_in(ms: i64) -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: Some(WALL + i64::try_from(LATER.as_millis()).unwrap_or(0) + ms),
        failures_in_a_row: 3,
        faults_in_a_row: 0,
        stop: None,
    }
}

/// Started with `faults` server faults in a row recorded before a restart, and a retry time
/// recorded `ms` after the event under test.
fn started_with_faults(faults: u32, ms: i64) -> Event {
    Event::Started {
        paused: false,
        next_retry_at_ms: Some(WALL + i64::try_from(LATER.as_millis()).unwrap_or(0) + ms),
        failures_in_a_row: faults,
        faults_in_a_row: faults,
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

/// A 5xx from the back office.
fn server_error() -> Event {
    failed(
        FailureKind::ServerFault { retry_after: None },
        "server_error",
    )
}

/// A request the back office never answered.
fn timed_out() -> Event {
    failed(FailureKind::ServerFault { retry_after: None }, "no_answer")
}

/// The events that open the circuit (the table's threshold is three server faults in a row).
fn circuit_opened() -> Vec<Event> {
    use Event::*;
    vec![
        started(),
        Wake,
        server_error(),
        Wake,
        timed_out(),
        Wake,
        server_error(),
    ]
}

/// `circuit_opened`, then `more`.
fn circuit_opened_then(more: Vec<Event>) -> Vec<Event> {
    let mut events = circuit_opened();
    events.extend(more);
    events
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
            faults_in_a_row,
        }) => format!(
            "persist failure {} retry {} ({failures_in_a_row} in a row{})",
            error.code,
            next_retry_at_ms.map_or("none".into(), wall),
            if *faults_in_a_row > 0 {
                format!(", server faults {faults_in_a_row}")
            } else {
                String::new()
            }
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
        // The circuit breaker.
        row(
            "server faults short of the threshold: backing off",
            vec![started(), Wake, server_error(), Wake],
            timed_out(),
            "backing_off",
            &[
                "persist failure no_answer retry +0ms (2 in a row, server faults 2)",
                "schedule +0ms",
                "persist state backing_off",
                "publish backing_off Settled after 2 forced",
            ],
        ),
        row(
            "the threshold of server faults in a row: the circuit opens",
            vec![started(), Wake, server_error(), Wake, timed_out(), Wake],
            server_error(),
            "circuit_open",
            &[
                "persist failure server_error retry +0ms (3 in a row, server faults 3)",
                "schedule +0ms",
                "persist state circuit_open",
                "publish circuit_open Settled after 3 forced",
            ],
        ),
        row(
            "another kind of failure breaks the run of server faults",
            vec![
                started(),
                Wake,
                server_error(),
                Wake,
                timed_out(),
                Wake,
                unreachable(),
                Wake,
                Probed { reachable: true },
            ],
            server_error(),
            "backing_off",
            &[
                "persist failure server_error retry +0ms (4 in a row, server faults 1)",
                "schedule +0ms",
                "persist state backing_off",
                "publish backing_off Settled after 4 forced",
            ],
        ),
        row(
            "a busy data dir neither counts nor breaks the run",
            vec![
                started(),
                Wake,
                server_error(),
                Wake,
                timed_out(),
                Wake,
                failed(FailureKind::Busy, "sync_busy"),
                Wake,
            ],
            server_error(),
            "circuit_open",
            &[
                "persist failure server_error retry +0ms (3 in a row, server faults 3)",
                "schedule +0ms",
                "persist state circuit_open",
                "publish circuit_open Settled after 4 forced",
            ],
        ),
        row(
            "a wake with the circuit open: only the health endpoint is asked",
            circuit_opened(),
            Wake,
            "circuit_open",
            &["probe"],
        ),
        row(
            "the probe fails: the circuit stays open, the next probe after a back-off",
            circuit_opened_then(vec![Wake]),
            Probed { reachable: false },
            "circuit_open",
            &[
                "schedule +0ms",
                "persist state circuit_open",
                "publish circuit_open Settled after 3 forced",
            ],
        ),
        row(
            "the probe answers: half-open, one cycle runs",
            circuit_opened_then(vec![Wake]),
            Probed { reachable: true },
            "syncing",
            &[
                "persist state syncing",
                "publish syncing Settled after 3 forced",
                "start cycle",
            ],
        ),
        row(
            "a server fault in the half-open cycle: the circuit opens again",
            circuit_opened_then(vec![Wake, Probed { reachable: true }]),
            timed_out(),
            "circuit_open",
            &[
                "persist failure no_answer retry +0ms (4 in a row, server faults 4)",
                "schedule +0ms",
                "persist state circuit_open",
                "publish circuit_open Settled after 4 forced",
            ],
        ),
        row(
            "the half-open cycle succeeds: the circuit closes",
            circuit_opened_then(vec![Wake, Probed { reachable: true }]),
            done(true),
            "idle",
            &[
                "persist success +0ms",
                "schedule +30000ms",
                "persist state idle",
                "publish idle Settled after 4 forced",
            ],
        ),
        row(
            "sync now with the circuit open: accepted, a probe at once",
            circuit_opened(),
            SyncNow,
            "circuit_open",
            &["schedule +0ms", "reply accepted"],
        ),
        row(
            "asked with the circuit open: still the probe first, a cycle once it answers",
            circuit_opened_then(vec![SyncNow]),
            Wake,
            "circuit_open",
            &["probe"],
        ),
        row(
            "a local write with the circuit open: shown, nothing sent",
            circuit_opened(),
            LocalWrite,
            "circuit_open",
            &["publish circuit_open Settled after 3 forced"],
        ),
        row(
            "pause with the circuit open: nothing runs",
            circuit_opened(),
            Pause,
            "paused",
            &[
                "schedule none",
                "persist paused true",
                "persist state paused",
                "publish paused Settled after 3 forced",
            ],
        ),
        row(
            "resume after a pause with the circuit open: one cycle tries, as if half-open",
            circuit_opened_then(vec![Pause]),
            Resume,
            "idle",
            &[
                "persist paused false",
                "schedule +0ms",
                "persist state idle",
                "publish idle Settled after 3 forced",
            ],
        ),
        row(
            "start with the circuit open before a restart: the recorded retry time is the next \
             probe's",
            vec![],
            started_with_faults(3, 30_000),
            "circuit_open",
            &[
                "persist state circuit_open",
                "publish circuit_open Settled after 0 forced",
                "schedule +30000ms",
            ],
        ),
        row(
            "restarted with the circuit open: the first wake is a probe",
            vec![started_with_faults(3, -1)],
            Wake,
            "circuit_open",
            &["probe"],
        ),
        row(
            "server faults recorded before a restart count on",
            vec![started_with_faults(2, -1), Wake],
            server_error(),
            "circuit_open",
            &[
                "persist failure server_error retry +0ms (3 in a row, server faults 3)",
                "schedule +0ms",
                "persist state circuit_open",
                "publish circuit_open Settled after 1 forced",
            ],
        ),
        foreground(row(
            "drain with the circuit open: a probe, not a batch",
            circuit_opened(),
            Wake,
            "circuit_open",
            &["probe"],
        )),
        // Nudges: the window gained focus, the network came back.
        row(
            "a nudge while idle with nothing to send: nothing",
            vec![started(), Wake, done(true)],
            Nudge { pending: false },
            "idle",
            &[],
        ),
        row(
            "a nudge while idle with something to send: a cycle at once",
            vec![started(), Wake, done(true)],
            Nudge { pending: true },
            "idle",
            &["schedule +0ms"],
        ),
        row(
            "a nudge while offline: the health endpoint at once",
            vec![started(), Wake, unreachable()],
            Nudge { pending: false },
            "offline",
            &["probe"],
        ),
        row(
            "a nudge while backing off: the health endpoint at once",
            vec![started(), Wake, server_error()],
            Nudge { pending: true },
            "backing_off",
            &["probe"],
        ),
        row(
            "a nudge with the circuit open: the health endpoint at once",
            circuit_opened(),
            Nudge { pending: true },
            "circuit_open",
            &["probe"],
        ),
        row(
            "the probe of a nudge answers: a cycle",
            vec![started(), Wake, unreachable(), Nudge { pending: true }],
            Probed { reachable: true },
            "syncing",
            &[
                "schedule none",
                "persist state syncing",
                "publish syncing Settled after 1 forced",
                "start cycle",
            ],
        ),
        row(
            "the probe of a nudge from a back-off finds no server: offline",
            vec![started(), Wake, server_error(), Nudge { pending: true }],
            Probed { reachable: false },
            "offline",
            &[
                "persist state offline",
                "publish offline Settled after 1 forced",
            ],
        ),
        row(
            "a nudge during a cycle: nothing, the cycle is talking to the server",
            vec![started(), Wake],
            Nudge { pending: true },
            "syncing",
            &[],
        ),
        row(
            "a nudge while a probe is out: nothing",
            vec![started(), Wake, unreachable(), Wake],
            Nudge { pending: true },
            "offline",
            &[],
        ),
        row(
            "a nudge while paused: nothing",
            vec![started_paused()],
            Nudge { pending: true },
            "paused",
            &[],
        ),
        row(
            "a nudge while diverged: nothing",
            vec![started_diverged()],
            Nudge { pending: true },
            "diverged",
            &[],
        ),
        row(
            "a nudge with a refused token: nothing",
            vec![started(), Wake, failed(FailureKind::Auth, "unauthorized")],
            Nudge { pending: true },
            "auth_error",
            &[],
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
                "persist failure no_answer retry +0ms (1 in a row, server faults 1)",
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

/// A jittered back-off from one second up to a minute.
fn jittered() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(600),
    }
}

/// The waits of consecutive failures of `kind`, each cycle failing at the wake before.
fn waits(kind: FailureKind, failures: usize) -> (Vec<Duration>, Vec<u32>) {
    let mut machine = machine(Mode::Background, jittered());
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
fn nudges_act_at_most_once_per_gap() {
    let mut machine = machine(Mode::Background, no_jitter());
    let origin = Instant::now();
    let t = |after| at(origin, after);
    machine.step(started(), t(Duration::ZERO));
    machine.step(Event::Wake, t(Duration::ZERO));
    machine.step(unreachable(), t(Duration::ZERO));
    let nudge = Event::Nudge { pending: true };
    let first = Duration::from_secs(1);
    assert_eq!(machine.step(nudge.clone(), t(first)), [Effect::Probe]);
    machine.step(Event::Probed { reachable: false }, t(first));
    let soon = first + NUDGE_GAP - Duration::from_millis(1);
    assert_eq!(
        machine.step(nudge.clone(), t(soon)),
        [],
        "a burst of focus changes is one probe, not a storm"
    );
    assert_eq!(
        machine.step(nudge, t(first + NUDGE_GAP)),
        [Effect::Probe],
        "after the gap a nudge acts again"
    );
}

#[test]
fn a_zero_threshold_never_opens_the_circuit() {
    let mut machine = Machine::new(
        Timing {
            circuit_threshold: 0,
            ..timing(no_jitter())
        },
        Mode::Background,
        StdRng::seed_from_u64(7),
    );
    let now = at(Instant::now(), Duration::ZERO);
    machine.step(started(), now);
    for _ in 0..20 {
        machine.step(Event::Wake, now);
        machine.step(server_error(), now);
        assert!(
            matches!(machine.state(), SyncState::BackingOff { .. }),
            "without a breaker a failing back office is retried with back-off, as before"
        );
    }
}

#[test]
fn probes_of_an_open_circuit_back_off_up_to_the_cap() {
    let mut machine = machine(Mode::Background, jittered());
    let origin = Instant::now();
    let now = at(origin, Duration::ZERO);
    circuit_opened()
        .into_iter()
        .for_each(|event| drop(machine.step(event, now)));
    let mut waits = Vec::new();
    for _ in 0..12 {
        let probe = machine.step(Event::Wake, now);
        assert_eq!(probe, [Effect::Probe], "only the health endpoint is asked");
        machine.step(Event::Probed { reachable: false }, now);
        let wake = machine.wake().map(|w| w - origin);
        let SyncState::CircuitOpen { until_ms } = machine.state() else {
            panic!("the circuit stays open while the probe fails");
        };
        let shown =
            Duration::from_millis(u64::try_from(until_ms - WALL).expect("the probe is ahead"));
        assert_eq!(
            wake,
            Some(shown),
            "the status bar counts down to the probe that comes"
        );
        waits.push(shown);
    }
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(60)),
        "never beyond the cap: {waits:?}"
    );
    let distinct: std::collections::HashSet<_> = waits.iter().collect();
    assert!(
        distinct.len() > 3,
        "jittered, so tills do not probe in step: {waits:?}"
    );
}

#[test]
fn server_errors_and_timeouts_are_the_faults_that_open_the_circuit() {
    use super::error::SyncError;
    use super::transport::TransportError;
    let busy = TransportError::Server {
        status: 503,
        code: "busy".into(),
        message: "overloaded".into(),
        retry_after: Some(Duration::from_secs(2)),
    };
    let fault = |retry_after| FailureKind::ServerFault { retry_after };
    let retry = FailureKind::Retry { retry_after: None };
    let rows = [
        (
            busy,
            fault(Some(Duration::from_secs(2))),
            "a 5xx, its Retry-After kept",
        ),
        (
            TransportError::NoAnswer("timed out".into()),
            fault(None),
            "a timeout",
        ),
        (
            TransportError::RateLimited { retry_after: None },
            retry,
            "429 paces, not fails",
        ),
        (
            TransportError::Malformed("not json".into()),
            retry,
            "a malformed answer",
        ),
    ];
    for (error, expected, why) in rows {
        assert_eq!(
            Failure::of(&SyncError::Transport(error)).kind,
            expected,
            "{why}"
        );
    }
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
