//! Rotating a terminal's token, written once over [`Tx`].

use uuid::Uuid;

use super::tx::Tx;
use super::{Rotated, StorageError, TerminalRecord};
use crate::clock::now_ms;
use crate::decide::terminals;

/// `till-server terminal rotate-token`: the terminal's row is held while deciding, so two
/// rotations of one terminal settle one after the other.
pub(super) async fn rotate_token<T: Tx>(
    tx: &mut T,
    id: Uuid,
    token_hash: &str,
    grace_ms: i64,
) -> Result<Rotated, T::Error> {
    let terminal = tx
        .terminal(id)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            what: format!("terminal {id}"),
        })?;
    let rotation = terminals::rotate(&terminal, now_ms(), grace_ms)?;
    tx.replace_token(id, token_hash, rotation.previous_expires_at_ms)
        .await?;
    Ok(Rotated {
        terminal: TerminalRecord {
            previous_token_expires_at_ms: rotation.previous_expires_at_ms,
            ..terminal
        },
        old_token_stops_at_ms: rotation.old_token_stops_at_ms,
    })
}
