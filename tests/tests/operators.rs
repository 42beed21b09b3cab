//! Operators and approvals end to end, with a real back office and real `tillctl` runs: a till
//! with employees records nothing without a PIN, names who rang up each ticket here and in the
//! back office, asks a manager to approve a void or refund, takes several partial refunds of one
//! sale up to what is left, and locks out a guessed PIN.

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
        server_cli(
            server_dir.path(),
            &["employee", "add", name, "--role", role, "--pin", pin],
        )
        .await;
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
