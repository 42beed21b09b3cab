//! What the link to the back office carries: its throughput and round trip, estimated from the
//! push requests themselves (how many bytes each sent and how long its answer took), and the
//! batch that suits it: big enough that the round trip is a small share of a batch's time,
//! small enough that a batch lost to a timeout costs little and always fits the request
//! timeout. No probe is sent: every estimate comes from the sales being delivered.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent requests the estimate is drawn from: enough to see a few batch sizes (the
/// round trip is told from the throughput by how the time grows with the bytes), few enough to
/// follow a link that changes.
const SAMPLES: usize = 16;

/// A batch aims at least this many round trips on the wire, so its round trip costs at most a
/// tenth of its time however slow the link answers.
const ROUND_TRIPS_AMORTISED: u32 = 9;

/// A batch aims at most this share of the request timeout, so it is still answered in time on
/// a link a few times slower than measured.
const TIMEOUT_SHARE: u32 = 4;

/// The link as measured: the bytes a push moves per second once under way (the back office's
/// work on them included) and the time every request costs whatever its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkQuality {
    pub bytes_per_s: f64,
    pub round_trip: Duration,
}

/// How long a batch aims to take, and the limit it must fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTiming {
    /// The time on the wire one batch aims at (`SyncConfig::batch_target`).
    pub target: Duration,
    /// A whole request's timeout (`SyncConfig::timeouts.request`).
    pub request_timeout: Duration,
}

/// How many mutations of `item_bytes` each (as encoded in a request) one batch carries on
/// `link`: as many as the link moves in the target time, or in the time that makes its round
/// trip a tenth of the batch when that is longer, but never more than it moves in a quarter of
/// the request timeout. At least one.
pub fn batch_for(link: LinkQuality, item_bytes: u64, timing: BatchTiming) -> usize {
    let aim = timing
        .target
        .max(link.round_trip * ROUND_TRIPS_AMORTISED)
        .min(timing.request_timeout / TIMEOUT_SHARE);
    let items = link.bytes_per_s * aim.as_secs_f64() / item_bytes.max(1) as f64;
    if items.is_finite() && items >= 1.0 {
        items as usize
    } else {
        1
    }
}

/// One answered push: the bytes of its request and how long it took to be answered.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    bytes: f64,
    seconds: f64,
}

/// The recent push requests, and the link they show.
#[derive(Debug, Clone, Default)]
pub struct LinkEstimate {
    samples: VecDeque<Sample>,
}

