//! The one card-number detector, used by the till before it commits anything and by the back
//! office before it stores anything: a full card number (PAN) is never kept in free text, whatever
//! field a person typed it into (an approval reference, a customer's details, a reason, a name).
//!
//! A card number is 13 to 19 digits passing the Luhn check, written as people write them: in one
//! block or in groups separated by spaces, dashes, dots or slashes, any number of them
//! (`4111  1111  1111  1111`, `4111.1111.1111.1111`). A letter or any other character ends the
//! run of digits. A run of 13–19 digits is judged whole; a longer run (a card number written
//! beside an expiry date or another number) is judged by every stretch of whole groups that holds
//! 13–19 digits.

/// Fewest digits of a card number.
pub const MIN_DIGITS: usize = 13;
/// Most digits of a card number.
pub const MAX_DIGITS: usize = 19;

/// Whether `c` may stand between the digit groups of one card number: whitespace (line breaks
/// included), dashes (ASCII and the Unicode dashes and minus that keyboards substitute), dots and
/// slashes.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Whether `text` holds what looks like a full card number.
pub fn looks_like_card_number(text: &str) -> bool {
    let mut run = Run::default();
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
            run.push(digit);
        } else if is_separator(c) {
            run.separate();
        } else {
            if run.holds_card_number() {
                return true;
            }
            run = Run::default();
        }
    }
    run.holds_card_number()
}

/// The first of `fields` (a person's name for the field, and its value when it has one) whose
/// value looks like a card number.
pub fn first_field_with_card_number<'n, 'v>(
    fields: impl IntoIterator<Item = (&'n str, Option<&'v str>)>,
) -> Option<&'n str> {
    fields
        .into_iter()
        .find(|(_, value)| value.is_some_and(looks_like_card_number))
        .map(|(name, _)| name)
}

/// Digits read since the last character that ends a run, and where each group of them began.
#[derive(Default)]
struct Run {
    digits: Vec<u8>,
    group_starts: Vec<usize>,
    in_group: bool,
}

impl Run {
    fn push(&mut self, digit: u32) {
        if !self.in_group {
            self.group_starts.push(self.digits.len());
            self.in_group = true;
        }
        // A decimal digit is below 10.
        self.digits.push(u8::try_from(digit).unwrap_or(0));
    }

    fn separate(&mut self) {
        self.in_group = false;
    }

    fn holds_card_number(&self) -> bool {
        let n = self.digits.len();
        if n < MIN_DIGITS {
            return false;
        }
        if n <= MAX_DIGITS {
            return luhn(&self.digits);
        }
        self.group_starts.iter().enumerate().any(|(i, &start)| {
            self.group_starts[i + 1..]
                .iter()
                .copied()
                .chain(std::iter::once(n))
                .map(|end| end - start)
                .take_while(|&len| len <= MAX_DIGITS)
                .any(|len| len >= MIN_DIGITS && luhn(&self.digits[start..start + len]))
        })
    }
}

