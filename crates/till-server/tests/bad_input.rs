//! Bad input gets a 4xx with `{code, message}`, changes nothing, and never a 500.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use till_protocol::{MAX_BODY_BYTES, MAX_PUSH_BATCH};

async fn post(
    server: &TestServer,
    t: &Terminal,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = server
        .http
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&t.token)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn assert_error(status: StatusCode, body: &Value, expected_code: &str, why: &str) {
    assert!(
        status.is_client_error(),
        "{why}: status {status}, body {body}"
    );
    assert_eq!(body["code"], expected_code, "{why}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{why}: a message for people"
    );
}

on_both_backends!(every_bad_push_gets_a_4xx_code_and_changes_nothing);
async fn every_bad_push_gets_a_4xx_code_and_changes_nothing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let valid: Value = serde_json::from_slice(&push_body(&t, &sales(1, 1))).expect("json");

    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = valid.clone();
        f(&mut v);
        serde_json::to_vec(&v).expect("json")
    };
    let cases: Vec<(&str, Option<&str>, Vec<u8>, &str)> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            b"{\"terminal_id\": ".to_vec(),
            "malformed_json",
        ),
        (
            "not JSON at all",
            Some("application/json"),
            b"\x00\xffgarbage".to_vec(),
            "malformed_json",
        ),
        (
            "empty body",
            Some("application/json"),
            Vec::new(),
            "malformed_json",
        ),
        (
            "no content type",
            None,
            serde_json::to_vec(&valid).expect("json"),
            "unsupported_media_type",
        ),
        (
            "text content type",
            Some("text/plain"),
            serde_json::to_vec(&valid).expect("json"),
            "unsupported_media_type",
        ),
        (
            "wrong type",
            Some("application/json"),
            with(&|v| v["mutations"][0]["seq"] = json!("one")),
            "invalid_body",
        ),
        (
            "unknown field",
            Some("application/json"),
            with(&|v| v["extra"] = json!(1)),
            "invalid_body",
        ),
        (
            "unknown nested field",
            Some("application/json"),
            with(&|v| v["mutations"][0]["body"]["data"]["lines"][0]["colour"] = json!("red")),
            "invalid_body",
        ),
        (
            "unknown mutation type",
            Some("application/json"),
            with(&|v| v["mutations"][0]["body"]["type"] = json!("ticket_eaten")),
            "invalid_body",
        ),
        (
            "missing field",
            Some("application/json"),
            with(&|v| {
                v["mutations"][0].as_object_mut().map(|o| o.remove("hlc"));
            }),
            "invalid_body",
        ),
        (
            "bad uuid",
            Some("application/json"),
            with(&|v| v["terminal_id"] = json!("not-a-uuid")),
            "invalid_body",
        ),
        (
            "negative seq",
            Some("application/json"),
            with(&|v| v["mutations"][0]["seq"] = json!(-1)),
            "invalid_body",
        ),
        (
            "seq beyond u64",
            Some("application/json"),
            with(&|v| v["mutations"][0]["seq"] = json!(1e30)),
            "invalid_body",
        ),
        (
            "money beyond i64",
            Some("application/json"),
            String::from_utf8(with(&|v| {
                v["mutations"][0]["body"]["data"]["totals"]["total"] = json!("@BIG@")
            }))
            .expect("utf8")
            .replace("\"@BIG@\"", "92233720368547758070")
            .into_bytes(),
            "invalid_body",
        ),
        (
            "seq zero",
            Some("application/json"),
            with(&|v| v["mutations"][0]["seq"] = json!(0)),
            "invalid_seq",
        ),
        (
            "seq beyond i64",
            Some("application/json"),
            with(&|v| v["mutations"][0]["seq"] = json!(u64::MAX)),
            "invalid_seq",
        ),
        (
            "array instead of object",
            Some("application/json"),
            b"[1,2,3]".to_vec(),
            "invalid_body",
        ),
    ];
    for (why, content_type, body, code) in cases {
        let (status, response) = post(&server, &t, content_type, body).await;
        assert_error(status, &response, code, why);
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        (stats.mutations, stats.tickets),
        (0, 0),
        "bad input must change nothing"
    );
    server.stop().await;
}

on_both_backends!(an_oversize_body_gets_413);
async fn an_oversize_body_gets_413() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut body = b"{\"terminal_id\":\"".to_vec();
    body.resize(MAX_BODY_BYTES + 1024, b'a');
    let (status, response) = post(&server, &t, Some("application/json"), body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
    assert_eq!(response["code"], "body_too_large");
    server.stop().await;
}

