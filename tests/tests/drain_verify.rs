//! The check at the end of a drain, with the real `tillctl` and `till-server`: once nothing is
//! left unsent, the till asks the back office's ack and compares its last sequence and its
//! count of settled mutations with its own. Agreement is recorded as `ok` in the cycle's
//! history; a back office whose record lost a mutation is the cycle's error
//! (`verify_mismatch`), shown by `tillctl status` and `history`, and checked again by the next
//! drain even when it has nothing to send.

use std::path::Path;

use back_office::Shop;
use serde_json::Value;
use till_e2e::*;

// The shared shop; this test queues nothing by hand, so its `queue` goes unused here.
#[allow(dead_code)]
mod back_office;

/// The newest recorded cycles, newest first.
async fn history(till: &Path) -> Vec<Value> {
    let out = tillctl_ok(till, &["history", "--json", "--limit", "50"]).await;
    serde_json::from_str(out.trim()).expect("history --json prints JSON")
}

/// Rings up `n` sales and drains them.
async fn sell_and_drain(shop: &Shop, n: u32) -> Run {
    tillctl_ok(shop.till.path(), &["ring-up", "--demo", &n.to_string()]).await;
    drain(shop).await
}

/// Drains with a short deadline: a drain whose check disagrees retries until it.
async fn drain(shop: &Shop) -> Run {
    run_tillctl(
        shop.till.path(),
        &["sync", "--until-drained", "--timeout", "3"],
    )
    .await
}

/// Deletes the back office's record of this till's mutation `seq`, under the running
/// server, as a restore of an older backup or a hand edit would.
fn lose_record(shop: &Shop, seq: u64) {
    let db = shop
        .server_dir
        .path()
        .join(till_server::storage::sqlite::DB_FILE);
    let conn = rusqlite::Connection::open(db).expect("the back office's store opens");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("a busy timeout");
    let deleted = conn
        .execute(
            "DELETE FROM mutations WHERE terminal_id = ?1 AND seq = ?2",
            rusqlite::params![shop.terminal_id, seq as i64],
        )
        .expect("deletes");
    assert_eq!(deleted, 1, "the record of mutation {seq} existed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_ends_with_the_back_office_agreeing_with_the_till() {
    let shop = Shop::open().await;
    let run = sell_and_drain(&shop, 3).await;
    assert!(run.ok, "the drain ends well: {}", run.stderr);
    let cycles = history(shop.till.path()).await;
    assert_eq!(cycles[0]["pushed"], 3, "{cycles:?}");
    assert_eq!(
        cycles[0]["verify"], "ok",
        "the back office settled the three mutations the till sent: {cycles:?}"
    );
    assert_eq!(cycles[0]["error"], Value::Null, "{cycles:?}");

    let run = drain(&shop).await;
    assert!(run.ok, "{}", run.stderr);
    let cycles = history(shop.till.path()).await;
    assert_eq!(
        cycles[0]["verify"],
        Value::Null,
        "a drain that sent nothing after a check that agreed asks nothing: {cycles:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_office_that_lost_a_record_is_an_error_a_person_sees_and_the_next_drain_checks_again(
) {
    let shop = Shop::open().await;
    assert!(sell_and_drain(&shop, 3).await.ok);
    lose_record(&shop, 2);

    let run = sell_and_drain(&shop, 1).await;
    assert!(
        !run.ok,
        "a drain whose check disagrees does not end well: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("verify_mismatch"),
        "it says why: {}",
        run.stderr
    );
    let cycles = history(shop.till.path()).await;
    let pushed = cycles
        .iter()
        .find(|c| c["pushed"] == 1)
        .expect("the cycle that sent the fourth sale is recorded");
    let verify = pushed["verify"].as_str().unwrap_or_default();
    assert!(
        verify.contains("holds 3") && verify.contains("had 4"),
        "the cycle records what disagreed: {pushed}"
    );
    assert!(
        pushed["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("verify_mismatch: ")),
        "and it is the cycle's error, with what it moved: {pushed}"
    );
    assert_eq!(
        status(shop.till.path()).await["last_error"]["code"],
        "verify_mismatch",
        "the status shows it"
    );

    let run = drain(&shop).await;
    assert!(
        !run.ok,
        "nothing to send, yet it checks again: {}",
        run.stdout
    );
    let cycles = history(shop.till.path()).await;
    assert_eq!(cycles[0]["pushed"], 0, "{cycles:?}");
    assert!(
        cycles[0]["verify"]
            .as_str()
            .is_some_and(|v| v.contains("holds 3")),
        "{cycles:?}"
    );
}
