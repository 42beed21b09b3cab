//! The terminal's Ed25519 signing key: made once per data dir, kept in [`KEY_FILE`] (its PKCS#8
//! document, private to the user running Till), its public half registered with the back
//! office, which checks with it the bundles a dead till's queue is carried in
//! ([`crate::queue_export`]). The private key is never logged, shown or sent: [`TerminalKey`]
//! has no `Debug` and gives out only the public key and signatures.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use rusqlite::Connection;
use uuid::Uuid;

use crate::config;
use crate::data_dir;
use crate::error::{CoreError, Result};

/// The key's file in the data dir.
pub const KEY_FILE: &str = "terminal.key";

/// The terminal and public key the back office last acknowledged (`terminal_id:public_key`),
/// so that a till registers its key once, and again only for another terminal or key.
const REGISTERED: config::Key<String> = config::Key::new("terminal_key.registered");

/// The terminal's key pair.
pub struct TerminalKey {
    pair: Ed25519KeyPair,
}

impl TerminalKey {
    /// The public key, 64 lowercase hex digits, as the back office registers it.
    pub fn public_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    /// The Ed25519 signature of `bytes`, 128 lowercase hex digits.
    pub fn sign_hex(&self, bytes: &[u8]) -> String {
        hex::encode(self.pair.sign(bytes).as_ref())
    }

    /// The public key as the back office's endpoint takes it.
    pub fn registration(&self) -> till_protocol::bundle::TerminalKey {
        till_protocol::bundle::TerminalKey {
            public_key: self.public_hex(),
        }
    }
}

/// Where the key of the till with `data_dir` is kept.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// The till's key, if it has one.
pub fn load(data_dir: &Path) -> Result<Option<TerminalKey>> {
    let document = match std::fs::read(path(data_dir)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let pair = Ed25519KeyPair::from_pkcs8(&document).map_err(|_| {
        CoreError::InvalidInput(format!(
            "{} is not an Ed25519 key (PKCS#8); move it aside to make a new one",
            path(data_dir).display()
        ))
    })?;
    Ok(Some(TerminalKey { pair }))
}

/// The till's key, made now when it has none. A new key is written whole or not at all: to a
/// temporary file created `0600`, synced, then renamed into place, so a crash never leaves a
/// half-written key and the key is never readable by another user, even for a moment.
pub fn ensure(data_dir: &Path) -> Result<TerminalKey> {
    if let Some(key) = load(data_dir)? {
        return Ok(key);
    }
    let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| CoreError::Io(std::io::Error::other("no randomness for a new key")))?;
    let temporary = data_dir.join(format!("{KEY_FILE}.{}.tmp", Uuid::now_v7()));
    let written = write_private(&temporary, document.as_ref())
        .and_then(|()| std::fs::rename(&temporary, path(data_dir)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e.into());
    }
    tracing::info!("made this terminal's signing key");
    load(data_dir)?.ok_or_else(|| CoreError::Io(std::io::Error::other("the new key vanished")))
}

fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if !data_dir::create_private_file(file)? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists", file.display()),
        ));
    }
    let mut handle = std::fs::OpenOptions::new().write(true).open(file)?;
    handle.write_all(bytes)?;
    handle.sync_all()
}

/// What [`REGISTERED`] holds for `terminal_id` and `key`.
fn registration_mark(terminal_id: Uuid, key: &TerminalKey) -> String {
    format!("{terminal_id}:{}", key.public_hex())
}

/// Whether the back office acknowledged `key` for `terminal_id`.
pub fn is_registered(conn: &Connection, terminal_id: Uuid, key: &TerminalKey) -> Result<bool> {
    Ok(config::get(conn, &REGISTERED)?.as_deref()
        == Some(registration_mark(terminal_id, key).as_str()))
}

/// Records that the back office acknowledged `key` for `terminal_id`.
pub fn set_registered(conn: &Connection, terminal_id: Uuid, key: &TerminalKey) -> Result<()> {
    config::set(conn, &REGISTERED, &registration_mark(terminal_id, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(load(dir.path()).expect("reads").is_none());
        let made = ensure(dir.path()).expect("makes a key");
        let again = ensure(dir.path()).expect("loads it");
        assert_eq!(
            made.public_hex(),
            again.public_hex(),
            "the same key for the life of the data dir"
        );
        assert_eq!(made.public_hex().len(), 64);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter(|n| n != KEY_FILE)
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file stays: {leftovers:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        ensure(dir.path()).expect("makes a key");
        let mode = std::fs::metadata(path(dir.path()))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the user running Till reads it");
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(path(dir.path()), b"not a key").expect("writes");
        assert!(matches!(
            ensure(dir.path()),
            Err(CoreError::InvalidInput(_))
        ));
        assert_eq!(
            std::fs::read(path(dir.path())).expect("reads"),
            b"not a key",
            "a key the back office may know is never overwritten"
        );
    }

    #[test]
    fn a_signature_verifies_with_the_public_key_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = ensure(dir.path()).expect("makes a key");
        let signature = hex::decode(key.sign_hex(b"queue")).expect("hex");
        let public = hex::decode(key.public_hex()).expect("hex");
        let verifier =
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public.as_slice());
        assert!(verifier.verify(b"queue", &signature).is_ok());
        assert!(verifier.verify(b"queuf", &signature).is_err());
    }

    #[test]
    fn registration_is_remembered_per_terminal_and_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        let key = ensure(dir.path()).expect("makes a key");
        let terminal = Uuid::now_v7();
        assert!(!is_registered(&conn, terminal, &key).expect("reads"));
        set_registered(&conn, terminal, &key).expect("records");
        assert!(is_registered(&conn, terminal, &key).expect("reads"));
        assert!(
            !is_registered(&conn, Uuid::now_v7(), &key).expect("reads"),
            "another terminal identity registers the key again"
        );
    }
}
