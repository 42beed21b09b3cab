//! Compression on the wire: zstd and gzip push bodies are read with the decoded size held to the
//! body limit, a coding the back office does not read and a broken stream are refused with their
//! codes, a plain push from an older till works as before, and answers come in the coding the
//! till weights highest: zstd for today's, gzip for one from before zstd.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use till_protocol::encoding::{self, Codec, Coding};
use till_protocol::{PushResponse, MAX_BODY_BYTES};

/// Posts `body` to /v1/push as `terminal`, saying `Content-Encoding: coding`; returns the
/// status, the error code (if any) and the answer's `Accept-Encoding`.
async fn push_encoded(
    server: &TestServer,
    terminal: &Terminal,
    coding: &str,
    body: Vec<u8>,
) -> (StatusCode, Value, Option<String>) {
    let response = server
        .http
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&terminal.token)
        .header("content-type", "application/json")
        .header("content-encoding", coding)
        .body(body)
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    let accepts = response
        .headers()
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, accepts)
}

async fn stored(server: &TestServer) -> u64 {
    server.storage.stats().await.expect("stats").mutations
}

fn packed(codec: Codec, body: &[u8]) -> Vec<u8> {
    codec.encode(body).expect("compresses into memory")
}

on_both_backends!(a_compressed_push_is_settled_as_the_same_push_sent_plain);
async fn a_compressed_push_is_settled_as_the_same_push_sent_plain() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let body = push_body(&t, &sales(1, 3));
    let (status, answer, accepts) =
        push_encoded(&server, &t, "zstd", packed(Codec::Zstd, &body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pushed: PushResponse = serde_json::from_value(answer).expect("a PushResponse");
    assert_eq!(pushed.last_applied_seq, 3);
    assert_eq!(
        accepts.as_deref(),
        Some(encoding::ACCEPTED),
        "every answer says which codings are read"
    );
    let (status, replay, _) = push_encoded(&server, &t, "gzip", packed(Codec::Gzip, &body)).await;
    assert_eq!(status, StatusCode::OK, "a till from before zstd sends gzip");
    assert!(
        serde_json::to_string(&replay["results"])
            .expect("JSON")
            .contains("duplicate"),
        "the same JSON in gzip is a replay of what came zstd: {replay}"
    );
    let (status, replay) = server.push_raw(&t, &body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an older till's plain push still works"
    );
    assert!(
        outcome_bytes(&replay)
            .iter()
            .all(|o| o.contains("duplicate")),
        "the same JSON, plain, is a replay too: {:?}",
        outcome_bytes(&replay)
    );
    assert_eq!(stored(&server).await, 3);
    server.stop().await;
}

on_both_backends!(a_bomb_in_either_coding_is_refused_with_413_and_nothing_is_stored);
async fn a_bomb_in_either_coding_is_refused_with_413_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    // Valid JSON all along: a push whose mutations are padded past the limit with spaces.
    let mut body = push_body(&t, &sales(1, 1));
    let close = body.pop().expect("a closing brace");
    body.resize(MAX_BODY_BYTES + 1024, b' ');
    body.push(close);
    for codec in Codec::ALL {
        let bomb = packed(codec, &body);
        assert!(bomb.len() < 64 * 1024, "small on the wire: {}", bomb.len());
        let (status, answer, _) = push_encoded(&server, &t, codec.name(), bomb).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{codec:?}: {answer}");
        assert_eq!(answer["code"], "body_too_large");
    }
    assert_eq!(stored(&server).await, 0, "nothing of either is stored");
    server.stop().await;
}

on_both_backends!(a_broken_stream_and_an_unknown_coding_are_refused_with_their_codes);
async fn a_broken_stream_and_an_unknown_coding_are_refused_with_their_codes() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    for codec in Codec::ALL {
        let mut cut = packed(codec, &push_body(&t, &sales(1, 2)));
        cut.truncate(cut.len() / 2);
        let (status, answer, _) = push_encoded(&server, &t, codec.name(), cut).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{codec:?}: {answer}");
        assert_eq!(answer["code"], "corrupt_body");
    }
    let (status, answer, accepts) =
        push_encoded(&server, &t, "br", push_body(&t, &sales(1, 2))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    assert_eq!(answer["code"], encoding::UNSUPPORTED_ENCODING);
    assert_eq!(
        accepts.as_deref(),
        Some(encoding::ACCEPTED),
        "the refusal says what is read (RFC 7694)"
    );
    assert_eq!(stored(&server).await, 0);
    server.stop().await;
}

on_both_backends!(a_pull_is_answered_in_the_coding_asked_for_and_plain_when_not);
async fn a_pull_is_answered_in_the_coding_asked_for_and_plain_when_not() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let pull = |accept: Option<&'static str>| {
        let mut request = server
            .http
            .get(format!("{}/v1/pull", server.url))
            .bearer_auth(&t.token);
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        async move {
            let response = request.send().await.expect("answers");
            assert_eq!(response.status(), StatusCode::OK);
            let coding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().expect("ascii").to_string());
            let bytes = response.bytes().await.expect("body").to_vec();
            (Coding::named(coding.as_deref()), bytes)
        }
    };
    let page = |bytes: &[u8]| {
        let mut v: Value = serde_json::from_slice(bytes).expect("JSON");
        v["server_time_ms"] = Value::Null;
        v
    };
    let (coding, plain) = pull(None).await;
    assert_eq!(coding, Coding::Identity, "not asked, not compressed");
    for (accept, codec) in [
        (encoding::ACCEPTED, Codec::Zstd),
        ("gzip", Codec::Gzip),
        ("gzip, zstd;q=0.5", Codec::Gzip),
    ] {
        let (coding, body) = pull(Some(accept)).await;
        assert_eq!(coding, Coding::Packed(codec), "asked for {accept}");
        let decoded = encoding::decode(&coding, body, MAX_BODY_BYTES).expect("valid");
        assert_eq!(page(&decoded), page(&plain), "the same page either way");
    }
    server.stop().await;
}
