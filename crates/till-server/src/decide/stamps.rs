//! How far ahead of the back office's clock a terminal's HLC stamp may be. The only stamps the
//! server keeps and hands on are those of customer versions, which terminals compare under
//! last-writer-wins; a stamp from a till whose clock runs far ahead would win every such
//! comparison for as long as it is ahead. So a customer change stamped more than the allowed
//! skew ahead is refused (`clock_ahead`), and the till shows it on its failed list. It is never
//! clamped: a clamp to the server's clock at arrival would make the winner depend on the order in
//! which tills push. Sales, voids and refunds are never refused for a clock (the drawer and the
//! office must agree); a ticket keeps its own stamp, which its journal hash covers.

use till_protocol::Hlc;

use super::Rejection;

/// The latest HLC wall time the server accepts on a customer change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampLimit {
    now_ms: i64,
    max_skew_ms: i64,
}

impl StampLimit {
    /// At most `max_skew_ms` ahead of `now_ms`.
    pub fn ahead_of(now_ms: i64, max_skew_ms: i64) -> Self {
        StampLimit {
            now_ms,
            max_skew_ms: max_skew_ms.max(0),
        }
    }

    /// The latest wall time accepted.
    pub fn latest_wall_ms(&self) -> i64 {
        self.now_ms.saturating_add(self.max_skew_ms)
    }

    /// Refuses `hlc` when it is beyond the limit, naming how far ahead it is and the skew
    /// allowed.
    pub fn check(&self, hlc: Hlc) -> Result<(), Rejection> {
        if hlc.wall_ms <= self.latest_wall_ms() {
            return Ok(());
        }
        let ahead = hlc.wall_ms.saturating_sub(self.now_ms);
        Err(Rejection::new(
            "clock_ahead",
            format!(
                "the terminal's clock is {} ahead of the back office's, more than the {} allowed; \
                 set the till's clock right and make the change again",
                span(ahead),
                span(self.max_skew_ms)
            ),
        ))
    }
}

/// `ms` as people read a clock's error: the two largest units (`1d 2h`, `5m`, `12s`).
fn span(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    let mut left = ms.max(0);
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        if left >= size && parts.len() < 2 {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        } else if !parts.is_empty() {
            break;
        }
    }
    if parts.is_empty() {
        format!("{ms}ms")
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn stamp(wall_ms: i64) -> Hlc {
        Hlc {
            wall_ms,
            counter: 4,
            node: Uuid::from_u128(7),
        }
    }

    #[test]
    fn a_stamp_within_the_skew_is_accepted() {
        let limit = StampLimit::ahead_of(1_000_000, 300_000);
        assert_eq!(limit.check(stamp(1_300_000)), Ok(()));
        assert_eq!(limit.check(stamp(5)), Ok(()), "the past is always accepted");
    }

    #[test]
    fn a_stamp_beyond_the_skew_is_refused_naming_how_far_ahead_and_the_skew() {
        let limit = StampLimit::ahead_of(1_000_000, 300_000);
        let day_ahead = limit.check(stamp(1_000_000 + 86_400_000 + 3_600_000 + 60_000));
        let refused = day_ahead.expect_err("a day ahead is refused");
        assert_eq!(refused.code, "clock_ahead");
        assert!(
            refused.message.contains("1d 1h ahead") && refused.message.contains("the 5m allowed"),
            "{}",
            refused.message
        );
        assert!(limit.check(stamp(1_300_001)).is_err(), "one past the bound");
        assert_eq!(
            StampLimit::ahead_of(i64::MAX - 1, 300_000).latest_wall_ms(),
            i64::MAX,
            "the limit saturates, never wraps"
        );
    }

    #[test]
    fn a_span_reads_in_its_two_largest_units() {
        assert_eq!(span(90_061_000), "1d 1h");
        assert_eq!(span(300_000), "5m");
        assert_eq!(span(61_000), "1m 1s");
        assert_eq!(span(250), "250ms");
    }
}
