//! The real transport against servers that misbehave, on loopback: one that records what it is
//! sent, one that redirects, one whose answer never ends or claims to be huge, one that never
//! answers, one whose compressed answer inflates without end. What each may learn or cost the
//! till is bounded. And how push bodies come to be compressed, and what the requests are tallied
//! at.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use till_protocol::encoding::{Codec, ACCEPTED};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::transport::{
    Credential, HttpTransport, Timeouts, Transport, TransportError, MAX_PULL_ANSWER,
};
use super::trust::ServerTrust;

const TOKEN: &str = "till_secret_token";

/// What a test server answers every request with.
#[derive(Clone)]
enum Answer {
    /// 200 with this JSON.
    Json(&'static str),
    /// 200 with this body, already zstd, saying `Accept-Encoding: zstd, gzip;q=0.9` (today's
    /// back office).
    Zstd(Vec<u8>),
    /// 200 with this body, already gzip, saying `Accept-Encoding: gzip` (a back office from
    /// before zstd).
    Gzip(Vec<u8>),
    /// 415 `unsupported_encoding`, though saying `Accept-Encoding: gzip`.
    RefusesGzip,
    /// 400 `malformed_json`, saying nothing of encodings: a back office from before compression.
    Older,
    /// 302 to this address.
    Redirect(String),
    /// 200 whose body never ends.
    Endless,
    /// 200 claiming a body of this many bytes, then silence.
    Claims(u64),
    /// Nothing at all, the connection held open.
    Silence,
}

/// A server on loopback that answers every request with `answer` and records each request's
/// head (request line and headers).
struct Rogue {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Rogue {
    async fn start(answer: Answer) -> Rogue {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&heads);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, recorded) = (answer.clone(), Arc::clone(&recorded));
                tokio::spawn(async move {
                    if let Some(head) = read_head(&stream).await {
                        skip_body(&stream, &head).await;
                        recorded.lock().expect("not poisoned").push(head);
                        respond(stream, answer).await;
                    }
                });
            }
        });
        Rogue { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("not poisoned").clone()
    }
}

async fn read_head(stream: &TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.readable().await.ok()?;
        match stream.try_read(&mut byte) {
            Ok(0) => return None,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).to_ascii_lowercase())
}

