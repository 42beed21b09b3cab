//! A fault-injecting HTTP proxy on loopback.
//!
//! It sits between a terminal and a real `till-server` and, for each request, decides by a seeded
//! random draw (or a fixed plan) to pass it through or to break it in one of the ways real
//! networks and servers break: refuse the connection, delay, reset before forwarding, forward and
//! then reset before the response (the server committed, the terminal never learns it), truncate
//! or corrupt the response, or answer 500/503/429 itself without forwarding.
//!
//! The proxy understands just enough HTTP/1.1 to find one request's end (headers plus
//! `Content-Length`). Every forwarded request is rewritten to `Connection: close` and its whole
//! response is read before anything is sent back, so each fault acts on exactly one request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One way to treat one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward the request and relay the response unchanged.
    Pass,
    /// Close the connection with a reset as soon as it is accepted, before reading anything.
    Refuse,
    /// Wait this long, then forward normally.
    Delay(Duration),
    /// Read the request, then reset the connection without forwarding: the server never saw it.
    ResetBeforeForward,
    /// Forward the request and read the whole response, then reset the connection: the server
    /// committed, the client never learns it.
    ForwardThenReset,
    /// Forward, then send back only the first half of the response and close.
    Truncate,
    /// Forward, then send back the response with its body bytes scrambled.
    Corrupt,
    /// Answer with this status without forwarding (`500`, `503`, or `429` with `Retry-After`).
    Status(u16),
}

/// How the proxy picks a fault for each request.
#[derive(Debug, Clone)]
pub enum FaultPlan {
    /// The same fault for every request.
    Always(Fault),
    /// Each request draws a fault from `weights` with a generator seeded by `seed`.
    Random {
        seed: u64,
        weights: Vec<(Fault, u32)>,
    },
    /// The first `passes` requests pass, every later one gets `then`.
    PassFirst { passes: u64, then: Fault },
}

impl FaultPlan {
    /// Every fault mode at once, with passes in the majority so a sync still makes progress.
    pub fn chaos(seed: u64) -> FaultPlan {
        FaultPlan::Random {
            seed,
            weights: vec![
                (Fault::Pass, 50),
                (Fault::Refuse, 5),
                (Fault::Delay(Duration::from_millis(30)), 5),
                (Fault::ResetBeforeForward, 5),
                (Fault::ForwardThenReset, 8),
                (Fault::Truncate, 5),
                (Fault::Corrupt, 5),
                (Fault::Status(500), 4),
                (Fault::Status(503), 4),
                (Fault::Status(429), 4),
            ],
        }
    }

    /// One fault at `percent` of requests, passes otherwise.
    pub fn sometimes(seed: u64, fault: Fault, percent: u32) -> FaultPlan {
        FaultPlan::Random {
            seed,
            weights: vec![
                (Fault::Pass, 100 - percent.min(100)),
                (fault, percent.min(100)),
            ],
        }
    }
}

struct Chooser {
    plan: FaultPlan,
    rng: StdRng,
    /// Requests the plan chose for so far.
    chosen: u64,
}

impl Chooser {
    fn next(&mut self) -> Fault {
        self.chosen += 1;
        match &self.plan {
            FaultPlan::Always(fault) => *fault,
            FaultPlan::PassFirst { passes, then } => {
                if self.chosen <= *passes {
                    Fault::Pass
                } else {
                    *then
                }
            }
            FaultPlan::Random { weights, .. } => {
                let total: u32 = weights.iter().map(|(_, w)| *w).sum();
                if total == 0 {
                    return Fault::Pass;
                }
                let mut draw = self.rng.gen_range(0..total);
                for (fault, weight) in weights {
                    if draw < *weight {
                        return *fault;
                    }
                    draw -= weight;
                }
                Fault::Pass
            }
        }
    }
}

/// Counters of what the proxy did, for assertions that a fault really happened.
#[derive(Debug, Default)]
pub struct ProxyCounts {
    pub connections: AtomicU64,
    pub forwarded: AtomicU64,
    pub faulted: AtomicU64,
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    chooser: Mutex<Chooser>,
    counts: ProxyCounts,
    /// The request line (`GET /v1/health`) of every request read, in order.
    requests: Mutex<Vec<String>>,
    /// When set, every request passes whatever the plan says.
    healed: AtomicBool,
}

