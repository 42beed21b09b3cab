//! A dead till's queue, carried by hand: the terminal's signing key as registered with the back
//! office (`PUT /v1/terminals/{id}/key`), and the signed bundle of unsent mutations that
//! `tillctl export-queue` writes and `till-server import-queue` applies.
//!
//! A bundle file is one JSON object, `{"signed": {…}, "signature": "…"}`. The signature is an
//! Ed25519 signature, by the terminal's key, over the exact bytes of the `signed` member as they
//! stand in the file, so it is checked without writing anything out again: one byte changed
//! anywhere in `signed` (or in the signature) and the bundle is refused.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::ChainHead;

/// The `format` of a bundle of this crate.
pub const BUNDLE_FORMAT: &str = "till-queue-bundle/1";

/// Bytes of an Ed25519 public key.
pub const PUBLIC_KEY_BYTES: usize = 32;

/// `PUT /v1/terminals/{id}/key`: the public half of the terminal's Ed25519 key, which the back
/// office checks the terminal's bundles with. Also the answer, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TerminalKey {
    /// The 32-byte Ed25519 public key, 64 lowercase hex digits.
    pub public_key: String,
}

impl TerminalKey {
    /// The key's bytes, when `public_key` is 64 hex digits.
    pub fn bytes(&self) -> Option<[u8; PUBLIC_KEY_BYTES]> {
        let mut key = [0u8; PUBLIC_KEY_BYTES];
        hex::decode_to_slice(&self.public_key, &mut key).ok()?;
        Some(key)
    }
}

/// A bundle file as written and read: the signed content, kept as its exact bytes, and the
/// signature over them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// A [`BundleContent`].
    pub signed: Box<RawValue>,
    /// The Ed25519 signature over the bytes of `signed`, 128 lowercase hex digits.
    pub signature: String,
}

/// What a bundle carries. `M` is a mutation as each side holds it: the till writes the bytes
/// its outbox stores, the back office reads them as it reads a push.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleContent<M> {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The terminal whose key signed it; every mutation is that terminal's.
    pub terminal_id: Uuid,
    pub created_at_ms: i64,
    /// The till's newest chain link when it knows one, as [`crate::PushRequest::head`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    /// Every unsent mutation, in sequence order, each exactly as queued (and as a push sends
    /// it), so the back office answers the till's own later push of it as a duplicate.
    pub mutations: Vec<M>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_read_only_from_64_hex_digits() {
        let key = TerminalKey {
            public_key: "ab".repeat(32),
        };
        assert_eq!(key.bytes(), Some([0xab; 32]));
        for bad in [
            "ab".repeat(31),
            "ab".repeat(33),
            "zz".repeat(32),
            String::new(),
        ] {
            assert_eq!(
                TerminalKey { public_key: bad }.bytes(),
                None,
                "only a whole Ed25519 public key is a key"
            );
        }
    }

    #[test]
    fn the_signed_member_keeps_its_exact_bytes() {
        let file = r#"{"signed":{"format":"till-queue-bundle/1", "terminal_id":"0190a1b2-0000-7000-8000-000000000001","created_at_ms":1,"mutations":[{"a" :1}]},"signature":"00"}"#;
        let bundle: Bundle = serde_json::from_str(file).expect("parses");
        assert!(
            file.contains(bundle.signed.get()),
            "the signature is checked over the bytes as they stand in the file"
        );
        let content: BundleContent<Box<RawValue>> =
            serde_json::from_str(bundle.signed.get()).expect("parses");
        assert_eq!(content.mutations[0].get(), r#"{"a" :1}"#);
    }
}
