//! The journal anchored by the back office: someone with access to the till's store lowers a
//! sale and recomputes every hash the till keeps. The till's own checks alone are satisfied, but
//! a synced sale no longer matches the head the back office accepted (`verify-journal` fails on
//! `server_head_matches`), and an unsynced one no longer reaches the head the till named before,
//! so its push is refused (`journal_break`) and the back office keeps none of it. A till whose
//! queue predates the chain still syncs untouched.

use serde_json::Value;
use till_e2e::proxy::{Fault, FaultPlan, FaultProxy};
use till_e2e::tamper;
use till_e2e::*;

/// A back office and a till enrolled with it through `proxy` (or directly).
struct Shop {
    server_dir: tempfile::TempDir,
    till: tempfile::TempDir,
    server: Server,
    terminal_id: String,
}

impl Shop {
    async fn open(proxy_plan: Option<FaultPlan>) -> (Shop, Option<FaultProxy>) {
        let server_dir = tempfile::tempdir().expect("temp dir");
        let till = tempfile::tempdir().expect("temp dir");
        let server = Server::start(server_dir.path()).await;
        let (terminal_id, token) = add_terminal(server_dir.path(), "till-1").await;
        let proxy = match proxy_plan {
            Some(plan) => Some(
                FaultProxy::start(server.addr, plan)
                    .await
                    .expect("the proxy starts"),
            ),
            None => None,
        };
        let url = proxy.as_ref().map_or_else(|| server.url(), FaultProxy::url);
        if let Some(p) = &proxy {
            p.heal();
        }
        tillctl_ok(till.path(), &["enrol", "--server", &url, "--token", &token]).await;
        let shop = Shop {
            server_dir,
            till,
            server,
            terminal_id,
        };
        (shop, proxy)
    }

    async fn ring_up(&self, n: &str) {
        tillctl_ok(self.till.path(), &["ring-up", "--demo", n, "--seed", "7"]).await;
    }

    /// `tillctl verify-journal --json`: its run and its report.
    async fn verify(&self) -> (Run, Value) {
        let run = run_tillctl(self.till.path(), &["verify-journal", "--json"]).await;
        let report = serde_json::from_str(run.stdout.trim()).expect("verify-journal --json");
        (run, report)
    }

