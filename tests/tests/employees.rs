//! Employees reach the till by pull: added in the back office, they are in the till's store
//! after a sync (their PINs' hashes, never the PINs); disabled there, they show disabled here
//! after the next sync.

use serde_json::Value;
use till_e2e::*;

async fn till_employees(till: &std::path::Path) -> Vec<Value> {
    let listed = tillctl_ok(till, &["employees", "--json"]).await;
    assert!(!listed.contains("argon2"), "no hash is printed: {listed}");
    let listed: Value = serde_json::from_str(&listed).expect("json");
    listed.as_array().expect("a list").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employees_added_and_disabled_in_the_back_office_reach_the_till() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (_, token) = add_terminal(server_dir.path(), "till-1").await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    let ada = add_employee(server_dir.path(), "Ada", "cashier", "1234").await;
    let grace = add_employee(server_dir.path(), "Grace", "manager", "87654321").await;

    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let listed = till_employees(till.path()).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (shown, (id, name, role)) in listed
        .iter()
        .zip([(&ada, "Ada", "cashier"), (&grace, "Grace", "manager")])
    {
        assert_eq!(shown["id"], id.as_str());
        assert_eq!(shown["name"], name);
        assert_eq!(shown["role"], role);
        assert_eq!(shown["disabled"], false);
    }

    server_cli(server_dir.path(), &["employee", "disable", &ada]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let listed = till_employees(till.path()).await;
    assert_eq!(listed[0]["id"], ada.as_str());
    assert_eq!(
        listed[0]["disabled"], true,
        "the disabling reached the till"
    );
    assert_eq!(listed[1]["disabled"], false);
    let text = tillctl_ok(till.path(), &["employees"]).await;
    assert!(
        text.contains("disabled") && text.contains("Grace"),
        "{text}"
    );
}
