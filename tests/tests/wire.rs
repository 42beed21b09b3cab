//! What a sync costs on the wire, measured with the till's own tally against the real back
//! office on loopback: five-line sales pushed in batches, and the first pull of the demo catalog.
//! Compressed (zstd, as today's till and back office agree on), each is at most a quarter of what
//! it is plain; plain is measured through a relay
//! that plays a back office from before compression (no `Accept-Encoding` either way, a gzip
//! body refused as malformed JSON), so the till's one gzip try is counted too. `cargo test -p till-e2e --test wire -- --nocapture` prints the figures.

use std::path::Path;
use std::sync::Arc;

use till_core::demo::DemoRng;
use till_core::store::Store;
use till_core::sync::history;
use till_core::sync::transport::Timeouts;
use till_core::sync::{drain, enrolment, HttpTransport, ServerTrust, SyncConfig, Transport};
use till_core::{catalog, SystemClock};
use till_e2e::ring_up_demo_sale;
use till_server::serve::{BoundServer, ServeOptions};
use till_server::storage::sqlite::SqliteStorage;
use till_server::storage::Storage;
use till_server::{catalog_file, token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SALES: usize = 200;

/// A back office on loopback with the demo catalog; its URL and the tokens of two terminals.
async fn back_office(dir: &Path) -> (String, [String; 2]) {
    let storage = SqliteStorage::open(dir).expect("database opens");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/demo.json");
    storage
        .import_catalog(catalog_file::read(&demo).expect("the demo catalog"))
        .await
        .expect("imports");
    let tokens = [token::generate(), token::generate()];
    for (n, token) in tokens.iter().enumerate() {
        storage
            .add_terminal(&format!("till {n}"), &token::hash(token))
            .await
            .expect("enrols");
    }
    let server = BoundServer::bind(
        Arc::new(storage),
        "127.0.0.1:0",
        None,
        &ServeOptions::default(),
    )
    .expect("binds");
    let url = server.url();
    tokio::spawn(server.run(std::future::pending()));
    (url, tokens)
}

/// A relay to `upstream` that drops every `Accept-Encoding` header, asked or answered, and
/// refuses a compressed body as malformed JSON, as a back office from before compression does:
/// neither side hears of compression. One request per connection.
async fn plain_relay(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream.clone()));
        }
    });
    url
}

async fn relay(mut client: TcpStream, upstream: String) {
    let Some(request) = read_request(&mut client).await else {
        return;
    };
    let head_end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    if head.contains("\r\ncontent-encoding:") {
        let body = r#"{"code":"malformed_json","message":"expected value at line 1 column 1"}"#;
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(answer.as_bytes()).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let request = without_accept_encoding(&request, Some("connection: close\r\n"));
    if server.write_all(&request).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    if server.read_to_end(&mut answer).await.is_ok() {
        let _ = client
            .write_all(&without_accept_encoding(&answer, None))
            .await;
    }
}

/// One request: its head and the body its `Content-Length` announces.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some(bytes);
            }
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// `message` without its `Accept-Encoding` line (and `Connection`, when `add` replaces it).
fn without_accept_encoding(message: &[u8], add: Option<&str>) -> Vec<u8> {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&message[..end + 2]);
    let mut lines: Vec<&str> = head
        .split_inclusive("\r\n")
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            let replaced = add.is_some() && l.starts_with("connection:");
            !(l.starts_with("accept-encoding:") || replaced)
        })
        .collect();
    if let Some(extra) = add {
        lines.push(extra);
    }
    let mut out = lines.concat().into_bytes();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&message[end + 4..]);
    out
}

fn transport(url: &str, token: &str) -> HttpTransport {
    HttpTransport::new(url, token, Timeouts::default()).expect("a client")
}

/// Bytes received by the first pull of the whole catalog, page after page.
async fn first_pull_bytes(url: &str, token: &str) -> u64 {
    let transport = transport(url, token);
    let limit = SyncConfig::default().pull_limit;
    let mut cursor = 0;
    loop {
        let page = transport.pull(cursor, limit).await.expect("pulls");
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    transport.take_tally().bytes_received
}

/// Bytes sent per five-line sale when a till drains `SALES` of them to `url`.
async fn bytes_per_sale(url: &str, token: &str) -> u64 {
    let till = tempfile::tempdir().expect("temp dir");
    let store = Store::open(till.path()).expect("store opens");
    let enrolled = enrolment::enrol(&store, url, token, &ServerTrust::default())
        .await
        .expect("enrols");
    let mut conn = store.connect().expect("connects");
    let products = catalog::active_products(&conn).expect("catalog");
    let mut rng = DemoRng::new(7);
    for _ in 0..SALES {
        ring_up_demo_sale(&mut conn, &mut rng, &products, 5);
    }
    let report = drain(
        &store,
        enrolled.terminal_id,
        SyncConfig::default(),
        Arc::new(transport(url, token)),
        Arc::new(SystemClock),
        None,
        |_| {},
    )
    .await
    .expect("drains");
    assert_eq!(report.pushed, SALES as u64);
    let cycles = history::list(&conn, 100).expect("history");
    let sent: u64 = cycles.iter().map(|c| c.bytes_sent).sum();
    assert!(
        cycles
            .iter()
            .all(|c| c.requests == 0 || c.latency_p50_ms.is_some()),
        "a cycle that made requests records their latency: {cycles:?}"
    );
    sent / SALES as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_cuts_the_bytes_of_sales_and_of_the_first_pull_to_a_quarter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, [old_till, new_till]) = back_office(dir.path()).await;
    let plain = plain_relay(url.clone()).await;

    let pull_plain = first_pull_bytes(&plain, &old_till).await;
    let pull_packed = first_pull_bytes(&url, &new_till).await;
    let sale_plain = bytes_per_sale(&plain, &old_till).await;
    let sale_packed = bytes_per_sale(&url, &new_till).await;
    eprintln!(
        "bytes on the wire, headers included: first pull of the demo catalog {pull_plain} plain, \
         {pull_packed} compressed; per five-line sale {sale_plain} plain, {sale_packed} compressed"
    );
    assert!(
        pull_packed * 4 <= pull_plain,
        "the first pull is at most a quarter: {pull_packed} of {pull_plain}"
    );
    assert!(
        sale_packed * 4 <= sale_plain,
        "a sale is at most a quarter: {sale_packed} of {sale_plain}"
    );
}
