//! Durations on the command line: `0`, or a whole number and one unit: `30s`, `15m`, `24h`,
//! `7d`. No unit but for `0`, so `--grace 30` can never mean seconds to one reader and minutes
//! to another.

use std::time::Duration;

/// Parses `0`, `Ns`, `Nm`, `Nh` or `Nd`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("{text:?} is not a duration: use 0, 30s, 15m, 24h or 7d");
    let split = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per_unit))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_reads_as_documented() {
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(15 * 60)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(24 * 3_600)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse(" 0s "), Ok(Duration::ZERO));
    }

    #[test]
    fn a_number_without_a_unit_or_with_another_unit_is_refused() {
        for bad in ["", "30", "s", "1.5h", "-1s", "10ms", "1w", "h1", "1 h"] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(
            parse("99999999999999999999d").is_err(),
            "an overflow is an error, never a wrap"
        );
    }
}