/// The Luhn check (ISO/IEC 7812): every second digit from the right doubled (its digits summed),
/// the total a multiple of ten.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, twice) if twice > 9 => twice - 9,
                (true, twice) => twice,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digits_of(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    /// The last digit that makes `body` pass the Luhn check.
    fn check_digit(body: &[u8]) -> u8 {
        (0..10)
            .find(|&d| luhn(&[body, &[d]].concat()))
            .expect("one digit in ten completes any number")
    }

    /// A number of `len` digits passing (or failing) the Luhn check.
    fn number(len: std::ops::RangeInclusive<usize>, valid: bool) -> impl Strategy<Value = Vec<u8>> {
        let shorter = (*len.start() - 1)..*len.end();
        (prop::collection::vec(0u8..10, shorter), 1u8..10).prop_map(move |(body, shift)| {
            let right = check_digit(&body);
            let last = if valid { right } else { (right + shift) % 10 };
            [body, vec![last]].concat()
        })
    }

    /// Separators as people type them: one or several of the same or of different kinds.
    fn separators() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![' ', '-', '.', '/', '\t', '\n', '\u{2013}', '\u{a0}']),
            1..4,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    /// `digits` written with separators after some of them.
    fn written(digits: Vec<u8>) -> impl Strategy<Value = String> {
        let n = digits.len();
        prop::collection::vec(prop::option::of(separators()), n).prop_map(move |seps| {
            let mut out = String::new();
            for (i, (d, sep)) in digits.iter().zip(seps).enumerate() {
                out.push(char::from(b'0' + d));
                if let Some(sep) = sep.filter(|_| i + 1 < n) {
                    out.push_str(&sep);
                }
            }
            out
        })
    }

    #[test]
    fn the_luhn_check_is_the_standard_one() {
        assert!(luhn(&digits_of("4111111111111111")), "Visa's test number");
        assert!(luhn(&digits_of("5500005555555559")));
        assert!(luhn(&digits_of("378282246310005")), "15-digit Amex");
        assert!(!luhn(&digits_of("4111111111111112")));
        assert!(!luhn(&digits_of("1234567890123")));
    }

    #[test]
    fn card_numbers_are_found_however_they_are_written() {
        for text in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111  1111  1111  1111",
            "4111.1111.1111.1111",
            "4111-1111-1111-1111",
            "4111 - 1111 - 1111 - 1111",
            "4111/1111/1111/1111",
            "4111\n1111\n1111\n1111",
            "ref-4111111111111111",
            "paid with 4111 1111 1111 1111, thanks",
            "4111 1111 1111 1111 12/27",
            "378282246310005",
            "6011 0009 9013 9424 1234",
        ] {
            assert!(looks_like_card_number(text), "{text:?} holds a card number");
        }
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in [
            "APPROVED-123456",
            "4111 1111 1111 1112",
            "4111.1111.1111.1112",
            "411111111111",
            "call 555-0100 or 555-0199",
            "4111 1111 x 1111 1111",
            "order 2024-06-01 #12345",
            "",
        ] {
            assert!(!looks_like_card_number(text), "{text:?} is no card number");
        }
    }

    #[test]
    fn the_first_field_holding_a_card_number_is_named() {
        let fields = [
            ("the name", Some("Ada")),
            ("the email", None),
            ("the note", Some("card 4111.1111.1111.1111")),
        ];
        assert_eq!(first_field_with_card_number(fields), Some("the note"));
        assert_eq!(
            first_field_with_card_number([("the name", Some("Ada"))]),
            None
        );
    }

    proptest! {
        #[test]
        fn every_luhn_valid_number_is_caught_with_any_separators(
            text in number(MIN_DIGITS..=MAX_DIGITS, true).prop_flat_map(written),
            before in "[a-zA-Z ]{0,8}",
            after in "[a-zA-Z ]{0,8}",
        ) {
            let text = format!("{before} {text} {after}");
            prop_assert!(looks_like_card_number(&text), "{:?}", text);
        }

        #[test]
        fn a_luhn_invalid_number_is_not_caught_with_any_separators(
            text in number(MIN_DIGITS..=MAX_DIGITS, false).prop_flat_map(written),
        ) {
            prop_assert!(!looks_like_card_number(&text), "{:?}", text);
        }

        #[test]
        fn text_without_thirteen_digits_in_a_row_is_never_caught(
            parts in prop::collection::vec(("[0-9]{0,12}", "[^0-9]{1,6}"), 0..12),
        ) {
            let text: String = parts
                .iter()
                .map(|(digits, other)| format!("{digits}{}", other.replace(is_separator, "x")))
                .collect();
            prop_assert!(!looks_like_card_number(&text), "{:?}", text);
        }

        #[test]
        fn fewer_than_thirteen_digits_are_never_caught(text in "[^a-z]{0,40}") {
            let digits = text.chars().filter(char::is_ascii_digit).count();
            prop_assume!(digits < MIN_DIGITS);
            prop_assert!(!looks_like_card_number(&text), "{:?}", text);
        }
    }
}
