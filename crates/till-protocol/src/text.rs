//! The one rule for the characters of text a person or a till enters: no control characters.
//! The till applies it at input and the back office again before storing anything, so a value
//! one side accepts is never refused by the other for its characters, and a control character
//! never reaches a database (PostgreSQL refuses a NUL in text outright, failing the whole
//! request).
//!
//! Control characters are Unicode's `Cc`: C0 (U+0000–U+001F: NUL, bell, escape, tab, line
//! breaks…), DEL (U+007F) and C1 (U+0080–U+009F). A field of one line (a name, an email, a
//! code, a reference) holds none of them; a field of several lines (a note, a reason) may
//! also hold line breaks and tabs.

use std::fmt;

/// How many lines a text field may span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name, code, address or reference: no control character at all.
    One,
    /// A note or a reason: line breaks (`\n`, `\r`) and tabs, no other control character.
    Many,
}

impl Lines {
    /// Whether a field of this kind may hold `c`.
    pub fn allows(self, c: char) -> bool {
        !c.is_control() || (self == Lines::Many && matches!(c, '\n' | '\r' | '\t'))
    }
}

/// A text field holding a character it may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// The field, as a person would name it ("the customer's name").
    pub what: String,
    /// The first character refused.
    pub found: char,
    pub lines: Lines,
}

impl fmt::Display for TextError {
    /// Names the field and the character by its code point, never the value itself (it may be
    /// long, or the very bytes a log should not carry).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed = match self.lines {
            Lines::One => "printable characters on one line",
            Lines::Many => "printable characters, line breaks and tabs",
        };
        write!(
            f,
            "{} holds a control character (U+{:04X}); it may hold only {allowed}",
            self.what, self.found as u32
        )
    }
}

impl std::error::Error for TextError {}

/// `value`, a field named `what`, holds only what a field of `lines` may.
pub fn check(what: &str, value: &str, lines: Lines) -> Result<(), TextError> {
    match value.chars().find(|&c| !lines.allows(c)) {
        None => Ok(()),
        Some(found) => Err(TextError {
            what: what.to_string(),
            found,
            lines,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any character that is not a control character.
    fn printable() -> impl Strategy<Value = char> {
        any::<char>().prop_filter("not a control character", |c| !c.is_control())
    }

    /// Every control character but the line breaks and tab a note may hold.
    fn forbidden_everywhere() -> impl Strategy<Value = char> {
        prop_oneof![0u32..0x20, Just(0x7f), 0x80u32..0xa0]
            .prop_map(|n| char::from_u32(n).unwrap_or('\0'))
            .prop_filter("not a line break or tab", |c| {
                !matches!(c, '\n' | '\r' | '\t')
            })
    }

    fn text_with(c: char) -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(printable(), 0..20),
            proptest::collection::vec(printable(), 0..20),
        )
            .prop_map(move |(before, after)| {
                before
                    .into_iter()
                    .chain(std::iter::once(c))
                    .chain(after)
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn printable_text_passes_as_one_line_and_as_many(
            value in proptest::collection::vec(printable(), 0..60)
                .prop_map(|cs| cs.into_iter().collect::<String>())
        ) {
            prop_assert!(check("the name", &value, Lines::One).is_ok());
            prop_assert!(check("the note", &value, Lines::Many).is_ok());
        }

        #[test]
        fn a_control_character_anywhere_is_refused_in_every_field(
            (c, value) in forbidden_everywhere().prop_flat_map(|c| (Just(c), text_with(c)))
        ) {
            for lines in [Lines::One, Lines::Many] {
                let refused = check("the name", &value, lines);
                prop_assert_eq!(refused.as_ref().map_err(|e| e.found), Err(c));
                let message = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
                prop_assert!(message.contains("the name"), "{}", message);
                prop_assert!(
                    !message.contains(c),
                    "the message names the code point, never the character itself"
                );
            }
        }

        #[test]
        fn line_breaks_and_tabs_are_a_notes_not_a_names(
            value in prop_oneof![Just('\n'), Just('\r'), Just('\t')].prop_flat_map(text_with)
        ) {
            prop_assert!(check("the name", &value, Lines::One).is_err());
            prop_assert!(check("the note", &value, Lines::Many).is_ok());
        }
    }

    #[test]
    fn the_message_names_the_field_and_the_code_point() {
        let refused = check("the customer's name", "Ada\u{7}", Lines::One).expect_err("a bell");
        assert_eq!(
            refused.to_string(),
            "the customer's name holds a control character (U+0007); it may hold only \
             printable characters on one line"
        );
        assert!(check("x", "a\u{0}b", Lines::Many).is_err(), "a NUL");
        assert!(check("x", "\u{1b}[31m", Lines::Many).is_err(), "an escape");
        assert!(
            check("x", "\u{85}", Lines::Many).is_err(),
            "a C1 line break"
        );
        assert!(check("x", "Zoë — 顧客 👍", Lines::One).is_ok());
    }
}
