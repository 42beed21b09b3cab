//! Terminals: what enrolling one records.

use uuid::Uuid;

use crate::storage::{StorageError, TerminalRecord};

/// The longest terminal name, in bytes.
const MAX_NAME_LEN: usize = 200;

/// The record of a terminal enrolled as `name` (trimmed; 1 to 200 characters) with `id` at
/// `now_ms`: nothing settled yet, not revoked.
pub fn enrol(name: &str, id: Uuid, now_ms: i64) -> Result<TerminalRecord, StorageError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(StorageError::Invalid(
            "a terminal name must be 1 to 200 characters".into(),
        ));
    }
    Ok(TerminalRecord {
        id,
        name: name.to_string(),
        created_at_ms: now_ms,
        revoked_at_ms: None,
        last_seq: 0,
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
            enrol(&"x".repeat(MAX_NAME_LEN + 1), id, 0),
            Err(StorageError::Invalid(_))
        ));
        assert!(enrol(&"x".repeat(MAX_NAME_LEN), id, 0).is_ok());
    }
}
