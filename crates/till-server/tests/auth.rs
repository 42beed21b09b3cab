//! Every terminal has its own bearer token; only its hash is stored.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;

on_both_backends!(requests_without_a_valid_token_get_401);
async fn requests_without_a_valid_token_get_401() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    for token in [None, Some("till_wrong"), Some(""), Some(&t.token[..20])] {
        for path in [
            "/v1/whoami",
            "/v1/pull",
            &format!("/v1/terminals/{}/ack", t.id),
        ] {
            let (status, body) = server.get(path, token).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} with {token:?}: {body}"
            );
            assert!(
                body["code"].is_string() && body["message"].is_string(),
                "{body}"
            );
        }
    }
    let (status, body) = server.get("/v1/whoami", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );

    let (status, _) = server
        .push_raw(
            &Terminal {
                id: t.id,
                token: "till_nope".into(),
            },
            &push_body(&t, &sales(1, 1)),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.storage.stats().await.expect("stats").mutations,
        0,
        "nothing was recorded"
    );
    server.stop().await;
}

on_both_backends!(a_revoked_token_gets_401);
async fn a_revoked_token_gets_401() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let (status, body) = server.get("/v1/whoami", Some(&t.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["terminal_id"], t.id.to_string());
    server.storage.revoke_terminal(t.id).await.expect("revokes");
    let (status, body) = server.get("/v1/whoami", Some(&t.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_revoked");
    let (status, _) = server.push_raw(&t, &push_body(&t, &sales(1, 1))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked terminal cannot push"
    );
    server.stop().await;
}

on_both_backends!(a_terminal_cannot_push_or_ask_as_another_terminal);
async fn a_terminal_cannot_push_or_ask_as_another_terminal() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    // A's token, B's id in the body.
    let as_b = Terminal {
        id: b.id,
        token: a.token.clone(),
    };
    let (status, body) = server
        .push_raw(&as_b, &push_body(&as_b, &sales(1, 1)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["code"], "wrong_terminal");
    let (status, body) = server
        .get(&format!("/v1/terminals/{}/ack", b.id), Some(&a.token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(server.storage.stats().await.expect("stats").mutations, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_hash_of_the_token_is_stored() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let db = std::fs::read(
        server
            .dir
            .path()
            .join(till_server::storage::sqlite::DB_FILE),
    )
    .expect("db file");
    let wal = std::fs::read(
        server
            .dir
            .path()
            .join(format!("{}-wal", till_server::storage::sqlite::DB_FILE)),
    )
    .unwrap_or_default();
    let needle = t.token.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(&db) && !contains(&wal),
        "the bearer token must never be stored"
    );
}
