//! The engine's explicit state: exactly one at a time, each named for the status bar.

use serde::{Serialize, Serializer};

/// Where the sync engine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// The terminal has no server URL and token yet (`tillctl enrol` or the app's settings).
    NotEnrolled,
    /// Nothing to do right now; the next cycle waits for a trigger or the periodic tick.
    Idle,
    /// A cycle is pushing or pulling.
    Syncing,
    /// The last attempt failed transiently (5xx, 429, timeout, malformed answer); the next one
    /// starts at `until_ms` (Unix milliseconds), also after a restart.
    BackingOff { until_ms: i64 },
    /// The server could not be reached at all; a cheap health probe runs until it answers.
    Offline,
    /// The server refused the token (401/403); nothing is sent until the terminal is enrolled
    /// again with a valid token.
    AuthError,
    /// A person paused sync; local work goes on and queues up.
    Paused,
    /// The engine was shut down; its handle answers but nothing runs.
    Stopped,
}

impl SyncState {
    /// The stable name the UI and `tillctl status` show.
    pub fn name(&self) -> &'static str {
        match self {
            SyncState::NotEnrolled => "not_enrolled",
            SyncState::Idle => "idle",
            SyncState::Syncing => "syncing",
            SyncState::BackingOff { .. } => "backing_off",
            SyncState::Offline => "offline",
            SyncState::AuthError => "auth_error",
            SyncState::Paused => "paused",
            SyncState::Stopped => "stopped",
        }
    }

    /// The state a [`name`](Self::name) stands for; `until_ms` is the retry time recorded with
    /// it, the end of a back-off. `None` for a name this version does not know.
    pub fn from_name(name: &str, until_ms: Option<i64>) -> Option<SyncState> {
        Some(match name {
            "not_enrolled" => SyncState::NotEnrolled,
            "idle" => SyncState::Idle,
            "syncing" => SyncState::Syncing,
            "backing_off" => SyncState::BackingOff {
                until_ms: until_ms.unwrap_or(0),
            },
            "offline" => SyncState::Offline,
            "auth_error" => SyncState::AuthError,
            "paused" => SyncState::Paused,
            "stopped" => SyncState::Stopped,
            _ => return None,
        })
    }

    /// Whether the server answered the last time it was asked.
    pub fn online(&self) -> bool {
        matches!(
            self,
            SyncState::Idle | SyncState::Syncing | SyncState::BackingOff { .. }
        )
    }
}

impl Serialize for SyncState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_read_back_from_its_recorded_name() {
        for state in [
            SyncState::NotEnrolled,
            SyncState::Idle,
            SyncState::Syncing,
            SyncState::BackingOff { until_ms: 42 },
            SyncState::Offline,
            SyncState::AuthError,
            SyncState::Paused,
            SyncState::Stopped,
        ] {
            assert_eq!(
                SyncState::from_name(state.name(), Some(42)),
                Some(state),
                "tillctl status shows the state the engine recorded"
            );
        }
        assert_eq!(
            SyncState::from_name("diverged", None),
            None,
            "a name from a newer Till is not guessed at"
        );
    }
}
