//! The one pricing rule of Till, used by the terminal to quote and commit and by the server to
//! check what a terminal sent. Pure integer arithmetic in minor units; no floats anywhere.
//!
//! # The rule
//! 1. A line's **gross** is `unit_price × quantity`.
//! 2. A **line discount** is a fixed amount (at most the gross) or a percentage in basis points,
//!    rounded half-up to the minor unit.
//! 3. A **ticket discount** is computed the same way on the sum of the discounted lines and is
//!    spread over the lines in proportion to their discounted amounts by the largest-remainder
//!    method (ties go to the earlier line), so the shares add up exactly.
//! 4. **Tax is computed once per rate** on the sum of the line amounts at that rate, rounded
//!    half-up: exclusive pricing adds `sum × rate / 10000`; inclusive pricing extracts
//!    `sum × rate / (10000 + rate)`. Each rate's tax is then spread over its lines by the
//!    largest-remainder method, so line taxes add up to the rate's tax exactly.
//! 5. A line's **total** is its amount (plus its tax when prices exclude tax); the ticket total is
//!    the sum of the line totals.
//!
//! Consequences the tests hold us to: the ticket total always equals the sum of the line totals,
//! the tax of each rate differs from the exact rational tax by at most half a minor unit, and no
//! input can overflow: amounts are bounded by [`MAX_TOTAL`] and computed in `i128`.

use serde::{Deserialize, Serialize};

/// Most lines one ticket may carry.
pub const MAX_LINES: usize = 500;
/// Largest quantity on one line.
pub const MAX_QUANTITY: i64 = 9_999;
/// Largest unit price, in minor units (100 million in a two-decimal currency).
pub const MAX_UNIT_PRICE: i64 = 10_000_000_000;
/// Largest amount any line or ticket may reach, in minor units.
pub const MAX_TOTAL: i64 = 1_000_000_000_000;
/// Highest tax rate, in basis points (100 %).
pub const MAX_TAX_RATE_BP: u32 = 10_000;

/// A discount on one line or on the whole ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// A percentage in basis points (`1000` is 10 %), at most 100 %.
    Percent { bp: u32 },
    /// A fixed amount in minor units, at most the amount it applies to.
    Amount { minor: i64 },
}

/// One line to price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceLine {
    pub unit_price: i64,
    pub quantity: i64,
    pub tax_rate_bp: u32,
    pub discount: Option<Discount>,
}

/// What to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceInput {
    pub prices_include_tax: bool,
    pub lines: Vec<PriceLine>,
    pub ticket_discount: Option<Discount>,
}

/// The figures of one priced line, all in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LineFigures {
    /// `unit_price × quantity`.
    pub gross: i64,
    /// This line's own discount.
    pub line_discount: i64,
    /// This line's share of the ticket discount.
    pub ticket_discount: i64,
    /// `gross − line_discount − ticket_discount`, in the price basis (tax included or not).
    pub amount: i64,
    /// This line's share of its rate's tax.
    pub tax: i64,
    /// What the customer pays for this line.
    pub total: i64,
}

/// The tax of one rate on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TaxFigures {
    pub rate_bp: u32,
    /// The taxable amount, tax excluded.
    pub base: i64,
    pub tax: i64,
}

/// The ticket-level figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TicketTotals {
    /// Sum of the lines' gross amounts.
    pub subtotal: i64,
    /// Sum of all line and ticket discounts.
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
}

/// A priced ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub lines: Vec<LineFigures>,
    /// One entry per distinct rate, ordered by rate.
    pub taxes: Vec<TaxFigures>,
    pub totals: TicketTotals,
}

/// Why a ticket cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error("a ticket may have at most {max} lines, this one has {count}")]
    TooManyLines { count: usize, max: usize },
    #[error("line {line}: quantity {quantity} is not between 1 and {max}", max = MAX_QUANTITY)]
    InvalidQuantity { line: usize, quantity: i64 },
    #[error("line {line}: unit price {price} is not between 0 and {max}", max = MAX_UNIT_PRICE)]
    InvalidPrice { line: usize, price: i64 },
    #[error("line {line}: tax rate {rate_bp} bp is above {max} bp", max = MAX_TAX_RATE_BP)]
    InvalidTaxRate { line: usize, rate_bp: u32 },
    #[error("{0}")]
    InvalidDiscount(String),
    #[error("the amounts exceed the largest total a ticket may reach ({max} minor units)", max = MAX_TOTAL)]
    Overflow,
}