on_both_backends!(too_many_mutations_in_one_batch_get_413);
async fn too_many_mutations_in_one_batch_get_413() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let body = push_body(&t, &sales(1, MAX_PUSH_BATCH as u64 + 1));
    let (status, response) = post(&server, &t, Some("application/json"), body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{response}");
    assert_eq!(response["code"], "batch_too_large");
    assert_eq!(server.storage.stats().await.expect("stats").mutations, 0);
    server.stop().await;
}

/// A change to a valid push body.
type Edit = dyn Fn(&mut Value);

on_both_backends!(absurd_ticket_values_are_rejected_per_item_not_500);
async fn absurd_ticket_values_are_rejected_per_item_not_500() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let valid: Value = serde_json::from_slice(&push_body(&t, &sales(1, 1))).expect("json");
    let cases: Vec<(&str, &Edit, &str)> = vec![
        (
            "negative quantity",
            &|v| v["mutations"][0]["body"]["data"]["lines"][0]["quantity"] = json!(-3),
            "invalid_quantity",
        ),
        (
            "huge quantity",
            &|v| v["mutations"][0]["body"]["data"]["lines"][0]["quantity"] = json!(i64::MAX),
            "invalid_quantity",
        ),
        (
            "huge price",
            &|v| v["mutations"][0]["body"]["data"]["lines"][0]["unit_price"] = json!(i64::MAX),
            "invalid_price",
        ),
        (
            "tax rate above 100%",
            &|v| v["mutations"][0]["body"]["data"]["lines"][0]["tax_rate_bp"] = json!(u32::MAX),
            "invalid_tax_rate",
        ),
        (
            "no lines",
            &|v| v["mutations"][0]["body"]["data"]["lines"] = json!([]),
            "empty_cart",
        ),
        (
            "ticket number zero",
            &|v| v["mutations"][0]["body"]["data"]["number"] = json!(0),
            "invalid_ticket_number",
        ),
        (
            "bad currency",
            &|v| v["mutations"][0]["body"]["data"]["currency"]["code"] = json!("euro"),
            "invalid_currency",
        ),
        (
            "negative cash",
            &|v| {
                v["mutations"][0]["body"]["data"]["tenders"] =
                    json!([{"kind":"cash","tendered":-5,"change":0}])
            },
            "invalid_tender",
        ),
        (
            "sale reversing a ticket",
            &|v| {
                v["mutations"][0]["body"]["data"]["reverses"] =
                    json!("0190a0a0-0000-7000-8000-000000000000")
            },
            "invalid_reverses",
        ),
        (
            "void kind in a sale mutation",
            &|v| v["mutations"][0]["body"]["data"]["kind"] = json!("void"),
            "kind_mismatch",
        ),
    ];
    for (i, (why, edit, code)) in cases.into_iter().enumerate() {
        let mut v = valid.clone();
        edit(&mut v);
        v["mutations"][0]["seq"] = json!(i + 1);
        v["mutations"][0]["id"] = json!(uuid::Uuid::now_v7());
        let (status, body) = server
            .push_raw(&t, &serde_json::to_vec(&v).expect("json"))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{why}: {}",
            String::from_utf8_lossy(&body)
        );
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body["results"][0]["outcome"]["status"], "rejected",
            "{why}: {body}"
        );
        assert_eq!(body["results"][0]["outcome"]["code"], code, "{why}: {body}");
    }
    assert_eq!(
        server.storage.stats().await.expect("stats").tickets,
        0,
        "nothing absurd is stored"
    );
    server.stop().await;
}

on_both_backends!(unknown_routes_methods_and_paths_get_json_errors);
async fn unknown_routes_methods_and_paths_get_json_errors() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let (status, body) = server.get("/v1/nothing-here", Some(&t.token)).await;
    assert_error(status, &body, "not_found", "unknown route");
    let (status, body) = server.get("/v1/push", Some(&t.token)).await;
    assert_error(status, &body, "method_not_allowed", "GET on a POST route");
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, body) = server
        .get("/v1/terminals/not-a-uuid/ack", Some(&t.token))
        .await;
    assert_error(status, &body, "invalid_path", "a path id that is no UUID");
    let (status, body) = server
        .get(&format!("/v1/terminals/{}/ack", t.id), Some("Bearer x y z"))
        .await;
    assert_error(status, &body, "invalid_token", "garbage token");
    server.stop().await;
}

