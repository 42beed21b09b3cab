//! Disagreements between a terminal and the back office land in the conflict table with both
//! sides, each policy settles them as documented, and the resolution reaches the server.

use std::path::Path;

use serde_json::Value;
use till_core::store::Store;
use till_core::sync::customers;
use till_core::{hlc, outbox, tickets, SystemClock};
use till_e2e::*;
use till_protocol::{CustomerFields, MutationBody};
use uuid::Uuid;

struct Shop {
    server_dir: tempfile::TempDir,
    server: Server,
}

impl Shop {
    async fn open() -> Shop {
        let server_dir = tempfile::tempdir().expect("temp dir");
        let server = Server::start(server_dir.path()).await;
        Shop { server_dir, server }
    }

    /// A new terminal enrolled with the server and synced once.
    async fn terminal(&self, name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, token) = add_terminal(self.server_dir.path(), name).await;
        tillctl_ok(
            dir.path(),
            &["enrol", "--server", &self.server.url(), "--token", &token],
        )
        .await;
        sync(dir.path()).await;
        dir
    }

    /// Two tills of a store that allows cross-till returns.
    async fn two_tills_with_cross_till_returns(&self) -> (tempfile::TempDir, tempfile::TempDir) {
        let till_a = self.terminal("till-a").await;
        let till_b = self.terminal("till-b").await;
        server_cli(
            self.server_dir.path(),
            &["settings", "set", "allow-cross-till-returns", "true"],
        )
        .await;
        (till_a, till_b)
    }

    async fn customer(&self, args: &[&str]) {
        let mut all = vec!["customer"];
        all.extend_from_slice(args);
        server_cli(self.server_dir.path(), &all).await;
    }
}

async fn sync(dir: &Path) {
    sync_with(dir, &[]).await;
}

async fn sync_with(dir: &Path, extra: &[&str]) {
    let mut args = vec!["sync", "--until-drained", "--timeout", "60"];
    args.extend_from_slice(extra);
    tillctl_ok(dir, &args).await;
}

fn edit(dir: &Path, id: Uuid, change: impl FnOnce(&mut CustomerFields)) {
    let store = Store::open(dir).expect("store opens");
    let mut conn = store.connect().expect("connects");
    let mut fields = customers::get(&conn, id)
        .expect("reads")
        .expect("the customer was pulled")
        .fields;
    change(&mut fields);
    customers::save(&mut conn, Some(id), fields, &SystemClock).expect("saved and queued");
}

fn local(dir: &Path, id: Uuid) -> Option<customers::LocalCustomer> {
    let store = Store::open(dir).expect("store opens");
    let conn = store.connect().expect("connects");
    customers::get(&conn, id).expect("reads")
}

