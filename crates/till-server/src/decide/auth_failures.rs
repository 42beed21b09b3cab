//! The failed-authentication limit: how many failed authentications one client may make in a
//! window before every request it makes with a token is refused (429) until the window ends, a
//! valid token included, so guessing cannot go on behind one good terminal's traffic.

use std::net::IpAddr;

/// At most `max_failures` failed authentications per client in `window_ms`; 0 turns the limit
/// off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub max_failures: u32,
    pub window_ms: i64,
}

/// One client's failures in its current window, which opened with its first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub since_ms: i64,
    pub count: u32,
}

/// Whether a client may try to authenticate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refused until its window ends, in `retry_after_s` whole seconds (at least 1).
    Refuse {
        retry_after_s: u64,
    },
}

impl FailureLimit {
    /// A client with `failures` asking at `now_ms`.
    pub fn verdict(&self, failures: Option<&Failures>, now_ms: i64) -> Verdict {
        match failures {
            Some(f)
                if self.max_failures > 0
                    && f.count >= self.max_failures
                    && !self.expired(f, now_ms) =>
            {
                let left_ms = f.since_ms.saturating_add(self.window_ms) - now_ms;
                Verdict::Refuse {
                    retry_after_s: (left_ms.max(1) as u64).div_ceil(1000),
                }
            }
            _ => Verdict::Allow,
        }
    }

    /// The client's failures after one more at `now_ms`: counted in its open window, or the
    /// first of a new one.
    pub fn failed(&self, failures: Option<Failures>, now_ms: i64) -> Failures {
        match failures {
            Some(f) if !self.expired(&f, now_ms) => Failures {
                since_ms: f.since_ms,
                count: f.count.saturating_add(1),
            },
            _ => Failures {
                since_ms: now_ms,
                count: 1,
            },
        }
    }

    /// Whether `failures`' window is over at `now_ms` (it may then be forgotten).
    pub fn expired(&self, failures: &Failures, now_ms: i64) -> bool {
        now_ms >= failures.since_ms.saturating_add(self.window_ms)
    }
}

/// The client failures are counted under: an IPv4 address, or the /64 network of an IPv6
/// address (one host is usually given a whole /64, so counting addresses would let it rotate).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: FailureLimit = FailureLimit {
        max_failures: 3,
        window_ms: 60_000,
    };

    fn after(failures: u32, since_ms: i64) -> Failures {
        (0..failures)
            .fold(None, |f, _| Some(LIMIT.failed(f, since_ms)))
            .expect("at least one")
    }

    #[test]
    fn a_client_is_refused_once_it_reaches_the_limit_until_its_window_ends() {
        assert_eq!(LIMIT.verdict(None, 0), Verdict::Allow);
        assert_eq!(LIMIT.verdict(Some(&after(2, 0)), 1_000), Verdict::Allow);
        let full = after(3, 0);
        assert_eq!(
            LIMIT.verdict(Some(&full), 1_000),
            Verdict::Refuse { retry_after_s: 59 }
        );
        assert_eq!(
            LIMIT.verdict(Some(&full), 59_999),
            Verdict::Refuse { retry_after_s: 1 },
            "never a Retry-After of 0"
        );
        assert_eq!(
            LIMIT.verdict(Some(&full), 60_000),
            Verdict::Allow,
            "the window is over"
        );
    }

    #[test]
    fn failures_count_in_the_window_of_the_first_and_a_late_one_opens_a_new_window() {
        let f = LIMIT.failed(Some(after(2, 0)), 30_000);
        assert_eq!(
            f,
            Failures {
                since_ms: 0,
                count: 3
            }
        );
        let late = LIMIT.failed(Some(f), 60_000);
        assert_eq!(
            late,
            Failures {
                since_ms: 60_000,
                count: 1
            }
        );
        assert!(LIMIT.expired(&f, 60_000));
        assert!(!LIMIT.expired(&f, 59_999));
    }

    #[test]
    fn a_limit_of_zero_refuses_nobody() {
        let off = FailureLimit {
            max_failures: 0,
            ..LIMIT
        };
        assert_eq!(off.verdict(Some(&after(100, 0)), 1), Verdict::Allow);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(client_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            client_key(mapped),
            v4,
            "a mapped IPv4 address is that address"
        );
    }
}
