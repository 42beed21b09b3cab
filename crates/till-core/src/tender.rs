//! How a ticket is paid: cash (with change) or an external card terminal's approval. The till
//! never stores a full card number: a card tender keeps the approval reference and at most the
//! last four digits, and anything that looks like a card number (`till_protocol::card`, the rule
//! the back office applies too) is refused.

use serde::{Deserialize, Serialize};
use till_protocol::card::looks_like_card_number;
use till_protocol::text::{self, Lines};
use till_protocol::{Currency, Tender};

use crate::error::{CoreError, Result};
use crate::money::Money;

/// Longest approval reference accepted.
pub const MAX_APPROVAL_REF_LEN: usize = 64;

/// A tender as the UI sends it. Cash change is computed, never given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TenderInput {
    /// Cash handed over, in minor units.
    Cash { tendered: i64 },
    /// Paid on an external card terminal.
    Card {
        amount: i64,
        approval_ref: String,
        #[serde(default)]
        last4: Option<String>,
    },
}

/// The change handed back over `tenders` (only cash gives change).
pub fn change_given(tenders: &[Tender]) -> i64 {
    tenders
        .iter()
        .map(|t| match t {
            Tender::Cash { change, .. } => *change,
            Tender::Card { .. } => 0,
        })
        .sum()
}

/// What is left to pay after some tenders and the change on their cash, as the tender screen
/// shows it while the cashier types a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TenderBalance {
    /// What the tenders leave unpaid; 0 once they cover the amount due.
    pub remaining: i64,
    /// The cash handed back; only cash gives change.
    pub change: i64,
}

/// What `tenders` leave to pay of `due` and the change on their cash, by the rule [`settle`]
/// applies: card amounts count first and never exceed `due`, cash pays the rest.
pub fn balance(tenders: &[TenderInput], due: i64, currency: &Currency) -> Result<TenderBalance> {
    let (cash_due, cash) = split(tenders, due, currency)?;
    Ok(TenderBalance {
        remaining: (cash_due - cash).max(0),
        change: (cash - cash_due).max(0),
    })
}

/// Checks `tenders` against the amount `due` and returns them as recorded: card amounts first
/// count towards `due`, at most one cash tender covers the rest and gets the change. A ticket of
/// zero needs no tender. Refusals name the amounts in `currency`.
pub fn settle(tenders: &[TenderInput], due: i64, currency: &Currency) -> Result<Vec<Tender>> {
    let (cash_due, cash) = split(tenders, due, currency)?;
    if cash < cash_due {
        return Err(CoreError::TenderShort {
            due: Money::new(due, currency),
            tendered: Money::new(due - cash_due + cash, currency),
        });
    }
    let mut out = Vec::with_capacity(tenders.len());
    for t in tenders {
        out.push(match t {
            TenderInput::Card {
                amount,
                approval_ref,
                last4,
            } => Tender::Card {
                amount: *amount,
                approval_ref: approval_ref.trim().to_string(),
                last4: last4.as_ref().map(|s| s.trim().to_string()),
            },
            TenderInput::Cash { tendered } => Tender::Cash {
                tendered: *tendered,
                change: tendered - cash_due,
            },
        });
    }
    Ok(out)
}

/// What `tenders` leave for cash to pay of `due` once their cards count, and the cash they hand
/// over. Refuses a malformed tender, a second cash tender, and cards above `due`.
fn split(tenders: &[TenderInput], due: i64, currency: &Currency) -> Result<(i64, i64)> {
    let mut card_total: i64 = 0;
    let mut cash: Option<i64> = None;
    for t in tenders {
        match t {
            TenderInput::Card {
                amount,
                approval_ref,
                last4,
            } => {
                check_card(approval_ref, last4.as_deref())?;
                if *amount <= 0 {
                    return Err(CoreError::InvalidInput(format!(
                        "a card tender of {amount} must be positive"
                    )));
                }
                card_total = card_total
                    .checked_add(*amount)
                    .filter(|t| *t <= till_protocol::pricing::MAX_TOTAL)
                    .ok_or(till_protocol::pricing::PricingError::Overflow)?;
            }
            TenderInput::Cash { tendered } => {
                if cash.is_some() {
                    return Err(CoreError::InvalidInput(
                        "at most one cash tender per ticket".into(),
                    ));
                }
                if !(1..=till_protocol::pricing::MAX_TOTAL).contains(tendered) {
                    return Err(CoreError::InvalidInput(format!(
                        "cash tendered {tendered} is not a positive amount"
                    )));
                }
                cash = Some(*tendered);
            }
        }
    }
    if card_total > due {
        return Err(CoreError::InvalidInput(format!(
            "card payments of {} exceed the {} due; card payments give no change",
            Money::new(card_total, currency),
            Money::new(due, currency)
        )));
    }
    Ok((due - card_total, cash.unwrap_or(0)))
}

