//! Counting the drawer: the notes and coins of the store's currency, and what a count of them
//! comes to. The Shift screen counts the cash at the close with these, so it adds no money itself.

use serde::{Deserialize, Serialize};
use till_protocol::pricing::{PricingError, MAX_TOTAL};
use till_protocol::Currency;

use crate::error::{CoreError, Result};

/// How many of one note or coin were counted; `value` in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CashCount {
    pub value: i64,
    pub count: i64,
}

/// The notes and coins of `currency`, largest first, in minor units. A currency Till does not
/// know gets the 1-2-5 series from 500 major units down to its smallest unit.
pub fn denominations(currency: &Currency) -> Vec<i64> {
    match currency.code.as_str() {
        "EUR" => vec![
            50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1,
        ],
        "GBP" => vec![5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
        "USD" => vec![10_000, 5_000, 2_000, 1_000, 500, 100, 25, 10, 5, 1],
        _ => {
            let top = 500 * 10_i64.pow(u32::from(currency.exponent.min(6)));
            let mut out = Vec::new();
            let mut decade = top / 5;
            out.push(top);
            while decade >= 1 {
                out.extend([2 * decade, decade]);
                if decade >= 10 {
                    out.push(decade / 2);
                }
                decade /= 10;
            }
            out
        }
    }
}

/// What `counts` come to, in minor units: each value times how many were counted. A value must
/// be positive and a count not negative (`invalid_input`); a sum beyond what Till holds is
/// `amount_overflow`.
pub fn total(counts: &[CashCount]) -> Result<i64> {
    counts.iter().try_fold(0_i64, |sum, c| {
        if c.value <= 0 || c.count < 0 {
            return Err(CoreError::InvalidInput(format!(
                "{} of a note or coin of {} cannot be counted",
                c.count, c.value
            )));
        }
        c.value
            .checked_mul(c.count)
            .and_then(|v| sum.checked_add(v))
            .filter(|s| *s <= MAX_TOTAL)
            .ok_or_else(|| PricingError::Overflow.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str, exponent: u8) -> Currency {
        Currency {
            code: code.into(),
            exponent,
        }
    }

    #[test]
    fn the_euro_has_its_notes_and_coins_largest_first() {
        let eur = denominations(&currency("EUR", 2));
        assert_eq!(eur.first(), Some(&50_000), "the €500 note");
        assert_eq!(eur.last(), Some(&1), "the 1 cent coin");
        assert!(
            eur.windows(2).all(|w| w[0] > w[1]),
            "strictly largest first"
        );
    }

    #[test]
    fn an_unknown_currency_counts_in_ones_twos_and_fives() {
        assert_eq!(
            denominations(&currency("SEK", 2)),
            vec![50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1]
        );
        assert_eq!(
            denominations(&currency("JPY", 0)),
            vec![500, 200, 100, 50, 20, 10, 5, 2, 1],
            "a currency without decimals stops at its one"
        );
    }

    #[test]
    fn a_count_comes_to_each_value_times_its_count() {
        let counts = [
            CashCount {
                value: 2_000,
                count: 3,
            },
            CashCount { value: 5, count: 7 },
            CashCount {
                value: 100,
                count: 0,
            },
        ];
        assert_eq!(total(&counts).ok(), Some(6_035));
        assert_eq!(total(&[]).ok(), Some(0), "an empty drawer counts nothing");
    }

    #[test]
    fn a_count_refuses_what_no_drawer_holds() {
        let code = |c: CashCount| total(&[c]).map_err(|e| e.code()).err();
        assert_eq!(
            code(CashCount {
                value: 100,
                count: -1
            }),
            Some(crate::ErrorCode::InvalidInput)
        );
        assert_eq!(
            code(CashCount { value: 0, count: 1 }),
            Some(crate::ErrorCode::InvalidInput)
        );
        assert_eq!(
            code(CashCount {
                value: i64::MAX,
                count: 2
            }),
            Some(crate::ErrorCode::AmountOverflow)
        );
    }
}
