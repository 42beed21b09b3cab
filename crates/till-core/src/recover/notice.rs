//! The damage a store replaced, as the app tells a manager about it: which file was set aside
//! (untouched, next to the fresh store), when, what the check found, and what was salvaged from
//! it, or that the salvage is still under way, or why it failed.

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;

use super::{damaged, Damaged};

/// The app's notice of a damaged store that this one replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoreDamage {
    /// The set-aside file's name in the data directory (`till.db.damaged-<ms>`).
    pub file: String,
    /// Its full path.
    pub path: String,
    pub detected_at_ms: i64,
    /// What the store's check found.
    pub detail: String,
    /// What was salvaged into this store; `null` while the salvage is under way or after it
    /// failed.
    pub salvaged: Option<Salvaged>,
    /// Why the salvage failed, when it did (`tillctl recover` can try again).
    pub salvage_failed: Option<String>,
}

/// What the salvage of a damaged store brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Salvaged {
    /// Tickets written back into this store (those it already held not counted again).
    pub tickets: u64,
    /// Items queued again for the back office.
    pub queued: u64,
    /// Tickets that could not be read back intact.
    pub unreadable_tickets: u64,
}

impl From<&Damaged> for StoreDamage {
    fn from(d: &Damaged) -> Self {
        StoreDamage {
            file: d
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| d.file.display().to_string()),
            path: d.file.display().to_string(),
            detected_at_ms: d.detected_at_ms,
            detail: d.detail.clone(),
            salvaged: d.recovered.as_ref().map(|r| Salvaged {
                tickets: r.tickets,
                queued: r.queued,
                unreadable_tickets: r.unreadable_tickets.len() as u64,
            }),
            salvage_failed: None,
        }
    }
}

/// The notice of the damaged store this one replaced, if it replaced one.
pub fn store_damage(conn: &Connection) -> Result<Option<StoreDamage>> {
    Ok(damaged(conn)?.as_ref().map(StoreDamage::from))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::Recovery;
    use super::*;

    fn damaged(recovered: Option<Recovery>) -> Damaged {
        Damaged {
            file: PathBuf::from("/data/till/till.db.damaged-1700000000000"),
            detected_at_ms: 1_700_000_000_000,
            detail: "file is not a database".into(),
            recovered,
        }
    }

    #[test]
    fn names_the_set_aside_file_and_says_the_salvage_is_under_way() {
        let notice = StoreDamage::from(&damaged(None));
        assert_eq!(notice.file, "till.db.damaged-1700000000000");
        assert_eq!(notice.path, "/data/till/till.db.damaged-1700000000000");
        assert_eq!(notice.detail, "file is not a database");
        assert_eq!(notice.salvaged, None, "nothing salvaged yet");
    }

    #[test]
    fn counts_what_was_salvaged_and_what_could_not_be_read() {
        let recovery = Recovery {
            tickets: 12,
            queued: 3,
            unreadable_tickets: vec![7, 9],
            ..Recovery::default()
        };
        let notice = StoreDamage::from(&damaged(Some(recovery)));
        assert_eq!(
            notice.salvaged,
            Some(Salvaged {
                tickets: 12,
                queued: 3,
                unreadable_tickets: 2
            })
        );
    }
}
