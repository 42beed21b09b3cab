//! Operators and approvals end to end, with a real back office and real `tillctl` runs: a till
//! with employees records nothing without a PIN, names who rang up each ticket here and in the
//! back office, asks a manager to approve a void or refund, takes several partial refunds of one
//! sale up to what is left, and locks out a guessed PIN. A shift whose Z report the back office
//! does not agree with (it refused one of its tickets) is a conflict a manager acknowledges, and
//! so is a sale it stored with other figures than the till sent.

use serde_json::Value;
use till_core::{approvals, cart, catalog, signin, tickets, Cart, CartLine, Store, SystemClock};
use till_e2e::*;
use till_protocol::pricing::Discount;
use till_protocol::ApprovalAction;

const CASHIER_PIN: &str = "48151623";
const MANAGER_PIN: &str = "27182818";
const WRONG_PIN: &str = "31415926";

/// A back office with a cashier (Cara) and a manager (Mona), and a till enrolled with it that
/// has pulled them: (server dir, till dir, server, terminal id).
async fn staffed_shop() -> (tempfile::TempDir, tempfile::TempDir, Server, String) {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_id, token) = add_terminal(server_dir.path(), "till-ops").await;
    for (name, role, pin) in [
        ("Cara", "cashier", CASHIER_PIN),
        ("Mona", "manager", MANAGER_PIN),
    ] {
        add_employee(server_dir.path(), name, role, pin).await;
    }
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    tillctl_ok(
        till.path(),
        &["shift", "open", "--float", "0", "--pin", MANAGER_PIN],
    )
    .await;
    (server_dir, till, server, terminal_id)
}

/// Runs `tillctl` expecting it to fail with `code`: exit 1, `error: … (code)`, and no PIN of
/// the command line anywhere in what it printed.
async fn refused(till: &std::path::Path, args: &[&str], code: &str) -> String {
    let run = run_tillctl(till, args).await;
    assert_eq!(run.code, Some(1), "{args:?} must fail: {run:?}");
    let said = run.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        said.starts_with("error: ") && said.ends_with(&format!("({code})")),
        "{args:?} must fail with {code}: {}",
        run.stderr
    );
    for pin in [CASHIER_PIN, MANAGER_PIN, WRONG_PIN] {
        assert!(
            !run.stderr.contains(pin) && !run.stdout.contains(pin),
            "a PIN is never printed: {run:?}"
        );
    }
    said.to_owned()
}

/// Conflict `id` acknowledged by Mona, the manager, after neither an acknowledgement without a
/// PIN nor keeping this till's side was taken: what `tillctl` said.
async fn acknowledged_by_mona(till: &std::path::Path, id: &str) -> String {
    let resolve = ["conflicts", "resolve", id];
    refused(
        till,
        &[&resolve[..], &["--acknowledge"]].concat(),
        "pin_required",
    )
    .await;
    let keep_mine = [&resolve[..], &["--keep", "mine", "--pin", MANAGER_PIN]].concat();
    refused(till, &keep_mine, "not_applicable").await;
    let ack = [&resolve[..], &["--acknowledge", "--pin", MANAGER_PIN]].concat();
    let said = tillctl_ok(till, &ack).await;
    assert!(said.contains("resolved by Mona"), "{said}");
    said
}

async fn json(till: &std::path::Path, args: &[&str]) -> Value {
    let out = tillctl_ok(till, args).await;
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?} prints JSON ({e}): {out}"))
}

/// The ticket `id` as the back office stores it.
fn stored_on_server(server_dir: &std::path::Path, id: &str) -> Value {
    let conn = rusqlite::Connection::open(server_dir.join("till-server.sqlite3"))
        .expect("the back office's store opens");
    let body: String = conn
        .query_row("SELECT body FROM tickets WHERE id = ?1", [id], |r| r.get(0))
        .unwrap_or_else(|e| panic!("the back office holds ticket {id}: {e}"));
    serde_json::from_str(&body).expect("a ticket")
}

/// `tillctl void 1`, by Cara and approved by the PIN `approve_pin`.
fn void_of_sale_1(approve_pin: &str) -> [&str; 6] {
    [
        "void",
        "1",
        "--pin",
        CASHIER_PIN,
        "--approve-pin",
        approve_pin,
    ]
}

