//! A till is upgraded with its queue full, and its back office with it: the data dirs an earlier
//! release wrote (`tests/fixtures/upgrade-RELEASE`, made by `scripts/make-upgrade-fixture.sh`)
//! open with today's binaries, which migrate them, and the queue drains exactly once, keeping
//! the till's open conflict and failed item. Each later release that changes a payload format
//! adds its own fixture to [`FIXTURES`], with the format its till queued. The other way round, a
//! till newer than its back office: a mutation in a format the back office does not read waits
//! on the failed list, refused alone, until it is retried.

use std::path::{Path, PathBuf};

use serde_json::Value;
use till_e2e::*;

/// The upgrade fixtures, by the release that wrote them, and the payload format of their queue.
const FIXTURES: &[(&str, u32)] = &[("upgrade-0eb4cff", 1), ("upgrade-bd492d0", 2)];

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Copies the files of `from` into `to`: the test never writes the committed fixture.
fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("reads the fixture") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        assert!(
            !name.to_string_lossy().ends_with("-wal") && !name.to_string_lossy().ends_with("-shm"),
            "a fixture's databases are self-contained, no write-ahead log beside them: {}",
            entry.path().display()
        );
        std::fs::copy(entry.path(), to.join(name)).expect("copies");
    }
}

async fn json_of(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(tillctl_ok(dir, args).await.trim()).expect("JSON")
}

/// `tillctl verify-journal --json` exits 0 and says the chain holds.
async fn assert_journal_holds(dir: &Path, when: &str) {
    let run = run_tillctl(dir, &["verify-journal", "--json"]).await;
    assert!(
        run.ok,
        "the journal holds {when}: {} {}",
        run.stdout, run.stderr
    );
    let report: Value = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert!(report["broken"].is_null(), "{when}: {report}");
}

/// The ids of an answer's items, as they are listed.
fn ids(list: &Value, key: &str) -> Vec<Value> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[key].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_upgraded_with_its_queue_full_drains_it_exactly_once_keeping_what_waits_for_a_person(
) {
    for (name, format) in FIXTURES {
        upgrade(name, *format).await;
    }
}

/// The payload format of each mutation the till at `dir` has queued.
fn queued_formats(dir: &Path) -> Vec<u32> {
    let conn = till_core::store::open_connection(&dir.join(till_core::store::DB_FILE))
        .expect("the till's store opens");
    let mut stmt = conn
        .prepare(
            "SELECT p.payload FROM outbox o JOIN outbox_payload p USING (seq)
             WHERE o.state = 'pending' ORDER BY o.seq",
        )
        .expect("prepares");
    let payloads = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .expect("reads")
        .map(|payload| payload.expect("a payload"));
    payloads
        .map(|payload| {
            serde_json::from_slice::<till_protocol::Mutation>(&payload)
                .expect("a queued mutation today's till reads")
                .format()
        })
        .collect()
}