async fn conflicts(dir: &Path, all: bool) -> Vec<Value> {
    let args: &[&str] = if all {
        &["conflicts", "list", "--all", "--json"]
    } else {
        &["conflicts", "list", "--json"]
    };
    let out = tillctl_ok(dir, args).await;
    serde_json::from_str::<Value>(out.trim())
        .expect("JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_field_edited_on_both_sides_waits_for_a_person_and_keep_mine_reaches_the_server() {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&["add", &ids, "--name", "Ann", "--email", "ann@example.com"])
        .await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, |f| f.name = "Ann (till)".into());
    shop.customer(&["edit", &ids, "--name", "Ann (office)"])
        .await;
    sync(till.path()).await;

    let open = conflicts(till.path(), false).await;
    assert_eq!(open.len(), 1, "one conflict for the customer: {open:?}");
    let c = &open[0];
    assert_eq!(c["entity_kind"], "customer");
    assert_eq!(c["policy"], "field_merge");
    assert_eq!(
        c["fields"],
        serde_json::json!(["name"]),
        "only the name differs"
    );
    assert_eq!(
        c["local"]["fields"]["name"], "Ann (till)",
        "both sides are stored"
    );
    assert_eq!(c["server"]["fields"]["name"], "Ann (office)");
    assert!(
        c["resolved_at_ms"].is_null(),
        "the same field changed: a person decides"
    );

    let conflict_id = c["id"].to_string();
    tillctl_ok(
        till.path(),
        &[
            "conflicts",
            "resolve",
            &conflict_id,
            "--keep",
            "mine",
            "--by",
            "manager-1",
        ],
    )
    .await;
    sync(till.path()).await;
    let done = conflicts(till.path(), true).await;
    assert_eq!(done[0]["resolved_by"], "manager-1", "who chose is recorded");
    assert_eq!(
        done[0]["resolution"]["choice"], "keep_mine",
        "what they chose is recorded"
    );

    let other = shop.terminal("till-b").await;
    let seen = local(other.path(), id).expect("the other till has the customer");
    assert_eq!(
        seen.fields.name, "Ann (till)",
        "the resolution reached the server"
    );
    assert_eq!(seen.fields.email.as_deref(), Some("ann@example.com"));
    let status = status(till.path()).await;
    assert_eq!(status["conflicts"], 0);
    assert_eq!(status["pending"], 0);
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_fields_edited_on_both_sides_are_merged_by_policy() {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&["add", &ids, "--name", "Bo", "--phone", "111"])
        .await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, |f| f.email = Some("bo@example.com".into()));
    shop.customer(&["edit", &ids, "--phone", "222"]).await;
    sync(till.path()).await;

    let all = conflicts(till.path(), true).await;
    assert_eq!(all.len(), 1, "the disagreement is recorded: {all:?}");
    assert_eq!(
        all[0]["resolved_by"], "policy:field_merge",
        "settled by the policy"
    );
    assert!(
        conflicts(till.path(), false).await.is_empty(),
        "nothing left for a person"
    );

    let other = shop.terminal("till-b").await;
    let seen = local(other.path(), id).expect("the other till has the customer");
    assert_eq!(
        seen.fields.email.as_deref(),
        Some("bo@example.com"),
        "the till's field"
    );
    assert_eq!(
        seen.fields.phone.as_deref(),
        Some("222"),
        "the office's field"
    );
    let mine = local(till.path(), id).expect("still here");
    assert_eq!(mine.fields, seen.fields, "both tills agree after the merge");
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_deleted_on_the_server_while_edited_here_is_a_conflict_and_keep_theirs_deletes_it(
) {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&["add", &ids, "--name", "Cy"]).await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, |f| f.note = Some("likes receipts".into()));
    shop.customer(&["delete", &ids]).await;
    sync(till.path()).await;

    let open = conflicts(till.path(), false).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["reason"], "deleted");
    assert!(
        open[0]["server"].is_null(),
        "the server's side is the deletion"
    );
    assert_eq!(open[0]["local"]["fields"]["note"], "likes receipts");
    let conflict_id = open[0]["id"].to_string();
    tillctl_ok(
        till.path(),
        &["conflicts", "resolve", &conflict_id, "--keep", "theirs"],
    )
    .await;
    sync(till.path()).await;
    assert!(
        local(till.path(), id).is_none(),
        "keep theirs: the deletion wins here too"
    );
    let status = status(till.path()).await;
    assert_eq!(status["conflicts"], 0);
    assert_eq!(status["pending"], 0);
    shop.server.kill().await;
}

/// Refunds the whole of sale 1 on the till of `dir`, as its cashier does.
fn refund_sale_one(dir: &Path) -> till_protocol::Ticket {
    let store = Store::open(dir).expect("opens");
    let mut conn = store.connect().expect("connects");
    let sale = tickets::load_by_number(&conn, 1)
        .expect("reads")
        .expect("sale 1");
    let lines: Vec<tickets::RefundLine> = (1..=sale.lines.len())
        .filter_map(|n| tickets::RefundLine::whole(&sale, n))
        .collect();
    tickets::refund(&mut conn, sale.id, &lines, None, None, &SystemClock).expect("refunded")
}

