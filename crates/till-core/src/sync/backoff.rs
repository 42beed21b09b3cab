//! Exponential back-off with full jitter (a uniformly random wait between zero and the growing
//! ceiling), capped, and never shorter than what the server asked for with `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// The shape of the back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// No jittered wait is ever longer than this.
    pub cap: Duration,
    /// The longest `Retry-After` honoured as given; longer requests are clamped to this.
    pub max_retry_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(3600),
        }
    }
}

/// The back-off of one engine: how many failures in a row, and the next wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff {
            policy,
            failures: 0,
        }
    }

    /// Resumes after a restart with the failures counted before it.
    pub fn with_failures(policy: BackoffPolicy, failures: u32) -> Self {
        Backoff { policy, failures }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The ceiling of the next wait: `base · 2^failures`, at most `cap`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.policy
            .base
            .checked_mul(factor)
            .unwrap_or(self.policy.cap)
            .min(self.policy.cap)
    }

    /// Counts one more failure and returns how long to wait before the next attempt: a uniform
    /// draw in `[0, ceiling]`, raised to `retry_after` when the server asked for longer.
    pub fn fail(&mut self, rng: &mut impl Rng, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let jitter_ms = rng.gen_range(0..=millis(ceiling));
        let wait = Duration::from_millis(jitter_ms);
        match retry_after {
            Some(asked) => wait.max(asked.min(self.policy.max_retry_after)),
            None => wait,
        }
    }

    /// A success: the next failure starts from the base again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn policy() -> BackoffPolicy {
        BackoffPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let mut backoff = Backoff::new(policy());
        let mut rng = StdRng::seed_from_u64(1);
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(backoff.ceiling());
            backoff.fail(&mut rng, None);
        }
        assert_eq!(ceilings[0], Duration::from_millis(100));
        assert_eq!(ceilings[1], Duration::from_millis(200));
        assert_eq!(ceilings[5], Duration::from_millis(3200));
        assert_eq!(ceilings[9], Duration::from_secs(5), "never above the cap");
    }

    #[test]
    fn waits_are_jittered_within_the_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut backoff = Backoff::with_failures(policy(), 20);
            let wait = backoff.fail(&mut rng, None);
            assert!(
                wait <= Duration::from_secs(5),
                "full jitter stays under the cap"
            );
            seen.insert(wait);
        }
        assert!(seen.len() > 50, "full jitter spreads terminals apart");
    }

    #[test]
    fn retry_after_is_a_floor_and_a_reset_starts_over() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut backoff = Backoff::new(policy());
        let wait = backoff.fail(&mut rng, Some(Duration::from_secs(30)));
        assert!(wait >= Duration::from_secs(30), "the server asked for 30 s");
        let clamped = backoff.fail(&mut rng, Some(Duration::from_secs(86_400)));
        assert_eq!(
            clamped,
            Duration::from_secs(60),
            "absurd Retry-After is clamped"
        );
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(100));
    }
}
