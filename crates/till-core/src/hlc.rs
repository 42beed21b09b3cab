//! The hybrid logical clock of this terminal. Stamps are `(wall_ms, counter, node)`: the wall part
//! never goes below the largest wall time seen (local or remote), the counter orders events in
//! the same millisecond. The last stamp is persisted in the caller's write transaction, which
//! commits durably, so the clock never goes backwards across restarts, power cuts or between
//! processes sharing the data dir.

use rusqlite::Connection;
use till_protocol::Hlc;

use crate::config;
use crate::error::{CoreError, Result};
use crate::store::wal;

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
/// event so the stamp and the event commit together, durably ([`wal::ensure_durable`]).
pub fn tick(conn: &Connection, now_ms: i64) -> Result<Hlc> {
    wal::ensure_durable(conn)?;
    let stamp = next_local(last(conn)?, now_ms);
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