impl PricingError {
    /// The stable code the UI, CLI and HTTP API report.
    pub fn code(&self) -> &'static str {
        match self {
            PricingError::EmptyCart => "empty_cart",
            PricingError::TooManyLines { .. } => "too_many_lines",
            PricingError::InvalidQuantity { .. } => "invalid_quantity",
            PricingError::InvalidPrice { .. } => "invalid_price",
            PricingError::InvalidTaxRate { .. } => "invalid_tax_rate",
            PricingError::InvalidDiscount(_) => "invalid_discount",
            PricingError::Overflow => "amount_overflow",
        }
    }
}

/// Prices a ticket by the rule in this module's documentation.
pub fn price(input: &PriceInput) -> Result<Priced, PricingError> {
    if input.lines.is_empty() {
        return Err(PricingError::EmptyCart);
    }
    if input.lines.len() > MAX_LINES {
        return Err(PricingError::TooManyLines {
            count: input.lines.len(),
            max: MAX_LINES,
        });
    }
    let mut discounted = Vec::with_capacity(input.lines.len());
    let mut line_discounts = Vec::with_capacity(input.lines.len());
    let mut grosses = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        let n = i + 1;
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(PricingError::InvalidQuantity {
                line: n,
                quantity: line.quantity,
            });
        }
        if !(0..=MAX_UNIT_PRICE).contains(&line.unit_price) {
            return Err(PricingError::InvalidPrice {
                line: n,
                price: line.unit_price,
            });
        }
        if line.tax_rate_bp > MAX_TAX_RATE_BP {
            return Err(PricingError::InvalidTaxRate {
                line: n,
                rate_bp: line.tax_rate_bp,
            });
        }
        let gross = bounded(i128::from(line.unit_price) * i128::from(line.quantity))?;
        let discount = match line.discount {
            None => 0,
            Some(d) => discount_amount(d, gross, &format!("line {n}"))?,
        };
        grosses.push(gross);
        line_discounts.push(discount);
        discounted.push(gross - discount);
    }
    let discounted_sum = bounded(discounted.iter().map(|&a| i128::from(a)).sum())?;
    let ticket_discount = match input.ticket_discount {
        None => 0,
        Some(d) => discount_amount(d, discounted_sum, "ticket")?,
    };
    let shares = allocate(ticket_discount, &discounted);
    let amounts: Vec<i64> = discounted.iter().zip(&shares).map(|(a, s)| a - s).collect();

    let mut rates: Vec<u32> = input.lines.iter().map(|l| l.tax_rate_bp).collect();
    rates.sort_unstable();
    rates.dedup();
    let mut line_tax = vec![0i64; amounts.len()];
    let mut taxes = Vec::with_capacity(rates.len());
    for rate in rates {
        let members: Vec<usize> = (0..amounts.len())
            .filter(|&i| input.lines[i].tax_rate_bp == rate)
            .collect();
        let sum: i64 = members.iter().map(|&i| amounts[i]).sum();
        let (num, den) = if input.prices_include_tax {
            (i128::from(rate), 10_000 + i128::from(rate))
        } else {
            (i128::from(rate), 10_000)
        };
        let tax = bounded(div_round_half_up(i128::from(sum) * num, den))?;
        let base = if input.prices_include_tax {
            sum - tax
        } else {
            sum
        };
        let weights: Vec<i64> = members.iter().map(|&i| amounts[i]).collect();
        for (k, share) in allocate(tax, &weights).into_iter().enumerate() {
            line_tax[members[k]] = share;
        }
        taxes.push(TaxFigures {
            rate_bp: rate,
            base,
            tax,
        });
    }

    let mut lines = Vec::with_capacity(amounts.len());
    for i in 0..amounts.len() {
        let total = if input.prices_include_tax {
            amounts[i]
        } else {
            bounded(i128::from(amounts[i]) + i128::from(line_tax[i]))?
        };
        lines.push(LineFigures {
            gross: grosses[i],
            line_discount: line_discounts[i],
            ticket_discount: shares[i],
            amount: amounts[i],
            tax: line_tax[i],
            total,
        });
    }
    let sum = |f: fn(&LineFigures) -> i64| -> Result<i64, PricingError> {
        bounded(lines.iter().map(|l| i128::from(f(l))).sum())
    };
    let totals = TicketTotals {
        subtotal: sum(|l| l.gross)?,
        discount_total: sum(|l| l.line_discount + l.ticket_discount)?,
        tax_total: sum(|l| l.tax)?,
        total: sum(|l| l.total)?,
    };
    Ok(Priced {
        lines,
        taxes,
        totals,
    })
}

