//! Calendar dates in UTC on the command line: `YYYY-MM-DD` read into a day, milliseconds since
//! the Unix epoch written as a date or a timestamp. (Howard Hinnant's `days_from_civil` and
//! `civil_from_days`, proleptic Gregorian calendar.)

const MS_PER_DAY: i64 = 86_400_000;

/// A calendar day in UTC, counted from 1970-01-01 (day 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(i64);

/// A date that is not `YYYY-MM-DD`, or not a day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date; dates are YYYY-MM-DD, such as 2026-11-30")]
pub struct BadDate(pub String);

impl Day {
    /// `YYYY-MM-DD` (years 0000 to 9999).
    pub fn parse(text: &str) -> Result<Day, BadDate> {
        let bad = || BadDate(text.chars().take(40).collect());
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let (year, month, day) = match (digits(0..4), digits(5..7), digits(8..10)) {
            (Some(y), Some(m), Some(d)) => (y, m, d),
            _ => return Err(bad()),
        };
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Day(days_from_civil(year, month, day)))
    }

    /// The day holding the instant `ms` (milliseconds since the Unix epoch).
    pub fn of_ms(ms: i64) -> Day {
        Day(ms.div_euclid(MS_PER_DAY))
    }

    /// The first millisecond of the day.
    pub fn start_ms(self) -> i64 {
        self.0.saturating_mul(MS_PER_DAY)
    }

    /// The first millisecond of the next day: the day is `[start_ms, end_ms)`.
    pub fn end_ms(self) -> i64 {
        self.0.saturating_add(1).saturating_mul(MS_PER_DAY)
    }
}

impl std::fmt::Display for Day {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for the instant `ms`.
pub fn timestamp(ms: i64) -> String {
    let seconds = ms.rem_euclid(MS_PER_DAY) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        Day::of_ms(ms),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_reads_back_as_written_across_leap_days_and_the_epoch() {
        for text in [
            "1970-01-01",
            "1969-12-31",
            "2000-02-29",
            "2024-02-29",
            "2026-11-30",
            "2100-03-01",
            "0001-01-01",
        ] {
            let day = Day::parse(text).expect("a date");
            assert_eq!(day.to_string(), text);
        }
        assert_eq!(
            Day::parse("1970-01-02").expect("a date").start_ms(),
            MS_PER_DAY
        );
    }

    #[test]
    fn what_is_not_a_calendar_day_is_refused() {
        for text in [
            "2026-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T00:00",
            "",
            "２０２６-01-01",
        ] {
            assert!(Day::parse(text).is_err(), "{text:?} is not a date");
        }
    }

    #[test]
    fn a_day_holds_its_milliseconds_from_midnight_utc_to_the_next() {
        let day = Day::parse("2026-11-30").expect("a date");
        assert_eq!(Day::of_ms(day.start_ms()), day);
        assert_eq!(Day::of_ms(day.end_ms() - 1), day);
        assert_eq!(Day::of_ms(day.end_ms()).to_string(), "2026-12-01");
        assert_eq!(Day::of_ms(-1).to_string(), "1969-12-31");
        assert_eq!(
            timestamp(day.start_ms() + 3_723_000),
            "2026-11-30T01:02:03Z"
        );
    }
}
