//! Shifts end to end, with a real back office that has employees and a real `tillctl`: a till
//! with employees sells only in an open shift; a shift closed offline shows its Z report
//! `pending`, the Z report is in the journal's hash chain, Z numbers follow on gapless, and the
//! back office's answer makes it `matched`.

use serde_json::Value;
use till_e2e::*;

async fn ring_up(till: &std::path::Path, n: &str, pin: &str) -> Run {
    // Seed 2's four tickets are paid by card, cash, card and cash.
    run_tillctl(till, &["ring-up", "--demo", n, "--seed", "2", "--pin", pin]).await
}

async fn shift_json(till: &std::path::Path, args: &[&str]) -> Value {
    let mut all = vec!["shift"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = tillctl_ok(till, &all).await;
    serde_json::from_str(out.trim()).expect("shift --json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_closed_offline_is_pending_in_the_journal_and_matched_after_sync() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (_, token) = add_terminal(server_dir.path(), "till-1").await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    add_employee(server_dir.path(), "Ada", "cashier", "1234").await;
    add_employee(server_dir.path(), "Grace", "manager", "87654321").await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;

    let refused = ring_up(till.path(), "1", "1234").await;
    assert!(!refused.ok, "no sale without an open shift");
    assert!(
        refused.stderr.contains("(no_open_shift)"),
        "{}",
        refused.stderr
    );

    // The back office goes away: the whole shift happens offline.
    let address = server.url().trim_start_matches("http://").to_owned();
    server.kill().await;
    let opened = shift_json(till.path(), &["open", "--float", "10000", "--pin", "1234"]).await;
    assert_eq!(opened["z_number"], 1);
    assert_eq!(opened["float"], 10000);
    assert_eq!(opened["opened_by"]["name"], "Ada");
    assert_eq!(opened["reconciliation"], "pending");
    let again = run_tillctl(
        till.path(),
        &["shift", "open", "--float", "0", "--pin", "1234"],
    )
    .await;
    assert!(
        again.stderr.contains("(shift_already_open)"),
        "{}",
        again.stderr
    );

    // Demo tickets alternate cash and card.
    let sold = ring_up(till.path(), "4", "1234").await;
    assert!(sold.ok, "{}", sold.stderr);
    shift_json(
        till.path(),
        &["cash-in", "2000", "--reason", "change", "--pin", "1234"],
    )
    .await;
    shift_json(
        till.path(),
        &["cash-out", "500", "--reason", "drop", "--pin", "1234"],
    )
    .await;
    let no_approval = run_tillctl(till.path(), &["shift", "no-sale", "--pin", "1234"]).await;
    assert!(
        no_approval.stderr.contains("(approval_required)"),
        "{}",
        no_approval.stderr
    );
    tillctl_ok(
        till.path(),
        &[
            "shift",
            "no-sale",
            "--pin",
            "1234",
            "--approve-pin",
            "87654321",
        ],
    )
    .await;

    let x = shift_json(till.path(), &["show"]).await;
    assert_eq!(x["state"], "open");
    assert_eq!(x["tickets"], 4);
    let tenders: Vec<&str> = x["totals_by_tender"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["tender"].as_str().expect("a name"))
        .collect();
    assert_eq!(tenders, ["cash", "card"], "sold by cash and by card");
    assert_eq!(
        (x["cash_in"].as_i64(), x["cash_out"].as_i64()),
        (Some(2000), Some(500))
    );
    let expected = x["expected_cash"].as_i64().expect("a figure");
    assert_eq!(
        expected,
        10000 + x["cash_sales"].as_i64().expect("a figure")
            - x["cash_refunds"].as_i64().expect("a figure")
            + 2000
            - 500
    );

    let counted = (expected - 100).to_string();
    let z = shift_json(
        till.path(),
        &["close", "--counted", &counted, "--pin", "1234"],
    )
    .await;
    for field in [
        "shift_id",
        "z_number",
        "opened_by",
        "opened_at",
        "float",
        "cash_sales",
        "cash_refunds",
        "cash_in",
        "cash_out",
        "expected_cash",
        "tickets",
        "totals_by_tender",
        "tax_by_rate",
        "reconciliation",
        "closed_by",
        "closed_at",
        "counted_cash",
        "difference",
    ] {
        assert!(!z[field].is_null(), "the Z report has {field}: {z}");
    }
    assert_eq!(z["difference"], -100, "the drawer is 100 short");
    assert_eq!(
        z["reconciliation"], "pending",
        "closed offline: not checked yet"
    );
    let text = tillctl_ok(till.path(), &["shift", "show"]).await;
    assert!(
        text.contains("Z report") && text.contains("expected cash:"),
        "{text}"
    );

    let verified = tillctl_ok(till.path(), &["verify-journal", "--json"]).await;
    let verified: Value = serde_json::from_str(verified.trim()).expect("json");
    assert_eq!(verified["broken"], Value::Null, "{verified}");
    assert_eq!(verified["tickets"], 4);
    assert_eq!(verified["z_reports"], 1, "the Z report is in the chain");

    let next = shift_json(till.path(), &["open", "--float", "0", "--pin", "1234"]).await;
    assert_eq!(next["z_number"], 2, "Z numbers are gapless per till");

    // Back at the address the till was enrolled with.
    let server = Server::start_with(
        &BackOffice::DataDir(server_dir.path().to_path_buf()),
        &["--listen", &address],
    )
    .await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let listed = tillctl_ok(till.path(), &["shift", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(listed.trim()).expect("json");
    assert_eq!(listed[0]["z_number"], 1);
    assert_eq!(
        listed[0]["reconciliation"], "matched",
        "the back office holds what the Z report says"
    );
    server.kill().await;
}
