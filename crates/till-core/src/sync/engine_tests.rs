//! The engine's state machine driven with paused tokio time and a scripted transport: back-off
//! grows with jitter up to the cap, `Retry-After` is honoured, triggers coalesce, a 401 stops
//! sync, shutdown is clean.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use till_protocol::{
    Ack, CustomerFields, Health, MutationResult, Outcome, PullResponse, PushRequest, PushResponse,
    WhoAmI,
};
use tokio::time::Instant;
use uuid::Uuid;

use super::status::NoSink;
use super::transport::{BoxFuture, Transport, TransportError};
use super::*;
use crate::outbox;
use crate::store::Store;
use crate::Clock;

/// Wall time that follows tokio's (paused) clock.
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        1_700_000_000_000 + self.origin.elapsed().as_millis() as i64
    }
}

/// What the scripted server does with the next push.
#[derive(Clone)]
enum Step {
    Fail(TransportError),
    /// Answer after this long.
    SlowOk(Duration),
}

#[derive(Default)]
struct Script {
    steps: Mutex<VecDeque<Step>>,
    /// When each push arrived.
    pushes: Mutex<Vec<Instant>>,
    applied: Mutex<u64>,
    /// The last sequence applied, as the ack tells it.
    last_seq: Mutex<u64>,
    /// The health probe fails while this is set (the server is down).
    health_down: std::sync::atomic::AtomicBool,
}

struct Scripted(Arc<Script>);

impl Transport for Scripted {
    fn push(&self, body: Vec<u8>) -> BoxFuture<'_, Result<PushResponse, TransportError>> {
        Box::pin(async move {
            if let Ok(mut p) = self.0.pushes.lock() {
                p.push(Instant::now());
            }
            let step = self.0.steps.lock().ok().and_then(|mut s| s.pop_front());
            match step {
                Some(Step::Fail(e)) => return Err(e),
                Some(Step::SlowOk(d)) => tokio::time::sleep(d).await,
                None => {}
            }
            let request: PushRequest = serde_json::from_slice(&body)
                .map_err(|e| TransportError::Malformed(e.to_string()))?;
            let results = request
                .mutations
                .iter()
                .map(|m| MutationResult {
                    mutation_id: m.id,
                    seq: m.seq,
                    outcome: Outcome::Applied {
                        server_id: m.seq as i64,
                        server_number: None,
                        version: 1,
                    },
                    stored: None,
                })
                .collect::<Vec<_>>();
            let last = request.mutations.last().map_or(0, |m| m.seq);
            if let Ok(mut a) = self.0.applied.lock() {
                *a += results.len() as u64;
            }
            if let Ok(mut l) = self.0.last_seq.lock() {
                *l = (*l).max(last);
            }
            Ok(PushResponse {
                results,
                last_applied_seq: last,
                server_time_ms: 1_700_000_000_000,
                head: None,
            })
        })
    }

    fn pull(&self, cursor: u64, _: u32) -> BoxFuture<'_, Result<PullResponse, TransportError>> {
        Box::pin(async move {
            Ok(PullResponse {
                changes: vec![],
                cursor,
                has_more: false,
                server_time_ms: 1_700_000_000_000,
            })
        })
    }

    fn ack(&self, terminal_id: Uuid) -> BoxFuture<'_, Result<Ack, TransportError>> {
        Box::pin(async move {
            Ok(Ack {
                terminal_id,
                last_applied_seq: self.0.last_seq.lock().map_or(0, |l| *l),
                settled: None,
            })
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<Health, TransportError>> {
        Box::pin(async move {
            if self.0.health_down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(TransportError::Unreachable("connection refused".into()));
            }
            Ok(Health {
                status: "ok".into(),
                version: "test".into(),
                server_time_ms: 0,
            })
        })
    }

    fn whoami(&self) -> BoxFuture<'_, Result<WhoAmI, TransportError>> {
        Box::pin(async move { Err(TransportError::Malformed("not scripted".into())) })
    }

    fn register_key(
        &self,
        _: Uuid,
        key: till_protocol::bundle::TerminalKey,
    ) -> BoxFuture<'_, Result<till_protocol::bundle::TerminalKey, TransportError>> {
        Box::pin(async move { Ok(key) })
    }

    /// A script moves no bytes.
    fn take_tally(&self) -> super::wire::WireTally {
        super::wire::WireTally::default()
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    script: Arc<Script>,
    handle: SyncHandle,
}