async fn upgrade(name: &str, format: u32) {
    let fixture = fixture_dir(name);
    let facts: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("fixture.json")).expect("fixture.json"),
    )
    .expect("JSON");
    let office = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    copy_files(&fixture.join("back-office"), office.path());
    copy_files(&fixture.join("till"), till.path());
    let till = till.path();
    let terminal_id = facts["terminal_id"].as_str().expect("a terminal id");

    assert_journal_holds(till, &format!("in {name} as written")).await;
    let before = status(till).await;
    for key in ["pending", "failed", "conflicts", "tickets"] {
        assert_eq!(
            before[key], facts["queued"][key],
            "{name}: today's tillctl reads the {key} the release wrote: {before}"
        );
    }
    let formats = queued_formats(till);
    assert!(
        !formats.is_empty() && formats.iter().all(|f| *f == format),
        "{name} holds a queue of format {format}: {formats:?}"
    );

    // The fixture's stamps are as old as the fixture, its pending edits' too: the skew allowed
    // is wide so that the day the test runs never refuses them.
    let server = Server::start_with(
        &BackOffice::DataDir(office.path().to_path_buf()),
        &["--listen", "127.0.0.1:0", "--max-clock-skew", "36500d"],
    )
    .await;
    let token = facts["token"].as_str().expect("a token");
    tillctl_ok(
        till,
        &["enrol", "--server", &server.url(), "--token", token],
    )
    .await;
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;

    let after = status(till).await;
    assert_eq!(after["pending"], 0, "{name}: the queue drained: {after}");
    for (list, kept, key, what) in [
        (
            "failed",
            "failed_items",
            "mutation_id",
            "the failed item is still there",
        ),
        (
            "conflicts",
            "open_conflicts",
            "id",
            "the open conflict is still listed",
        ),
    ] {
        let now = json_of(till, &[list, "list", "--json"]).await;
        assert_eq!(ids(&now, key), ids(&facts[kept], key), "{name}: {what}");
    }
    assert_journal_holds(till, &format!("after {name} drained")).await;

    let figures = stats(office.path()).await;
    assert_eq!(
        figures["duplicates"], 0,
        "{name}: nothing arrived twice: {figures}"
    );
    assert_eq!(figures["gaps"], 0, "{name}: nothing is missing: {figures}");
    let mine = terminal_stats(&figures, terminal_id);
    let (tickets, total) = local_tickets(till);
    assert_eq!(
        mine["tickets"], tickets,
        "{name}: every ticket of the till is on the back office: {mine}"
    );
    assert_eq!(mine["total"], total, "{name}: to the minor unit: {mine}");
    assert_eq!(
        mine["last_seq"], after["server_acked_seq"],
        "{name}: the back office settled what the till holds as acknowledged: {mine}"
    );

    // Again: nothing is sent twice.
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_eq!(
        terminal_stats(&stats(office.path()).await, terminal_id),
        mine,
        "{name}: a second sync changes nothing"
    );

    // What today's till queues after the upgrade is linked into its push chain, anchored at the
    // back office from its first linked mutation on.
    tillctl_ok(till, &["ring-up", "--demo", "1", "--seed", "7"]).await;
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_journal_holds(till, "after a sale rung up on today's till").await;
    let report = json_of(till, &["verify-journal", "--json"]).await;
    assert_eq!(
        report["server_head_matches"], true,
        "{name}: the back office anchored the chain the upgraded till began: {report}"
    );

    // The customer changes that were queued reached the back office: a new till pulls them.
    let fresh = tempfile::tempdir().expect("temp dir");
    let (_, fresh_token) = add_terminal(office.path(), "fresh").await;
    tillctl_ok(
        fresh.path(),
        &["enrol", "--server", &server.url(), "--token", &fresh_token],
    )
    .await;
    tillctl_ok(
        fresh.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;
    let customers = &facts["customers"];
    for (which, field, value) in [
        ("edited", "email", "bea@example.org"),
        ("added", "name", "Cy"),
    ] {
        let id = customers[which].as_str().expect("an id");
        let shown = json_of(fresh.path(), &["customers", "show", id, "--json"]).await;
        assert_eq!(
            shown[field], value,
            "{name}: the {which} customer's change was delivered: {shown}"
        );
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_queued_in_a_format_the_back_office_does_not_read_waits_on_the_failed_list_until_retried(
) {
    let office = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(office.path()).await;
    let (terminal_id, token) = add_terminal(office.path(), "till-n").await;
    let till = till.path();
    tillctl_ok(
        till,
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till, &["ring-up", "--demo", "2"]).await;
    {
        // Sale 1 as a till of a later release would queue it.
        let store = till_core::store::Store::open(till).expect("opens");
        let conn = store.connect().expect("connects");
        conn.execute(
            "UPDATE outbox_payload SET payload = CAST(json_set(CAST(payload AS TEXT), '$.format', 99) AS BLOB)
             WHERE seq = 1",
            [],
        )
        .expect("queued in format 99");
    }
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;

    let failed = json_of(till, &["failed", "list", "--json"]).await;
    assert_eq!(failed[0]["seq"], 1, "sale 1 is refused, alone: {failed}");
    assert_eq!(failed[0]["code"], "unsupported_format");
    assert!(
        failed[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("payload format 99") && r.contains("upgrade")),
        "the till shows which format and what to do: {failed}"
    );
    assert_eq!(status(till).await["pending"], 0, "sale 2 was not held up");

    // Retried (as the back office's upgrade would allow), it is queued in today's format.
    tillctl_ok(till, &["failed", "retry", "1", "--by", "manager"]).await;
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_delivered_exactly_once(office.path(), till, &terminal_id).await;
    server.kill().await;
}
