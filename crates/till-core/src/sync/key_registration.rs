//! Registering the terminal's signing key ([`crate::terminal_key`]) with the back office: at
//! enrolment, and at the start of a sync cycle until the back office has acknowledged it, so a
//! till enrolled before terminals had keys registers one on its own the next time it syncs.
//! A failure here never holds up a sync: the key is offered again next cycle.

use std::path::Path;

use rusqlite::Connection;
use uuid::Uuid;

use crate::store::Store;
use crate::terminal_key;

use super::enrolment::Enrolment;
use super::error::SyncError;
use super::transport::{Timeouts, Transport};

/// Makes the till's key if it has none and registers it as `terminal_id`'s, unless the back
/// office already acknowledged that key for that terminal. (`conn` is `&mut` only so that the
/// future stays `Send`: a `Connection` is not `Sync`.)
pub async fn ensure(
    conn: &mut Connection,
    data_dir: &Path,
    terminal_id: Uuid,
    transport: &dyn Transport,
) -> Result<(), SyncError> {
    let key = terminal_key::ensure(data_dir)?;
    if terminal_key::is_registered(conn, terminal_id, &key)? {
        return Ok(());
    }
    let registered = transport
        .register_key(terminal_id, key.registration())
        .await?;
    if registered != key.registration() {
        return Err(SyncError::Protocol(
            "the back office acknowledged another key than the one sent".into(),
        ));
    }
    terminal_key::set_registered(conn, terminal_id, &key)?;
    tracing::info!(terminal = %terminal_id, "signing key registered with the back office");
    Ok(())
}

/// [`ensure`], logging a failure instead of returning it.
pub async fn offer(
    conn: &mut Connection,
    data_dir: &Path,
    terminal_id: Uuid,
    transport: &dyn Transport,
) {
    if let Err(e) = ensure(conn, data_dir, terminal_id, transport).await {
        tracing::warn!(
            code = e.code().as_str(),
            error = %e,
            "the signing key is not registered with the back office yet"
        );
    }
}

/// [`offer`] right after `enrolment` was stored, over its own transport.
pub async fn offer_after_enrolment(store: &Store, enrolment: &Enrolment) {
    let transport = match enrolment.transport(Timeouts::default()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "the signing key is not registered yet");
            return;
        }
    };
    match store.connect() {
        Ok(mut conn) => {
            offer(
                &mut conn,
                store.data_dir(),
                enrolment.terminal_id,
                &transport,
            )
            .await
        }
        Err(e) => tracing::warn!(error = %e, "the signing key is not registered yet"),
    }
}
