//! How far ahead of the back office's clock a terminal's HLC stamp may be. The only stamps the
//! server keeps and hands on are those of customer versions, which terminals compare under
//! last-writer-wins; a stamp from a till whose clock runs far ahead would win every such
//! comparison for as long as it is ahead. So the stamp kept is clamped to the server's clock
//! plus the allowed skew. The mutation itself is still applied (a sale is never refused for a
//! wrong clock, so the drawer and the office agree) and hashed as sent, so a replay is still
//! recognised; a ticket keeps its own stamp, which its journal hash covers.

use till_protocol::Hlc;

/// The latest HLC wall time the server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampLimit {
    pub latest_wall_ms: i64,
}

impl StampLimit {
    /// At most `max_skew_ms` ahead of `now_ms`.
    pub fn ahead_of(now_ms: i64, max_skew_ms: i64) -> Self {
        StampLimit {
            latest_wall_ms: now_ms.saturating_add(max_skew_ms.max(0)),
        }
    }

    /// `hlc`, or at the latest wall time when it is beyond (its counter and node kept, so two
    /// clamped stamps of different terminals still order).
    pub fn bound(&self, hlc: Hlc) -> Hlc {
        Hlc {
            wall_ms: hlc.wall_ms.min(self.latest_wall_ms),
            ..hlc
        }
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
    fn a_stamp_within_the_skew_is_kept_as_sent() {
        let limit = StampLimit::ahead_of(1_000_000, 300_000);
        assert_eq!(limit.bound(stamp(1_300_000)), stamp(1_300_000));
        assert_eq!(limit.bound(stamp(5)), stamp(5), "the past is never moved");
    }

    #[test]
    fn a_stamp_beyond_the_skew_is_clamped_to_it_keeping_counter_and_node() {
        let limit = StampLimit::ahead_of(1_000_000, 300_000);
        let far = stamp(i64::MAX);
        assert_eq!(limit.bound(far), stamp(1_300_000));
        assert_eq!(
            StampLimit::ahead_of(i64::MAX - 1, 300_000).latest_wall_ms,
            i64::MAX,
            "the limit saturates, never wraps"
        );
    }
}
