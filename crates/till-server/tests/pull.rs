//! `GET /v1/pull`: every change after a server-issued cursor, in pages, with tombstones.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_protocol::{ChangeKind, Currency, Product, PullResponse, StoreSettings, TaxRate};
use till_server::storage::{CatalogImport, CustomerEdit, PointsChange};
use uuid::Uuid;

fn catalog(products: usize) -> CatalogImport {
    CatalogImport {
        settings: Some(StoreSettings {
            store_name: "Corner shop".into(),
            currency: Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            locale: "en-GB".into(),
            address: None,
            tax_id: None,
        }),
        tax_rates: vec![TaxRate {
            id: "standard".into(),
            name: "Standard".into(),
            rate_bp: 2000,
        }],
        products: (0..products)
            .map(|i| Product {
                id: Uuid::now_v7(),
                sku: format!("SKU-{i:04}"),
                barcode: None,
                name: format!("Product {i}"),
                category: "misc".into(),
                unit_price: 100 + i as i64,
                tax_category: "standard".into(),
                active: true,
            })
            .collect(),
    }
}

async fn pull_all(
    server: &TestServer,
    token: &str,
    from: u64,
    limit: u32,
) -> (Vec<till_protocol::Change>, u64, usize) {
    let mut cursor = from;
    let mut changes = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = server
            .get(
                &format!("/v1/pull?cursor={cursor}&limit={limit}"),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: PullResponse = serde_json::from_value(body).expect("a PullResponse");
        assert!(
            page.changes.len() <= limit as usize,
            "a page never exceeds its limit"
        );
        pages += 1;
        changes.extend(page.changes);
        cursor = page.cursor;
        if !page.has_more {
            return (changes, cursor, pages);
        }
        assert!(pages < 10_000, "pull must terminate");
    }
}

on_both_backends!(pull_pages_through_every_change_with_tombstones_oldest_first);
async fn pull_pages_through_every_change_with_tombstones_oldest_first() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server
        .storage
        .import_catalog(catalog(120))
        .await
        .expect("imports");
    let customers: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
    for (i, id) in customers.iter().enumerate() {
        server
            .storage
            .save_customer(
                *id,
                CustomerEdit {
                    name: Some(format!("Customer {i}")),
                    ..Default::default()
                },
            )
            .await
            .expect("adds");
    }
    for id in &customers[..10] {
        server.storage.delete_customer(*id).await.expect("deletes");
    }
    server
        .storage
        .set_price("SKU-0005", 999)
        .await
        .expect("reprices");
    for sku in ["SKU-0010", "SKU-0011", "SKU-0012"] {
        server.storage.delete_product(sku).await.expect("deletes");
    }

    let (changes, cursor, pages) = pull_all(&server, &t.token, 0, 7).await;
    assert!(pages > 10, "many pages: {pages}");
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seqs, sorted, "changes come oldest first, each once");
    // settings + tax rate + 120 products + 30 customers, each entity at its latest state.
    assert_eq!(changes.len(), 1 + 1 + 120 + 30);
    let tombstones = changes
        .iter()
        .filter(|c| matches!(c.change, ChangeKind::CustomerDeleted { version: 2, .. }))
        .count();
    assert_eq!(tombstones, 10, "deleted customers arrive as tombstones");
    let product_tombstones = changes
        .iter()
        .filter(|c| matches!(c.change, ChangeKind::ProductDeleted { .. }))
        .count();
    assert_eq!(
        product_tombstones, 3,
        "deleted products arrive as tombstones"
    );
    let repriced = changes.iter().find_map(|c| match &c.change {
        ChangeKind::ProductUpserted(p) if p.sku == "SKU-0005" => Some(p.unit_price),
        _ => None,
    });
    assert_eq!(repriced, Some(999), "the new price, not the old one");

    // Nothing new: an empty page at the same cursor.
    let (again, cursor2, _) = pull_all(&server, &t.token, cursor, 50).await;
    assert!(again.is_empty());
    assert_eq!(cursor2, cursor);

    // One more change: exactly it.
    server
        .storage
        .save_customer(
            customers[20],
            CustomerEdit {
                phone: Some("+44 1".into()),
                ..Default::default()
            },
        )
        .await
        .expect("edits");
    let (delta, _, _) = pull_all(&server, &t.token, cursor, 50).await;
    assert_eq!(delta.len(), 1, "only what changed since the cursor");
    server.stop().await;
}

