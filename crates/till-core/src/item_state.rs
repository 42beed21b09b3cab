//! Where one ticket or customer stands with the back office, as the app's lists show it: four
//! states instead of the outbox's six.

use serde::Serialize;

use crate::outbox::OutboxState;

/// Where an item stands with the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ItemSyncState {
    /// Waiting to be sent, or sent and not answered yet.
    Pending,
    /// The back office holds it.
    Synced,
    /// The back office refused it (or a manager discarded it).
    Failed,
    /// It waits for a conflict to be resolved.
    Conflict,
}

impl ItemSyncState {
    /// The state's name, as the UI receives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemSyncState::Pending => "pending",
            ItemSyncState::Synced => "synced",
            ItemSyncState::Failed => "failed",
            ItemSyncState::Conflict => "conflict",
        }
    }

    /// The state of an item whose latest mutation is in outbox state `state` (as stored). No
    /// mutation means it was applied long enough ago to be pruned.
    pub fn of_outbox(state: Option<&str>) -> ItemSyncState {
        match state.and_then(OutboxState::parse) {
            Some(OutboxState::Pending | OutboxState::InFlight) => ItemSyncState::Pending,
            Some(OutboxState::Failed | OutboxState::Discarded) => ItemSyncState::Failed,
            Some(OutboxState::Conflict) => ItemSyncState::Conflict,
            Some(OutboxState::Applied) | None => ItemSyncState::Synced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_outbox_states_show_as_four() {
        let shown = |s: Option<&str>| ItemSyncState::of_outbox(s);
        assert_eq!(shown(Some("pending")), ItemSyncState::Pending);
        assert_eq!(
            shown(Some("in_flight")),
            ItemSyncState::Pending,
            "sent, not answered"
        );
        assert_eq!(shown(Some("applied")), ItemSyncState::Synced);
        assert_eq!(
            shown(None),
            ItemSyncState::Synced,
            "pruned after it was applied"
        );
        assert_eq!(shown(Some("failed")), ItemSyncState::Failed);
        assert_eq!(shown(Some("discarded")), ItemSyncState::Failed);
        assert_eq!(shown(Some("conflict")), ItemSyncState::Conflict);
        for state in [
            ItemSyncState::Pending,
            ItemSyncState::Synced,
            ItemSyncState::Failed,
            ItemSyncState::Conflict,
        ] {
            let json = serde_json::to_value(state).expect("serializes");
            assert_eq!(json, state.as_str(), "one name on both sides");
        }
    }
}