on_both_backends!(a_database_failure_answers_its_code_and_a_generic_message_naming_the_request);
async fn a_database_failure_answers_its_code_and_a_generic_message_naming_the_request() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server
        .execute_sql("ALTER TABLE mutations RENAME TO mutations_gone")
        .await;
    let response = server
        .http
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body(push_body(&t, &sales(1, 1)))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "database_error", "the code stays: {body}");
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.contains(&request_id),
        "the message names the request, so its log line can be found: {message}"
    );
    for leak in [
        "mutations",
        "relation",
        "table",
        "SQL",
        "sqlite",
        "postgres",
    ] {
        assert!(
            !message.to_lowercase().contains(&leak.to_lowercase()),
            "the database's own text stays in the log ({leak}): {message}"
        );
    }
    server.stop().await;
}

on_both_backends!(overlong_strings_are_refused_as_bad_input_before_anything_is_stored);
async fn overlong_strings_are_refused_as_bad_input_before_anything_is_stored() {
    use till_server::decide::text::{MAX_CODE, MAX_NAME};
    use till_server::storage::{CatalogImport, StorageError};

    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut long_name = sales(1, 1);
    if let till_protocol::MutationBody::TicketCreated(ticket) = &mut long_name[0].body {
        ticket.lines[0].name = "n".repeat(100_000);
    }
    let (response, raw) = server.push(&t, &long_name).await;
    assert!(
        matches!(&response.results[0].outcome,
            till_protocol::Outcome::Rejected { code, .. } if code == "text_too_long"),
        "{:?}",
        response.results[0].outcome
    );
    assert!(
        raw.to_string().len() < 1_000,
        "the refusal does not carry the string back"
    );
    assert_eq!(server.storage.stats().await.expect("stats").tickets, 0);

    let product = |sku: String, name: String| till_protocol::Product {
        id: uuid::Uuid::now_v7(),
        sku,
        barcode: None,
        name,
        category: "c".into(),
        unit_price: 100,
        tax_category: "standard".into(),
        active: true,
    };
    for p in [
        product("s".repeat(MAX_CODE + 1), "Bread".into()),
        product("SKU-1".into(), "n".repeat(MAX_NAME + 1)),
    ] {
        let refused = server
            .storage
            .import_catalog(CatalogImport {
                settings: None,
                tax_rates: vec![],
                products: vec![p],
            })
            .await;
        assert!(
            matches!(refused, Err(StorageError::Invalid(_))),
            "an overlong catalog string is bad input, not a database error: {refused:?}"
        );
    }
    server.stop().await;
}

on_both_backends!(control_characters_are_refused_as_bad_input_never_a_500);
/// PostgreSQL cannot store a NUL in text: a NUL that reached it failed the whole push with a
/// 500, which the till retried forever. Every string is checked first, by the till's own rule.
async fn control_characters_are_refused_as_bad_input_never_a_500() {
    use till_protocol::{CustomerCreated, CustomerFields, MutationBody, Outcome};
    use till_server::storage::{CatalogImport, CustomerEdit, StorageError};

    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let customer = till_server::sample::mutation(
        1,
        MutationBody::CustomerCreated(CustomerCreated {
            id: uuid::Uuid::now_v7(),
            fields: CustomerFields {
                name: "Ada\u{0}Lovelace".into(),
                ..CustomerFields::default()
            },
        }),
    );
    let mut sale = sales(2, 1);
    if let MutationBody::TicketCreated(ticket) = &mut sale[0].body {
        ticket.lines[0].name = "Bread\u{1b}[2J".into();
    }
    let (response, _) = server.push(&t, &[customer, sale[0].clone()]).await;
    let codes: Vec<&str> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => code.as_str(),
            _ => "not rejected",
        })
        .collect();
    assert_eq!(
        codes,
        ["invalid_customer", "invalid_text"],
        "each item refused alone, with a code: {:?}",
        response.results
    );
    assert_eq!(
        response.last_applied_seq, 2,
        "a refusal settles its sequence, so the items after it flow"
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 0, "nothing of a refused item is stored");

    let edit = server
        .storage
        .save_customer(
            uuid::Uuid::now_v7(),
            CustomerEdit {
                name: Some("Grace\u{7}".into()),
                ..CustomerEdit::default()
            },
        )
        .await;
    assert!(
        matches!(edit, Err(StorageError::Invalid(_))),
        "a back-office edit is checked alike: {edit:?}"
    );
    let import = server
        .storage
        .import_catalog(CatalogImport {
            settings: None,
            tax_rates: vec![],
            products: vec![till_protocol::Product {
                id: uuid::Uuid::now_v7(),
                sku: "SKU\u{0}".into(),
                barcode: None,
                name: "Milk".into(),
                category: "c".into(),
                unit_price: 100,
                tax_category: "standard".into(),
                active: true,
            }],
        })
        .await;
    assert!(
        matches!(import, Err(StorageError::Invalid(_))),
        "a catalog string is checked alike: {import:?}"
    );
    server.stop().await;
}
