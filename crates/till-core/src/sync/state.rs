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
    /// The circuit breaker is open: the back office failed (5xx or no answer) too many times in
    /// a row, so no batch is sent; its health is probed with back-off, the next probe at
    /// `until_ms` (Unix milliseconds). A probe it answers lets one cycle through; a failure
    /// there opens the circuit again. Also after a restart.
    CircuitOpen { until_ms: i64 },
    /// The server refused the token (401/403); nothing is sent until the terminal is enrolled
    /// again with a valid token.
    AuthError,
    /// This till's history differs from the back office's (a restored or copied data dir: the
    /// server holds other mutations at this till's sequence numbers, or more of them). Nothing
    /// is sent or pulled, also after a restart, until the till is enrolled as a new terminal,
    /// which queues what the back office lacks under that identity.
    Diverged,
    /// The back office refused a push as a break of this till's push chain: a mutation queued
    /// here no longer is what it was when it was linked. Nothing is sent or pulled, also after
    /// a restart; the queue is kept for a person to look at.
    JournalBreak,
    /// A person paused sync; local work goes on and queues up.
    Paused,
    /// The engine was shut down; its handle answers but nothing runs.
    Stopped,
}

/// The state's name without its data: what a [`SyncState`] serialises as, and the type the
/// UI's bindings give the status's `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "EngineState"))]
pub enum StateName {
    NotEnrolled,
    Idle,
    Syncing,
    BackingOff,
    Offline,
    CircuitOpen,
    AuthError,
    Diverged,
    JournalBreak,
    Paused,
    Stopped,
}

impl SyncState {
    /// The state's name, without its data.
    pub fn kind(&self) -> StateName {
        match self {
            SyncState::NotEnrolled => StateName::NotEnrolled,
            SyncState::Idle => StateName::Idle,
            SyncState::Syncing => StateName::Syncing,
            SyncState::BackingOff { .. } => StateName::BackingOff,
            SyncState::Offline => StateName::Offline,
            SyncState::CircuitOpen { .. } => StateName::CircuitOpen,
            SyncState::AuthError => StateName::AuthError,
            SyncState::Diverged => StateName::Diverged,
            SyncState::JournalBreak => StateName::JournalBreak,
            SyncState::Paused => StateName::Paused,
            SyncState::Stopped => StateName::Stopped,
        }
    }

    /// The stable name the UI and `tillctl status` show.
    pub fn name(&self) -> &'static str {
        match self.kind() {
            StateName::NotEnrolled => "not_enrolled",
            StateName::Idle => "idle",
            StateName::Syncing => "syncing",
            StateName::BackingOff => "backing_off",
            StateName::Offline => "offline",
            StateName::CircuitOpen => "circuit_open",
            StateName::AuthError => "auth_error",
            StateName::Diverged => "diverged",
            StateName::JournalBreak => "journal_break",
            StateName::Paused => "paused",
            StateName::Stopped => "stopped",
        }
    }

    /// The state a [`name`](Self::name) stands for; `until_ms` is the retry time recorded with
    /// it, the end of a back-off or the next probe of an open circuit. `None` for a name this version does not know.
    pub fn from_name(name: &str, until_ms: Option<i64>) -> Option<SyncState> {
        Some(match name {
            "not_enrolled" => SyncState::NotEnrolled,
            "idle" => SyncState::Idle,
            "syncing" => SyncState::Syncing,
            "backing_off" => SyncState::BackingOff {
                until_ms: until_ms.unwrap_or(0),
            },
            "offline" => SyncState::Offline,
            "circuit_open" => SyncState::CircuitOpen {
                until_ms: until_ms.unwrap_or(0),
            },
            "auth_error" => SyncState::AuthError,
            "diverged" => SyncState::Diverged,
            "journal_break" => SyncState::JournalBreak,
            "paused" => SyncState::Paused,
            "stopped" => SyncState::Stopped,
            _ => return None,
        })
    }

    /// When the state ends on its own (Unix milliseconds): the end of a back-off, the next probe
    /// of an open circuit.
    pub fn until_ms(&self) -> Option<i64> {
        match self {
            SyncState::BackingOff { until_ms } | SyncState::CircuitOpen { until_ms } => {
                Some(*until_ms)
            }
            _ => None,
        }
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
        self.kind().serialize(serializer)
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
            SyncState::CircuitOpen { until_ms: 42 },
            SyncState::AuthError,
            SyncState::Diverged,
            SyncState::JournalBreak,
            SyncState::Paused,
            SyncState::Stopped,
        ] {
            assert_eq!(
                SyncState::from_name(state.name(), Some(42)),
                Some(state),
                "tillctl status shows the state the engine recorded"
            );
            assert_eq!(
                serde_json::to_value(state).ok(),
                Some(serde_json::Value::from(state.name())),
                "the status serialises the state as its name"
            );
        }
        assert_eq!(
            SyncState::from_name("hibernating", None),
            None,
            "a name from a newer Till is not guessed at"
        );
    }
}
