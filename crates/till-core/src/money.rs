//! Amounts as a cashier reads them in a message: `€5.17`, `£1,234.50`, `SEK 80.00`, never minor
//! units. The symbol of a common currency goes first, any other currency is shown by its code;
//! the whole part is grouped by thousands with commas and the decimals follow a dot, the way the
//! demo stores (en-IE, en-GB) write them. The screens format amounts themselves, in the store's
//! locale; this is for the core's own messages (a short tender, a card over the total).

use till_protocol::Currency;

/// An amount in minor units with its currency, displayed as people write money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: &Currency) -> Self {
        Money {
            minor,
            currency: currency.clone(),
        }
    }
}

/// The symbol written before an amount of `code`, for the currencies that have a common one.
fn symbol(code: &str) -> Option<&'static str> {
    match code {
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "USD" => Some("$"),
        "JPY" => Some("¥"),
        _ => None,
    }
}

/// `digits` (ASCII) with a comma before every group of three from the right.
fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exponent = usize::from(self.currency.exponent);
        let digits = format!(
            "{:0>width$}",
            self.minor.unsigned_abs(),
            width = exponent + 1
        );
        let (whole, fraction) = digits.split_at(digits.len() - exponent);
        if self.minor < 0 {
            f.write_str("-")?;
        }
        match symbol(&self.currency.code) {
            Some(s) => f.write_str(s)?,
            None => write!(f, "{} ", self.currency.code)?,
        }
        f.write_str(&grouped(whole))?;
        if exponent > 0 {
            write!(f, ".{fraction}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(minor: i64, code: &str, exponent: u8) -> String {
        let currency = Currency {
            code: code.into(),
            exponent,
        };
        Money::new(minor, &currency).to_string()
    }

    #[test]
    fn amounts_read_as_money_with_the_currency_symbol() {
        assert_eq!(shown(517, "EUR", 2), "€5.17");
        assert_eq!(shown(500, "EUR", 2), "€5.00");
        assert_eq!(shown(5, "GBP", 2), "£0.05");
        assert_eq!(shown(0, "USD", 2), "$0.00");
        assert_eq!(shown(123_456_789, "EUR", 2), "€1,234,567.89");
        assert_eq!(shown(-250, "EUR", 2), "-€2.50");
    }

    #[test]
    fn other_currencies_show_their_code_and_their_own_decimals() {
        assert_eq!(shown(8000, "SEK", 2), "SEK 80.00");
        assert_eq!(shown(1500, "JPY", 0), "¥1,500");
        assert_eq!(shown(1234, "KWD", 3), "KWD 1.234");
        assert_eq!(
            shown(i64::MIN, "XXX", 4),
            "-XXX 922,337,203,685,477.5808",
            "the extreme is shown exactly"
        );
    }
}
