//! What the till's requests cost on the wire: bytes each way and each request's latency, tallied
//! by the transport and taken by the cycle into its history row.
//!
//! Bytes are the bodies as sent (after compression) plus an estimate of the HTTP/1.1 head: the
//! request or status line and every header the till sets or reads, each as `name: value\r\n`.
//! Headers the connection adds on its own (`Host`, `Content-Length`) are counted as they would
//! read; TLS and TCP framing are not. Only requests that got an answer are tallied: one that
//! never reached the back office cost nothing measurable, and one that got no answer shows in
//! the cycle's error.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;

/// One request and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    pub sent: u64,
    pub received: u64,
    /// From sending the request to the end of its answer's body.
    pub latency: Duration,
}

/// The requests of a stretch of time (a cycle), summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireTally {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Each request's latency in milliseconds, in the order they were made.
    pub latencies_ms: Vec<u64>,
}

impl WireTally {
    pub fn requests(&self) -> u64 {
        self.latencies_ms.len() as u64
    }

    /// The `p`th percentile of the latencies, none when no request was made.
    pub fn latency_ms(&self, p: u8) -> Option<u64> {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_unstable();
        percentile(&sorted, p)
    }
}

/// The `p`th percentile (0 to 100) of `sorted` by the nearest-rank method: the smallest value
/// that at least `p` percent of the values are at or below. None for no values.
pub fn percentile(sorted: &[u64], p: u8) -> Option<u64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (usize::from(p.min(100)) * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The transport's running tally; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Meter {
    tally: Mutex<WireTally>,
}

impl Meter {
    pub fn record(&self, exchange: Exchange) {
        let mut tally = self.lock();
        tally.bytes_sent += exchange.sent;
        tally.bytes_received += exchange.received;
        tally
            .latencies_ms
            .push(u64::try_from(exchange.latency.as_millis()).unwrap_or(u64::MAX));
    }

    /// What was tallied since the last take, and a fresh start.
    pub fn take(&self) -> WireTally {
        std::mem::take(&mut *self.lock())
    }

    /// A poisoned lock only means a thread panicked between two plain additions.
    fn lock(&self) -> std::sync::MutexGuard<'_, WireTally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The bytes of `headers` on an HTTP/1.1 wire, `name: value\r\n` each.
pub fn header_bytes(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().len() + value.len() + 4) as u64)
        .sum()
}

/// The bytes of a request's head: `METHOD target HTTP/1.1\r\n`, `Host`, its headers,
/// `Content-Length` when it has a body, and the blank line.
pub fn request_head_bytes(request: &reqwest::Request, body: u64) -> u64 {
    let url = request.url();
    let target = url.path().len() + url.query().map_or(0, |q| q.len() + 1);
    let line = request.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let host = "host: \r\n".len()
        + url.host_str().map_or(0, str::len)
        + url.port().map_or(0, |p| p.to_string().len() + 1);
    let length = if body > 0 {
        "content-length: \r\n".len() + body.to_string().len()
    } else {
        0
    };
    (line + host + length + 2) as u64 + header_bytes(request.headers())
}

/// The bytes of an answer's head: `HTTP/1.1 200 OK\r\n`, its headers and the blank line.
pub fn answer_head_bytes(status: reqwest::StatusCode, headers: &HeaderMap) -> u64 {
    let reason = status.canonical_reason().map_or(0, |r| r.len() + 1);
    ("HTTP/1.1 200\r\n".len() + reason + 2) as u64 + header_bytes(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(
            percentile(&ten, 50),
            Some(5),
            "half the values are at or below 5"
        );
        assert_eq!(percentile(&ten, 99), Some(10));
        assert_eq!(percentile(&ten, 100), Some(10));
        assert_eq!(
            percentile(&ten, 0),
            Some(1),
            "the smallest value, never out of range"
        );
        assert_eq!(percentile(&[42], 50), Some(42));
        assert_eq!(percentile(&[42], 99), Some(42));
        assert_eq!(percentile(&[], 50), None, "no requests, no latency");
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 99), Some(99));
        assert_eq!(percentile(&[10, 20], 50), Some(10));
    }

    #[test]
    fn a_tally_sorts_before_it_ranks() {
        let tally = WireTally {
            bytes_sent: 0,
            bytes_received: 0,
            latencies_ms: vec![300, 10, 20, 15],
        };
        assert_eq!(tally.latency_ms(50), Some(15));
        assert_eq!(
            tally.latency_ms(99),
            Some(300),
            "the slow request is the tail"
        );
        assert_eq!(tally.requests(), 4);
    }

    #[test]
    fn the_meter_sums_until_taken_and_starts_again() {
        let meter = Meter::default();
        for (sent, received, ms) in [(100, 2_000, 40), (50, 300, 8)] {
            meter.record(Exchange {
                sent,
                received,
                latency: Duration::from_millis(ms),
            });
        }
        let tally = meter.take();
        assert_eq!(
            (tally.bytes_sent, tally.bytes_received, tally.latencies_ms),
            (150, 2_300, vec![40, 8])
        );
        assert_eq!(
            meter.take(),
            WireTally::default(),
            "a take starts a new tally"
        );
    }

    #[test]
    fn a_request_head_counts_its_line_host_headers_and_length() {
        let client = reqwest::Client::new();
        let request = client
            .post("http://10.0.0.2:8787/v1/push")
            .header("content-type", "application/json")
            .build()
            .expect("a request");
        let expected = "POST /v1/push HTTP/1.1\r\n".len()
            + "host: 10.0.0.2:8787\r\n".len()
            + "content-length: 1000\r\n".len()
            + "content-type: application/json\r\n".len()
            + 2;
        assert_eq!(request_head_bytes(&request, 1000), expected as u64);
        let mut headers = HeaderMap::new();
        headers.insert("content-length", "12".parse().expect("a value"));
        assert_eq!(
            answer_head_bytes(reqwest::StatusCode::OK, &headers),
            ("HTTP/1.1 200 OK\r\n".len() + "content-length: 12\r\n".len() + 2) as u64
        );
    }
}