/// A running proxy. Dropping it stops accepting connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream` according to `plan`.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seed = match &plan {
            FaultPlan::Random { seed, .. } => *seed,
            FaultPlan::Always(_) | FaultPlan::PassFirst { .. } => 0,
        };
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            chooser: Mutex::new(Chooser {
                plan,
                rng: StdRng::seed_from_u64(seed),
                chosen: 0,
            }),
            counts: ProxyCounts::default(),
            requests: Mutex::new(Vec::new()),
            healed: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&accept_shared);
                tokio::spawn(async move {
                    // A failed relay is what a fault looks like from here; nothing to report.
                    let _ = serve_connection(client, shared).await;
                });
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for a terminal's server URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another upstream (a restarted server on a new port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        if let Ok(mut guard) = self.shared.upstream.lock() {
            *guard = upstream;
        }
    }

    /// From now on every request passes: used to let a queue drain after a faulty phase.
    pub fn heal(&self) {
        self.shared.healed.store(true, Ordering::SeqCst);
    }

    /// Back to the plan after [`heal`](Self::heal) (e.g. once a terminal is enrolled).
    pub fn unheal(&self) {
        self.shared.healed.store(false, Ordering::SeqCst);
    }

    pub fn counts(&self) -> &ProxyCounts {
        &self.shared.counts
    }

    /// The method and path of every request read so far (`GET /v1/health`), in order, whatever
    /// was done with it; a connection refused before anything was read is not among them.
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn choose(shared: &Shared) -> Fault {
    if shared.healed.load(Ordering::SeqCst) {
        return Fault::Pass;
    }
    match shared.chooser.lock() {
        Ok(mut chooser) => chooser.next(),
        Err(_) => Fault::Pass,
    }
}

async fn reset(stream: TcpStream) {
    // A zero linger turns the close into a TCP reset, which is what a dropped link looks like.
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Serves one request on a client connection (every answer carries `Connection: close`, so the
/// client opens a new connection for the next one and each fault acts on exactly one request).
async fn serve_connection(mut client: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    shared.counts.connections.fetch_add(1, Ordering::Relaxed);
    let fault = choose(&shared);
    if fault == Fault::Refuse {
        shared.counts.faulted.fetch_add(1, Ordering::Relaxed);
        reset(client).await;
        return Ok(());
    }
    let mut buffered = Vec::new();
    let Some(request) = read_request(&mut client, &mut buffered).await? else {
        return Ok(());
    };
    if let Ok(mut requests) = shared.requests.lock() {
        requests.push(request_line(&request));
    }
    if fault != Fault::Pass {
        shared.counts.faulted.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Fault::ResetBeforeForward => {
            reset(client).await;
            return Ok(());
        }
        Fault::Status(status) => return client.write_all(&status_response(status)).await,
        Fault::Delay(pause) => tokio::time::sleep(pause).await,
        _ => {}
    }
    let upstream = match shared.upstream.lock() {
        Ok(guard) => *guard,
        Err(_) => return Ok(()),
    };
    let Ok(response) = forward(upstream, &request).await else {
        // The server is down (being restarted): the client sees a reset, as it would.
        reset(client).await;
        return Ok(());
    };
    shared.counts.forwarded.fetch_add(1, Ordering::Relaxed);
    match fault {
        Fault::ForwardThenReset => reset(client).await,
        Fault::Truncate => {
            let half = response.len() / 2;
            client.write_all(&response[..half]).await?;
            client.flush().await?;
            reset(client).await;
        }
        Fault::Corrupt => client.write_all(&corrupt(&response)).await?,
        _ => client.write_all(&response).await?,
    }
    Ok(())
}

/// Reads one HTTP/1.1 request (headers and a `Content-Length` body). `None` at a clean EOF.
async fn read_request(
    client: &mut TcpStream,
    buffered: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(end) = find(buffered, b"\r\n\r\n") {
            break end + 4;
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffered.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffered[..header_end]).to_string();
    let body_len = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buffered.len() < header_end + body_len {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffered.extend_from_slice(&chunk[..read]);
    }
    let rest = buffered.split_off(header_end + body_len);
    let request = std::mem::replace(buffered, rest);
    Ok(Some(with_connection_close(&request, header_end)))
}

/// The method and path of a request (`POST /v1/push`), without the query and the version.
fn request_line(request: &[u8]) -> String {
    let head = String::from_utf8_lossy(&request[..request.len().min(512)]).to_string();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or(target);
    format!("{method} {path}")
}

/// Rewrites the request's `Connection` header to `close`, so the upstream ends its response by
/// closing and the proxy can read it whole without parsing chunked bodies.
fn with_connection_close(request: &[u8], header_end: usize) -> Vec<u8> {
    let head = String::from_utf8_lossy(&request[..header_end - 4]).to_string();
    let mut out = String::new();
    for (index, line) in head.split("\r\n").enumerate() {
        if index > 0 {
            let name = line.split(':').next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
                continue;
            }
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[header_end..]);
    bytes
}

async fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    if response.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "upstream closed without answering",
        ));
    }
    Ok(response)
}

