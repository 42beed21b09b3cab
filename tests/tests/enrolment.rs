//! One data dir is one terminal: the server tracks one gapless mutation sequence per terminal,
//! so enrolment never lets two tills share a sequence or one till switch sequences midway.

use till_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_that_sold_offline_enrols_and_delivers_its_backlog() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "3"]).await;
    let (_, token) = add_terminal(server_dir.path(), "till-1").await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let stats = stats(server_dir.path()).await;
    assert_eq!(
        stats["tickets"], 3,
        "sales rung up before enrolment arrive: {stats}"
    );
    assert_eq!(stats["duplicates"], 0);
    assert_eq!(stats["gaps"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_cannot_switch_to_another_terminal_once_it_has_numbered_mutations() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (first, token_a) = add_terminal(server_dir.path(), "till-a").await;
    let (_, token_b) = add_terminal(server_dir.path(), "till-b").await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token_a],
    )
    .await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "2"]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;

    let refused = run_tillctl(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token_b],
    )
    .await;
    assert!(!refused.ok, "switching terminals would break the sequence");
    assert!(
        refused.stderr.contains("enrolment_refused"),
        "a typed error says why: {}",
        refused.stderr
    );
    let after = status(till.path()).await;
    assert_eq!(
        after["terminal_id"].as_str(),
        Some(first.as_str()),
        "a refused enrolment changes nothing"
    );
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token_a],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_till_cannot_take_over_a_terminal_that_holds_another_tills_mutations() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let first = tempfile::tempdir().expect("temp dir");
    let second = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (_, token) = add_terminal(server_dir.path(), "till-a").await;
    tillctl_ok(
        first.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(first.path(), &["ring-up", "--demo", "1"]).await;
    tillctl_ok(
        first.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;

    let refused = run_tillctl(
        second.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    assert!(!refused.ok, "two tills must not share one sequence");
    assert!(
        refused.stderr.contains("enrolment_refused"),
        "a typed error says why: {}",
        refused.stderr
    );
    assert_eq!(status(second.path()).await["enrolled"], false);
}
