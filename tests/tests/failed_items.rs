//! Items the server rejects go to the failed list with the server's code and reason, never block
//! unrelated items, make the items that build on them wait with that reason shown, and leave the
//! list only by a recorded retry or discard.

use serde_json::Value;
use till_core::store::Store;
use till_core::sync::customers;
use till_core::{tickets, SystemClock};
use till_e2e::*;

async fn failed(dir: &std::path::Path) -> Vec<Value> {
    let out = tillctl_ok(dir, &["failed", "list", "--json"]).await;
    serde_json::from_str::<Value>(out.trim())
        .expect("JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Changes the queued payload of item 1 as a bug queueing it would have.
fn damage_item_1(conn: &till_core::sync::Connection, change: impl FnOnce(&mut Value)) {
    let payload: Vec<u8> = conn
        .query_row(
            "SELECT payload FROM outbox_payload WHERE seq = 1",
            [],
            |r| r.get(0),
        )
        .expect("item 1 is queued");
    let mut mutation: Value = serde_json::from_slice(&payload).expect("JSON");
    change(&mut mutation);
    conn.execute(
        "UPDATE outbox_payload SET payload = ?1 WHERE seq = 1",
        [serde_json::to_vec(&mutation).expect("JSON")],
    )
    .expect("damaged");
    // Queued so by a bug, it was linked as it is: the push chain holds, and the back office
    // refuses the item for what it says.
    till_e2e::tamper::relink_queue(conn);
}

/// A server, and a terminal data dir enrolled with it as `name`: (server dir, terminal dir,
/// server, terminal id).
async fn enrolled(name: &str) -> (tempfile::TempDir, tempfile::TempDir, Server, String) {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), name).await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    (server_dir, till, server, terminal_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_sale_fails_alone_and_its_refund_waits_for_it() {
    let (server_dir, till, server, terminal_id) = enrolled("till-f").await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "3"]).await;
    let store = Store::open(till.path()).expect("opens");
    {
        // A payload damaged after commit (a bug, a bad disk): the server must refuse it.
        let conn = store.connect().expect("connects");
        damage_item_1(&conn, |mutation| {
            let total = mutation["body"]["data"]["totals"]["total"]
                .as_i64()
                .expect("a total");
            mutation["body"]["data"]["totals"]["total"] = (total + 1).into();
        });
        let mut conn = store.connect().expect("connects");
        let sale = tickets::load_by_number(&conn, 1)
            .expect("reads")
            .expect("sale 1");
        let line = tickets::RefundLine::whole(&sale, 1).expect("sale 1 has a line 1");
        tickets::refund(&mut conn, sale.id, &[line], None, None, &SystemClock)
            .expect("refund of sale 1 queued as item 4");
    }
    tillctl_ok(till.path(), &["ring-up", "--demo", "1"]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;

    let list = failed(till.path()).await;
    assert_eq!(list.len(), 2, "the bad sale and its refund: {list:?}");
    assert_eq!(list[0]["seq"], 1);
    assert_ne!(
        list[0]["code"], "depends_on_failed",
        "the server's own code: {list:?}"
    );
    assert_eq!(list[1]["seq"], 4);
    assert_eq!(
        list[1]["code"], "depends_on_failed",
        "the refund waits for the sale"
    );
    assert!(
        list[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("waits for item 1")),
        "the reason names what it waits for: {list:?}"
    );
    let status = status(till.path()).await;
    assert_eq!(
        status["pending"], 0,
        "unrelated items were not blocked: {status}"
    );
    assert_eq!(status["failed"], 2);
    let stats = stats(server_dir.path()).await;
    let mine = stats["terminals"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["terminal_id"] == terminal_id.as_str()))
        .cloned()
        .expect("the server knows the terminal");
    assert_eq!(mine["tickets"], 3, "sales 2, 3 and 5 arrived: {mine}");
    assert_eq!(stats["duplicates"], 0);

    // Retry: both are queued again (the sale first), and fail again the same way.
    let out = tillctl_ok(till.path(), &["failed", "retry", "1", "--by", "manager-3"]).await;
    assert!(out.contains("queued again"), "{out}");
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let again = failed(till.path()).await;
    assert_eq!(again.len(), 2, "still refused as sent: {again:?}");
    assert!(
        again.iter().all(|f| f["seq"].as_u64() > Some(5)),
        "as new items: {again:?}"
    );

    // Discard: they leave the list, and the discard is recorded with its reason.
    for item in &again {
        let seq = item["seq"].to_string();
        tillctl_ok(
            till.path(),
            &[
                "failed",
                "discard",
                &seq,
                "--reason",
                "damaged payload",
                "--by",
                "manager-3",
            ],
        )
        .await;
    }
    assert!(failed(till.path()).await.is_empty());
    let refused = run_tillctl(till.path(), &["failed", "discard", "2", "--reason", "x"]).await;
    assert!(!refused.ok, "only failed items can be discarded");
    let conn = store.connect().expect("connects");
    let recorded: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox_actions WHERE actor = 'manager-3'",
            [],
            |r| r.get(0),
        )
        .expect("counts");
    assert_eq!(recorded, 4, "two retries and two discards are on record");
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_queues_again_everything_that_waited_on_the_item_however_deep() {
    let (_server_dir, till, server, _) = enrolled("till-g").await;
    let store = Store::open(till.path()).expect("store opens");
    {
        // A customer made here, then edited twice: items 1, 2 and 3.
        let mut conn = store.connect().expect("connects");
        let fields = |email: &str| till_protocol::CustomerFields {
            name: "Cy".into(),
            email: Some(email.into()),
            ..till_protocol::CustomerFields::default()
        };
        let id = customers::save(&mut conn, None, fields("cy@example.com"), &SystemClock)
            .expect("created")
            .id;
        for email in ["cy@example.org", "cy@example.net"] {
            customers::save(&mut conn, Some(id), fields(email), &SystemClock).expect("edited");
        }
        // The creation is damaged after commit: the server refuses it, so both edits of a
        // customer it never had wait, the second on the first.
        damage_item_1(&conn, |mutation| {
            mutation["body"]["data"]["fields"]["name"] = "".into();
        });
    }
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let list = failed(till.path()).await;
    let waits: Vec<(u64, String)> = list
        .iter()
        .map(|f| {
            (
                f["seq"].as_u64().unwrap_or(0),
                f["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(waits.len(), 3, "{list:?}");
    assert_eq!(waits[1].1, "depends_on_failed");
    assert_eq!(waits[2].1, "depends_on_failed");
    assert!(
        list[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("waits for item 2")),
        "the second edit waits on the first: {list:?}"
    );

    tillctl_ok(till.path(), &["failed", "retry", "1", "--by", "manager-4"]).await;
    let status = status(till.path()).await;
    assert_eq!(status["failed"], 0, "all three left the list: {status}");
    assert_eq!(status["pending"], 3, "and are queued again, in order");
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let again = failed(till.path()).await;
    let seqs: Vec<u64> = again.iter().filter_map(|f| f["seq"].as_u64()).collect();
    assert_eq!(
        seqs,
        vec![4, 5, 6],
        "queued again as new items, in order: {again:?}"
    );
    server.kill().await;
}
