//! Why a sync operation failed, with stable codes.

use crate::error::{CoreError, ErrorCode};

use super::transport::TransportError;

/// A sync failure. Transport errors keep their own classification (transient, auth, permanent).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No server URL and token are stored.
    #[error("this terminal is not enrolled with a server")]
    NotEnrolled,
    /// Another process (or engine) is syncing this data dir right now.
    #[error("another sync is running on this data dir")]
    Busy,
    /// The server answered something that contradicts the protocol (e.g. results for mutations
    /// that were not sent). Nothing was dropped; the items stay queued.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// Bad input from a person or caller.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// No such conflict, failed item, customer…
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation does not apply to this item in its current state.
    #[error("{0}")]
    NotApplicable(String),
    /// Enrolling would break the mutation sequence the server tracks for a terminal: this till
    /// already numbered mutations for another terminal, or the token's terminal already holds
    /// another till's mutations.
    #[error("{0}")]
    EnrolmentRefused(String),
    /// A new address for an enrolled till came without a new enrolment token: the till's token
    /// is never sent to another address.
    #[error("{0}")]
    TokenNeeded(String),
    /// The back office's history of this terminal is not this till's (a restored or copied
    /// data dir): nothing more is sent until the till is enrolled as a new terminal.
    #[error("{0}")]
    Diverged(String),
    /// The back office refused a push as a break of this till's push chain (a queued mutation
    /// changed after it was linked): nothing more is sent until a person looks. Nothing was
    /// failed; the queue is kept.
    #[error("{0}")]
    JournalBreak(String),
    /// The check at the end of a drain found the back office's record of this till's mutations
    /// not what the till sent ([`super::verify`]): what disagreed. Nothing is resent; the next
    /// drain checks again.
    #[error("the back office's record disagrees with this till's: {0}")]
    VerifyMismatch(String),
}

impl SyncError {
    /// The stable code the UI, CLI and logs report.
    pub fn code(&self) -> ErrorCode {
        match self {
            SyncError::Core(e) => e.code(),
            SyncError::Transport(e) => e.code(),
            SyncError::NotEnrolled => ErrorCode::NotEnrolled,
            SyncError::Busy => ErrorCode::SyncBusy,
            SyncError::Protocol(_) => ErrorCode::ProtocolError,
            SyncError::InvalidInput(_) => ErrorCode::InvalidInput,
            SyncError::NotFound(_) => ErrorCode::NotFound,
            SyncError::NotApplicable(_) => ErrorCode::NotApplicable,
            SyncError::EnrolmentRefused(_) => ErrorCode::EnrolmentRefused,
            SyncError::TokenNeeded(_) => ErrorCode::EnrolmentTokenNeeded,
            SyncError::Diverged(_) => ErrorCode::Diverged,
            SyncError::JournalBreak(_) => ErrorCode::JournalBreak,
            SyncError::VerifyMismatch(_) => ErrorCode::VerifyMismatch,
        }
    }
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Core(e.into())
    }
}

impl From<serde_json::Error> for SyncError {
    fn from(e: serde_json::Error) -> Self {
        SyncError::Core(CoreError::Database(format!("stored JSON: {e}")))
    }
}