    /// `till-server verify-journal --terminal ID --json` on the back office's copy.
    async fn verify_office(&self) -> Value {
        let out = server_cli(
            self.server_dir.path(),
            &["verify-journal", "--terminal", &self.terminal_id, "--json"],
        )
        .await;
        serde_json::from_str(out.trim()).expect("till-server verify-journal --json")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_sale_rewritten_locally_no_longer_matches_the_back_offices_head() {
    let (shop, _) = Shop::open(None).await;
    shop.ring_up("3").await;
    tillctl_ok(shop.till.path(), &["sync", "--until-drained"]).await;
    let (run, before) = shop.verify().await;
    assert!(run.ok, "an untouched till verifies: {}", run.stderr);
    assert_eq!(before["server_head_matches"], true, "{before}");
    assert_eq!(before["server_head"]["seq"], 3, "{before}");

    tamper::change_sale_total(shop.till.path(), 2, -1);
    let (run, after) = shop.verify().await;
    assert_eq!(
        run.code,
        Some(3),
        "a rewritten synced sale fails: {}",
        run.stderr
    );
    assert_eq!(
        after["broken"],
        Value::Null,
        "the local journal alone holds: {after}"
    );
    assert_eq!(
        after["push_chain"]["broken"],
        Value::Null,
        "so does the local push chain: {after}"
    );
    assert_eq!(
        after["server_head_matches"], false,
        "the back office's head is not this till's link any more: {after}"
    );
    assert!(run.stderr.contains("server_head_matches"), "{}", run.stderr);
    assert_eq!(
        shop.verify_office().await["ok"],
        true,
        "the back office's copy holds"
    );
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsynced_sale_rewritten_locally_is_refused_by_the_back_office() {
    // Only the first push gets through: it delivers 1..=4 and names the till's head, 12.
    let plan = FaultPlan::PassFirst {
        passes: 1,
        then: Fault::Status(503),
    };
    let (shop, proxy) = Shop::open(Some(plan)).await;
    let proxy = proxy.expect("a proxy");
    shop.ring_up("12").await;
    proxy.unheal();
    let batches = ["--batch-size", "4", "--max-batch-size", "4"];
    let first = run_tillctl(shop.till.path(), &[&["sync"][..], &batches[..]].concat()).await;
    assert!(!first.ok, "the second push fails at the proxy");
    let office = terminal_stats(&stats(shop.server_dir.path()).await, &shop.terminal_id);
    assert_eq!(office["tickets"], 4, "the first batch arrived: {office}");

    tamper::change_sale_total(shop.till.path(), 10, -1);
    let (run, local) = shop.verify().await;
    assert!(
        run.ok,
        "the till's own checks are satisfied: {} {local}",
        run.stderr
    );

    proxy.heal();
    let args = [&["sync", "--until-drained"][..], &batches[..]].concat();
    let refused = run_tillctl(shop.till.path(), &args).await;
    assert_eq!(refused.code, Some(8), "the tampered push is refused");
    assert!(
        refused.stderr.contains("journal_break"),
        "{}",
        refused.stderr
    );
    let status = status(shop.till.path()).await;
    assert_eq!(
        status["state"], "journal_break",
        "the status says so: {status}"
    );
    assert_eq!(status["last_error"]["code"], "journal_break", "{status}");
    assert!(
        status["last_error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sequence 12"),
        "with the back office's words, naming the sequence: {status}"
    );
    assert_eq!(status["failed"], 0, "nothing is failed: {status}");
    // The next push names the recomputed head at 12, which contradicts the head named there
    // before: refused at once, before the tampered sale is even sent.
    assert_eq!(status["pending"], 8, "the queue is kept: {status}");
    let office = terminal_stats(&stats(shop.server_dir.path()).await, &shop.terminal_id);
    assert_eq!(
        office["tickets"], 4,
        "nothing after the tamper is stored: {office}"
    );
    assert_eq!(
        shop.verify_office().await["ok"],
        true,
        "the back office's copy holds"
    );

    let again = run_tillctl(shop.till.path(), &["sync"]).await;
    assert_eq!(
        again.code,
        Some(8),
        "asked again, the back office refuses again"
    );
    let office = terminal_stats(&stats(shop.server_dir.path()).await, &shop.terminal_id);
    assert_eq!(office["tickets"], 4, "nothing more is sent: {office}");

    // A person looked and lets the till go on: the back office forgets the heads, the till's
    // next sync by hand anchors the chain afresh, and each mutation is judged as any other. The
    // lowered sale no longer prices to its own total, so it is refused onto the failed list,
    // where the manager sees it; every other sale arrives once.
    server_cli(
        shop.server_dir.path(),
        &["terminal", "reanchor", &shop.terminal_id],
    )
    .await;
    tillctl_ok(shop.till.path(), &args).await;
    let after = till_e2e::status(shop.till.path()).await;
    assert_eq!(after["state"], "idle", "{after}");
    assert_eq!(
        (after["pending"].as_u64(), after["failed"].as_u64()),
        (Some(0), Some(1)),
        "the lowered sale waits on the failed list: {after}"
    );
    let office = terminal_stats(&stats(shop.server_dir.path()).await, &shop.terminal_id);
    assert_eq!(
        (office["tickets"].as_u64(), office["last_seq"].as_u64()),
        (Some(11), Some(12)),
        "every other sale arrived, once: {office}"
    );
    assert_eq!(shop.verify_office().await["ok"], true);
    let (run, report) = shop.verify().await;
    assert!(run.ok, "{} {report}", run.stderr);
    assert_eq!(report["server_head_matches"], true, "{report}");
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_whose_queue_predates_the_chain_still_syncs() {
    let (shop, _) = Shop::open(None).await;
    shop.ring_up("3").await;
    tamper::forget_push_chain(shop.till.path());
    shop.ring_up("2").await;
    tillctl_ok(shop.till.path(), &["sync", "--until-drained"]).await;
    assert_delivered_exactly_once(shop.server_dir.path(), shop.till.path(), &shop.terminal_id)
        .await;
    let (run, report) = shop.verify().await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(
        report["push_chain"]["checked"], 2,
        "the chain began after the queue: {report}"
    );
    assert_eq!(report["server_head_matches"], true, "{report}");
    let office = shop.verify_office().await;
    assert_eq!(
        (office["ok"].as_bool(), office["checked"].as_u64()),
        (Some(true), Some(2))
    );
    shop.server.kill().await;
}