/// Queues, on the till of `dir`, a refund of another till's sale: a copy of `refund` under this
/// till's ticket number 1 (a till cannot ring up another till's return yet, so it is written
/// into its outbox by hand).
fn queue_cross_till_refund(dir: &Path, refund: &till_protocol::Ticket) {
    let store = Store::open(dir).expect("opens");
    let conn = store.connect().expect("connects");
    let now = till_core::Clock::now_ms(&SystemClock);
    let stamp = hlc::tick(&conn, now).expect("stamps");
    let mut copy = refund.clone();
    copy.id = Uuid::now_v7();
    copy.number = 1;
    copy.hlc = stamp;
    outbox::enqueue(&conn, MutationBody::TicketRefunded(copy), None, stamp, now).expect("queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_refund_from_two_terminals_is_stored_for_review() {
    let shop = Shop::open().await;
    let (till_a, till_b) = shop.two_tills_with_cross_till_returns().await;
    tillctl_ok(till_a.path(), &["ring-up", "--demo", "1"]).await;
    sync(till_a.path()).await;

    // Till A refunds the whole sale.
    let refund = refund_sale_one(till_a.path());
    // Till B refunds the same sale (the customer came back to another till).
    queue_cross_till_refund(till_b.path(), &refund);
    sync(till_a.path()).await;
    sync(till_b.path()).await;

    let open = conflicts(till_b.path(), false).await;
    assert_eq!(
        open.len(),
        1,
        "the second refund is flagged for a manager: {open:?}"
    );
    assert_eq!(open[0]["entity_kind"], "ticket");
    assert_eq!(
        open[0]["reason"], "disputed_reversal",
        "stored and counted by the back office, disputed"
    );
    assert_eq!(open[0]["policy"], "manual", "money: a person reviews it");
    assert_eq!(
        open[0]["server"]["ticket_id"],
        refund.id.to_string(),
        "the server names the refund that came first"
    );
    let conflict_id = open[0]["id"].to_string();
    let refused = run_tillctl(
        till_b.path(),
        &["conflicts", "resolve", &conflict_id, "--keep", "mine"],
    )
    .await;
    assert!(!refused.ok, "a reversal is never sent twice");
    let dropped = run_tillctl(
        till_b.path(),
        &["conflicts", "resolve", &conflict_id, "--keep", "theirs"],
    )
    .await;
    assert!(
        !dropped.ok,
        "the cash of a counted refund is never dropped from the books"
    );
    tillctl_ok(
        till_b.path(),
        &[
            "conflicts",
            "resolve",
            &conflict_id,
            "--settle",
            "refund-stands",
            "--by",
            "manager-2",
        ],
    )
    .await;
    assert!(conflicts(till_b.path(), false).await.is_empty());
    sync(till_b.path()).await;
    let stats = stats(shop.server_dir.path()).await;
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(disputes(&shop).await, (1, 0), "counted, and settled");
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_writer_wins_compares_the_hlc_stamps_of_both_edits() {
    let shop = Shop::open().await;
    let later_here = Uuid::now_v7();
    let later_there = Uuid::now_v7();
    for id in [later_here, later_there] {
        shop.customer(&[
            "add",
            &id.to_string(),
            "--name",
            "Bo",
            "--email",
            "bo@example.com",
        ])
        .await;
    }
    let till = shop.terminal("till-a").await;

    // One customer edited in the back office, then here; the other here, then in the office.
    shop.customer(&[
        "edit",
        &later_here.to_string(),
        "--email",
        "office@example.com",
    ])
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    edit(till.path(), later_here, |f| {
        f.email = Some("till@example.com".into())
    });
    edit(till.path(), later_there, |f| {
        f.email = Some("till@example.com".into())
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    shop.customer(&[
        "edit",
        &later_there.to_string(),
        "--email",
        "office@example.com",
    ])
    .await;

    sync_with(till.path(), &["--customer-policy", "last_writer_wins"]).await;
    sync(till.path()).await;

    let all = conflicts(till.path(), true).await;
    assert_eq!(
        all.len(),
        2,
        "both edits met a newer server version: {all:?}"
    );
    for c in &all {
        assert_eq!(c["policy"], "last_writer_wins");
        assert_eq!(
            c["resolved_by"], "policy:last_writer_wins",
            "settled by the stamps"
        );
        assert!(
            c["server"]["hlc"].is_object(),
            "the server's side carries its stamp: {c}"
        );
    }
    let other = shop.terminal("till-b").await;
    let email = |id| {
        local(other.path(), id)
            .expect("the other till has the customer")
            .fields
            .email
    };
    assert_eq!(
        email(later_here).as_deref(),
        Some("till@example.com"),
        "the till's later edit wins and reaches the server"
    );
    assert_eq!(
        email(later_there).as_deref(),
        Some("office@example.com"),
        "the office's later edit wins"
    );
    assert_eq!(
        local(till.path(), later_there)
            .expect("the till has the customer")
            .fields
            .email
            .as_deref(),
        Some("office@example.com"),
        "and the till takes it"
    );
    let status = status(till.path()).await;
    assert_eq!(status["conflicts"], 0);
    assert_eq!(status["pending"], 0);
    shop.server.kill().await;
}

/// A customer's email edited in the office and here, synced under `policy`: the email the
/// server ends with (as a new till pulls it), and the one this till ends with.
async fn email_edited_on_both_sides(policy: &str) -> (Option<String>, Option<String>) {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&["add", &ids, "--name", "Di", "--email", "di@example.com"])
        .await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, |f| {
        f.email = Some("till@example.com".into())
    });
    shop.customer(&["edit", &ids, "--email", "office@example.com"])
        .await;
    sync_with(till.path(), &["--customer-policy", policy]).await;
    let all = conflicts(till.path(), true).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["resolved_by"], format!("policy:{policy}"));
    let other = shop.terminal("till-b").await;
    let on_server = local(other.path(), id).and_then(|c| c.fields.email);
    let here = local(till.path(), id).and_then(|c| c.fields.email);
    assert_eq!(status(till.path()).await["pending"], 0);
    shop.server.kill().await;
    (on_server, here)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_wins_and_terminal_wins_settle_a_customer_conflict_as_named() {
    let office = Some("office@example.com".to_string());
    let till = Some("till@example.com".to_string());
    assert_eq!(
        email_edited_on_both_sides("server_wins").await,
        (office.clone(), office),
        "the office's edit stays, and the till takes it"
    );
    assert_eq!(
        email_edited_on_both_sides("terminal_wins").await,
        (till.clone(), till),
        "the till's edit reaches the server"
    );
}

/// A customer with a name, e-mail and phone in the office, pulled by a till that then edits its
/// name and, in a second edit, its phone, offline; the office edits the e-mail meanwhile.
async fn two_offline_edits_and_an_office_edit(shop: &Shop) -> (Uuid, tempfile::TempDir) {
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&[
        "add",
        &ids,
        "--name",
        "Bo",
        "--email",
        "bo@example.com",
        "--phone",
        "111",
    ])
    .await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, |f| f.name = "Bo Brown".into());
    edit(till.path(), id, |f| f.phone = Some("222".into()));
    shop.customer(&["edit", &ids, "--email", "bo@office.example"])
        .await;
    (id, till)
}

