//! The hybrid logical clock of this terminal. Stamps are `(wall_ms, counter, node)`: the wall part
//! never goes below the largest wall time seen (local or remote), the counter orders events in
//! the same millisecond. The last stamp is persisted in the caller's write transaction, which
//! commits durably, so the clock never goes backwards across restarts, power cuts or between
//! processes sharing the data dir.
//!
//! One exception keeps a clock that ran ahead from poisoning the stamps for good: a stamp made
//! here is never more than [`MAX_AHEAD_MS`] ahead of the back office's clock as last measured
//! (this terminal's clock plus the offset the sync engine measures on every round trip). A till
//! whose clock was set a day ahead makes stamps a day ahead (and the back office refuses its
//! customer changes) until its clock is set right; from its next stamp on it follows its clock
//! again, instead of counting on from the day-ahead stamp it remembers.

use rusqlite::Connection;
use till_protocol::Hlc;

use crate::config;
use crate::error::{CoreError, Result};
use crate::store::wal;
use crate::sync::persisted;

/// How far ahead of the back office's clock, as last measured, a stamp made here may be. Well
/// within the skew the back office accepts (`till-server serve --max-clock-skew`, 5 minutes by
/// default), so a till never has its own stamps refused for an error of that measurement.
pub const MAX_AHEAD_MS: i64 = 60_000;

/// The next stamp after `last` for a local event at wall time `now_ms`.
pub fn next_local(last: Hlc, now_ms: i64) -> Hlc {
    if now_ms > last.wall_ms {
        Hlc {
            wall_ms: now_ms,
            counter: 0,
            node: last.node,
        }
    } else {
        advance(last.wall_ms, last.counter, last.node)
    }
}

/// The stamp after receiving `remote` at wall time `now_ms`: later than both `last` and `remote`.
pub fn next_received(last: Hlc, remote: Hlc, now_ms: i64) -> Hlc {
    let wall = now_ms.max(last.wall_ms).max(remote.wall_ms);
    let counter = if wall == last.wall_ms && wall == remote.wall_ms {
        last.counter.max(remote.counter)
    } else if wall == last.wall_ms {
        last.counter
    } else if wall == remote.wall_ms {
        remote.counter
    } else {
        return Hlc {
            wall_ms: wall,
            counter: 0,
            node: last.node,
        };
    };
    advance(wall, counter, last.node)
}

/// `stamp`, or the latest stamp a local event may have when `stamp` is beyond `limit_ms`: the
/// start of that millisecond, so the stamps that follow count on from there.
pub fn within(stamp: Hlc, limit_ms: i64) -> Hlc {
    if stamp.wall_ms <= limit_ms {
        return stamp;
    }
    Hlc {
        wall_ms: limit_ms,
        counter: 0,
        node: stamp.node,
    }
}

fn advance(wall_ms: i64, counter: u32, node: uuid::Uuid) -> Hlc {
    match counter.checked_add(1) {
        Some(counter) => Hlc {
            wall_ms,
            counter,
            node,
        },
        // Four billion events in one millisecond: move to the next millisecond instead.
        None => Hlc {
            wall_ms: wall_ms.saturating_add(1),
            counter: 0,
            node,
        },
    }
}

/// The last persisted stamp (or the zero stamp of this terminal).
pub fn last(conn: &Connection) -> Result<Hlc> {
    if let Some(h) = config::get(conn, &config::HLC_LAST)? {
        return Ok(h);
    }
    let node = config::get(conn, &config::DEVICE_ID)?
        .ok_or_else(|| CoreError::Database("the terminal has no device id".into()))?;
    Ok(Hlc {
        wall_ms: 0,
        counter: 0,
        node,
    })
}