/// `tillctl refund 2 --line LINE --json`, by Cara and approved by Mona.
fn refund_of_sale_2(line: &str) -> [&str; 9] {
    [
        "refund",
        "2",
        "--line",
        line,
        "--json",
        "--pin",
        CASHIER_PIN,
        "--approve-pin",
        MANAGER_PIN,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_with_employees_names_who_did_what_and_a_manager_approves_reversals() {
    let (server_dir, till, _server, terminal_id) = staffed_shop().await;
    let till = till.path();

    refused(till, &["ring-up", "--demo", "1"], "pin_required").await;
    let rung = tillctl_ok(
        till,
        &[
            "ring-up",
            "--demo",
            "3",
            "--seed",
            "7",
            "--pin",
            CASHIER_PIN,
        ],
    )
    .await;
    assert_eq!(rung.lines().collect::<Vec<_>>(), ["1", "2", "3"]);
    let listed = json(till, &["tickets", "--json"]).await;
    for t in listed.as_array().expect("a list") {
        assert_eq!(t["operator"]["name"], "Cara", "rung up by Cara: {t}");
    }

    // A void: the manager's approval, never the cashier's.
    refused(
        till,
        &["void", "1", "--pin", CASHIER_PIN],
        "approval_required",
    )
    .await;
    refused(till, &void_of_sale_1(CASHIER_PIN), "not_a_manager").await;
    let mut args = void_of_sale_1(MANAGER_PIN).to_vec();
    args.push("--json");
    let void = json(till, &args).await;
    assert_eq!(void["number"], 4);
    assert_eq!(void["kind"], "void");
    assert_eq!(void["operator"]["name"], "Cara");
    assert_eq!(void["approval"]["by"]["name"], "Mona");
    assert_eq!(void["approval"]["action"], "void");
    refused(till, &void_of_sale_1(MANAGER_PIN), "already_reversed").await;

    // Two partial refunds of sale 2, then a third asking for more than is left.
    let sale = json(till, &["tickets", "show", "2", "--json"]).await;
    let first_line = sale["lines"][0]["quantity"].as_i64().expect("a quantity");
    let first = json(till, &refund_of_sale_2("1:1")).await;
    assert_eq!(first["kind"], "refund");
    assert_eq!(first["approval"]["action"], "refund");
    let second = json(till, &refund_of_sale_2("2:1")).await;
    assert_eq!(second["number"], 6);
    let all_of_line_1 = format!("1:{first_line}");
    let said = refused(
        till,
        &refund_of_sale_2(&all_of_line_1),
        "nothing_left_to_refund",
    )
    .await;
    assert!(said.contains("line 1:"), "names the line: {said}");
    let shown = json(till, &["tickets", "show", "2", "--json"]).await;
    assert_eq!(shown["lines"][0]["refunded_quantity"], 1);
    assert_eq!(shown["lines"][0]["left_to_refund"], first_line - 1);
    assert_eq!(shown["lines"][1]["refunded_quantity"], 1);
    assert_eq!(shown["reversals"].as_array().map(Vec::len), Some(2));

    // All of it to the back office, once.
    let synced = run_tillctl(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    let sale_1 = json(till, &["tickets", "show", "1", "--json"]).await;
    let on_server = stored_on_server(server_dir.path(), sale_1["id"].as_str().expect("an id"));
    assert_eq!(
        on_server["operator"]["name"], "Cara",
        "the back office keeps who rang it up: {on_server}"
    );
    let void_on_server = stored_on_server(server_dir.path(), void["id"].as_str().expect("an id"));
    assert_eq!(void_on_server["approval"]["by"]["name"], "Mona");
    assert!(synced.ok, "{synced:?}");
    assert_delivered_exactly_once(server_dir.path(), till, &terminal_id).await;
    for refund in [&first, &second] {
        let held = stored_on_server(server_dir.path(), refund["id"].as_str().expect("an id"));
        assert_eq!(
            held["reverses"], sale["id"],
            "each partial refund of sale 2: {held}"
        );
    }
    assert_eq!(
        status(till).await["conflicts"],
        0,
        "a second partial refund is no reversal of an already reversed sale"
    );

    // Five wrong PINs lock the till: then even the right PIN is refused.
    for _ in 0..4 {
        refused(
            till,
            &["ring-up", "--demo", "1", "--pin", WRONG_PIN],
            "wrong_pin",
        )
        .await;
    }
    refused(
        till,
        &["ring-up", "--demo", "1", "--pin", WRONG_PIN],
        "pin_locked",
    )
    .await;
    refused(
        till,
        &["ring-up", "--demo", "1", "--pin", CASHIER_PIN],
        "pin_locked",
    )
    .await;
    let journal = json(till, &["verify-journal", "--json"]).await;
    assert_eq!(
        (journal["events"].as_u64(), journal["broken"].is_null()),
        (Some(2), true),
        "the shift's opening and the lock-out, in the chain: {journal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_office_takes_a_sale_at_an_overridden_price_and_a_managers_discount() {
    let (server_dir, till, _server, terminal_id) = staffed_shop().await;
    {
        let store = Store::open(till.path()).expect("opens");
        let mut conn = store.connect().expect("connects");
        let products = catalog::active_products(&conn).expect("catalog");
        let cart = Cart {
            lines: vec![CartLine {
                product_id: products[0].id,
                quantity: 3,
                discount: Some(Discount::Percent { bp: 3000 }),
                unit_price: Some(products[0].unit_price + 15),
            }],
            ticket_discount: None,
            customer_id: None,
        };
        let clock = SystemClock;
        let cara = signin::operator(&mut conn, Some(CASHIER_PIN), &clock).expect("signs in");
        let needed = approvals::for_cart(&conn, &cart).expect("judges");
        let approval = approvals::obtain(&mut conn, needed.as_ref(), Some(MANAGER_PIN), &clock)
            .expect("approves");
        let total = cart::quote(&conn, &cart).expect("quotes").totals.total;
        let sale = tickets::commit(
            &mut conn,
            &cart,
            &[till_core::TenderInput::Cash { tendered: total }],
            cara,
            approval,
            &clock,
        )
        .expect("sells");
        assert_eq!(
            sale.approval.map(|a| a.action),
            Some(ApprovalAction::PriceOverride)
        );
    }
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_delivered_exactly_once(server_dir.path(), till.path(), &terminal_id).await;
}

/// Adds a minor unit to the total of the queued sale `number`, as a bug recording it would have
/// (in its rows, and in every hash and payload made of them): the back office refuses it, as
/// its figures no longer price.
fn damage_queued_sale(till: &std::path::Path, number: u64) {
    till_e2e::tamper::change_sale_total(till, number, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_missing_a_refused_ticket_is_a_mismatch_a_manager_acknowledges() {
    let (server_dir, till, _server, _terminal_id) = staffed_shop().await;
    let till = till.path();
    let pin = ["--pin", CASHIER_PIN];
    tillctl_ok(till, &["ring-up", "--demo", "3", pin[0], pin[1]]).await;
    damage_queued_sale(till, 2);
    let x = json(till, &["shift", "show", "--json"]).await;
    let expected = x["expected_cash"].as_i64().expect("a figure").to_string();
    let z = json(
        till,
        &[
            "shift",
            "close",
            "--counted",
            &expected,
            "--pin",
            MANAGER_PIN,
            "--json",
        ],
    )
    .await;
    assert_eq!(z["reconciliation"], "pending", "closed before any sync");
    let shift_id = z["shift_id"].as_str().expect("an id").to_owned();

    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    let failed = json(till, &["failed", "list", "--json"]).await;
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "sale 2: {failed}");

    // The till, its conflict list and the back office all name the ticket that never arrived.
    let shifts = json(till, &["shift", "list", "--json"]).await;
    let closed = &shifts[0];
    assert_eq!(closed["shift_id"], shift_id.as_str());
    assert_eq!(closed["reconciliation"], "mismatch", "{closed}");
    assert_eq!(
        closed["mismatch"]["missing_tickets"],
        serde_json::json!([2])
    );
    let open = json(till, &["conflicts", "list", "--json"]).await;
    let conflicts = open.as_array().expect("a list");
    assert_eq!(conflicts.len(), 1, "{open}");
    let conflict = &conflicts[0];
    assert_eq!(conflict["entity_kind"], "shift", "{conflict}");
    assert_eq!(conflict["entity_id"], shift_id.as_str());
    assert_eq!(conflict["reason"], "shift_mismatch");
    assert_eq!(conflict["policy"], "manual", "no policy settles money");
    assert_eq!(
        conflict["local"]["z_number"], 1,
        "this till's side: its Z report"
    );
    assert_eq!(
        conflict["server"]["missing_tickets"],
        serde_json::json!([2]),
        "the back office's side: what differs"
    );
    assert!(
        conflict["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "missing_tickets")),
        "{conflict}"
    );
    let id = conflict["id"].to_string();
    let text = tillctl_ok(till, &["conflicts", "list"]).await;
    assert!(
        text.contains("\tshift\t") && text.contains("shift_mismatch"),
        "{text}"
    );
    let shown = tillctl_ok(till, &["conflicts", "show", &id]).await;
    assert!(shown.contains("Z report #1"), "{shown}");
    assert!(
        shown.contains("ticket #2\tcounted\tnever received"),
        "the missing ticket, row by row: {shown}"
    );
    let on_server = server_cli(server_dir.path(), &["shifts", "--json"]).await;
    let on_server: Value = serde_json::from_str(&on_server).expect("JSON");
    assert_eq!(on_server[0]["state"], "mismatch", "{on_server}");
    assert_eq!(
        on_server[0]["mismatch"]["missing_tickets"],
        serde_json::json!([2])
    );

    // Acknowledged, never rewritten: by someone signed in, recorded in the journal.
    let said = acknowledged_by_mona(till, &id).await;
    assert!(!said.contains("queued"), "nothing is sent: {said}");
    assert_eq!(status(till).await["conflicts"], 0);
    let all = json(till, &["conflicts", "list", "--all", "--json"]).await;
    assert_eq!(all[0]["resolved_by"], "Mona");
    let journal = json(till, &["verify-journal", "--json"]).await;
    assert_eq!(journal["broken"], Value::Null, "{journal}");
    assert_eq!(
        (journal["tickets"].as_u64(), journal["events"].as_u64()),
        (Some(3), Some(3)),
        "shift opened, shift closed, conflict resolved: {journal}"
    );

    // The refused sale is discarded with a manager's approval: an event of the journal too.
    let seq = failed[0]["seq"].to_string();
    let discard = [
        "failed",
        "discard",
        &seq,
        "--reason",
        "rung up again",
        "--pin",
        CASHIER_PIN,
    ];
    refused(till, &discard, "approval_required").await;
    let approved = [&discard[..], &["--approve-pin", MANAGER_PIN]].concat();
    tillctl_ok(till, &approved).await;
    let journal = json(till, &["verify-journal", "--json"]).await;
    assert_eq!(
        journal["events"], 4,
        "the discard is in the chain: {journal}"
    );
    assert_eq!(journal["broken"], Value::Null, "{journal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_the_back_office_stores_with_another_total_is_a_conflict_a_manager_acknowledges() {
    let (server_dir, till, _server, _terminal_id) = staffed_shop().await;
    let till = till.path();
    // Behind the server's back, its store keeps every ticket with a total one cent higher than
    // the one it was sent with.
    rusqlite::Connection::open(server_dir.path().join("till-server.sqlite3"))
        .expect("the back office's store opens")
        .execute_batch(
            "CREATE TRIGGER drift AFTER INSERT ON tickets BEGIN
                 UPDATE tickets SET total = total + 1 WHERE id = NEW.id;
             END;",
        )
        .expect("the trigger is created");
    tillctl_ok(till, &["ring-up", "--demo", "1", "--pin", CASHIER_PIN]).await;
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;

    let open = json(till, &["conflicts", "list", "--json"]).await;
    let conflicts = open.as_array().expect("a list");
    assert_eq!(
        conflicts.len(),
        1,
        "the difference is never silently accepted: {open}"
    );
    let conflict = &conflicts[0];
    assert_eq!(conflict["entity_kind"], "ticket", "{conflict}");
    assert_eq!(conflict["reason"], "totals_differ");
    assert_eq!(conflict["policy"], "manual", "no policy settles money");
    let (mine, theirs) = (
        conflict["local"]["total"]
            .as_i64()
            .expect("this till's total"),
        conflict["server"]["total"]
            .as_i64()
            .expect("the back office's total"),
    );
    assert_eq!(
        theirs,
        mine + 1,
        "each side as it holds the ticket: {conflict}"
    );
    assert_eq!(conflict["fields"], serde_json::json!(["total"]));
    assert_eq!(
        conflict["local"]["tenders"], conflict["server"]["tenders"],
        "only the total differs"
    );
    let failed = json(till, &["failed", "list", "--json"]).await;
    assert_eq!(
        failed.as_array().map(Vec::len),
        Some(0),
        "the sale exists on the server: it stays synced, not failed: {failed}"
    );

    acknowledged_by_mona(till, &conflict["id"].to_string()).await;
    assert_eq!(status(till).await["conflicts"], 0);
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_eq!(
        status(till).await["conflicts"],
        0,
        "an acknowledged difference is not raised again"
    );
}
