//! A till restored from a backup of its data dir (or copied to a second machine) is detected,
//! never merged: it stops as `diverged`, and once enrolled as a new terminal its sales reach
//! the back office exactly once, each till ticket number once per terminal identity.

use std::path::Path;

use serde_json::Value;
use till_e2e::*;

/// Copies a data dir the way a backup does, file by file (the till is not running).
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("reads the data dir") {
        let entry = entry.expect("an entry");
        if entry.file_type().expect("a type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copies");
        }
    }
}

/// `till-server tickets --json`.
async fn server_tickets(server_dir: &Path) -> Vec<Value> {
    let out = server_cli(server_dir, &["tickets", "--json"]).await;
    serde_json::from_str::<Value>(out.trim())
        .expect("tickets --json prints JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Till ticket numbers the back office holds from `terminal`, ascending.
fn numbers_of(tickets: &[Value], terminal: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = tickets
        .iter()
        .filter(|t| t["terminal_id"] == terminal)
        .filter_map(|t| t["number"].as_u64())
        .collect();
    numbers.sort_unstable();
    numbers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_till_stops_as_diverged_and_delivers_its_sales_once_as_a_new_terminal() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (old_id, token) = add_terminal(server_dir.path(), "till 1").await;
    let original = tempfile::tempdir().expect("temp dir");
    let restored = tempfile::tempdir().expect("temp dir");
    tillctl_ok(
        original.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(original.path(), &["ring-up", "--demo", "3"]).await;
    tillctl_ok(original.path(), &["sync", "--until-drained"]).await;
    // Sales 4 and 5 are rung up, and a backup is taken while they are being pushed.
    tillctl_ok(original.path(), &["ring-up", "--demo", "2"]).await;
    copy_dir(original.path(), restored.path());
    {
        let conn =
            till_core::store::open_connection(&restored.path().join(till_core::store::DB_FILE))
                .expect("the copy opens");
        conn.execute(
            "UPDATE outbox SET state = 'in_flight' WHERE state = 'pending'",
            [],
        )
        .expect("the backup caught the push in flight");
    }
    // The original delivers them, and sells and delivers three more.
    tillctl_ok(original.path(), &["sync", "--until-drained"]).await;
    tillctl_ok(original.path(), &["ring-up", "--demo", "3"]).await;
    tillctl_ok(original.path(), &["sync", "--until-drained"]).await;

    // The restored till sells two of its own, numbered 6 and 7 as the original's were; it
    // asks what the back office settled of the push it thinks in flight, and learns of 8
    // mutations where it numbered 7.
    tillctl_ok(restored.path(), &["ring-up", "--demo", "2"]).await;
    let sync = run_tillctl(
        restored.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;
    assert_eq!(
        sync.code,
        Some(7),
        "sync stops with the diverged exit code: {sync:?}"
    );
    assert!(
        sync.stderr.trim_end().ends_with("(diverged)") && sync.stderr.contains("error: "),
        "says why, plainly: {}",
        sync.stderr
    );
    let st = status(restored.path()).await;
    assert_eq!(st["state"], "diverged", "{st}");
    assert_eq!(st["pending"], 4, "its sales 4 to 7 wait, none failed: {st}");
    assert_eq!(st["failed"], 0, "{st}");
    let again = run_tillctl(restored.path(), &["sync", "--until-drained"]).await;
    assert_eq!(again.code, Some(7), "a protocol stop survives a restart");
    let before = stats(server_dir.path()).await;
    assert_eq!(
        before["tickets"], 8,
        "nothing of the copy was merged: {before}"
    );

    // The manager adds a new terminal and enrols the restored till with it.
    let (new_id, new_token) = add_terminal(server_dir.path(), "till 1 (restored)").await;
    let enrolled = tillctl_ok(
        restored.path(),
        &["enrol", "--server", &server.url(), "--token", &new_token],
    )
    .await;
    assert!(enrolled.contains("queued again"), "{enrolled}");
    assert_eq!(status(restored.path()).await["state"], "idle");
    tillctl_ok(
        restored.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;
    tillctl_ok(original.path(), &["sync", "--until-drained"]).await;

    let stats = stats(server_dir.path()).await;
    assert_eq!(stats["duplicates"], 0, "nothing twice: {stats}");
    assert_eq!(stats["gaps"], 0, "nothing lost: {stats}");
    assert_eq!(
        stats["tickets"], 10,
        "the original's 8 and the copy's own 2, each once: {stats}"
    );
    let tickets = server_tickets(server_dir.path()).await;
    assert_eq!(numbers_of(&tickets, &old_id), (1..=8).collect::<Vec<_>>());
    assert_eq!(
        numbers_of(&tickets, &new_id),
        [6, 7],
        "sales 4 and 5 were recognised as delivered; 6 and 7 came once, as the new terminal"
    );
    assert!(
        tickets
            .iter()
            .filter(|t| t["terminal_id"] == new_id.as_str())
            .all(|t| t["recovered_from"] == old_id.as_str()),
        "the back office shows them as recovered from the first terminal: {tickets:?}"
    );
    let st = status(restored.path()).await;
    assert_eq!(
        (st["pending"].as_u64(), st["failed"].as_u64()),
        (Some(0), Some(0))
    );
    tillctl_ok(restored.path(), &["ring-up", "--demo", "1"]).await;
    tillctl_ok(restored.path(), &["sync", "--until-drained"]).await;
    let tickets = server_tickets(server_dir.path()).await;
    assert_eq!(
        numbers_of(&tickets, &new_id),
        [6, 7, 8],
        "it sells on under its new identity"
    );
    assert_eq!(stats_duplicates(server_dir.path()).await, 0);
}

async fn stats_duplicates(server_dir: &Path) -> u64 {
    stats(server_dir).await["duplicates"]
        .as_u64()
        .unwrap_or(u64::MAX)
}
