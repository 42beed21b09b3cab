//! `till-server import-queue FILE`: a dead till's unsent mutations, carried by hand in a bundle
//! its key signed ([`decide::bundle`]), settled through the same [`Storage::push`] a push from
//! the till goes through: a second import, or the till's own later push of the same mutations,
//! is answered as duplicates. Nothing is applied unless the whole file checks out.

use serde::Serialize;
use till_protocol::MAX_PUSH_BATCH;
use uuid::Uuid;

use crate::decide::bundle::{self, BundleError, Tally};
use crate::decide::stamps::StampLimit;
use crate::storage::{Storage, StorageError};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub terminal_id: Uuid,
    pub terminal_name: String,
    /// Mutations in the bundle.
    pub mutations: u64,
    #[serde(flatten)]
    pub tally: Tally,
    /// Every mutation of the terminal up to this sequence is settled.
    pub last_applied_seq: u64,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is refused; nothing was applied.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Checks the bundle in `bytes` against its terminal's registered key, then settles its
/// mutations in order, a push batch at a time, each batch as one push.
pub async fn import(
    storage: &dyn Storage,
    bytes: &[u8],
    stamps: StampLimit,
) -> Result<Imported, ImportError> {
    let unverified = bundle::read(bytes)?;
    let terminal_id = unverified.terminal_id();
    let terminal = storage
        .terminal(terminal_id)
        .await?
        .ok_or(BundleError::UnknownTerminal(terminal_id))?;
    let key = storage.terminal_key(terminal_id).await?;
    let mut content = unverified.verify(key.as_deref())?;
    let mut imported = Imported {
        terminal_id,
        terminal_name: terminal.name,
        mutations: content.mutations.len() as u64,
        tally: Tally::default(),
        last_applied_seq: terminal.last_seq,
    };
    let mut mutations = std::mem::take(&mut content.mutations);
    while !mutations.is_empty() {
        let rest = mutations.split_off(mutations.len().min(MAX_PUSH_BATCH));
        let outcome = storage
            .push(
                terminal_id,
                mutations,
                Vec::new(),
                content.head.clone(),
                stamps,
            )
            .await?;
        imported.tally.add(&outcome.results);
        imported.last_applied_seq = outcome.last_applied_seq;
        mutations = rest;
    }
    tracing::info!(
        terminal = %terminal_id,
        mutations = imported.mutations,
        applied = imported.tally.applied,
        duplicates = imported.tally.duplicates,
        other = imported.tally.other,
        "queue bundle imported"
    );
    Ok(imported)
}