fn status_response(status: u16) -> Vec<u8> {
    let reason = match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!(r#"{{"code":"proxy_fault","message":"injected {status}"}}"#);
    let retry_after = if status == 429 || status == 503 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry_after}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Scrambles the body (never the status line or headers) so the answer is a well-framed HTTP
/// response whose JSON does not parse.
fn corrupt(response: &[u8]) -> Vec<u8> {
    let mut out = response.to_vec();
    let body_start = find(response, b"\r\n\r\n").map(|end| end + 4).unwrap_or(0);
    for byte in out.iter_mut().skip(body_start).step_by(3) {
        *byte = match *byte {
            b'{' => b'<',
            b'"' => b'#',
            b':' => b'!',
            other => other ^ 0x20,
        };
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny upstream that answers every request with `{"ok":true}` and counts requests.
    async fn upstream() -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let hits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let mut buffered = Vec::new();
                    if let Ok(Some(_)) = read_request(&mut stream, &mut buffered).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let body = r#"{"ok":true}"#;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes()).await;
                    }
                });
            }
        });
        (addr, hits)
    }

    async fn request(proxy: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(proxy).await?;
        let body = r#"{"hello":1}"#;
        let request = format!(
            "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok(response)
    }

    #[tokio::test]
    async fn pass_relays_the_response_unchanged() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(up, FaultPlan::Always(Fault::Pass))
            .await
            .expect("starts");
        let response = request(proxy.addr()).await.expect("answered");
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.ends_with(r#"{"ok":true}"#), "body intact: {text}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the server saw the request");
        assert_eq!(
            proxy.requests(),
            ["POST /v1/push"],
            "each request is logged by method and path"
        );
    }

    #[tokio::test]
    async fn reset_before_forward_never_reaches_the_server() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(up, FaultPlan::Always(Fault::ResetBeforeForward))
            .await
            .expect("starts");
        let response = request(proxy.addr()).await;
        assert!(
            response.map(|bytes| bytes.is_empty()).unwrap_or(true),
            "the client gets no answer"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the server never saw it");
    }

    #[tokio::test]
    async fn forward_then_reset_reaches_the_server_but_not_the_client() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(up, FaultPlan::Always(Fault::ForwardThenReset))
            .await
            .expect("starts");
        let response = request(proxy.addr()).await;
        assert!(
            response.map(|bytes| bytes.is_empty()).unwrap_or(true),
            "the client gets no answer"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the server committed");
    }

    #[tokio::test]
    async fn refuse_closes_before_anything_is_read() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(up, FaultPlan::Always(Fault::Refuse))
            .await
            .expect("starts");
        let response = request(proxy.addr()).await;
        assert!(response.map(|bytes| bytes.is_empty()).unwrap_or(true));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn status_faults_answer_without_forwarding_and_429_says_when_to_retry() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(up, FaultPlan::Always(Fault::Status(429)))
            .await
            .expect("starts");
        let text =
            String::from_utf8_lossy(&request(proxy.addr()).await.expect("answered")).to_string();
        assert!(text.starts_with("HTTP/1.1 429"), "{text}");
        assert!(
            text.contains("Retry-After: 1"),
            "429 carries Retry-After: {text}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn truncate_and_corrupt_forward_but_spoil_the_answer() {
        let (up, hits) = upstream().await;
        let truncating = FaultProxy::start(up, FaultPlan::Always(Fault::Truncate))
            .await
            .expect("starts");
        let cut = request(truncating.addr()).await.unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cut).contains(r#"{"ok":true}"#),
            "cut short"
        );
        let corrupting = FaultProxy::start(up, FaultPlan::Always(Fault::Corrupt))
            .await
            .expect("starts");
        let spoiled = request(corrupting.addr()).await.expect("answered");
        let text = String::from_utf8_lossy(&spoiled);
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "headers stay intact: {text}"
        );
        let body = &spoiled[find(&spoiled, b"\r\n\r\n").expect("has a body") + 4..];
        assert!(
            serde_json::from_slice::<serde_json::Value>(body).is_err(),
            "the body no longer parses"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2, "both reached the server");
    }

    #[tokio::test]
    async fn the_same_seed_draws_the_same_faults() {
        let draw = |seed| {
            let mut chooser = Chooser {
                plan: FaultPlan::chaos(seed),
                rng: StdRng::seed_from_u64(seed),
                chosen: 0,
            };
            (0..50).map(|_| chooser.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7), "a seed replays the same run");
        assert_ne!(draw(7), draw(8), "another seed draws another run");
    }

    #[test]
    fn pass_first_passes_that_many_requests_then_faults_every_one() {
        let mut chooser = Chooser {
            plan: FaultPlan::PassFirst {
                passes: 2,
                then: Fault::Status(503),
            },
            rng: StdRng::seed_from_u64(0),
            chosen: 0,
        };
        let drawn: Vec<Fault> = (0..4).map(|_| chooser.next()).collect();
        assert_eq!(
            drawn,
            [
                Fault::Pass,
                Fault::Pass,
                Fault::Status(503),
                Fault::Status(503)
            ]
        );
    }

    #[tokio::test]
    async fn delay_still_forwards() {
        let (up, hits) = upstream().await;
        let proxy = FaultProxy::start(
            up,
            FaultPlan::Always(Fault::Delay(Duration::from_millis(5))),
        )
        .await
        .expect("starts");
        let response = request(proxy.addr()).await.expect("answered");
        assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