on_both_backends!(a_cursor_beyond_the_head_gets_an_empty_page);
async fn a_cursor_beyond_the_head_gets_an_empty_page() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server
        .storage
        .import_catalog(catalog(3))
        .await
        .expect("imports");
    let (status, body) = server.get("/v1/pull?cursor=1000000", Some(&t.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["changes"].as_array().map(Vec::len), Some(0));
    assert_eq!(body["has_more"], false);
    server.stop().await;
}

on_both_backends!(bad_pull_parameters_get_400_with_a_code);
async fn bad_pull_parameters_get_400_with_a_code() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=-1", "invalid_query"),
        ("limit=ten", "invalid_query"),
        ("cursor=-5", "invalid_query"),
        ("cursor=99999999999999999999999", "invalid_query"),
        ("cursor=18446744073709551615", "invalid_cursor"),
        ("bogus=1", "invalid_query"),
    ] {
        let (status, body) = server
            .get(&format!("/v1/pull?{query}"), Some(&t.token))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], code, "{query}: {body}");
    }
    server.stop().await;
}

on_both_backends!(a_puller_racing_concurrent_writers_misses_no_change);
/// Change numbers must become visible in order: a pull that moved its cursor past a change
/// committed later with a lower number would never see it. Made certain rather than left to
/// timing: one writer has taken its change number and written its customer but not committed
/// (a transaction held open) when a second writer starts and a terminal pulls. The second
/// writer must wait for the first, the pull must not pass the held change, and pulling on from
/// its cursor after both commit must bring both.
async fn a_puller_racing_concurrent_writers_misses_no_change() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    let held = server
        .hold(
            &format!(
                "UPDATE counters SET value = value + 1 WHERE name = 'change';
                 INSERT INTO customers (id, version, name, change_seq)
                 SELECT '{first}', 1, 'first writer', value FROM counters WHERE name = 'change';"
            ),
            &format!(
                "WITH c AS (UPDATE counters SET value = value + 1 WHERE name = 'change'
                            RETURNING value)
                 INSERT INTO customers (id, version, name, change_seq)
                 SELECT '{first}', 1, 'first writer', value FROM c;"
            ),
        )
        .await;
    let storage = server.storage.clone();
    let (started, writing) = tokio::sync::oneshot::channel();
    let writer = tokio::spawn(async move {
        let _ = started.send(());
        let edit = CustomerEdit {
            name: Some("second writer".into()),
            ..CustomerEdit::default()
        };
        storage.save_customer(second, edit).await.expect("saves")
    });
    writing.await.expect("the second writer started");
    if server.backend == Backend::Postgres {
        eventually(
            "the second writer waits for the first's change number",
            || async { held.waiting().await == Some(1) },
        )
        .await;
    }
    let seen = |changes: &[till_protocol::Change]| -> Vec<Uuid> {
        changes
            .iter()
            .filter_map(|c| match &c.change {
                ChangeKind::CustomerUpserted(customer) => Some(customer.id),
                _ => None,
            })
            .collect()
    };
    let (early, cursor, _) = pull_all(&server, &t.token, 0, 3).await;
    assert!(
        !writer.is_finished(),
        "the writers overlapped: the second could not commit before the first"
    );
    assert!(
        seen(&early).is_empty(),
        "nothing uncommitted is pulled: {early:?}"
    );
    held.release().await;
    writer.await.expect("the second writer finishes");
    let (later, _, _) = pull_all(&server, &t.token, cursor, 3).await;
    assert_eq!(
        seen(&later),
        [first, second],
        "pulling on from the cursor reaches every committed change, in order"
    );
    server.stop().await;
}

