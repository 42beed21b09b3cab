//! Finding the one item the back office fails on, so it never blocks the queue for ever. A
//! batch the back office answers with a server error time and again may hold an item it can
//! never store (a request that got no answer counts for nothing here: that is the link): after [`REPEATS`] failures in a row the batch is split in
//! halves, a half failing [`REPEATS`] times in a row split again, a half that goes through
//! leaves the rest to look at, until one item fails alone [`ALONE`] times in a row. That item
//! is withdrawn (the back office settles its sequence without applying it, and it goes to the
//! failed list with the back office's code and message) and the rest flows in order.
//!
//! Every step waits for failures in a row, so a server that fails now and then (an overloaded
//! proxy, a database restarting) costs retries, never an item: the chance that random failures
//! of half the requests end in a withdrawal is about one drain in fifty thousand, while a real
//! bad item among a thousand is found after some 25 failures.
//!
//! [`Poison`] decides without I/O, from which batches failed and which were answered; the
//! pusher ([`super::batches`]) sizes its batches by [`Poison::limit`] and sends the
//! withdrawal.

/// Failures in a row of a batch before it is split.
pub const REPEATS: u32 = 3;
/// Failures in a row of an item sent alone before it is withdrawn: more than a split needs,
/// since a withdrawal takes the item out of the queue until a manager acts.
pub const ALONE: u32 = 5;

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again (with back-off), as large as [`Poison::limit`] allows.
    Retry,
    /// The item at the head failed alone every time: withdraw it.
    Withdraw,
}

/// Where the search for a failing item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Poison {
    /// The first row of the batch that failed last.
    head: u64,
    /// Failures in a row of batches starting at `head`.
    failures: u32,
    /// While isolating: how many rows, from the oldest unsettled, hold the failing item.
    region: Option<usize>,
    /// While isolating: the most rows the next batch may carry.
    size: usize,
}

impl Poison {
    /// The most rows the next batch may carry; `None` when nothing is being isolated.
    pub fn limit(&self) -> Option<usize> {
        self.region.map(|_| self.size)
    }

    /// A batch of `sent` rows from the row `head` got a server error.
    pub fn failed(&mut self, head: u64, sent: usize) -> Verdict {
        if head != self.head {
            self.head = head;
            self.failures = 0;
        }
        self.failures += 1;
        if sent <= 1 {
            return if self.failures >= ALONE {
                Verdict::Withdraw
            } else {
                Verdict::Retry
            };
        }
        if self.failures >= REPEATS {
            self.region = Some(sent);
            self.size = sent.div_ceil(2);
            self.failures = 0;
        }
        Verdict::Retry
    }

    /// The failing item was withdrawn: batches are sized as usual again.
    pub fn withdrawn(&mut self) {
        *self = Poison::default();
    }

    /// A batch of `sent` rows was answered: while isolating, the failing item is among the rows
    /// after them; once none are left to look at, batches are sized as usual again.
    pub fn answered(&mut self, sent: usize) {
        match self.region {
            Some(region) if region > sent => {
                self.region = Some(region - sent);
                self.size = region - sent;
                self.failures = 0;
            }
            _ => *self = Poison::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` and returns the limit of the next batch and the verdict of the last step
    /// (none unless it is a failure). Steps, separated by spaces: `f7:100` a batch of 100 rows
    /// from row 7 failed (`×3`: three times), `a50` a batch of 50 rows was answered, `w` the
    /// item was withdrawn.
    fn after(steps: &str) -> (Option<usize>, Option<Verdict>) {
        let mut poison = Poison::default();
        let mut verdict = None;
        for step in steps.split_whitespace() {
            let (step, times) = step.split_once('×').unwrap_or((step, "1"));
            for _ in 0..times.parse::<usize>().expect("a count") {
                let number = |s: &str| s.parse::<usize>().expect("a number");
                verdict = match step.split_at(1) {
                    ("f", rows) => {
                        let (head, sent) = rows.split_once(':').expect("head:sent");
                        Some(poison.failed(number(head) as u64, number(sent)))
                    }
                    ("a", sent) => {
                        poison.answered(number(sent));
                        None
                    }
                    ("w", _) => {
                        poison.withdrawn();
                        None
                    }
                    _ => panic!("no step {step}"),
                };
            }
        }
        (poison.limit(), verdict)
    }

    #[test]
    fn a_batch_failing_time_and_again_is_halved_until_one_item_fails_alone() {
        use Verdict::{Retry, Withdraw};
        let table = [
            ("nothing failed", "", None, None),
            (
                "a failure or two may be an outage: the batch is left as it is",
                "f1:100×2",
                None,
                Some(Retry),
            ),
            (
                "the third failure in a row splits it",
                "f1:100×3",
                Some(50),
                Some(Retry),
            ),
            (
                "failures of different batches are not in a row",
                "f1:100×2 f7:100",
                None,
                Some(Retry),
            ),
            (
                "a half failing once may be an outage too",
                "f1:100×3 f1:50×2",
                Some(50),
                Some(Retry),
            ),
            (
                "a half failing three times in a row holds the item: split again",
                "f1:100×3 f1:50×3",
                Some(25),
                Some(Retry),
            ),
            (
                "a half that goes through leaves the other half to look at",
                "f1:100×3 a50",
                Some(50),
                None,
            ),
            (
                "the other half failing three times in a row is split in turn",
                "f1:100×3 a50 f51:50×3",
                Some(25),
                Some(Retry),
            ),
            ("down to one item", "f1:4×3 f1:2×3", Some(1), Some(Retry)),
            (
                "one item failing alone four times is tried again",
                "f1:4×3 f1:2×3 f1:1×4",
                Some(1),
                Some(Retry),
            ),
            (
                "one item failing alone five times in a row is withdrawn",
                "f1:4×3 f1:2×3 f1:1×5",
                Some(1),
                Some(Withdraw),
            ),
            (
                "once the item is withdrawn, the rest flows in batches as large as usual",
                "f1:2×3 f1:1×5 w",
                None,
                None,
            ),
            (
                "a queue of one failing item is withdrawn after five failures",
                "f9:1×5",
                None,
                Some(Withdraw),
            ),
            (
                "every part going through: the failures passed, batches are sized as usual",
                "f1:10×3 a5 a5",
                None,
                None,
            ),
        ];
        for (why, steps, limit, verdict) in table {
            assert_eq!(after(steps), (limit, verdict), "{why}");
        }
    }
}