/// Reads the body `head` announces, so the answer never meets unread bytes.
async fn skip_body(stream: &TcpStream, head: &str) {
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut left = length;
    let mut buffer = vec![0u8; 16 * 1024];
    while left > 0 {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut buffer[..left.min(16 * 1024)]) {
            Ok(0) => return,
            Ok(n) => left -= n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

async fn respond(mut stream: TcpStream, answer: Answer) {
    if let Answer::Zstd(body) | Answer::Gzip(body) = &answer {
        let (coding, accepts) = match answer {
            Answer::Zstd(_) => ("zstd", ACCEPTED),
            _ => ("gzip", "gzip"),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: {coding}\r\n\
             accept-encoding: {accepts}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body).await;
        return;
    }
    let head = match &answer {
        Answer::Json(body) => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
        Answer::Redirect(to) => {
            format!("HTTP/1.1 302 Found\r\nlocation: {to}/v1/whoami\r\ncontent-length: 0\r\n\r\n")
        }
        Answer::Endless => {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[".into()
        }
        Answer::Claims(n) => format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n["),
        Answer::Silence => String::new(),
        Answer::RefusesGzip => {
            let body = r#"{"code":"unsupported_encoding","message":"plain JSON only"}"#;
            format!(
                "HTTP/1.1 415 Unsupported Media Type\r\ncontent-type: application/json\r\n\
                 accept-encoding: gzip\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        Answer::Older => {
            let body = r#"{"code":"malformed_json","message":"expected value at line 1"}"#;
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        Answer::Zstd(_) | Answer::Gzip(_) => unreachable!("answered above"),
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    match answer {
        Answer::Endless => {
            let chunk = vec![b' '; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Answer::Claims(_) | Answer::Silence => {
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Answer::Json(_)
        | Answer::Redirect(_)
        | Answer::RefusesGzip
        | Answer::Older
        | Answer::Zstd(_)
        | Answer::Gzip(_) => {}
    }
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_millis(800),
    }
}

/// Time for a large answer to be read, so the cap stops it and not the timeout.
fn patient() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(60),
    }
}

fn refused_at_the_pull_cap(refused: &TransportError) {
    assert!(
        matches!(refused, TransportError::Malformed(_)),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains(&MAX_PULL_ANSWER.to_string()),
        "says why: {refused}"
    );
}

fn authorized(heads: &[String]) -> usize {
    heads
        .iter()
        .filter(|h| h.contains("\r\nauthorization:"))
        .count()
}

const WHOAMI: &str = r#"{"terminal_id":"0192f0c4-aaaa-7000-8000-000000000001","name":"Till 1","last_applied_seq":0,"server_time_ms":0}"#;

#[tokio::test]
async fn the_token_goes_to_its_own_origin_and_health_never_carries_it() {
    let server = Rogue::start(Answer::Json(WHOAMI)).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    transport.whoami().await.expect("answers");
    let _ = transport.health().await;
    let heads = server.heads();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[0].contains(&format!("authorization: bearer {TOKEN}")),
        "{}",
        heads[0]
    );
    assert_eq!(authorized(&heads[1..]), 0, "health needs no token");
}

#[tokio::test]
async fn a_token_given_for_another_origin_is_never_sent() {
    let elsewhere = Rogue::start(Answer::Json(WHOAMI)).await;
    let enrolled_with = Credential::new(TOKEN, "http://127.0.0.1:1");
    let transport = HttpTransport::connect(
        &elsewhere.url,
        Some(enrolled_with),
        &ServerTrust::default(),
        quick(),
    )
    .expect("a client");
    let refused = transport
        .whoami()
        .await
        .expect_err("the token belongs elsewhere");
    assert_eq!(refused.code(), "token_origin_mismatch");
    assert!(!refused.to_string().contains(TOKEN), "{refused}");
    let _ = transport.health().await;
    assert_eq!(
        authorized(&elsewhere.heads()),
        0,
        "the other server never sees the token: {:?}",
        elsewhere.heads()
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let elsewhere = Rogue::start(Answer::Json(WHOAMI)).await;
    let redirecting = Rogue::start(Answer::Redirect(elsewhere.url.clone())).await;
    let transport = HttpTransport::new(&redirecting.url, TOKEN, quick()).expect("a client");
    let refused = transport
        .whoami()
        .await
        .expect_err("a redirect is no answer");
    assert!(
        matches!(refused, TransportError::Refused { status: 302, .. }),
        "{refused:?}"
    );
    assert!(
        elsewhere.heads().is_empty(),
        "nothing reaches the other server"
    );
}

#[tokio::test]
async fn an_answer_that_never_ends_is_cut_at_the_cap() {
    let server = Rogue::start(Answer::Endless).await;
    let transport = HttpTransport::new(&server.url, TOKEN, patient()).expect("a client");
    let began = Instant::now();
    refused_at_the_pull_cap(&transport.pull(0, 10).await.expect_err("never ends"));
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "stopped at the cap, not by the timeout"
    );
    let small = transport.health().await.expect_err("never ends either");
    assert!(matches!(small, TransportError::Malformed(_)), "{small:?}");
}

#[tokio::test]
async fn an_answer_claiming_to_be_huge_is_refused_before_it_is_read() {
    let server = Rogue::start(Answer::Claims(u64::MAX / 2)).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    let refused = transport.pull(0, 10).await.expect_err("too large");
    assert!(
        matches!(refused, TransportError::Malformed(_)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_on() {
    let server = Rogue::start(Answer::Silence).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    let began = Instant::now();
    let refused = transport.whoami().await.expect_err("no answer");
    assert!(
        matches!(refused, TransportError::NoAnswer(_)),
        "{refused:?}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "the request's timeout ends it: {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    let refused = HttpTransport::new("http://192.0.2.10:7878", TOKEN, quick())
        .expect_err("cleartext is off by default");
    assert_eq!(refused.code(), "cleartext_refused");
}

const PUSHED: &str = r#"{"results":[],"last_applied_seq":0,"server_time_ms":0}"#;

fn gzip(body: &[u8]) -> Vec<u8> {
    Codec::Gzip.encode(body).expect("compresses into memory")
}

fn zstd(body: &[u8]) -> Vec<u8> {
    Codec::Zstd.encode(body).expect("compresses into memory")
}

/// The coding of each push body the server was sent: `zstd`, `gzip` or `plain`.
fn push_codings(heads: &[String]) -> Vec<&'static str> {
    heads
        .iter()
        .filter(|h| h.starts_with("post /v1/push"))
        .map(|h| {
            if h.contains("\r\ncontent-encoding: zstd\r\n") {
                "zstd"
            } else if h.contains("\r\ncontent-encoding: gzip\r\n") {
                "gzip"
            } else {
                "plain"
            }
        })
        .collect()
}

const PUSH_BODY: &[u8] =
    br#"{"terminal_id":"0192f0c4-aaaa-7000-8000-000000000001","mutations":[]}"#;

#[tokio::test]
async fn push_bodies_go_zstd_once_the_back_office_says_it_reads_it() {
    let server = Rogue::start(Answer::Zstd(zstd(PUSHED.as_bytes()))).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    for _ in 0..2 {
        transport
            .push(PUSH_BODY.to_vec())
            .await
            .expect("a zstd answer is read");
    }
    assert_eq!(
        push_codings(&server.heads()),
        ["gzip", "zstd"],
        "gzip before anything was heard, zstd once the answers said it is read"
    );
    assert!(
        server
            .heads()
            .iter()
            .all(|h| h.contains(&format!("\r\naccept-encoding: {ACCEPTED}\r\n"))),
        "every request asks for a zstd answer, or gzip"
    );
}

#[tokio::test]
async fn a_back_office_from_before_zstd_gets_gzip_bodies() {
    let server = Rogue::start(Answer::Gzip(gzip(PUSHED.as_bytes()))).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    let _ = transport.health().await;
    for _ in 0..2 {
        transport
            .push(PUSH_BODY.to_vec())
            .await
            .expect("a gzip answer is read");
    }
    assert_eq!(
        push_codings(&server.heads()),
        ["gzip", "gzip"],
        "gzip all along; the answers said gzip is read"
    );
}

#[tokio::test]
async fn a_refused_gzip_body_is_sent_again_plain_and_never_gzip_again() {
    let server = Rogue::start(Answer::RefusesGzip).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    let _ = transport.whoami().await;
    for _ in 0..2 {
        let refused = transport.push(b"{}".to_vec()).await.expect_err("415");
        assert!(
            matches!(refused, TransportError::Refused { status: 415, .. }),
            "{refused:?}"
        );
    }
    assert_eq!(
        push_codings(&server.heads()),
        ["gzip", "plain", "plain"],
        "gzip once, the same body plain at once, and plain from then on"
    );
}

#[tokio::test]
async fn a_compressed_answer_that_inflates_past_the_cap_is_refused() {
    let spaces = vec![b' '; MAX_PULL_ANSWER + 1];
    for bomb in [Answer::Gzip(gzip(&spaces)), Answer::Zstd(zstd(&spaces))] {
        let (Answer::Gzip(body) | Answer::Zstd(body)) = &bomb else {
            unreachable!("a compressed answer")
        };
        assert!(body.len() < 64 * 1024, "small on the wire");
        let server = Rogue::start(bomb).await;
        // Inflating 16 MiB takes a while in a debug build.
        let transport = HttpTransport::new(&server.url, TOKEN, patient()).expect("a client");
        refused_at_the_pull_cap(&transport.pull(0, 10).await.expect_err("too large decoded"));
    }
}

#[tokio::test]
async fn every_answered_request_is_tallied_as_it_went_on_the_wire() {
    let answer = WHOAMI.repeat(20);
    let server = Rogue::start(Answer::Gzip(gzip(answer.as_bytes()))).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    let _ = transport.whoami().await;
    let _ = transport.health().await;
    let tally = transport.take_tally();
    assert_eq!(tally.requests(), 2);
    let heads: u64 = server.heads().iter().map(|h| h.len() as u64).sum();
    assert!(
        tally.bytes_sent.abs_diff(heads) <= 8,
        "the estimate of the requests' heads ({}) is within a few bytes of what went out ({heads})",
        tally.bytes_sent
    );
    assert!(
        tally.bytes_received < answer.len() as u64,
        "the answers are counted compressed: {} bytes",
        tally.bytes_received
    );
    assert_eq!(transport.take_tally().requests(), 0, "taken once");
}

#[tokio::test]
async fn a_back_office_that_says_nothing_of_gzip_gets_plain_bodies() {
    let server = Rogue::start(Answer::Json(PUSHED)).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    for _ in 0..2 {
        transport.push(b"{}".to_vec()).await.expect("pushed");
    }
    assert_eq!(
        push_codings(&server.heads()),
        ["gzip", "plain"],
        "tried once; the answer named no coding"
    );
}

#[tokio::test]
async fn a_back_office_from_before_compression_gets_the_same_body_plain_at_once() {
    let server = Rogue::start(Answer::Older).await;
    let transport = HttpTransport::new(&server.url, TOKEN, quick()).expect("a client");
    for _ in 0..2 {
        let refused = transport.push(b"{}".to_vec()).await.expect_err("400");
        assert!(
            matches!(refused, TransportError::Refused { status: 400, .. }),
            "{refused:?}"
        );
    }
    assert_eq!(
        push_codings(&server.heads()),
        ["gzip", "plain", "plain"],
        "gzip refused as malformed JSON: the same body plain at once, and plain from then on"
    );
}
