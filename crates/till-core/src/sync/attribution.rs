//! Who did something, and why: the names and reasons recorded with a conflict resolution or a
//! discard. Checked here so the app and `tillctl` accept exactly the same text.

use super::error::SyncError;

/// Longest name or reason accepted, in characters.
pub const MAX_TEXT: usize = 500;

/// `text` trimmed, or `invalid_input` naming `what` when it is blank or too long.
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
}
