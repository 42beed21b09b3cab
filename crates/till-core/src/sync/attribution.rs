//! Who did something, and why: the names and reasons recorded with a conflict resolution or a
//! discard. Checked here so the app and `tillctl` accept exactly the same text.

use till_protocol::card::looks_like_card_number;
use till_protocol::text::{self, Lines};

use crate::error::CoreError;

use super::error::SyncError;

/// Longest name or reason accepted, in characters.
pub const MAX_TEXT: usize = 500;

/// A person's name: one line.
pub fn name<'a>(what: &str, text: &'a str) -> Result<&'a str, SyncError> {
    check(what, text, Lines::One)
}

/// A reason: it may break lines.
pub fn reason<'a>(what: &str, text: &'a str) -> Result<&'a str, SyncError> {
    check(what, text, Lines::Many)
}

/// `text` trimmed, or `invalid_input` naming `what` when it is blank, too long, or holds a
/// control character a field of `lines` may not ([`till_protocol::text`]), or
/// `card_number_in_text` when it holds what looks like a card number.
fn check<'a>(what: &str, text: &'a str, lines: Lines) -> Result<&'a str, SyncError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SyncError::InvalidInput(format!("{what} is empty")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(SyncError::InvalidInput(format!(
            "{what} is longer than {MAX_TEXT} characters"
        )));
    }
    text::check(what, text, lines).map_err(|e| SyncError::InvalidInput(e.to_string()))?;
    if looks_like_card_number(text) {
        return Err(CoreError::CardNumberInText { field: what.into() }.into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_or_overlong_text_is_refused_and_the_rest_is_trimmed() {
        assert_eq!(reason("the reason", "  typo  ").ok(), Some("typo"));
        assert!(
            reason("the reason", "   ").is_err(),
            "a blank reason says nothing"
        );
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(
            reason("the reason", &long).is_err(),
            "bounded like every input"
        );
    }

    #[test]
    fn names_and_reasons_hold_no_control_characters_but_a_reason_may_break_lines() {
        assert_eq!(
            reason("the reason", "sold twice\nrefunded by hand").ok(),
            Some("sold twice\nrefunded by hand")
        );
        assert!(
            name("the name", "Ada\nLovelace").is_err(),
            "a name is one line"
        );
        assert!(name("the name", "Ada\u{0}").is_err(), "a NUL");
        assert!(reason("the reason", "typo\u{1b}").is_err(), "an escape");
    }

    #[test]
    fn a_card_number_in_a_reason_or_a_name_is_refused_without_being_repeated() {
        let e = reason("the reason", "customer card 4111  1111  1111  1111")
            .expect_err("a card number is never recorded");
        assert_eq!(e.code(), "card_number_in_text");
        assert!(
            e.to_string().starts_with("the reason") && !e.to_string().contains("4111"),
            "the message names the field, not the value: {e}"
        );
        assert!(name("the name of who resolves", "Till 4 / 2024-06-01").is_ok());
    }
}
