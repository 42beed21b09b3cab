//! A shop's slow link, in process: a TCP relay on loopback between a till and the back office
//! whose two directions each carry at most `kbps` kilobits per second and deliver every byte
//! half a round trip after it left, as an ADSL or mobile link would. It counts the bytes each
//! way and the round trips, so a run can be set against the link's own floor: the time its
//! bytes need on the wire plus the time its round trips need.
//!
//! Bytes are TCP payload (HTTP headers and bodies as sent), without IP and TCP headers. A
//! round trip is counted each time the till starts sending on a connection after it last
//! received on it (or sends first): one request and its answer. Opening a connection counts
//! one more (its handshake) and costs one round trip before the first byte is relayed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::server::BenchResult;

/// How much is relayed at once: one Ethernet frame's payload, so the shaping is as fine as
/// the packets of a real link.
const SEGMENT: usize = 1460;

/// A link's bandwidth (each direction) and round-trip time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkSpec {
    pub kbps: u64,
    pub rtt: Duration,
}

impl LinkSpec {
    /// How long `bytes` take on the wire in one direction.
    pub fn wire_time(&self, bytes: u64) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / (self.kbps.max(1) as f64 * 1000.0))
    }

    /// The least time the traffic of a run can take on this link: its bytes (both ways, since
    /// a request and its answer never overlap) on the wire, plus its round trips.
    pub fn floor(&self, traffic: &Traffic) -> Duration {
        self.wire_time(traffic.bytes_up + traffic.bytes_down)
            + self.rtt * u32::try_from(traffic.round_trips).unwrap_or(u32::MAX)
    }
}

/// What crossed the link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes from the till to the back office.
    pub bytes_up: u64,
    /// Bytes from the back office to the till.
    pub bytes_down: u64,
    /// Request-and-answer exchanges plus connection handshakes (see the module doc).
    pub round_trips: u64,
    pub connections: u64,
}

impl Traffic {
    /// What crossed since `earlier`.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
            round_trips: self.round_trips - earlier.round_trips,
            connections: self.connections - earlier.connections,
        }
    }
}

#[derive(Default)]
struct Counters {
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    round_trips: AtomicU64,
    connections: AtomicU64,
}

/// One direction of the link, shared by every connection over it: when it is next free.
struct Wire {
    spec: LinkSpec,
    free_at: Mutex<Instant>,
}

impl Wire {
    /// When `bytes` handed to the link now arrive at the far end: after the bytes queued
    /// before them and their own time on the wire, plus half a round trip.
    fn arrival(&self, bytes: usize) -> Instant {
        let now = Instant::now();
        let mut free_at = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
        let done = (*free_at).max(now) + self.spec.wire_time(bytes as u64);
        *free_at = done;
        done + self.spec.rtt / 2
    }
}

/// A running link to `upstream`, listening at [`Link::url`]; closed when dropped.
pub struct Link {
    pub url: String,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Link {
    /// Starts a link to the HTTP server at `upstream_url` (`http://host:port`).
    pub fn start(upstream_url: &str, spec: LinkSpec) -> BenchResult<Link> {
        let upstream: SocketAddr = upstream_url
            .strip_prefix("http://")
            .ok_or("the link relays plain HTTP only")?
            .trim_end_matches('/')
            .parse()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let relay_counters = Arc::clone(&counters);
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                let up = Arc::new(Wire {
                    spec,
                    free_at: Mutex::new(Instant::now()),
                });
                let down = Arc::new(Wire {
                    spec,
                    free_at: Mutex::new(Instant::now()),
                });
                tokio::select! {
                    _ = stopped => {}
                    _ = accept(listener, upstream, up, down, relay_counters) => {}
                }
            });
        });
        Ok(Link {
            url,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// What crossed the link so far.
    pub fn traffic(&self) -> Traffic {
        let c = &self.counters;
        Traffic {
            bytes_up: c.bytes_up.load(Ordering::SeqCst),
            bytes_down: c.bytes_down.load(Ordering::SeqCst),
            round_trips: c.round_trips.load(Ordering::SeqCst),
            connections: c.connections.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    up: Arc<Wire>,
    down: Arc<Wire>,
    counters: Arc<Counters>,
) {
    while let Ok((till, _)) = listener.accept().await {
        let (up, down, counters) = (Arc::clone(&up), Arc::clone(&down), Arc::clone(&counters));
        tokio::spawn(async move {
            if let Err(e) = relay(till, upstream, up, down, counters).await {
                eprintln!("  the link dropped a connection: {e}");
            }
        });
    }
}

/// Relays one connection both ways, after the round trip of its handshake.
async fn relay(
    till: TcpStream,
    upstream: SocketAddr,
    up: Arc<Wire>,
    down: Arc<Wire>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    counters.connections.fetch_add(1, Ordering::SeqCst);
    counters.round_trips.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(up.spec.rtt).await;
    let server = TcpStream::connect(upstream).await?;
    till.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (till_read, till_write) = till.into_split();
    let (server_read, server_write) = server.into_split();
    // Whether the till sent last on this connection: its next send after an answer is a new
    // round trip.
    let till_sent_last = Arc::new(AtomicBool::new(false));
    let upstream_pump = pump(
        till_read,
        server_write,
        up,
        Direction::Up,
        Arc::clone(&counters),
        Arc::clone(&till_sent_last),
    );
    let downstream_pump = pump(
        server_read,
        till_write,
        down,
        Direction::Down,
        counters,
        till_sent_last,
    );
    let (a, b) = tokio::join!(upstream_pump, downstream_pump);
    a.and(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// Carries one direction: reads what its sender writes, and delivers each segment when the
/// wire says it arrives.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    wire: Arc<Wire>,
    direction: Direction,
    counters: Arc<Counters>,
    till_sent_last: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let (queue, mut arrivals) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let deliver = async move {
        while let Some((at, segment)) = arrivals.recv().await {
            tokio::time::sleep_until(at).await;
            to.write_all(&segment).await?;
        }
        to.shutdown().await
    };
    let read = async move {
        let mut buf = vec![0u8; SEGMENT];
        loop {
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            let bytes = n as u64;
            match direction {
                Direction::Up => {
                    counters.bytes_up.fetch_add(bytes, Ordering::SeqCst);
                    if !till_sent_last.swap(true, Ordering::SeqCst) {
                        counters.round_trips.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Direction::Down => {
                    counters.bytes_down.fetch_add(bytes, Ordering::SeqCst);
                    till_sent_last.store(false, Ordering::SeqCst);
                }
            }
            if queue.send((wire.arrival(n), buf[..n].to_vec())).is_err() {
                return Ok(());
            }
        }
    };
    let (read, delivered) = tokio::join!(read, deliver);
    read.and(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_bytes_on_the_wire_plus_the_round_trips() {
        let spec = LinkSpec {
            kbps: 1000,
            rtt: Duration::from_millis(80),
        };
        assert_eq!(
            spec.wire_time(125_000),
            Duration::from_secs(1),
            "1,000 kbit/s carry 125,000 bytes a second"
        );
        let traffic = Traffic {
            bytes_up: 100_000,
            bytes_down: 25_000,
            round_trips: 10,
            connections: 1,
        };
        assert_eq!(
            spec.floor(&traffic),
            Duration::from_millis(1800),
            "one second of bytes both ways and ten round trips of 80 ms"
        );
    }
}
