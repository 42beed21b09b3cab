//! Every terminal has its own bearer token; only its hash is stored. A token can be rotated, the
//! old one working on for a grace period.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_server::storage::StorageError;
use till_server::token;

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

on_both_backends!(a_rotated_token_works_beside_the_new_one_until_its_grace_ends);
async fn a_rotated_token_works_beside_the_new_one_until_its_grace_ends() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let new = token::generate();
    let rotated = server
        .storage
        .rotate_token(t.id, &token::hash(&new), 1_000)
        .await
        .expect("rotates");
    assert_eq!(
        rotated.terminal.previous_token_expires_at_ms,
        Some(rotated.old_token_stops_at_ms)
    );
    for token in [&t.token, &new] {
        let (status, body) = server.get("/v1/whoami", Some(token)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "both tokens work in the grace: {body}"
        );
        assert_eq!(body["terminal_id"], t.id.to_string());
    }
    let as_new = Terminal {
        id: t.id,
        token: new.clone(),
    };
    server.push(&t, &sales(1, 1)).await;
    server.push(&as_new, &sales(2, 1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, body) = server.get("/v1/whoami", Some(&t.token)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the grace is over: {body}"
    );
    assert_eq!(body["code"], "token_rotated");
    let (status, _) = server.get("/v1/whoami", Some(&new)).await;
    assert_eq!(status, StatusCode::OK);
    let listed = server.storage.list_terminals().await.expect("lists");
    assert_eq!(
        listed[0].previous_token_expires_at_ms, rotated.terminal.previous_token_expires_at_ms,
        "the list shows the rotation"
    );
    server.stop().await;
}

on_both_backends!(
    a_rotation_with_no_grace_ends_the_old_token_at_once_and_only_one_old_token_is_kept
);
async fn a_rotation_with_no_grace_ends_the_old_token_at_once_and_only_one_old_token_is_kept() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let second = token::generate();
    let rotated = server
        .storage
        .rotate_token(t.id, &token::hash(&second), 0)
        .await
        .expect("rotates");
    assert_eq!(rotated.terminal.previous_token_expires_at_ms, None);
    let (status, body) = server.get("/v1/whoami", Some(&t.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        body["code"], "invalid_token",
        "a token with no grace is forgotten"
    );

    let third = token::generate();
    server
        .storage
        .rotate_token(t.id, &token::hash(&third), 3_600_000)
        .await
        .expect("rotates again");
    let fourth = token::generate();
    server
        .storage
        .rotate_token(t.id, &token::hash(&fourth), 3_600_000)
        .await
        .expect("and again");
    let (status, _) = server.get("/v1/whoami", Some(&second)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "rotating again ends the older token's grace"
    );
    for token in [&third, &fourth] {
        let (status, _) = server.get("/v1/whoami", Some(token)).await;
        assert_eq!(status, StatusCode::OK);
    }
    server.stop().await;
}

on_both_backends!(a_revoked_terminal_stays_revoked_through_rotation);
async fn a_revoked_terminal_stays_revoked_through_rotation() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let new = token::generate();
    server
        .storage
        .rotate_token(t.id, &token::hash(&new), 3_600_000)
        .await
        .expect("rotates");
    server.storage.revoke_terminal(t.id).await.expect("revokes");
    for token in [&t.token, &new] {
        let (status, body) = server.get("/v1/whoami", Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "token_revoked", "revoking ends the grace too");
    }
    let refused = server
        .storage
        .rotate_token(t.id, &token::hash(&token::generate()), 0)
        .await;
    assert!(
        matches!(refused, Err(StorageError::Invalid(_))),
        "a revoked terminal gets no new token: {refused:?}"
    );
    let unknown = server
        .storage
        .rotate_token(uuid::Uuid::now_v7(), "hash", 0)
        .await;
    assert!(matches!(unknown, Err(StorageError::NotFound { .. })));
    server.stop().await;
}