fn config() -> SyncConfig {
    SyncConfig {
        tick: Duration::from_secs(3600),
        backlog_tick: Duration::from_secs(3600),
        debounce: Duration::from_millis(100),
        backoff: BackoffPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        },
        ..SyncConfig::default()
    }
}

fn queue_customer(store: &Store, name: &str) {
    let mut conn = store.connect().expect("connects");
    customers::save(
        &mut conn,
        None,
        CustomerFields {
            name: name.into(),
            ..CustomerFields::default()
        },
        &crate::SystemClock,
    )
    .expect("a customer is saved and queued");
}

/// Starts an engine on `store` whose server follows `steps`.
fn spawn_scripted(store: &Store, steps: Vec<Step>) -> (Arc<Script>, SyncHandle) {
    let script = Arc::new(Script {
        steps: Mutex::new(steps.into()),
        ..Script::default()
    });
    let handle = SyncEngine::spawn(
        store.clone(),
        Uuid::now_v7(),
        config(),
        Arc::new(Scripted(Arc::clone(&script))),
        Arc::new(NoSink),
        Arc::new(TokioClock {
            origin: Instant::now(),
        }),
    )
    .expect("the engine starts");
    (script, handle)
}

fn rig(steps: Vec<Step>) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store opens");
    queue_customer(&store, "Ann");
    let (script, handle) = spawn_scripted(&store, steps);
    Rig {
        _dir: dir,
        store,
        script,
        handle,
    }
}

fn pushes(script: &Script) -> Vec<Instant> {
    script.pushes.lock().map(|p| p.clone()).unwrap_or_default()
}