/// Note sizes, in major units, that quick cash amounts round up to.
const QUICK_CASH_NOTES: [i64; 6] = [1, 5, 10, 20, 50, 100];
/// Most quick cash amounts offered.
pub const MAX_QUICK_CASH: usize = 4;

/// Quick cash amounts for the tender screen: the exact `total` first, then `total` rounded up to
/// the next whole 1, 5, 10, 20, 50 and 100 major units (`exponent` is the currency's number of
/// decimals), strictly ascending, at most [`MAX_QUICK_CASH`]. Never overflows: an amount that
/// would is left out.
pub fn quick_cash(total: i64, exponent: u8) -> Vec<i64> {
    let major = 10_i64.checked_pow(u32::from(exponent)).unwrap_or(1);
    let mut out = vec![total];
    for note in QUICK_CASH_NOTES {
        if out.len() >= MAX_QUICK_CASH {
            break;
        }
        let Some(step) = note.checked_mul(major) else {
            break;
        };
        let Some(up) = total
            .checked_add(step - 1)
            .map(|t| t.div_euclid(step) * step)
        else {
            break;
        };
        if out.last().is_some_and(|&last| up > last) {
            out.push(up);
        }
    }
    out
}

fn check_card(approval_ref: &str, last4: Option<&str>) -> Result<()> {
    if looks_like_card_number(approval_ref) {
        return Err(CoreError::CardNumberForbidden {
            field: "approval_ref",
        });
    }
    if let Some(l4) = last4 {
        if looks_like_card_number(l4) {
            return Err(CoreError::CardNumberForbidden { field: "last4" });
        }
        let l4 = l4.trim();
        if l4.len() != 4 || !l4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::InvalidInput(format!(
                "last4 must be exactly four digits, got {} characters",
                l4.chars().count()
            )));
        }
    }
    let r = approval_ref.trim();
    if r.is_empty() {
        return Err(CoreError::InvalidInput(
            "a card tender needs the card terminal's approval reference".into(),
        ));
    }
    if r.chars().count() > MAX_APPROVAL_REF_LEN {
        return Err(CoreError::InvalidInput(format!(
            "the approval reference must be at most {MAX_APPROVAL_REF_LEN} characters"
        )));
    }
    text::check("the approval reference", r, Lines::One)
        .map_err(|e| CoreError::InvalidInput(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency {
            code: "EUR".into(),
            exponent: 2,
        }
    }

    fn settle(tenders: &[TenderInput], due: i64) -> Result<Vec<Tender>> {
        super::settle(tenders, due, &eur())
    }

    fn card(amount: i64, approval_ref: &str, last4: Option<&str>) -> TenderInput {
        TenderInput::Card {
            amount,
            approval_ref: approval_ref.into(),
            last4: last4.map(Into::into),
        }
    }

    #[test]
    fn cash_change_is_what_was_handed_over_beyond_the_total() {
        let t = settle(&[TenderInput::Cash { tendered: 2000 }], 1234).expect("covers");
        assert_eq!(
            t,
            vec![Tender::Cash {
                tendered: 2000,
                change: 766
            }]
        );
    }

    #[test]
    fn a_split_payment_gives_change_only_on_cash() {
        let t = settle(
            &[
                card(1000, "A1B2C3", Some("4242")),
                TenderInput::Cash { tendered: 500 },
            ],
            1234,
        )
        .expect("covers");
        assert_eq!(
            t[1],
            Tender::Cash {
                tendered: 500,
                change: 266
            }
        );
        let counted: i64 = t.iter().map(Tender::counted).sum();
        assert_eq!(counted, 1234, "tenders count exactly the total");
    }

    #[test]
    fn the_balance_counts_cards_first_and_gives_change_only_on_cash() {
        let balance = |tenders: &[TenderInput]| super::balance(tenders, 5000, &eur());
        assert_eq!(
            balance(&[card(2000, "A1", None)]).ok(),
            Some(TenderBalance {
                remaining: 3000,
                change: 0
            }),
            "a card alone leaves the rest to pay"
        );
        assert_eq!(
            balance(&[card(2000, "A1", None), TenderInput::Cash { tendered: 4000 }]).ok(),
            Some(TenderBalance {
                remaining: 0,
                change: 1000
            }),
            "cash beyond what the cards left comes back as change"
        );
        assert_eq!(
            balance(&[]).ok(),
            Some(TenderBalance {
                remaining: 5000,
                change: 0
            })
        );
        assert_eq!(
            balance(&[card(5001, "A1", None)])
                .map_err(|e| e.code())
                .err(),
            Some(crate::ErrorCode::InvalidInput),
            "cards never pay more than the total"
        );
    }

    #[test]
    fn short_tenders_are_refused() {
        let e = settle(&[TenderInput::Cash { tendered: 1000 }], 1234).expect_err("short");
        assert_eq!(e.code(), "insufficient_tender");
        assert_eq!(
            e.to_string(),
            "€10.00 does not cover €12.34",
            "the refusal speaks money, never minor units"
        );
        let e = settle(&[], 1).expect_err("nothing tendered");
        assert_eq!(e.code(), "insufficient_tender");
        assert!(settle(&[], 0).is_ok(), "a free ticket needs no tender");
    }

    #[test]
    fn quick_cash_starts_with_the_exact_total_and_rounds_up_to_notes() {
        assert_eq!(quick_cash(1234, 2), vec![1234, 1300, 1500, 2000]);
        assert_eq!(quick_cash(500, 2), vec![500, 1000, 2000, 5000]);
        assert_eq!(quick_cash(980, 0), vec![980, 1000]);
        assert_eq!(quick_cash(1, 2), vec![1, 100, 500, 1000]);
        assert_eq!(quick_cash(0, 2), vec![0], "a free ticket needs no cash");
        assert_eq!(quick_cash(7, 3), vec![7, 1000, 5000, 10_000]);
    }

    #[test]
    fn quick_cash_is_at_most_four_strictly_ascending_amounts() {
        for exponent in 0..=4 {
            for total in (0..200_000).step_by(997) {
                let s = quick_cash(total, exponent);
                assert_eq!(s[0], total, "the exact total comes first");
                assert!(s.len() <= MAX_QUICK_CASH, "{total}: {s:?}");
                assert!(
                    s.windows(2).all(|w| w[0] < w[1]),
                    "{total}: strictly ascending, no repeats: {s:?}"
                );
                assert!(
                    s.iter().all(|&a| a >= total),
                    "{total}: every amount covers the total: {s:?}"
                );
            }
        }
    }

    #[test]
    fn quick_cash_never_overflows() {
        let s = quick_cash(i64::MAX - 1, 2);
        assert_eq!(s, vec![i64::MAX - 1], "only the exact amount fits");
        assert_eq!(quick_cash(i64::MAX, 4)[0], i64::MAX);
        assert_eq!(
            quick_cash(100, u8::MAX)[0],
            100,
            "an absurd exponent is harmless"
        );
    }

    #[test]
    fn card_numbers_are_refused_wherever_they_appear() {
        for (r, l4) in [
            ("4111111111111111", None),
            ("ref 4111 1111 1111 1111", None),
            ("4111-1111-1111-1111", None),
            ("4111  1111  1111  1111", None),
            ("4111.1111.1111.1111", None),
            ("A1B2", Some("4111111111111111")),
        ] {
            let e = settle(&[card(100, r, l4)], 100).expect_err("a PAN must be refused");
            assert_eq!(e.code(), "card_number_forbidden", "{r} / {l4:?}");
        }
    }

    #[test]
    fn card_tenders_need_an_approval_and_at_most_four_digits() {
        assert_eq!(
            settle(&[card(100, " ", None)], 100).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            settle(&[card(100, "OK1", Some("42424"))], 100)
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            settle(&[card(200, "OK1", None)], 100).unwrap_err().code(),
            "invalid_input",
            "a card pays no more than the total"
        );
        assert!(settle(&[card(100, "AUTH 123456", Some("4242"))], 100).is_ok());
        let refused = settle(&[card(100, "OK\u{0}1", None)], 100).unwrap_err();
        assert!(
            refused.to_string().contains("control character"),
            "a reference holds no control character: {refused}"
        );
    }
}
