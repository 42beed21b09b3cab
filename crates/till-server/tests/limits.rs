//! Slow, greedy and guessing clients: the request timeout, the global request slots, the
//! failed-authentication limit per address, and a flood of bad tokens beside a good terminal.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use till_server::serve::ServeOptions;
use tokio::io::AsyncWriteExt;

/// Opens a push whose body never arrives: the request holds its slot until its timeout.
async fn stalled_push(server: &TestServer, t: &Terminal) -> tokio::net::TcpStream {
    let addr = server.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"terminal_id\"",
        t.token
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream
}

async fn answer(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

on_both_backends!(a_request_whose_body_never_arrives_gets_408_after_the_request_timeout);
async fn a_request_whose_body_never_arrives_gets_408_after_the_request_timeout() {
    let server = TestServer::start_with(ServeOptions {
        request_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    })
    .await;
    let t = server.enrol("till 1").await;
    let started = std::time::Instant::now();
    let mut stream = stalled_push(&server, &t).await;
    let answer = answer(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a stalled body is cut off: {answer}"
    );
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after about the request timeout, not never"
    );
    assert_eq!(server.storage.stats().await.expect("stats").mutations, 0);
    server.stop().await;
}

on_both_backends!(the_request_slots_are_shared_by_every_route);
async fn the_request_slots_are_shared_by_every_route() {
    let server = TestServer::start_with(ServeOptions {
        request_timeout: Duration::from_secs(2),
        max_concurrent: 1,
        ..ServeOptions::default()
    })
    .await;
    let t = server.enrol("till 1").await;
    let mut stalled = stalled_push(&server, &t).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = std::time::Instant::now();
    let (status, body) = server.get("/v1/whoami", Some(&t.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        asked.elapsed() >= Duration::from_millis(1_500),
        "the only slot is held by a push, so whoami waits for it: {:?}",
        asked.elapsed()
    );
    assert!(answer(&mut stalled).await.starts_with("HTTP/1.1 408"));
    server.stop().await;
}

on_both_backends!(an_address_with_too_many_failed_authentications_gets_429_until_its_minute_ends);
async fn an_address_with_too_many_failed_authentications_gets_429_until_its_minute_ends() {
    let server = TestServer::start_with(ServeOptions {
        max_auth_failures: 5,
        ..ServeOptions::default()
    })
    .await;
    let t = server.enrol("till 1").await;
    let guesser = TestServer::client_from("127.0.0.2");
    let ask = |client: &reqwest::Client, token: &str| {
        client
            .get(format!("{}/v1/whoami", server.url))
            .bearer_auth(token)
            .send()
    };
    for guess in 0..5 {
        let response = ask(&guesser, &format!("till_guess{guess}"))
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = ask(&guesser, "till_guess5").await.expect("answers");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "too_many_auth_failures", "{body}");
    let response = ask(&guesser, &t.token).await.expect("answers");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "while limited, an address is refused even with a valid token, so guessing cannot hide \
         behind a good terminal's traffic"
    );
    let (status, _) = server.get("/v1/health", None).await;
    assert_eq!(status, StatusCode::OK, "health needs no token");
    let response = ask(&TestServer::client_from("127.0.0.1"), &t.token)
        .await
        .expect("answers");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "another address is not limited"
    );
    server.stop().await;
}

on_both_backends!(a_flood_of_bad_tokens_does_not_stop_a_good_terminal_pushing);
async fn a_flood_of_bad_tokens_does_not_stop_a_good_terminal_pushing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let url = server.url.clone();
    // Many addresses, each guessing below the limit, all at once: every guess reaches a token
    // lookup, and the lookups queue on their own permits instead of the whole pool.
    let flood: Vec<_> = (2..42)
        .map(|n| {
            let client = TestServer::client_from(&format!("127.0.1.{n}"));
            let url = url.clone();
            tokio::spawn(async move {
                let mut refused = 0;
                for guess in 0..15 {
                    let response = client
                        .post(format!("{url}/v1/push"))
                        .bearer_auth(format!("till_flood_{n}_{guess}"))
                        .header("content-type", "application/json")
                        .body("{}")
                        .send()
                        .await
                        .expect("answers");
                    if response.status() == StatusCode::UNAUTHORIZED {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    for batch in 0..10u64 {
        let (response, _) = server.push(&t, &sales(batch * 5 + 1, 5)).await;
        assert_eq!(
            response.last_applied_seq,
            batch * 5 + 5,
            "every batch lands"
        );
    }
    for client in flood {
        assert_eq!(client.await.expect("runs"), 15, "every bad token is a 401");
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 50);
    server.stop().await;
}