on_both_backends!(the_store_address_and_tax_id_are_stored_and_pulled);
async fn the_store_address_and_tax_id_are_stored_and_pulled() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut import = catalog(1);
    if let Some(s) = import.settings.as_mut() {
        s.address = Some("3 Quay Street\nGalway".into());
        s.tax_id = Some("IE7654321Z".into());
    }
    let sent = import.settings.clone();
    server
        .storage
        .import_catalog(import)
        .await
        .expect("imports");
    let pulled = |revision: u32| {
        let server = &server;
        let token = t.token.clone();
        async move {
            let (status, body) = server
                .get_as("/v1/pull?cursor=0&limit=100", Some(&token), Some(revision))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let page: PullResponse = serde_json::from_value(body).expect("a PullResponse");
            page.changes
                .into_iter()
                .filter_map(|c| match c.change {
                    ChangeKind::Settings(s) => Some(s),
                    _ => None,
                })
                .collect::<Vec<StoreSettings>>()
        }
    };
    let sent: Vec<StoreSettings> = sent.into_iter().collect();
    assert_eq!(
        pulled(till_protocol::PROTOCOL_REVISION).await,
        sent,
        "a till pulls the address and tax id the back office was given"
    );
    let older: Vec<StoreSettings> = sent
        .iter()
        .map(|s| StoreSettings {
            address: None,
            tax_id: None,
            ..s.clone()
        })
        .collect();
    assert_eq!(
        pulled(5).await,
        older,
        "a till of revision 5 is not sent them"
    );
}

/// The customer `id` as a till of protocol `revision` pulls it, as JSON.
async fn pulled_customer(
    server: &TestServer,
    token: &str,
    id: Uuid,
    revision: u32,
) -> serde_json::Value {
    let (status, body) = server
        .get_as("/v1/pull?cursor=0&limit=1000", Some(token), Some(revision))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .rev()
        .map(|c| &c["change"])
        .find(|c| c["type"] == "customer_upserted" && c["data"]["id"] == id.to_string())
        .map(|c| c["data"].clone())
        .expect("the customer is pulled")
}

on_both_backends!(
    tags_and_points_reach_only_a_till_of_revision_7_and_an_older_tills_edit_keeps_them
);
async fn tags_and_points_reach_only_a_till_of_revision_7_and_an_older_tills_edit_keeps_them() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let id = Uuid::now_v7();
    let office = CustomerEdit {
        name: Some("Ada".into()),
        add_tags: vec!["VIP".into(), "wholesale".into()],
        points: Some(PointsChange::Set(40)),
        ..CustomerEdit::default()
    };
    let saved = server
        .storage
        .save_customer(id, office)
        .await
        .expect("the office adds a customer");
    let today = pulled_customer(&server, &t.token, id, 7).await;
    assert_eq!(
        today["fields"]["tags"],
        serde_json::json!(["vip", "wholesale"])
    );
    assert_eq!(today["fields"]["loyalty_points"], 40);
    let older = pulled_customer(&server, &t.token, id, 6).await;
    assert!(
        older["fields"].get("tags").is_none() && older["fields"].get("loyalty_points").is_none(),
        "a till of revision 6 refuses fields it does not know: {older}"
    );
    serde_json::from_value::<till_protocol::Customer>(older).expect("it reads as before");

    // A till of revision 6 edits the name; its payload (format 1) carries no tags or points.
    let edit = till_server::sample::mutation(
        1,
        till_protocol::MutationBody::CustomerUpdated(till_protocol::CustomerUpdated {
            id,
            base_version: saved.version,
            base: saved.made_by,
            fields: till_protocol::CustomerFields {
                name: "Ada L.".into(),
                ..till_protocol::CustomerFields::default()
            },
        }),
    );
    let body = push_body(&t, &[edit]);
    let (status, answer) = server.push_raw_as(&t, &body, Some(6)).await;
    assert_eq!(status, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
    assert_eq!(
        answer["results"][0]["outcome"]["status"], "applied",
        "{answer}"
    );
    let after = pulled_customer(&server, &t.token, id, 7).await;
    assert_eq!(after["fields"]["name"], "Ada L.", "the edit is applied");
    assert_eq!(
        (&after["fields"]["tags"], &after["fields"]["loyalty_points"]),
        (
            &serde_json::json!(["vip", "wholesale"]),
            &serde_json::json!(40)
        ),
        "an older till's edit leaves the tags and points it cannot see"
    );
}
