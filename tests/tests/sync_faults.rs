//! A terminal's backlog reaches the real server exactly once through every kind of fault the
//! proxy injects: after the queue drains, every committed ticket is on the server once, the
//! totals match and nothing is pending.

use std::time::Duration;

use till_e2e::proxy::{Fault, FaultPlan, FaultProxy};
use till_e2e::*;

const TICKETS: &str = "25";

async fn drains_exactly_once_through(fault: Fault, seed: u64) {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let terminal_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-1").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::sometimes(seed, fault, 50))
        .await
        .expect("the proxy starts");
    proxy.heal();
    tillctl_ok(
        terminal_dir.path(),
        &["enrol", "--server", &proxy.url(), "--token", &token],
    )
    .await;
    tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", TICKETS]).await;
    proxy.unheal();
    let first = run_tillctl(
        terminal_dir.path(),
        &[
            "sync",
            "--until-drained",
            "--batch-size",
            "4",
            "--max-batch-size",
            "4",
            "--timeout",
            "120",
            "--max-backoff-ms",
            "1000",
        ],
    )
    .await;
    assert!(
        first.ok,
        "sync retries {fault:?} until drained: {}",
        first.stderr
    );
    assert!(
        proxy
            .counts()
            .faulted
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the proxy really injected {fault:?}"
    );
    // More sales after faults, then a second drain: the stream stays gapless.
    tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", "5"]).await;
    let second = run_tillctl(
        terminal_dir.path(),
        &["sync", "--until-drained", "--timeout", "120"],
    )
    .await;
    assert!(second.ok, "second sync drains too: {}", second.stderr);
    proxy.heal();
    assert_delivered_exactly_once(server_dir.path(), terminal_dir.path(), &terminal_id).await;
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_retried_until_drained() {
    drains_exactly_once_through(Fault::Refuse, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_do_not_duplicate_or_lose_tickets() {
    drains_exactly_once_through(Fault::Delay(Duration::from_millis(80)), 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_before_forwarding_is_resent() {
    drains_exactly_once_through(Fault::ResetBeforeForward, 13).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_committed_without_an_answer_is_not_applied_twice() {
    drains_exactly_once_through(Fault::ForwardThenReset, 14).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_answer_is_not_applied_twice() {
    drains_exactly_once_through(Fault::Truncate, 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_answer_is_logged_and_nothing_is_dropped() {
    drains_exactly_once_through(Fault::Corrupt, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_500_are_transient() {
    drains_exactly_once_through(Fault::Status(500), 17).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_unavailable_503_is_transient() {
    drains_exactly_once_through(Fault::Status(503), 18).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_429_honours_retry_after() {
    drains_exactly_once_through(Fault::Status(429), 19).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_once_still_delivers_exactly_once() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let terminal_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-chaos").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::chaos(20))
        .await
        .expect("the proxy starts");
    proxy.heal();
    tillctl_ok(
        terminal_dir.path(),
        &["enrol", "--server", &proxy.url(), "--token", &token],
    )
    .await;
    proxy.unheal();
    tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", "40"]).await;
    let run = run_tillctl(
        terminal_dir.path(),
        &[
            "sync",
            "--until-drained",
            "--batch-size",
            "3",
            "--timeout",
            "180",
            "--max-backoff-ms",
            "1000",
        ],
    )
    .await;
    assert!(run.ok, "chaos is survived: {}", run.stderr);
    proxy.heal();
    assert_delivered_exactly_once(server_dir.path(), terminal_dir.path(), &terminal_id).await;
    let history = tillctl_ok(terminal_dir.path(), &["history", "--json"]).await;
    let cycles: serde_json::Value = serde_json::from_str(history.trim()).expect("JSON");
    assert!(
        cycles.as_array().is_some_and(|c| !c.is_empty()),
        "each cycle is recorded in the history"
    );
    assert!(
        cycles.as_array().is_some_and(|c| c.iter().any(|c| {
            c["bytes_sent"].as_u64() > Some(0)
                && c["bytes_received"].as_u64() > Some(0)
                && c["requests"].as_u64() > Some(0)
                && c["latency_p50_ms"].is_u64()
                && c["latency_p99_ms"].is_u64()
        })),
        "a cycle that reached the back office says what it cost on the wire: {cycles}"
    );
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_sync_with_an_auth_error() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let terminal_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-revoked").await;
    tillctl_ok(
        terminal_dir.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(terminal_dir.path(), &["ring-up", "--demo", "2"]).await;
    server_cli(server_dir.path(), &["terminal", "revoke", &terminal_id]).await;
    let run = run_tillctl(
        terminal_dir.path(),
        &["sync", "--until-drained", "--timeout", "30"],
    )
    .await;
    assert!(!run.ok, "a refused token is not a success");
    assert_eq!(
        run.code,
        Some(5),
        "exit 5 names the auth error: {}",
        run.stderr
    );
    let status = status(terminal_dir.path()).await;
    assert_eq!(status["pending"], 2, "nothing was dropped: {status}");
    assert_eq!(status["last_error"]["code"], "unauthorized", "{status}");
    server.kill().await;
}