/// Issues a stamp for a local event and persists it. Call inside the write transaction of the
/// event so the stamp and the event commit together, durably ([`wal::ensure_durable`]). The
/// stamp is at most [`MAX_AHEAD_MS`] ahead of the back office's clock as last measured.
pub fn tick(conn: &Connection, now_ms: i64) -> Result<Hlc> {
    wal::ensure_durable(conn)?;
    let server_now = now_ms.saturating_add(persisted::clock_offset(conn)?.unwrap_or(0));
    let limit = server_now.saturating_add(MAX_AHEAD_MS);
    let stamp = within(next_local(last(conn)?, now_ms), limit);
    config::set(conn, &config::HLC_LAST, &stamp)?;
    Ok(stamp)
}

/// Merges a stamp received from elsewhere (e.g. the server's time) and persists the result, in a
/// transaction that commits durably ([`wal::ensure_durable`]).
pub fn receive(conn: &Connection, remote: Hlc, now_ms: i64) -> Result<Hlc> {
    wal::ensure_durable(conn)?;
    let stamp = next_received(last(conn)?, remote, now_ms);
    config::set(conn, &config::HLC_LAST, &stamp)?;
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn stamp(wall_ms: i64, counter: u32) -> Hlc {
        Hlc {
            wall_ms,
            counter,
            node: Uuid::nil(),
        }
    }

    #[test]
    fn a_clock_that_jumps_back_still_moves_forward() {
        let a = next_local(stamp(1_000, 0), 1_000);
        let b = next_local(a, 500);
        assert!(b > a, "a wall clock set back must not reorder events");
        assert_eq!(b.wall_ms, 1_000);
    }

    #[test]
    fn a_remote_stamp_from_the_future_is_absorbed() {
        let r = next_received(stamp(1_000, 3), stamp(5_000, 7), 2_000);
        assert_eq!(r, stamp(5_000, 8));
        assert!(next_local(r, 2_000) > r);
    }

    #[test]
    fn a_stamp_beyond_the_limit_comes_back_to_it_and_counts_on_from_there() {
        let day = 86_400_000;
        let remembered = stamp(1_000 + day, 9);
        let first = within(next_local(remembered, 1_000), 1_000 + MAX_AHEAD_MS);
        assert_eq!(
            first,
            stamp(1_000 + MAX_AHEAD_MS, 0),
            "a day-ahead memory is dropped once the clock is right"
        );
        let second = within(next_local(first, 1_000), 1_000 + MAX_AHEAD_MS);
        assert!(second > first, "and the stamps after it still grow");
        assert_eq!(
            within(stamp(5, 2), 10),
            stamp(5, 2),
            "within the limit: untouched"
        );
    }

    #[test]
    fn a_till_whose_clock_ran_ahead_stamps_by_the_servers_clock_again() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        let node = Uuid::now_v7();
        config::set(&conn, &config::DEVICE_ID, &node).expect("identity");
        let now = 1_700_000_000_000;
        let day = 86_400_000;
        let ahead = tick(&conn, now + day).expect("stamps");
        assert_eq!(
            ahead.wall_ms,
            now + day,
            "before any round trip measured it, the clock is taken as it is"
        );
        let fixed = tick(&conn, now).expect("stamps");
        assert_eq!(
            fixed.wall_ms,
            now + MAX_AHEAD_MS,
            "the day-ahead stamp it remembers does not carry on"
        );
        persisted::set_clock_offset(&conn, -day).expect("a round trip measured the clock");
        let measured = tick(&conn, now + day).expect("stamps");
        assert!(
            measured.wall_ms <= now + MAX_AHEAD_MS,
            "with the offset known, a clock still a day ahead stamps by the server's: {measured:?}"
        );
    }

    proptest! {
        #[test]
        fn stamps_only_grow(events in proptest::collection::vec((any::<bool>(), 0i64..10_000, 0i64..10_000, 0u32..5), 1..50)) {
            let mut last = stamp(0, 0);
            for (remote, now, rwall, rcounter) in events {
                let next = if remote {
                    let r = stamp(rwall, rcounter);
                    let n = next_received(last, r, now);
                    prop_assert!(n > r, "a received stamp must be exceeded");
                    n
                } else {
                    next_local(last, now)
                };
                prop_assert!(next > last, "HLC must be strictly monotonic");
                last = next;
            }
        }
    }
}
