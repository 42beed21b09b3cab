//! A terminal registers its Ed25519 public key with its token (`PUT /v1/terminals/{id}/key`);
//! the back office checks with it the bundle a dead till's unsent sales are carried in, and
//! settles the bundle once, through the same push as the till's own.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use till_protocol::bundle::{Bundle, BundleContent, BUNDLE_FORMAT};
use till_protocol::Mutation;
use till_server::clock::now_ms;
use till_server::decide::bundle::BundleError;
use till_server::decide::stamps::StampLimit;
use till_server::import_queue::{self, ImportError, Imported};

fn key_pair() -> Ed25519KeyPair {
    let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("a key");
    Ed25519KeyPair::from_pkcs8(document.as_ref()).expect("reads it")
}

fn public(pair: &Ed25519KeyPair) -> String {
    hex::encode(pair.public_key().as_ref())
}

/// `PUT /v1/terminals/{id}/key` with `body`, as `token`.
async fn put_key(
    server: &TestServer,
    id: uuid::Uuid,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = server
        .http
        .put(format!("{}/v1/terminals/{id}/key", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn register(server: &TestServer, terminal: &Terminal, pair: &Ed25519KeyPair) {
    let (status, body) = put_key(
        server,
        terminal.id,
        &terminal.token,
        json!({ "public_key": public(pair) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A bundle of `mutations` by `terminal`, signed by `pair`, as a till writes it.
fn bundle(terminal: &Terminal, mutations: &[Mutation], pair: &Ed25519KeyPair) -> Vec<u8> {
    let content = BundleContent {
        format: BUNDLE_FORMAT.to_string(),
        terminal_id: terminal.id,
        created_at_ms: now_ms(),
        head: None,
        mutations: mutations
            .iter()
            .map(|m| serde_json::value::to_raw_value(m).expect("serialises"))
            .collect(),
    };
    let signed = serde_json::value::to_raw_value(&content).expect("serialises");
    let signature = hex::encode(pair.sign(signed.get().as_bytes()).as_ref());
    serde_json::to_vec(&Bundle { signed, signature }).expect("serialises")
}

async fn import(server: &TestServer, bytes: &[u8]) -> Result<Imported, ImportError> {
    import_queue::import(
        server.storage.as_ref(),
        bytes,
        StampLimit::ahead_of(now_ms(), 300_000),
    )
    .await
}

on_both_backends!(a_bundle_signed_by_the_registered_key_settles_once);
async fn a_bundle_signed_by_the_registered_key_settles_once() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let pair = key_pair();
    register(&server, &t, &pair).await;
    assert_eq!(
        server.storage.terminal_key(t.id).await.expect("reads"),
        Some(public(&pair))
    );
    let mutations = sales(1, 3);
    let bytes = bundle(&t, &mutations, &pair);

    let first = import(&server, &bytes).await.expect("imports");
    assert_eq!(
        (
            first.tally.applied,
            first.tally.duplicates,
            first.tally.other
        ),
        (3, 0, 0)
    );
    assert_eq!(first.last_applied_seq, 3);
    let second = import(&server, &bytes).await.expect("imports again");
    assert_eq!(
        (second.tally.applied, second.tally.duplicates),
        (0, 3),
        "a second import applies nothing"
    );
    let (pushed, _) = server.push_current(&t, &mutations).await;
    assert!(
        pushed
            .results
            .iter()
            .all(|r| matches!(r.outcome, till_protocol::Outcome::Duplicate { .. })),
        "the till's own push of what was imported is answered as duplicates: {pushed:?}"
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!((stats.tickets, stats.duplicates, stats.gaps), (3, 0, 0));
    server.stop().await;
}

on_both_backends!(a_changed_or_foreign_bundle_applies_nothing);
async fn a_changed_or_foreign_bundle_applies_nothing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let other = server.enrol("till 2").await;
    let pair = key_pair();
    let bytes = bundle(&t, &sales(1, 2), &pair);
    assert!(
        matches!(import(&server, &bytes).await, Err(ImportError::Bundle(BundleError::NoKey(id))) if id == t.id),
        "a terminal that registered no key cannot vouch for a bundle"
    );
    register(&server, &t, &pair).await;
    register(&server, &other, &key_pair()).await;

    let mut changed = bytes.clone();
    let at = changed.len() / 2;
    changed[at] ^= 0x01;
    assert!(matches!(
        import(&server, &changed).await,
        Err(ImportError::Bundle(
            BundleError::BadSignature(_) | BundleError::Malformed(_)
        ))
    ));
    let foreign = bundle(&other, &sales(1, 2), &pair);
    assert!(
        matches!(import(&server, &foreign).await, Err(ImportError::Bundle(BundleError::BadSignature(id))) if id == other.id),
        "a bundle signed by another terminal's key is refused"
    );
    let stranger = Terminal {
        id: uuid::Uuid::now_v7(),
        token: String::new(),
    };
    assert!(matches!(
        import(&server, &bundle(&stranger, &sales(1, 1), &pair)).await,
        Err(ImportError::Bundle(BundleError::UnknownTerminal(_)))
    ));
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.mutations, 0, "nothing was applied");
    server.stop().await;
}

on_both_backends!(a_key_is_registered_only_by_its_own_terminal);
async fn a_key_is_registered_only_by_its_own_terminal() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let other = server.enrol("till 2").await;
    let key = json!({ "public_key": public(&key_pair()) });

    let (status, body) = put_key(&server, other.id, &t.token, key.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_terminal"))
    );
    let (status, _) = put_key(&server, t.id, "till_wrong", key.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in ["ab".repeat(31), "zz".repeat(32), String::new()] {
        let (status, body) = put_key(&server, t.id, &t.token, json!({ "public_key": bad })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_key")),
            "{bad:?}"
        );
    }
    let (status, body) = put_key(&server, t.id, &t.token, json!({ "key": "x" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for id in [t.id, other.id] {
        assert_eq!(
            server.storage.terminal_key(id).await.expect("reads"),
            None,
            "no refused request registered a key"
        );
    }

    let upper = json!({ "public_key": key["public_key"].as_str().expect("hex").to_uppercase() });
    let (status, body) = put_key(&server, t.id, &t.token, upper).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, key, "the key is kept as lowercase hex");
    server.stop().await;
}

on_both_backends!(a_revoked_terminals_signed_file_still_imports);
async fn a_revoked_terminals_signed_file_still_imports() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let pair = key_pair();
    register(&server, &t, &pair).await;
    server.storage.revoke_terminal(t.id).await.expect("revokes");
    let imported = import(&server, &bundle(&t, &sales(1, 2), &pair))
        .await
        .expect("revoking ends a token, not the sales the till made");
    assert_eq!(imported.tally.applied, 2);
    server.stop().await;
}