fn fields_of(dir: &Path, id: Uuid) -> CustomerFields {
    local(dir, id).expect("the till has the customer").fields
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edits_here_and_one_in_the_office_on_different_fields_all_reach_the_server() {
    let shop = Shop::open().await;
    let (id, till) = two_offline_edits_and_an_office_edit(&shop).await;
    sync(till.path()).await;

    let all = conflicts(till.path(), true).await;
    assert_eq!(
        all.len(),
        1,
        "both edits make up one conflict with the office's edit: {all:?}"
    );
    assert_eq!(all[0]["resolved_by"], "policy:field_merge");
    let fresh = shop.terminal("till-b").await;
    let on_server = fields_of(fresh.path(), id);
    assert_eq!(on_server.name, "Bo Brown", "the first edit here");
    assert_eq!(
        on_server.phone.as_deref(),
        Some("222"),
        "the second edit here"
    );
    assert_eq!(
        on_server.email.as_deref(),
        Some("bo@office.example"),
        "the office's edit is never overwritten by an edit that did not see it"
    );
    assert_eq!(fields_of(till.path(), id), on_server, "both tills agree");
    let status = status(till.path()).await;
    assert_eq!(status["pending"], 0);
    assert_eq!(status["conflicts"], 0);
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_manual_policy_nothing_changes_until_a_person_decides_and_every_field_is_named() {
    let shop = Shop::open().await;
    let (id, till) = two_offline_edits_and_an_office_edit(&shop).await;
    sync_with(till.path(), &["--customer-policy", "manual"]).await;

    let open = conflicts(till.path(), false).await;
    assert_eq!(open.len(), 1, "one conflict for the customer: {open:?}");
    assert_eq!(
        open[0]["fields"],
        serde_json::json!(["name", "email", "phone"]),
        "the conflict names every field involved"
    );
    assert_eq!(open[0]["local"]["fields"]["phone"], "222");
    assert_eq!(open[0]["server"]["fields"]["email"], "bo@office.example");
    let before = shop.terminal("till-b").await;
    let untouched = fields_of(before.path(), id);
    assert_eq!(
        (
            untouched.name.as_str(),
            untouched.email.as_deref(),
            untouched.phone.as_deref()
        ),
        ("Bo", Some("bo@office.example"), Some("111")),
        "the back office keeps its own version until a person decides"
    );
    let here = fields_of(till.path(), id);
    assert_eq!(
        (here.name.as_str(), here.phone.as_deref()),
        ("Bo Brown", Some("222")),
        "and the till keeps its edits"
    );

    let conflict_id = open[0]["id"].to_string();
    tillctl_ok(
        till.path(),
        &[
            "conflicts",
            "resolve",
            &conflict_id,
            "--pick",
            "name=mine",
            "--pick",
            "phone=mine",
            "--by",
            "manager-1",
        ],
    )
    .await;
    sync_with(till.path(), &["--customer-policy", "manual"]).await;
    let after = shop.terminal("till-c").await;
    let decided = fields_of(after.path(), id);
    assert_eq!(
        (
            decided.name.as_str(),
            decided.email.as_deref(),
            decided.phone.as_deref()
        ),
        ("Bo Brown", Some("bo@office.example"), Some("222")),
        "the person's choice reaches the server whole"
    );
    assert_eq!(status(till.path()).await["pending"], 0);
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tillctl_adds_edits_lists_and_shows_customers_as_the_app_does() {
    let shop = Shop::open().await;
    let till = shop.terminal("till-a").await;
    let added = tillctl_ok(
        till.path(),
        &[
            "customers",
            "add",
            "--name",
            "Cy",
            "--email",
            "cy@example.com",
            "--json",
        ],
    )
    .await;
    let added: Value = serde_json::from_str(added.trim()).expect("add --json prints JSON");
    let id = added["id"].as_str().expect("an id").to_string();
    let plain = tillctl_ok(till.path(), &["customers", "add", "--name", "Di"]).await;
    assert!(
        Uuid::parse_str(plain.trim()).is_ok(),
        "the plain form prints the id alone: {plain:?}"
    );

    let show = |dir: &Path, id: &str| {
        let (dir, id) = (dir.to_path_buf(), id.to_string());
        async move {
            let out = tillctl_ok(&dir, &["customers", "show", &id, "--json"]).await;
            serde_json::from_str::<Value>(out.trim()).expect("show --json prints JSON")
        }
    };
    let shown = show(till.path(), &id).await;
    assert_eq!(
        shown,
        serde_json::json!({
            "id": id, "name": "Cy", "email": "cy@example.com", "phone": null, "note": null,
            "tags": [], "loyalty_points": 0, "version": 0, "pending": true
        }),
        "created here, waiting to sync"
    );
    sync(till.path()).await;
    let shown = show(till.path(), &id).await;
    assert_eq!(
        (shown["version"].clone(), shown["pending"].clone()),
        (1.into(), false.into())
    );

    tillctl_ok(
        till.path(),
        &["customers", "edit", &id, "--phone", "333", "--email", ""],
    )
    .await;
    let shown = show(till.path(), &id).await;
    assert_eq!(shown["phone"], "333");
    assert!(shown["email"].is_null(), "an empty value clears the field");
    assert_eq!(shown["name"], "Cy", "a field not named keeps its value");
    assert_eq!(shown["pending"], true);
    let refused = run_tillctl(till.path(), &["customers", "edit", &id, "--name", ""]).await;
    assert!(!refused.ok, "a customer needs a name, as in the app");
    assert!(
        refused.stderr.contains("(invalid_input)"),
        "{}",
        refused.stderr
    );
    sync(till.path()).await;

    let other = shop.terminal("till-b").await;
    let listed = tillctl_ok(other.path(), &["customers", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(listed.trim()).expect("list --json prints JSON");
    let names: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Cy", "Di"], "by name, as the back office has them");
    let pulled = show(other.path(), &id).await;
    assert_eq!(pulled["phone"], "333", "the edit reached the back office");
    assert_eq!(pulled["version"], 2);
    let missing = run_tillctl(
        other.path(),
        &["customers", "show", &Uuid::now_v7().to_string(), "--json"],
    )
    .await;
    assert!(missing.stderr.contains("(not_found)"), "{}", missing.stderr);
    let tagged = [
        "customers",
        "edit",
        &id,
        "--add-tag",
        " VIP ",
        "--add-points",
        "5",
    ];
    tillctl_ok(till.path(), &tagged).await;
    tillctl_ok(
        till.path(),
        &["customers", "edit", &id, "--add-points", "-2"],
    )
    .await;
    let shown = show(till.path(), &id).await;
    assert_eq!(
        (shown["tags"].clone(), shown["loyalty_points"].clone()),
        (serde_json::json!(["vip"]), 3.into()),
        "tags are added as the rule keeps them; points move by what is given"
    );
    shop.server.kill().await;
}

/// Edits a customer's e-mail here as if this till's clock said `at_ms`.
fn edit_email_at(dir: &Path, id: Uuid, email: &str, at_ms: i64) {
    let store = Store::open(dir).expect("store opens");
    let mut conn = store.connect().expect("connects");
    let mut fields = customers::get(&conn, id)
        .expect("reads")
        .expect("the customer was pulled")
        .fields;
    fields.email = Some(email.into());
    customers::save(
        &mut conn,
        Some(id),
        fields,
        &till_core::clock::FixedClock(at_ms),
    )
    .expect("saved and queued");
}

/// Three tills pull a customer, then edit its e-mail offline, each with its clock `ahead_ms` of
/// the moment they all synced, and sync one after another in `order` under last-writer-wins.
/// Returns the e-mail the back office ends with (as a fresh till pulls it) and each till's
/// failed items.
async fn last_writer_of_three(ahead_ms: [i64; 3], order: [usize; 3]) -> (String, Vec<Value>) {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    shop.customer(&["add", &id.to_string(), "--name", "Ed"])
        .await;
    let mut tills = Vec::new();
    for n in 0..3 {
        tills.push(shop.terminal(&format!("till-{n}")).await);
    }
    let synced = till_core::Clock::now_ms(&SystemClock);
    for (n, till) in tills.iter().enumerate() {
        edit_email_at(
            till.path(),
            id,
            &format!("till-{n}@example.com"),
            synced + ahead_ms[n],
        );
    }
    for n in order {
        sync_with(tills[n].path(), &["--customer-policy", "last_writer_wins"]).await;
    }
    let mut failed = Vec::new();
    for till in &tills {
        let out = tillctl_ok(till.path(), &["failed", "list", "--json"]).await;
        failed.push(serde_json::from_str::<Value>(out.trim()).expect("failed list --json"));
    }
    let fresh = shop.terminal("till-fresh").await;
    let email = fields_of(fresh.path(), id).email.unwrap_or_default();
    shop.server.kill().await;
    (email, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_writer_wins_between_three_tills_whatever_order_they_push_in() {
    let clocks = [1, 2, 3];
    let (forward, _) = last_writer_of_three(clocks, [0, 1, 2]).await;
    let (backward, _) = last_writer_of_three(clocks, [2, 1, 0]).await;
    assert_eq!(
        forward, "till-2@example.com",
        "the edit with the latest stamp wins, though two resolutions went before it"
    );
    assert_eq!(
        backward, forward,
        "the other push order gives the same winner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_whose_clock_is_a_day_ahead_never_wins_and_its_edit_waits_on_its_failed_list() {
    let day = 86_400_000;
    let clocks = [1, 2, day];
    for order in [[0, 1, 2], [2, 1, 0]] {
        let (email, failed) = last_writer_of_three(clocks, order).await;
        assert_eq!(
            email, "till-1@example.com",
            "the latest edit of a till with a right clock wins (order {order:?})"
        );
        let refused = failed[2].as_array().expect("a list");
        assert!(
            refused.first().is_some_and(|i| i["code"] == "clock_ahead")
                && refused
                    .iter()
                    .all(|i| i["code"] == "clock_ahead" || i["code"] == "depends_on_failed"),
            "the day-ahead till's edit is refused and shown, not applied, and what it settled \
             later waits for it (order {order:?}): {refused:?}"
        );
        assert!(failed[0].as_array().is_some_and(Vec::is_empty));
        assert!(failed[1].as_array().is_some_and(Vec::is_empty));
    }
}

/// A sale rung up on till B and refunded there, after till A refunded the same sale (the store
/// allows cross-till returns; till A's refund is the copy of till B's, in its outbox only): both
/// synced, till A first. Till B's refund is the disputed one. Returns both tills and till A's
/// refund total, which only its outbox holds.
async fn a_refund_disputed_on_till_b(shop: &Shop) -> (tempfile::TempDir, tempfile::TempDir, i64) {
    let (till_a, till_b) = shop.two_tills_with_cross_till_returns().await;
    tillctl_ok(till_b.path(), &["ring-up", "--demo", "1"]).await;
    sync(till_b.path()).await;
    let refund = refund_sale_one(till_b.path());
    queue_cross_till_refund(till_a.path(), &refund);
    sync(till_a.path()).await;
    sync(till_b.path()).await;
    (till_a, till_b, refund.totals.total)
}

/// The back office's total for the till of `dir`.
fn server_total(stats: &Value, dir: &Path) -> i64 {
    let store = Store::open(dir).expect("opens");
    let mut conn = store.connect().expect("connects");
    let id = till_core::status::read(&mut conn)
        .expect("status")
        .enrolment
        .expect("enrolled")
        .terminal_id
        .to_string();
    stats["terminals"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["terminal_id"] == id))
        .and_then(|t| t["total"].as_i64())
        .unwrap_or_else(|| panic!("the back office knows till {id}: {stats}"))
}

/// The books agree: each till's total as the back office counts it is the till's own (till A's
/// less the refund only its outbox holds), and the back office's total is theirs together.
async fn assert_books_agree(shop: &Shop, till_a: &Path, till_b: &Path, outbox_only: i64) {
    let stats = stats(shop.server_dir.path()).await;
    let (_, a) = local_tickets(till_a);
    let (_, b) = local_tickets(till_b);
    assert_eq!(server_total(&stats, till_b), b, "till B's books: {stats}");
    assert_eq!(
        server_total(&stats, till_a),
        a - outbox_only,
        "till A's books: {stats}"
    );
    assert_eq!(
        stats["total"],
        a - outbox_only + b,
        "the back office's books"
    );
    assert_eq!(stats["duplicates"], 0, "{stats}");
}

/// The back office's disputed reversals, and how many of them are still open.
async fn disputes(shop: &Shop) -> (u64, u64) {
    let stats = stats(shop.server_dir.path()).await;
    let count = |key: &str| {
        stats[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key}: {stats}"))
    };
    (count("disputed_reversals"), count("open_disputes"))
}

async fn disputed_conflict(till: &Path) -> String {
    let open = conflicts(till, false).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["reason"], "disputed_reversal");
    open[0]["id"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_refund_is_counted_until_a_manager_says_the_refund_stands() {
    let shop = Shop::open().await;
    let (till_a, till_b, first) = a_refund_disputed_on_till_b(&shop).await;
    assert_books_agree(&shop, till_a.path(), till_b.path(), first).await;
    let status_b = status(till_b.path()).await;
    assert_eq!(status_b["disputed_reversals"], 1, "{status_b}");
    assert_eq!(status_b["conflicts"], 1);
    assert_eq!(status_b["pending"], 0, "the refund reached the back office");
    assert_eq!(disputes(&shop).await, (1, 1), "counted, for a manager");

    let id = disputed_conflict(till_b.path()).await;
    tillctl_ok(
        till_b.path(),
        &[
            "conflicts",
            "resolve",
            &id,
            "--settle",
            "refund-stands",
            "--by",
            "manager-1",
        ],
    )
    .await;
    sync(till_b.path()).await;
    assert_eq!(disputes(&shop).await, (1, 0), "counted, and settled");
    assert_eq!(status(till_b.path()).await["disputed_reversals"], 0);
    assert_books_agree(&shop, till_a.path(), till_b.path(), first).await;
    shop.server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_refund_whose_cash_came_back_is_counted_in_again_by_a_counter_sale() {
    let shop = Shop::open().await;
    let (till_a, till_b, first) = a_refund_disputed_on_till_b(&shop).await;
    let id = disputed_conflict(till_b.path()).await;
    let (count_before, total_before) = local_tickets(till_b.path());
    let silent = run_tillctl(
        till_b.path(),
        &["conflicts", "resolve", &id, "--settle", "cash-came-back"],
    )
    .await;
    assert!(!silent.ok, "why the cash came back is recorded");
    tillctl_ok(
        till_b.path(),
        &[
            "conflicts",
            "resolve",
            &id,
            "--settle",
            "cash-came-back",
            "--why",
            "the customer brought it back",
            "--by",
            "manager-1",
        ],
    )
    .await;
    let (count, total) = local_tickets(till_b.path());
    assert_eq!(
        count,
        count_before + 1,
        "a counter-sale, under the next number"
    );
    assert!(total > total_before, "the cash is counted in again here");
    tillctl_ok(till_b.path(), &["verify-journal"]).await;
    sync(till_b.path()).await;
    let done = conflicts(till_b.path(), true).await;
    assert_eq!(done[0]["resolved_by"], "manager-1", "who is recorded");
    assert_eq!(
        done[0]["resolution"]["picks"]["why"], "the customer brought it back",
        "and why"
    );
    assert_eq!(disputes(&shop).await, (1, 0), "counted, and settled");
    assert_books_agree(&shop, till_a.path(), till_b.path(), first).await;
    shop.server.kill().await;
}

/// A customer the office added with `vip` and 100 points, edited here by `here` while the
/// office makes its own edit (`office`, `till-server customer edit` arguments); then synced and
/// read by a second till.
async fn tags_and_points_edited_on_both_sides(
    here: impl FnOnce(&mut CustomerFields),
    office: &[&str],
) -> (CustomerFields, CustomerFields, Vec<Value>) {
    let shop = Shop::open().await;
    let id = Uuid::now_v7();
    let ids = id.to_string();
    shop.customer(&[
        "add",
        &ids,
        "--name",
        "Cy",
        "--add-tag",
        "vip",
        "--points",
        "100",
    ])
    .await;
    let till = shop.terminal("till-a").await;
    edit(till.path(), id, here);
    let mut args = vec!["edit", ids.as_str()];
    args.extend_from_slice(office);
    shop.customer(&args).await;
    sync(till.path()).await;
    let settled = conflicts(till.path(), true).await;
    let other = shop.terminal("till-b").await;
    let seen = local(other.path(), id).expect("the other till has the customer");
    let mine = local(till.path(), id).expect("still here");
    shop.server.kill().await;
    (mine.fields, seen.fields, settled)
}

fn tags(fields: &CustomerFields) -> Vec<&str> {
    fields.tags.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_added_here_while_the_office_adds_another_keeps_both() {
    let (mine, seen, settled) = tags_and_points_edited_on_both_sides(
        |f| {
            f.tags.insert("a".into());
        },
        &["--add-tag", "B"],
    )
    .await;
    assert_eq!(tags(&seen), ["a", "b", "vip"], "both adds reach the server");
    assert_eq!(mine, seen, "both tills agree");
    assert_eq!(
        settled[0]["resolved_by"], "policy:field_merge",
        "a set changed on both sides merges without a person: {settled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_removed_here_while_the_office_adds_another_leaves_the_office_tag() {
    let (mine, seen, _) = tags_and_points_edited_on_both_sides(
        |f| {
            f.tags.remove("vip");
        },
        &["--add-tag", "b"],
    )
    .await;
    assert_eq!(
        tags(&seen),
        ["b"],
        "the remove here and the add there both hold"
    );
    assert_eq!(mine, seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_added_here_and_in_the_office_add_up() {
    let (mine, seen, settled) =
        tags_and_points_edited_on_both_sides(|f| f.loyalty_points += 10, &["--add-points", "5"])
            .await;
    assert_eq!(seen.loyalty_points, 115, "+10 here and +5 there");
    assert_eq!(mine, seen);
    assert_eq!(settled[0]["resolved_by"], "policy:field_merge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_that_both_sides_spent_below_zero_wait_for_a_person() {
    let (mine, seen, settled) =
        tags_and_points_edited_on_both_sides(|f| f.loyalty_points -= 60, &["--add-points", "-50"])
            .await;
    assert!(
        settled[0]["resolved_at_ms"].is_null(),
        "−60 here and −50 there from 100 is for a person: {settled:?}"
    );
    assert_eq!(settled[0]["fields"], serde_json::json!(["loyalty_points"]));
    assert_eq!(
        seen.loyalty_points, 50,
        "the server keeps the office's until then"
    );
    assert_eq!(
        mine.loyalty_points, 40,
        "this till keeps its edit until then"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_edited_on_both_sides_with_tags_still_waits_for_a_person() {
    let (_, seen, settled) = tags_and_points_edited_on_both_sides(
        |f| {
            f.name = "Cy (till)".into();
            f.tags.insert("a".into());
        },
        &["--name", "Cy (office)", "--add-tag", "b"],
    )
    .await;
    assert!(
        settled[0]["resolved_at_ms"].is_null(),
        "the name changed on both sides: as before, a person decides"
    );
    assert_eq!(seen.name, "Cy (office)");
}
