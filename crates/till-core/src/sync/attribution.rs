//! Who did something, and why: the names and reasons recorded with a conflict resolution or a
//! discard. Checked here so the app and `tillctl` accept exactly the same text.

use till_protocol::text::{self, Lines};

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
/// control character a field of `lines` may not ([`till_protocol::text`]).
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
}
