//! The app's way of syncing: the engine actor running in-process against the real server through
//! a faulty network, while sales are rung up on another connection. It drains on its own
//! (local-write triggers, back-off, retries), publishes throttled snapshots, and delivers every
//! sale exactly once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use till_core::demo::DemoRng;
use till_core::store::Store;
use till_core::sync::transport::Timeouts;
use till_core::sync::{
    enrolment, BackoffPolicy, HttpTransport, ServerTrust, StatusSink, SyncConfig, SyncEngine,
    SyncState, SyncStatus,
};
use till_core::{catalog, SystemClock};
use till_e2e::proxy::{FaultPlan, FaultProxy};
use till_e2e::*;

#[derive(Default)]
struct Recorder {
    snapshots: Mutex<Vec<SyncStatus>>,
    synced: Mutex<usize>,
}

impl StatusSink for Recorder {
    fn publish(&self, status: &SyncStatus) {
        if let Ok(mut s) = self.snapshots.lock() {
            s.push(status.clone());
        }
    }

    fn tickets_synced(&self, tickets: &[(uuid::Uuid, Option<u64>)]) {
        if let Ok(mut n) = self.synced.lock() {
            *n += tickets.len();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_drains_sales_rung_up_while_it_runs_through_a_faulty_network() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-app").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::chaos(77))
        .await
        .expect("the proxy starts");
    proxy.heal();
    let store = Store::open(till.path()).expect("store opens");
    let enrolled = enrolment::enrol(&store, &proxy.url(), &token, &ServerTrust::default())
        .await
        .expect("enrols through the proxy");
    proxy.unheal();

    let recorder = Arc::new(Recorder::default());
    let transport = HttpTransport::new(
        &enrolled.server_url,
        &enrolled.token,
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        },
    )
    .expect("a client");
    let config = SyncConfig {
        batch_size: 5,
        debounce: Duration::from_millis(50),
        backoff: BackoffPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(500),
            ..BackoffPolicy::default()
        },
        ..SyncConfig::default()
    };
    let handle = SyncEngine::spawn(
        store.clone(),
        enrolled.terminal_id,
        config,
        Arc::new(transport),
        recorder.clone(),
        Arc::new(SystemClock),
    )
    .expect("the engine starts");

    // The cashier rings up 60 sales while the engine syncs in the background.
    let ring_up_store = store.clone();
    let sales = tokio::task::spawn_blocking(move || {
        let mut conn = ring_up_store.connect().expect("connects");
        let products = catalog::active_products(&conn).expect("catalog");
        let mut rng = DemoRng::new(5);
        for _ in 0..60 {
            ring_up_demo_sale(&mut conn, &mut rng, &products, 3);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    for _ in 0..60 {
        handle.notify_local_write();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sales.await.expect("ring-up finished");
    handle.notify_local_write();

    let mut drained = false;
    for _ in 0..600 {
        let status = handle.status();
        if status.pending == 0 && status.state == SyncState::Idle {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        drained,
        "the engine drains on its own: {:?}",
        handle.status()
    );
    proxy.heal();
    handle.shutdown().await;
    assert_eq!(handle.status().state, SyncState::Stopped);

    assert_delivered_exactly_once(server_dir.path(), till.path(), &terminal_id).await;
    let snapshots = recorder
        .snapshots
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    assert!(
        snapshots.iter().any(|s| s.state == SyncState::Syncing),
        "the sink saw the engine syncing"
    );
    assert!(
        snapshots.iter().any(|s| s.clock_offset_ms.is_some()),
        "the clock offset is measured on round trips"
    );
    assert_eq!(
        *recorder.synced.lock().expect("lock"),
        60,
        "every sale is announced as synced once"
    );
    server.kill().await;
}