fn bounded(value: i128) -> Result<i64, PricingError> {
    if (0..=i128::from(MAX_TOTAL)).contains(&value) {
        Ok(value as i64)
    } else {
        Err(PricingError::Overflow)
    }
}

fn discount_amount(discount: Discount, of: i64, what: &str) -> Result<i64, PricingError> {
    match discount {
        Discount::Percent { bp } if bp <= 10_000 => {
            Ok(div_round_half_up(i128::from(of) * i128::from(bp), 10_000) as i64)
        }
        Discount::Percent { bp } => Err(PricingError::InvalidDiscount(format!(
            "{what}: a discount of {bp} bp is more than 100 %"
        ))),
        Discount::Amount { minor } if (0..=of).contains(&minor) => Ok(minor),
        Discount::Amount { minor } => Err(PricingError::InvalidDiscount(format!(
            "{what}: a discount of {minor} is not between 0 and the amount {of}"
        ))),
    }
}

/// `num / den` rounded half-up, for `num ≥ 0` and `den > 0`.
fn div_round_half_up(num: i128, den: i128) -> i128 {
    (2 * num + den) / (2 * den)
}

/// Splits `total` over `weights` in proportion, by the largest-remainder method.
/// The shares add up to `total` exactly; ties in remainder go to the earlier index.
/// All weights are non-negative and `total` is at most their sum (or zero).
fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if total == 0 || sum == 0 {
        return vec![0; weights.len()];
    }
    let t = i128::from(total);
    let mut shares: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let product = t * i128::from(w);
        shares.push((product / sum) as i64);
        remainders.push((product % sum, i));
    }
    let mut left = total - shares.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(unit_price: i64, quantity: i64, tax_rate_bp: u32) -> PriceLine {
        PriceLine {
            unit_price,
            quantity,
            tax_rate_bp,
            discount: None,
        }
    }

    #[test]
    fn exclusive_tax_is_added_once_per_rate() {
        let priced = price(&PriceInput {
            prices_include_tax: false,
            lines: vec![line(333, 1, 2000), line(333, 1, 2000), line(100, 3, 700)],
            ticket_discount: None,
        })
        .expect("a valid ticket prices");
        // 666 × 20 % = 133.2 → 133 (not 67 + 67 = 134 rounded per line); 300 × 7 % = 21.
        assert_eq!(
            priced.taxes[0],
            TaxFigures {
                rate_bp: 700,
                base: 300,
                tax: 21
            }
        );
        assert_eq!(
            priced.taxes[1],
            TaxFigures {
                rate_bp: 2000,
                base: 666,
                tax: 133
            }
        );
        assert_eq!(priced.totals.total, 666 + 300 + 133 + 21);
    }

    #[test]
    fn inclusive_tax_is_extracted_from_the_price() {
        let priced = price(&PriceInput {
            prices_include_tax: true,
            lines: vec![line(1200, 1, 2000)],
            ticket_discount: None,
        })
        .expect("a valid ticket prices");
        assert_eq!(
            priced.taxes[0],
            TaxFigures {
                rate_bp: 2000,
                base: 1000,
                tax: 200
            }
        );
        assert_eq!(
            priced.totals.total, 1200,
            "inclusive prices are what the customer pays"
        );
    }

    #[test]
    fn ticket_discount_is_spread_exactly() {
        let priced = price(&PriceInput {
            prices_include_tax: true,
            lines: vec![line(100, 1, 0), line(100, 1, 0), line(100, 1, 0)],
            ticket_discount: Some(Discount::Amount { minor: 100 }),
        })
        .expect("a valid ticket prices");
        let shares: Vec<i64> = priced.lines.iter().map(|l| l.ticket_discount).collect();
        assert_eq!(
            shares,
            vec![34, 33, 33],
            "the remainder goes to the earliest line"
        );
        assert_eq!(priced.totals.total, 200);
    }

    #[test]
    fn bad_inputs_are_refused_with_their_codes() {
        let mut input = PriceInput {
            prices_include_tax: false,
            lines: vec![],
            ticket_discount: None,
        };
        assert_eq!(price(&input).unwrap_err().code(), "empty_cart");
        input.lines = vec![line(100, 0, 0)];
        assert_eq!(price(&input).unwrap_err().code(), "invalid_quantity");
        input.lines = vec![line(100, -2, 0)];
        assert_eq!(price(&input).unwrap_err().code(), "invalid_quantity");
        input.lines = vec![line(-1, 1, 0)];
        assert_eq!(price(&input).unwrap_err().code(), "invalid_price");
        input.lines = vec![line(MAX_UNIT_PRICE, MAX_QUANTITY, 0)];
        assert_eq!(price(&input).unwrap_err().code(), "amount_overflow");
        input.lines = vec![line(100, 1, 10_001)];
        assert_eq!(price(&input).unwrap_err().code(), "invalid_tax_rate");
        input.lines = vec![line(1, 1, 0); MAX_LINES + 1];
        assert_eq!(price(&input).unwrap_err().code(), "too_many_lines");
        input.lines = vec![line(100, 1, 0)];
        input.ticket_discount = Some(Discount::Amount { minor: 101 });
        assert_eq!(price(&input).unwrap_err().code(), "invalid_discount");
    }

    fn arb_discount(max_amount: i64) -> impl Strategy<Value = Option<Discount>> {
        prop_oneof![
            Just(None),
            (0u32..=10_000).prop_map(|bp| Some(Discount::Percent { bp })),
            (0..=max_amount).prop_map(|minor| Some(Discount::Amount { minor })),
        ]
    }

    fn arb_line() -> impl Strategy<Value = PriceLine> {
        (
            0i64..=1_000_000,
            1i64..=50,
            prop::sample::select(vec![0u32, 550, 700, 1000, 2000, 2100]),
            arb_discount(100),
        )
            .prop_map(|(unit_price, quantity, tax_rate_bp, discount)| PriceLine {
                unit_price,
                quantity,
                tax_rate_bp,
                discount: match discount {
                    Some(Discount::Amount { minor }) => Some(Discount::Amount {
                        minor: minor.min(unit_price * quantity),
                    }),
                    other => other,
                },
            })
    }

    proptest! {
        #[test]
        fn totals_equal_the_sum_of_lines(
            lines in prop::collection::vec(arb_line(), 1..40),
            inclusive in any::<bool>(),
            ticket_discount in arb_discount(50),
        ) {
            let priced = price(&PriceInput { prices_include_tax: inclusive, lines, ticket_discount })
                .expect("bounded inputs always price");
            let sum_total: i64 = priced.lines.iter().map(|l| l.total).sum();
            let sum_tax: i64 = priced.lines.iter().map(|l| l.tax).sum();
            let rate_tax: i64 = priced.taxes.iter().map(|t| t.tax).sum();
            prop_assert_eq!(priced.totals.total, sum_total, "the ticket total is the sum of its lines");
            prop_assert_eq!(priced.totals.tax_total, sum_tax, "line taxes add up to the ticket tax");
            prop_assert_eq!(rate_tax, sum_tax, "rate taxes add up to the ticket tax");
            prop_assert_eq!(
                priced.totals.subtotal - priced.totals.discount_total
                    + if inclusive { 0 } else { priced.totals.tax_total },
                priced.totals.total,
                "subtotal − discounts (+ tax when exclusive) is the total"
            );
        }

        #[test]
        fn tax_never_drifts_more_than_half_a_minor_unit_per_rate(
            lines in prop::collection::vec(arb_line(), 1..40),
            inclusive in any::<bool>(),
        ) {
            let input = PriceInput { prices_include_tax: inclusive, lines, ticket_discount: None };
            let priced = price(&input).expect("bounded inputs always price");
            for t in &priced.taxes {
                let sum: i128 = input.lines.iter().zip(&priced.lines)
                    .filter(|(l, _)| l.tax_rate_bp == t.rate_bp)
                    .map(|(_, f)| i128::from(f.amount)).sum();
                let rate = i128::from(t.rate_bp);
                let den = if inclusive { 10_000 + rate } else { 10_000 };
                // |tax − sum·rate/den| ≤ 1/2  ⇔  |2·tax·den − 2·sum·rate| ≤ den
                let drift = (2 * i128::from(t.tax) * den - 2 * sum * rate).abs();
                prop_assert!(drift <= den, "rate {} drifted: tax {} on {}", t.rate_bp, t.tax, sum);
            }
        }

        #[test]
        fn no_input_panics(
            prices in prop::collection::vec(any::<i64>(), 1..8),
            quantities in prop::collection::vec(any::<i64>(), 8),
            rates in prop::collection::vec(any::<u32>(), 8),
            discount in prop::option::of(any::<i64>()),
        ) {
            let lines = prices.iter().enumerate().map(|(i, &p)| PriceLine {
                unit_price: p, quantity: quantities[i], tax_rate_bp: rates[i] % 20_000,
                discount: discount.map(|minor| Discount::Amount { minor }),
            }).collect();
            let _ = price(&PriceInput { prices_include_tax: false, lines, ticket_discount: None });
        }
    }
}
