//! The system saying the network came back wakes the engine at once, long before its poll
//! would. A private `dbus-daemon` stands in for the system bus (the till finds it through
//! `DBUS_SYSTEM_BUS_ADDRESS`), and this test owns NetworkManager's name on it and emits
//! `StateChanged`. Without NetworkManager on the bus the watch says so once and ends.
#![cfg(target_os = "linux")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use till_core::store::Store;
use till_core::sync::network::{self, NETWORK_MANAGER, NETWORK_MANAGER_PATH};
use till_core::sync::status::NoSink;
use till_core::sync::{SyncConfig, SyncEngine, SyncState};
use till_e2e::proxy::{Fault, FaultPlan, FaultProxy};
use till_e2e::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `NM_STATE_DISCONNECTED` and `NM_STATE_CONNECTED_GLOBAL`.
const DISCONNECTED: u32 = 20;
const CONNECTED_GLOBAL: u32 = 70;

/// A private message bus, for as long as it is held.
struct Bus {
    address: String,
    _daemon: Child,
    _dir: tempfile::TempDir,
}

async fn private_bus() -> Bus {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = Command::new("dbus-daemon")
        .arg("--session")
        .arg("--nofork")
        .arg("--print-address=1")
        .arg(format!(
            "--address=unix:path={}",
            dir.path().join("bus").display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("dbus-daemon starts (Debian package dbus, see scripts/install-deps.sh)");
    let stdout = daemon.stdout.take().expect("stdout is piped");
    let address = tokio::time::timeout(Duration::from_secs(10), async {
        BufReader::new(stdout).lines().next_line().await
    })
    .await
    .ok()
    .and_then(Result::ok)
    .flatten()
    .expect("dbus-daemon prints its address once ready");
    Bus {
        address: address.trim().to_string(),
        _daemon: daemon,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_coming_back_wakes_the_engine_before_its_poll() {
    let bus = private_bus().await;
    // The one test of this file: nothing else here reads the environment meanwhile.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);

    let without = tokio::time::timeout(Duration::from_secs(10), network::watch(|| {})).await;
    assert!(
        without.is_ok(),
        "without NetworkManager on the bus the watch ends at once; polling stays"
    );

    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-network").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::Always(Fault::Pass))
        .await
        .expect("the proxy starts");
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &proxy.url(), "--token", &token],
    )
    .await;
    let config = SyncConfig {
        tick: Duration::from_secs(3600),
        ..SyncConfig::default()
    };
    let store = Store::open(till.path()).expect("the till's store opens");
    let handle =
        SyncEngine::spawn_enrolled(store, config, Arc::new(NoSink)).expect("the engine starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(handle.status().state == SyncState::Idle && handle.status().completed_cycles > 0) {
        assert!(Instant::now() < deadline, "the first cycle runs at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A sale rung up by another process: the engine does not know, and polls in an hour.
    tillctl_ok(till.path(), &["ring-up", "--demo", "1"]).await;
    let before = proxy.requests().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        proxy.requests().len(),
        before,
        "nothing wakes the engine yet"
    );

    let manager = zbus::connection::Builder::address(bus.address.as_str())
        .expect("a bus address")
        .name(NETWORK_MANAGER)
        .expect("a well-known name")
        .build()
        .await
        .expect("NetworkManager's stand-in owns its name");
    let nudged = handle.clone();
    let watch = tokio::spawn(network::watch(move || nudged.nudge()));
    let deadline = Instant::now() + Duration::from_secs(20);
    // Signals sent before the watch subscribed are lost: the network drops and comes back
    // until the engine is seen to wake.
    while proxy.requests().len() == before {
        assert!(
            Instant::now() < deadline,
            "the network coming back wakes the engine"
        );
        for state in [DISCONNECTED, CONNECTED_GLOBAL] {
            manager
                .emit_signal(
                    None::<&str>,
                    NETWORK_MANAGER_PATH,
                    NETWORK_MANAGER,
                    "StateChanged",
                    &state,
                )
                .await
                .expect("the signal goes out");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while handle.status().pending > 0 || handle.status().state != SyncState::Idle {
        assert!(Instant::now() < deadline, "the woken engine sends the sale");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watch.abort();
    handle.shutdown().await;
    assert_delivered_exactly_once(server_dir.path(), till.path(), &terminal_id).await;
    server.kill().await;
}