impl LinkEstimate {
    /// Records an answered request of `bytes` that took `elapsed`.
    pub fn answered(&mut self, bytes: usize, elapsed: Duration) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            bytes: bytes as f64,
            seconds: elapsed.as_secs_f64(),
        });
    }

    /// The link the recent requests show: the line through their (bytes, seconds) that fits
    /// them best, whose slope is the time per byte and whose intercept the round trip. While
    /// they do not show the time growing with the bytes (one size only, or noise), the whole
    /// time is counted as transfer: the throughput is then underestimated, so batches err on
    /// the small side. `None` before any answer.
    pub fn quality(&self) -> Option<LinkQuality> {
        let n = self.samples.len() as f64;
        if n == 0.0 {
            return None;
        }
        let mean_bytes = self.samples.iter().map(|s| s.bytes).sum::<f64>() / n;
        let mean_seconds = self.samples.iter().map(|s| s.seconds).sum::<f64>() / n;
        let (mut covariance, mut variance) = (0.0, 0.0);
        for s in &self.samples {
            covariance += (s.bytes - mean_bytes) * (s.seconds - mean_seconds);
            variance += (s.bytes - mean_bytes) * (s.bytes - mean_bytes);
        }
        let fastest = self
            .samples
            .iter()
            .map(|s| s.seconds)
            .fold(f64::INFINITY, f64::min);
        let fitted = (variance > 0.0)
            .then(|| covariance / variance)
            .filter(|per_byte| *per_byte > 0.0)
            .map(|per_byte| {
                let round_trip = (mean_seconds - per_byte * mean_bytes).clamp(0.0, fastest);
                (1.0 / per_byte, round_trip)
            });
        let (bytes_per_s, round_trip) =
            fitted.unwrap_or((mean_bytes / mean_seconds.max(f64::EPSILON), 0.0));
        Some(LinkQuality {
            bytes_per_s,
            round_trip: Duration::from_secs_f64(round_trip),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALE_BYTES: u64 = 2_400;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn link(kbps: f64, rtt_ms: u64) -> LinkQuality {
        LinkQuality {
            bytes_per_s: kbps * 1000.0 / 8.0,
            round_trip: ms(rtt_ms),
        }
    }

    #[test]
    fn a_batch_carries_what_the_link_moves_in_the_target_time_within_the_timeout() {
        let usual = BatchTiming {
            target: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
        };
        let rows = [
            (
                "fast LAN: far more than the largest batch",
                link(1_000_000.0, 1),
                usual,
                104_166,
            ),
            (
                "1 Mbit/s, 80 ms: two seconds of sales, the round trip 4% of it",
                link(1_000.0, 80),
                usual,
                104,
            ),
            ("10 Mbit/s, 20 ms", link(10_000.0, 20), usual, 1_041),
            (
                "a satellite's 600 ms round trip: nine of them on the wire",
                link(1_000.0, 600),
                usual,
                281,
            ),
            (
                "a 4 s timeout: a batch fits a quarter of it",
                link(1_000.0, 80),
                BatchTiming {
                    target: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(4),
                },
                52,
            ),
            (
                "a link slower than one sale per timeout: still one",
                link(1.0, 80),
                usual,
                1,
            ),
        ];
        for (why, link, timing, expected) in rows {
            assert_eq!(batch_for(link, SALE_BYTES, timing), expected, "{why}");
        }
    }

    #[test]
    fn the_estimate_tells_the_round_trip_from_the_throughput_by_how_time_grows_with_bytes() {
        let mut estimate = LinkEstimate::default();
        assert_eq!(estimate.quality(), None, "nothing measured yet");
        let on_the_link = |bytes: usize| ms(80) + Duration::from_secs_f64(bytes as f64 / 125_000.0);
        estimate.answered(250_000, on_the_link(250_000));
        let one_size = estimate.quality().expect("one answer");
        assert_eq!(
            one_size.round_trip,
            Duration::ZERO,
            "one size cannot tell them apart: all of it is counted as transfer"
        );
        assert!(
            one_size.bytes_per_s < 125_000.0,
            "so the throughput errs low: {one_size:?}"
        );
        for bytes in [500_000, 1_000_000, 500_000] {
            estimate.answered(bytes, on_the_link(bytes));
        }
        let fitted = estimate.quality().expect("answers");
        assert!(
            (fitted.bytes_per_s - 125_000.0).abs() < 1.0,
            "1 Mbit/s: {fitted:?}"
        );
        assert!(
            fitted.round_trip.abs_diff(ms(80)) < ms(1),
            "80 ms: {fitted:?}"
        );
    }

    #[test]
    fn the_estimate_follows_a_link_that_changes() {
        let mut estimate = LinkEstimate::default();
        for bytes in [100_000, 200_000].repeat(SAMPLES) {
            estimate.answered(bytes, Duration::from_secs_f64(bytes as f64 / 1_250_000.0));
        }
        for bytes in [100_000, 200_000].repeat(SAMPLES / 2) {
            estimate.answered(bytes, Duration::from_secs_f64(bytes as f64 / 125_000.0));
        }
        let now = estimate.quality().expect("answers");
        assert!(
            (now.bytes_per_s - 125_000.0).abs() < 1.0,
            "only the recent requests count: {now:?}"
        );
    }
}
