//! A terminal syncing a backlog through a faulty network is killed with SIGKILL at random
//! (seeded) moments, and the server is killed and restarted at random moments too. After every
//! round the server holds no duplicate and no gap, and once the network heals the whole backlog
//! is there exactly once. 30 rounds here; `TILL_SOAK=1` runs 300 (`make soak`).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use till_e2e::proxy::{Fault, FaultPlan, FaultProxy};
use till_e2e::*;

fn rounds() -> usize {
    if std::env::var("TILL_SOAK").is_ok_and(|v| v == "1") {
        300
    } else {
        30
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_server_restarts_never_lose_or_duplicate_a_ticket() {
    let seed = std::env::var("TILL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4242u64);
    let mut rng = StdRng::seed_from_u64(seed);
    let server_dir = tempfile::tempdir().expect("temp dir");
    let terminal_dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-crash").await;
    let plan = FaultPlan::Random {
        seed,
        weights: vec![
            (Fault::Pass, 70),
            (Fault::Delay(Duration::from_millis(40)), 10),
            (Fault::ForwardThenReset, 8),
            (Fault::ResetBeforeForward, 4),
            (Fault::Status(503), 4),
            (Fault::Truncate, 4),
        ],
    };
    let proxy = FaultProxy::start(server.addr, plan)
        .await
        .expect("the proxy starts");
    proxy.heal();
    tillctl_ok(
        terminal_dir.path(),
        &["enrol", "--server", &proxy.url(), "--token", &token],
    )
    .await;
    proxy.unheal();
    tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", "300"]).await;
    let rounds = rounds();
    let mut killed_mid_drain = 0;
    for round in 0..rounds {
        let mut child = tillctl(
            terminal_dir.path(),
            &[
                "sync",
                "--until-drained",
                "--batch-size",
                "2",
                "--max-batch-size",
                "8",
                "--timeout",
                "60",
                "--max-backoff-ms",
                "500",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tillctl sync starts");
        let after = Duration::from_millis(rng.gen_range(20..400));
        tokio::time::sleep(after).await;
        // std's kill is SIGKILL on Unix: no destructor, no flush, like a power cut.
        let _ = child.kill().await;
        if status(terminal_dir.path()).await["pending"] != 0 {
            killed_mid_drain += 1;
        }
        if rng.gen_bool(0.3) {
            server.kill().await;
            server = Server::start(server_dir.path()).await;
            proxy.set_upstream(server.addr);
        }
        let stats = stats(server_dir.path()).await;
        assert_eq!(
            stats["duplicates"], 0,
            "round {round} (seed {seed}): no ticket twice: {stats}"
        );
        assert_eq!(
            stats["gaps"], 0,
            "round {round} (seed {seed}): the server applies the stream without holes: {stats}"
        );
        if round % 3 == 2 {
            tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", "20"]).await;
        }
    }
    assert!(
        killed_mid_drain >= rounds / 3,
        "the kills must land while a backlog is syncing ({killed_mid_drain} of {rounds})"
    );
    proxy.heal();
    let last = run_tillctl(
        terminal_dir.path(),
        &["sync", "--until-drained", "--timeout", "120"],
    )
    .await;
    assert!(
        last.ok,
        "the backlog drains once the network heals: {}",
        last.stderr
    );
    assert_delivered_exactly_once(server_dir.path(), terminal_dir.path(), &terminal_id).await;
    let verify = run_tillctl(terminal_dir.path(), &["verify-journal"]).await;
    assert!(
        verify.ok,
        "the journal chain holds after {rounds} kills: {}",
        verify.stdout
    );
    server.kill().await;
}
