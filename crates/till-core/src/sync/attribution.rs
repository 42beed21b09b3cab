//! Who did something, and why: the names and reasons recorded with a conflict resolution or a
//! discard. Checked here so the app and `tillctl` accept exactly the same text.

use till_protocol::card::looks_like_card_number;

use crate::error::CoreError;

use super::error::SyncError;

/// Longest name or reason accepted, in characters.
pub const MAX_TEXT: usize = 500;

/// `text` trimmed, or `invalid_input` naming `what` when it is blank or too long, or
/// `card_number_in_text` when it holds what looks like a card number.
pub fn check<'a>(what: &str, text: &'a str) -> Result<&'a str, SyncError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SyncError::InvalidInput(format!("{what} is empty")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(SyncError::InvalidInput(format!(
            "{what} is longer than {MAX_TEXT} characters"
        )));
    }
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
        assert_eq!(check("the reason", "  typo  ").ok(), Some("typo"));
        assert!(
            check("the reason", "   ").is_err(),
            "a blank reason says nothing"
        );
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(
            check("the reason", &long).is_err(),
            "bounded like every input"
        );
    }

    #[test]
    fn a_card_number_in_a_reason_or_a_name_is_refused_without_being_repeated() {
        let e = check("the reason", "customer card 4111  1111  1111  1111")
            .expect_err("a card number is never recorded");
        assert_eq!(e.code(), "card_number_in_text");
        assert!(
            e.to_string().starts_with("the reason") && !e.to_string().contains("4111"),
            "the message names the field, not the value: {e}"
        );
        assert!(check("the name of who resolves", "Till 4 / 2024-06-01").is_ok());
    }
}
