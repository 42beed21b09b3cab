//! Employees in the back office: added, listed, given a new PIN and disabled, each change
//! pulled by a terminal of protocol revision 3 (with the PIN's hash, never the PIN), never by an
//! older one.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_protocol::{ChangeKind, Employee, PullResponse, Role, PROTOCOL_REVISION};
use till_server::pin;
use till_server::storage::{CustomerEdit, StorageError};
use uuid::Uuid;

/// Every change after `cursor`, page by page of `limit`, as a terminal naming `revision`.
async fn pull_all(
    server: &TestServer,
    token: &str,
    cursor: u64,
    limit: u32,
    revision: Option<u32>,
) -> (Vec<ChangeKind>, u64) {
    let mut cursor = cursor;
    let mut changes = Vec::new();
    for _ in 0..100 {
        let path = format!("/v1/pull?cursor={cursor}&limit={limit}");
        let (status, body) = server.get_as(&path, Some(token), revision).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: PullResponse = serde_json::from_value(body).expect("a PullResponse");
        changes.extend(page.changes.into_iter().map(|c| c.change));
        cursor = page.cursor;
        if !page.has_more {
            return (changes, cursor);
        }
    }
    panic!("pull must terminate");
}

fn employees(changes: &[ChangeKind]) -> Vec<&Employee> {
    changes
        .iter()
        .filter_map(|c| match c {
            ChangeKind::EmployeeUpserted(e) => Some(e),
            _ => None,
        })
        .collect()
}

on_both_backends!(employees_are_added_listed_given_a_new_pin_and_disabled);
async fn employees_are_added_listed_given_a_new_pin_and_disabled() {
    let server = TestServer::start().await;
    let storage = &server.storage;
    let hash = |p: &str| pin::hash(p).expect("a valid PIN");
    let grace = storage
        .add_employee("  Grace ", Role::Manager, hash("87654321"))
        .await
        .expect("adds");
    let ada = storage
        .add_employee("Ada", Role::Cashier, hash("1234"))
        .await
        .expect("adds");
    assert_eq!(grace.name, "Grace", "the name is trimmed");
    assert!(ada.pin_hash.starts_with("$argon2id$"));
    assert!(!ada.pin_hash.contains("1234"));

    let listed = storage.list_employees().await.expect("lists");
    assert_eq!(listed, vec![ada.clone(), grace.clone()], "by name");

    let repinned = storage
        .set_employee_pin(ada.id, hash("5678"))
        .await
        .expect("a new PIN");
    assert_ne!(repinned.pin_hash, ada.pin_hash);
    let disabled = storage.disable_employee(ada.id).await.expect("disables");
    assert!(disabled.disabled);
    assert_eq!(
        storage.disable_employee(ada.id).await.expect("still"),
        disabled,
        "disabling twice changes nothing"
    );
    assert!(matches!(
        storage.set_employee_pin(ada.id, hash("1111")).await,
        Err(StorageError::Invalid(_))
    ));
    for missing in [
        storage.disable_employee(Uuid::now_v7()).await,
        storage.set_employee_pin(Uuid::now_v7(), hash("1111")).await,
    ] {
        assert!(matches!(missing, Err(StorageError::NotFound { .. })));
    }
    let listed = storage.list_employees().await.expect("lists");
    assert_eq!(listed, vec![disabled, grace]);
}

on_both_backends!(a_bad_name_or_pin_stores_nothing);
async fn a_bad_name_or_pin_stores_nothing() {
    let server = TestServer::start().await;
    for bad_pin in ["123", "123456789", "12a4", ""] {
        assert!(matches!(pin::hash(bad_pin), Err(StorageError::Invalid(_))));
    }
    for bad_name in ["", "  ", "Ada\nLovelace", "4111 1111 1111 1111"] {
        let added = server
            .storage
            .add_employee(bad_name, Role::Cashier, pin::hash("1234").expect("valid"))
            .await;
        assert!(
            matches!(added, Err(StorageError::Invalid(_))),
            "{bad_name:?}"
        );
    }
    assert!(server
        .storage
        .list_employees()
        .await
        .expect("lists")
        .is_empty());
}

on_both_backends!(employee_changes_reach_a_current_terminal_by_pull_page_by_page);
async fn employee_changes_reach_a_current_terminal_by_pull_page_by_page() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let storage = &server.storage;
    let ada = storage
        .add_employee("Ada", Role::Cashier, pin::hash("1234").expect("valid"))
        .await
        .expect("adds");
    storage
        .save_customer(
            Uuid::now_v7(),
            CustomerEdit {
                name: Some("Customer".into()),
                ..Default::default()
            },
        )
        .await
        .expect("a customer between the employees");
    let grace = storage
        .add_employee("Grace", Role::Manager, pin::hash("8765").expect("valid"))
        .await
        .expect("adds");

    let current = Some(PROTOCOL_REVISION);
    let (changes, cursor) = pull_all(&server, &t.token, 0, 1, current).await;
    assert_eq!(
        changes.len(),
        3,
        "one change per page, the customer between"
    );
    assert_eq!(employees(&changes), vec![&ada, &grace], "hashes and all");

    let disabled = storage.disable_employee(ada.id).await.expect("disables");
    let (changes, cursor) = pull_all(&server, &t.token, cursor, 10, current).await;
    assert_eq!(
        employees(&changes),
        vec![&disabled],
        "only the change after it"
    );
    let (changes, _) = pull_all(&server, &t.token, cursor, 10, current).await;
    assert!(changes.is_empty(), "nothing more");
}

