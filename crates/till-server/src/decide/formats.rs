//! Which payload formats the back office accepts ([`till_protocol::Mutation::format`]): those
//! from [`OLDEST_PAYLOAD_FORMAT`] to [`PAYLOAD_FORMAT`]. A till may be upgraded with sales still
//! queued in an older format, so the oldest accepted stays at least two formats back; a format
//! out of that range (a till newer than this back office, or a damaged payload) is refused
//! (`unsupported_format`) before anything of it is applied, lands on the till's failed list, and can
//! be retried from there once the back office is upgraded.

use till_protocol::{OLDEST_PAYLOAD_FORMAT, PAYLOAD_FORMAT};

use super::Rejection;

// The policy, held at build time: the oldest format accepted is 1, or at least two before the
// current one, so a till two upgrades behind still drains its queue.
const _: () = assert!(
    OLDEST_PAYLOAD_FORMAT >= 1
        && (OLDEST_PAYLOAD_FORMAT == 1 || OLDEST_PAYLOAD_FORMAT + 2 <= PAYLOAD_FORMAT),
    "the back office accepts the current payload format and at least the two before it"
);

/// The code of a mutation refused for its payload format.
pub const UNSUPPORTED_FORMAT: &str = "unsupported_format";

/// Accepts `format` when this back office reads it, else refuses it naming the formats it reads.
pub fn check(format: u32) -> Result<(), Rejection> {
    if (OLDEST_PAYLOAD_FORMAT..=PAYLOAD_FORMAT).contains(&format) {
        return Ok(());
    }
    let newer = if format > PAYLOAD_FORMAT {
        "; upgrade the back office, then retry the item"
    } else {
        ""
    };
    Err(Rejection::new(
        UNSUPPORTED_FORMAT,
        format!(
            "payload format {format} is not accepted: this back office accepts formats \
             {OLDEST_PAYLOAD_FORMAT} to {PAYLOAD_FORMAT}{newer}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_from_the_oldest_to_the_current_is_accepted() {
        for format in OLDEST_PAYLOAD_FORMAT..=PAYLOAD_FORMAT {
            assert_eq!(check(format), Ok(()), "format {format}");
        }
    }

    #[test]
    fn a_format_out_of_range_is_refused_naming_it_and_what_is_accepted() {
        let range = format!("accepts formats {OLDEST_PAYLOAD_FORMAT} to {PAYLOAD_FORMAT}");
        for format in [0, PAYLOAD_FORMAT + 1, 99, u32::MAX] {
            let refused = check(format).expect_err("out of range");
            assert_eq!(refused.code, UNSUPPORTED_FORMAT);
            assert!(
                refused
                    .message
                    .contains(&format!("payload format {format} "))
                    && refused.message.contains(&range),
                "the message names the format and the range: {}",
                refused.message
            );
        }
    }

    #[test]
    fn only_a_newer_format_is_told_to_upgrade_the_back_office() {
        let newer = check(PAYLOAD_FORMAT + 1).expect_err("newer");
        assert!(newer.message.contains("upgrade the back office"));
        let zero = check(0).expect_err("below 1");
        assert!(!zero.message.contains("upgrade"), "{}", zero.message);
    }
}
