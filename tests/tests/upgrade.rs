//! A till is upgraded with its queue full, and its back office with it: the data dirs an earlier
//! release wrote (`tests/fixtures/upgrade-RELEASE`, made by `scripts/make-upgrade-fixture.sh`)
//! open with today's binaries, which migrate them, and the queue drains exactly once, keeping
//! the till's open conflict and failed item, and the tags and loyalty points the back office
//! gave a customer whose edit was queued in a format without them. Each later release that
//! changes a payload format adds its own fixture to [`FIXTURES`], with the format its till
//! queued. The other way round, a till newer than its back office: a mutation in a format the
//! back office does not read waits on the failed list, refused alone, until it is retried.

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

/// The customer `id` as the till at `dir` holds it (`tillctl customers show --json`).
async fn shown(dir: &Path, id: &str) -> Value {
    json_of(dir, &["customers", "show", id, "--json"]).await
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

/// A fixture's back office and till, copied into temporary directories, and its facts
/// (`fixture.json`).
struct FixtureCopy {
    facts: Value,
    office: tempfile::TempDir,
    till: tempfile::TempDir,
}

impl FixtureCopy {
    fn of(name: &str) -> FixtureCopy {
        let fixture = fixture_dir(name);
        let facts = serde_json::from_str(
            &std::fs::read_to_string(fixture.join("fixture.json")).expect("fixture.json"),
        )
        .expect("JSON");
        let office = tempfile::tempdir().expect("temp dir");
        let till = tempfile::tempdir().expect("temp dir");
        copy_files(&fixture.join("back-office"), office.path());
        copy_files(&fixture.join("till"), till.path());
        FixtureCopy {
            facts,
            office,
            till,
        }
    }

    /// The id of the customer the fixture names `which` (`edited`, `added`, ...).
    fn customer(&self, which: &str) -> &str {
        self.facts["customers"][which].as_str().expect("an id")
    }

    /// Today's back office on the copied data dir. The fixture's stamps are as old as the
    /// fixture, its pending edits' too: the skew allowed is wide so that the day the test runs
    /// never refuses them.
    async fn start_office(&self) -> Server {
        Server::start_with(
            &BackOffice::DataDir(self.office.path().to_path_buf()),
            &["--listen", "127.0.0.1:0", "--max-clock-skew", "36500d"],
        )
        .await
    }

    /// Enrols the copied till with `server` again, with the fixture's token, and drains its
    /// queue.
    async fn drain(&self, server: &Server) {
        let till = self.till.path();
        let token = self.facts["token"].as_str().expect("a token");
        tillctl_ok(
            till,
            &["enrol", "--server", &server.url(), "--token", token],
        )
        .await;
        tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    }

    /// A new till enrolled with `server` that has pulled everything the back office holds.
    async fn fresh_till(&self, server: &Server) -> tempfile::TempDir {
        let fresh = tempfile::tempdir().expect("temp dir");
        let (_, token) = add_terminal(self.office.path(), "fresh").await;
        tillctl_ok(
            fresh.path(),
            &["enrol", "--server", &server.url(), "--token", &token],
        )
        .await;
        tillctl_ok(
            fresh.path(),
            &["sync", "--until-drained", "--timeout", "60"],
        )
        .await;
        fresh
    }
}

/// The tag and loyalty points the upgraded back office gives Bea, whose e-mail edit each
/// fixture's till queued in a format without them.
const BEA_TAG: &str = "vip";
const BEA_POINTS: i64 = 50;

/// Asserts that Bea, as `tillctl customers show --json` shows her, has the e-mail her queued
/// edit set and the tag and points the back office gave her.
fn assert_bea_has_both(shown: &Value, when: &str) {
    assert_eq!(
        shown["email"], "bea@example.org",
        "{when}: the queued edit of Bea's e-mail landed: {shown}"
    );
    assert_eq!(
        (&shown["tags"], &shown["loyalty_points"]),
        (&serde_json::json!([BEA_TAG]), &Value::from(BEA_POINTS)),
        "{when}: an edit queued in an older format leaves the tags and points the back office \
         gave Bea as they are: {shown}"
    );
}

/// Gives customer `id` Bea's tag and points on the version her queued edit was made on, under
/// the running back office at `office`. A back office upgraded before its tills holds that:
/// a till of the release pulled the version, blind to tags and points, and queued its edit on
/// it, so the edit lands on it and only its payload format says the tags and points are not its
/// to set. The fixture's back office is of the release too, so the version is written here: an
/// edit made with `till-server customer edit` now would make a new version instead, against
/// which the till's edit is a conflict that the till merges
/// ([`a_back_office_edit_made_after_the_upgrade_merges_with_the_edit_an_older_till_queued`]).
fn give_bea_unseen_tag_and_points(office: &Path, id: &str) {
    let db = office.join(till_server::storage::sqlite::DB_FILE);
    let conn = rusqlite::Connection::open(db).expect("the back office's store opens");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("a busy timeout");
    let tags = serde_json::json!([BEA_TAG]).to_string();
    let written = conn
        .execute(
            "UPDATE customers SET tags = ?1, loyalty_points = ?2 WHERE id = ?3",
            rusqlite::params![tags, BEA_POINTS, id],
        )
        .expect("writes");
    assert_eq!(written, 1, "the back office holds customer {id}");
}

async fn upgrade(name: &str, format: u32) {
    let copy = FixtureCopy::of(name);
    let facts = &copy.facts;
    let office = copy.office.path();
    let till = copy.till.path();
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

    let server = copy.start_office().await;
    // Bea's e-mail edit lands on a version of her that has tags and points.
    let bea = copy.customer("edited");
    give_bea_unseen_tag_and_points(office, bea);
    copy.drain(&server).await;

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

    let figures = stats(office).await;
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
        terminal_stats(&stats(office).await, terminal_id),
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
    let fresh = copy.fresh_till(&server).await;
    assert_bea_has_both(&shown(fresh.path(), bea).await, name);
    let cy = shown(fresh.path(), copy.customer("added")).await;
    assert_eq!(
        cy["name"], "Cy",
        "{name}: the added customer was delivered: {cy}"
    );
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_office_edit_made_after_the_upgrade_merges_with_the_edit_an_older_till_queued() {
    for (name, _) in FIXTURES {
        let copy = FixtureCopy::of(name);
        let server = copy.start_office().await;
        let bea = copy.customer("edited");
        let points = BEA_POINTS.to_string();
        let edit = [
            "customer",
            "edit",
            bea,
            "--add-tag",
            BEA_TAG,
            "--points",
            &points,
        ];
        server_cli(copy.office.path(), &edit).await;
        copy.drain(&server).await;

        let conflicts = json_of(copy.till.path(), &["conflicts", "list", "--json"]).await;
        assert_eq!(
            ids(&conflicts, "id"),
            ids(&copy.facts["open_conflicts"], "id"),
            "{name}: the till merged its edit of Bea's e-mail with the back office's tags and \
             points by itself: only the fixture's conflict is open"
        );
        let fresh = copy.fresh_till(&server).await;
        assert_bea_has_both(&shown(fresh.path(), bea).await, name);
        server.kill().await;
    }
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