on_both_backends!(an_older_terminal_is_not_sent_employees_and_its_cursor_passes_them);
async fn an_older_terminal_is_not_sent_employees_and_its_cursor_passes_them() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server
        .storage
        .add_employee("Ada", Role::Cashier, pin::hash("1234").expect("valid"))
        .await
        .expect("adds");
    let (current, head) = pull_all(&server, &t.token, 0, 10, Some(PROTOCOL_REVISION)).await;
    assert_eq!(employees(&current).len(), 1);
    for older in [None, Some(2)] {
        let (changes, cursor) = pull_all(&server, &t.token, 0, 10, older).await;
        assert!(changes.is_empty(), "revision {older:?} is sent no employee");
        assert_eq!(cursor, head, "its cursor passes them all the same");
    }
}

on_both_backends!(a_pin_another_active_employee_has_is_refused_as_taken);
async fn a_pin_another_active_employee_has_is_refused_as_taken() {
    let server = TestServer::start().await;
    let storage = &server.storage;
    let hash = |p: &str| pin::hash(p).expect("a valid PIN");
    let ada = storage
        .add_employee("Ada", Role::Cashier, hash("1234"))
        .await
        .expect("added");
    let grace = storage
        .add_employee("Grace", Role::Manager, hash("5678"))
        .await
        .expect("added");
    assert!(matches!(
        storage
            .add_employee("Alan", Role::Cashier, hash("1234"))
            .await,
        Err(StorageError::PinTaken)
    ));
    assert!(matches!(
        storage.set_employee_pin(grace.id, hash("1234")).await,
        Err(StorageError::PinTaken)
    ));
    storage
        .set_employee_pin(ada.id, hash("1234"))
        .await
        .expect("an employee may be given its own PIN again");
    storage.disable_employee(ada.id).await.expect("disabled");
    storage
        .add_employee("Alan", Role::Cashier, hash("1234"))
        .await
        .expect("a disabled employee's PIN is free");
    assert_eq!(
        storage.list_employees().await.expect("lists").len(),
        3,
        "nothing of a refused PIN was stored"
    );
    server.stop().await;
}

on_both_backends!(an_older_terminal_gets_the_changes_after_a_run_of_employees_not_an_empty_page);
async fn an_older_terminal_gets_the_changes_after_a_run_of_employees_not_an_empty_page() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    for (name, pin) in [("Ada", "1111"), ("Grace", "2222"), ("Alan", "3333")] {
        let hash = pin::hash(pin).expect("valid");
        server
            .storage
            .add_employee(name, Role::Cashier, hash)
            .await
            .expect("adds");
    }
    let id = Uuid::now_v7();
    let customer = CustomerEdit {
        name: Some("Customer".into()),
        ..Default::default()
    };
    server
        .storage
        .save_customer(id, customer)
        .await
        .expect("saves");
    let (status, body) = server
        .get_as("/v1/pull?cursor=0&limit=1", Some(&t.token), Some(2))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: PullResponse = serde_json::from_value(body).expect("a PullResponse");
    assert!(
        matches!(&page.changes[..], [c] if matches!(&c.change, ChangeKind::CustomerUpserted(_))),
        "the page holds the customer after the employees: {:?}",
        page.changes
    );
    assert!(!page.has_more);
}

on_both_backends!(a_till_upgraded_to_revision_3_is_sent_the_employees_its_cursor_passed_once);
async fn a_till_upgraded_to_revision_3_is_sent_the_employees_its_cursor_passed_once() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let ada = server
        .storage
        .add_employee("Ada", Role::Cashier, pin::hash("1234").expect("valid"))
        .await
        .expect("adds");
    let (changes, cursor) = pull_all(&server, &t.token, 0, 10, Some(2)).await;
    assert!(
        employees(&changes).is_empty(),
        "revision 2 is sent no employee"
    );

    let current = Some(PROTOCOL_REVISION);
    let (changes, cursor) = pull_all(&server, &t.token, cursor, 10, current).await;
    assert_eq!(
        employees(&changes),
        vec![&ada],
        "the employee its cursor passed while it spoke revision 2"
    );
    let (changes, _) = pull_all(&server, &t.token, cursor, 10, current).await;
    assert!(changes.is_empty(), "sent once, not on every pull");
}