fn unavailable() -> TransportError {
    TransportError::Server {
        status: 503,
        code: "busy".into(),
        message: "down".into(),
        retry_after: None,
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_with_jitter_up_to_the_cap() {
    let rig = rig(vec![Step::Fail(unavailable()); 12]);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let at = pushes(&rig.script);
    assert_eq!(at.len(), 13, "12 failures then the success");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let ceiling = Duration::from_secs(1u64 << i.min(20)).min(Duration::from_secs(60));
        assert!(
            *gap <= ceiling + Duration::from_millis(5),
            "wait {i} ({gap:?}) stays within its ceiling {ceiling:?}"
        );
    }
    let distinct: std::collections::HashSet<_> = gaps.iter().collect();
    assert!(
        distinct.len() > 6,
        "waits are jittered, not a fixed ladder: {gaps:?}"
    );
    assert_eq!(
        rig.handle.status().state,
        SyncState::Idle,
        "recovered after the outage"
    );
    assert_eq!(rig.handle.status().pending, 0);
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let rig = rig(vec![Step::Fail(TransportError::RateLimited {
        retry_after: Some(Duration::from_secs(120)),
    })]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let status = rig.handle.status();
    assert!(
        matches!(status.state, SyncState::BackingOff { .. }),
        "429 backs off: {status:?}"
    );
    assert!(status.next_retry_at_ms.is_some(), "the next retry is shown");
    tokio::time::sleep(Duration::from_secs(600)).await;
    let at = pushes(&rig.script);
    assert_eq!(at.len(), 2);
    assert!(
        at[1] - at[0] >= Duration::from_secs(120),
        "the server asked for 120 s; waited {:?}",
        at[1] - at[0]
    );
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn triggers_during_a_sync_coalesce_into_one_follow_up() {
    let rig = rig(vec![Step::SlowOk(Duration::from_secs(10))]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        pushes(&rig.script).len(),
        1,
        "the start-up cycle is pushing"
    );
    for _ in 0..5 {
        queue_customer(&rig.store, "Bob");
        rig.handle.notify_local_write();
        let answer = rig.handle.sync_now().await;
        assert!(answer.accepted);
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    let cycles = rig.handle.status().completed_cycles;
    assert_eq!(
        cycles, 2,
        "five triggers during a cycle make exactly one follow-up"
    );
    assert_eq!(
        *rig.script.applied.lock().expect("lock"),
        6,
        "every item sent once"
    );
    assert_eq!(rig.handle.status().pending, 0);
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_stops_sync_until_asked_again() {
    let rig = rig(vec![Step::Fail(TransportError::Unauthorized {
        status: 401,
        message: "revoked".into(),
    })]);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(rig.handle.status().state, SyncState::AuthError);
    assert_eq!(
        pushes(&rig.script).len(),
        1,
        "no retries against a refused token"
    );
    assert_eq!(rig.handle.status().pending, 1, "nothing dropped");
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_batch_in_flight() {
    let rig = rig(vec![Step::SlowOk(Duration::from_secs(5))]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.handle.shutdown().await;
    assert_eq!(rig.handle.status().state, SyncState::Stopped);
    assert_eq!(
        rig.handle.status().pending,
        0,
        "the answer of the batch was recorded"
    );
    let answer = rig.handle.sync_now().await;
    assert!(!answer.accepted, "a stopped engine says so");
}

#[tokio::test(start_paused = true)]
async fn pause_holds_local_writes_until_resume() {
    let rig = rig(vec![]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.handle.pause();
    tokio::time::sleep(Duration::from_millis(10)).await;
    queue_customer(&rig.store, "Cy");
    rig.handle.notify_local_write();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(rig.handle.status().state, SyncState::Paused);
    assert_eq!(rig.handle.status().pending, 1, "paused: the write waits");
    rig.handle.resume();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rig.handle.status().pending, 0, "resumed: the write is sent");
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_abandons_a_batch_the_server_never_answers_and_keeps_it_queued() {
    let rig = rig(vec![Step::SlowOk(Duration::from_secs(3600))]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    rig.handle.shutdown().await;
    assert!(
        started.elapsed() <= Duration::from_secs(6),
        "shutdown waits the grace period, not the server"
    );
    assert_eq!(rig.handle.status().state, SyncState::Stopped);
    let conn = rig.store.connect().expect("connects");
    let counts = crate::outbox::counts(&conn).expect("counts");
    assert_eq!(
        counts.pending + counts.in_flight,
        1,
        "the abandoned item is still queued, to be resent after an ack"
    );
}

#[tokio::test(start_paused = true)]
async fn sync_now_while_offline_runs_a_cycle_and_answers() {
    let refused = || Step::Fail(TransportError::Unreachable("connection refused".into()));
    let rig = rig(vec![refused(), refused()]);
    rig.script
        .health_down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rig.handle.status().state, SyncState::Offline);
    let before = rig.handle.status().completed_cycles;
    let answer = rig.handle.sync_now().await;
    assert!(answer.accepted, "a manual sync is accepted while offline");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = rig.handle.status();
    assert_eq!(
        status.completed_cycles,
        before + 1,
        "the person who pressed Sync now gets a finished cycle, not a silent probe"
    );
    assert_eq!(pushes(&rig.script).len(), 2, "the manual sync really tried");
    assert_eq!(status.state, SyncState::Offline);
    assert!(status.last_error.is_some(), "the answer says why it failed");
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_keeps_its_items_queued_and_backs_off() {
    let refused = || {
        Step::Fail(TransportError::Refused {
            status: 422,
            code: "invalid_json".into(),
            message: "unknown field".into(),
        })
    };
    let rig = rig((0..50).map(|_| refused()).collect());
    tokio::time::sleep(Duration::from_secs(60)).await;
    let status = rig.handle.status();
    assert_eq!(
        status.failed, 0,
        "the server settled nothing, so nothing may leave the sequence: {status:?}"
    );
    assert_eq!(status.pending, 1, "the item stays queued in order");
    assert!(
        matches!(status.state, SyncState::BackingOff { .. }),
        "a refused request backs off instead of hammering the server: {status:?}"
    );
    assert_eq!(
        status.last_error.as_ref().map(|e| e.code.as_str()),
        Some("request_refused"),
        "the status says why"
    );
    let tries = pushes(&rig.script).len();
    assert!(
        (2..=10).contains(&tries),
        "retries space out exponentially instead of hammering: {tries} in a minute"
    );
    rig.handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_batch_prepared_ahead_goes_back_to_waiting_when_the_answer_before_it_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store opens");
    for i in 0..150 {
        queue_customer(&store, &format!("Customer {i}"));
    }
    let (script, handle) = spawn_scripted(
        &store,
        vec![Step::Fail(TransportError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        })],
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let conn = store.connect().expect("connects");
    let counts = outbox::counts(&conn).expect("counts");
    assert_eq!(
        (counts.in_flight, counts.pending),
        (100, 50),
        "only the batch that was sent is in doubt; the one prepared behind it was never sent"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    let counts = outbox::counts(&conn).expect("counts");
    assert_eq!(
        (counts.applied, counts.in_flight, counts.pending),
        (150, 0, 0)
    );
    assert_eq!(
        *script.applied.lock().expect("lock"),
        150,
        "each item reached the server once"
    );
    handle.shutdown().await;
}
