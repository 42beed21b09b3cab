//! Terminals: what enrolling one records, which token a request may use, and what rotating a
//! token records.

use uuid::Uuid;

use crate::storage::{StorageError, TerminalRecord};

/// The record of a terminal enrolled as `name` (trimmed; 1 to 200 bytes, no control character,
/// no card number) with `id` at `now_ms`: nothing settled yet, not revoked.
pub fn enrol(name: &str, id: Uuid, now_ms: i64) -> Result<TerminalRecord, StorageError> {
    let name = super::text::display_name("a terminal name", name, str::len)?;
    Ok(TerminalRecord {
        id,
        name,
        created_at_ms: now_ms,
        revoked_at_ms: None,
        last_seq: 0,
        previous_token_expires_at_ms: None,
    })
}

/// Which of its two tokens a terminal was found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSlot {
    /// The token it was enrolled with or last rotated to.
    Current,
    /// The token it had before its last rotation.
    Previous,
}

/// Why a known token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The terminal was revoked: none of its tokens works, whatever their grace.
    Revoked,
    /// A token replaced by `terminal rotate-token` whose grace period is over.
    Replaced,
}

/// Whether `terminal`, found by its token in `slot`, may make a request at `now_ms`.
pub fn accept_token(
    terminal: &TerminalRecord,
    slot: TokenSlot,
    now_ms: i64,
) -> Result<(), TokenRefusal> {
    if terminal.is_revoked() {
        return Err(TokenRefusal::Revoked);
    }
    match (slot, terminal.previous_token_expires_at_ms) {
        (TokenSlot::Current, _) => Ok(()),
        (TokenSlot::Previous, Some(expires)) if now_ms < expires => Ok(()),
        (TokenSlot::Previous, _) => Err(TokenRefusal::Replaced),
    }
}

/// What `terminal rotate-token` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Until when the replaced token keeps working; `None`: it is forgotten at once.
    pub previous_expires_at_ms: Option<i64>,
    /// When the replaced token stops working (the rotation itself for a grace of 0).
    pub old_token_stops_at_ms: i64,
}

/// Rotating the token of `terminal` at `now_ms`, the old one working on for `grace_ms`. Only
/// one earlier token is kept: rotating again within a grace period ends the older one's. A
/// revoked terminal is not given a new token: it stays revoked, and is enrolled anew instead.
pub fn rotate(
    terminal: &TerminalRecord,
    now_ms: i64,
    grace_ms: i64,
) -> Result<Rotation, StorageError> {
    if terminal.is_revoked() {
        return Err(StorageError::Invalid(format!(
            "terminal {} is revoked; enrol a new terminal instead",
            terminal.id
        )));
    }
    let stops = now_ms.saturating_add(grace_ms.max(0));
    Ok(Rotation {
        previous_expires_at_ms: (grace_ms > 0).then_some(stops),
        old_token_stops_at_ms: stops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_is_enrolled_under_its_trimmed_name_with_nothing_settled() {
        let id = Uuid::now_v7();
        let record = enrol("  Till 1 ", id, 1_000).expect("a valid name");
        assert_eq!(record.name, "Till 1");
        assert_eq!(record.id, id);
        assert_eq!(record.created_at_ms, 1_000);
        assert_eq!(record.last_seq, 0);
        assert!(!record.is_revoked());
    }

    #[test]
    fn a_blank_or_overlong_name_is_refused() {
        let id = Uuid::now_v7();
        assert!(matches!(enrol("   ", id, 0), Err(StorageError::Invalid(_))));
        assert!(matches!(
            enrol(&"x".repeat(crate::decide::text::MAX_NAME + 1), id, 0),
            Err(StorageError::Invalid(_))
        ));
        assert!(enrol(&"x".repeat(crate::decide::text::MAX_NAME), id, 0).is_ok());
        assert!(
            matches!(enrol("Till\u{0}1", id, 0), Err(StorageError::Invalid(_))),
            "no control character in a name"
        );
    }

    #[test]
    fn a_name_holding_a_card_number_is_refused() {
        let refused = enrol("Till 4111-1111-1111-1111", Uuid::now_v7(), 0);
        assert!(
            matches!(refused, Err(StorageError::Invalid(ref m)) if !m.contains("4111")),
            "{refused:?}"
        );
        assert!(enrol("Till 12", Uuid::now_v7(), 0).is_ok());
    }

    fn rotated(grace_ms: i64) -> TerminalRecord {
        let mut t = enrol("Till 1", Uuid::now_v7(), 0).expect("a valid name");
        t.previous_token_expires_at_ms = rotate(&t, 1_000, grace_ms)
            .expect("rotates")
            .previous_expires_at_ms;
        t
    }

    #[test]
    fn the_old_token_works_until_its_grace_ends_and_the_new_one_at_once() {
        let t = rotated(60_000);
        assert_eq!(t.previous_token_expires_at_ms, Some(61_000));
        assert_eq!(accept_token(&t, TokenSlot::Current, 1_000), Ok(()));
        assert_eq!(accept_token(&t, TokenSlot::Previous, 60_999), Ok(()));
        assert_eq!(
            accept_token(&t, TokenSlot::Previous, 61_000),
            Err(TokenRefusal::Replaced)
        );
    }

    #[test]
    fn a_grace_of_zero_forgets_the_old_token_at_once() {
        let t = rotated(0);
        assert_eq!(t.previous_token_expires_at_ms, None);
        assert_eq!(
            accept_token(&t, TokenSlot::Previous, 1_000),
            Err(TokenRefusal::Replaced)
        );
        let now = enrol("Till 1", Uuid::now_v7(), 0).expect("valid");
        assert_eq!(
            rotate(&now, 5_000, 0)
                .expect("rotates")
                .old_token_stops_at_ms,
            5_000,
            "a grace of 0 stops the old token at the rotation"
        );
    }

    #[test]
    fn a_revoked_terminal_stays_revoked_whatever_its_tokens() {
        let mut t = rotated(60_000);
        t.revoked_at_ms = Some(2_000);
        for slot in [TokenSlot::Current, TokenSlot::Previous] {
            assert_eq!(
                accept_token(&t, slot, 2_000),
                Err(TokenRefusal::Revoked),
                "{slot:?}"
            );
        }
        assert!(
            matches!(rotate(&t, 3_000, 0), Err(StorageError::Invalid(_))),
            "a revoked terminal gets no new token"
        );
    }
}
