//! The circuit breaker with real processes: a real `till-server` behind the fault proxy answers
//! every request with a 503, or lets it hang past the till's timeout. The app's engine opens the
//! circuit after its run of server faults, and from then on asks nothing but `/v1/health` (the
//! proxy's request log says so), also after a restart; `tillctl status --json` says
//! `circuit_open`. Once the back office recovers a probe closes the circuit and the backlog
//! drains, every sale exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use till_core::store::Store;
use till_core::sync::status::NoSink;
use till_core::sync::transport::Timeouts;
use till_core::sync::{BackoffPolicy, SyncConfig, SyncEngine, SyncHandle, SyncState};
use till_e2e::proxy::{Fault, FaultPlan, FaultProxy};
use till_e2e::*;

const HEALTH: &str = "GET /v1/health";

/// Fast back-off, the default threshold of five faults, and a tick too slow to matter.
fn config() -> SyncConfig {
    SyncConfig {
        tick: Duration::from_secs(3600),
        backoff: BackoffPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            ..BackoffPolicy::default()
        },
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(1),
        },
        ..SyncConfig::default()
    }
}

fn spawn(till: &std::path::Path) -> SyncHandle {
    let store = Store::open(till).expect("the till's store opens");
    SyncEngine::spawn_enrolled(store, config(), Arc::new(NoSink)).expect("the engine starts")
}

/// Waits up to `secs` for the engine's state to be `circuit_open`.
async fn until_open(handle: &SyncHandle, secs: u64, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !matches!(handle.status().state, SyncState::CircuitOpen { .. }) {
        assert!(
            Instant::now() < deadline,
            "{why}: the circuit opens, not {:?}",
            handle.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that for `secs` the proxy sees nothing but health probes, and some of those.
async fn only_probes_for(proxy: &FaultProxy, secs: u64, why: &str) {
    let before = proxy.requests().len();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let since: Vec<String> = proxy.requests().split_off(before);
    assert!(
        since.iter().all(|r| r == HEALTH),
        "{why}: no batch and no pull while the circuit is open: {since:?}"
    );
    assert!(
        !since.is_empty(),
        "{why}: the back office's health is probed meanwhile"
    );
}

/// A till with `sales` rung up, enrolled through a proxy that treats every request with
/// `fault` once enrolment is done.
async fn till_behind(fault: Fault, sales: &str) -> Rig {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-breaker").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::Always(fault))
        .await
        .expect("the proxy starts");
    proxy.heal();
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &proxy.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till.path(), &["ring-up", "--demo", sales]).await;
    proxy.unheal();
    Rig {
        server_dir,
        till,
        server,
        terminal_id,
        proxy,
    }
}

struct Rig {
    server_dir: tempfile::TempDir,
    till: tempfile::TempDir,
    server: Server,
    terminal_id: String,
    proxy: FaultProxy,
}

impl Rig {
    /// Heals the link and waits for the engine to drain, then checks every sale arrived once.
    async fn recovers(self, handle: &SyncHandle) {
        self.proxy.heal();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = handle.status();
            if status.state == SyncState::Idle && status.pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a probe closes the circuit once the back office answers, and the queue drains: \
                 {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handle.shutdown().await;
        assert_delivered_exactly_once(self.server_dir.path(), self.till.path(), &self.terminal_id)
            .await;
        self.server.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_office_answering_503_opens_the_circuit_until_it_recovers() {
    let rig = till_behind(Fault::Status(503), "20").await;
    let handle = spawn(rig.till.path());
    until_open(&handle, 60, "five 503s in a row").await;
    let faults = rig
        .proxy
        .requests()
        .iter()
        .filter(|r| r.as_str() != HEALTH)
        .count();
    assert!(
        faults >= 5,
        "the circuit opened after a run of server errors"
    );
    only_probes_for(&rig.proxy, 2, "503s").await;

    let shown = status(rig.till.path()).await;
    assert_eq!(
        shown["state"], "circuit_open",
        "tillctl status in another process shows the open circuit: {shown}"
    );

    // A restart keeps the circuit open: still nothing but probes.
    handle.shutdown().await;
    let handle = spawn(rig.till.path());
    until_open(&handle, 5, "after a restart").await;
    only_probes_for(&rig.proxy, 2, "after a restart").await;

    rig.recovers(&handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_office_that_never_answers_opens_the_circuit_until_it_recovers() {
    let rig = till_behind(Fault::Delay(Duration::from_secs(3)), "10").await;
    let handle = spawn(rig.till.path());
    until_open(&handle, 60, "five requests timed out in a row").await;
    only_probes_for(&rig.proxy, 3, "timeouts").await;
    rig.recovers(&handle).await;
}
