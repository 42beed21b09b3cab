//! A dead till's queue bundle ([`till_protocol::bundle`]): whether it is whole and signed by the
//! key its terminal registered, and how many of its mutations each outcome took. The signature
//! is checked over the bytes of the `signed` member as they stand in the file; nothing is
//! written out again to check it.

use ring::signature::{UnparsedPublicKey, ED25519};
use serde::Serialize;
use till_protocol::bundle::{Bundle, BundleContent, TerminalKey, BUNDLE_FORMAT};
use till_protocol::{MutationResult, Outcome};
use uuid::Uuid;

use super::push::Received;

/// Why a bundle is refused. Each is the file's or the operator's to fix, never the back
/// office's: nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle: not JSON, or JSON of another shape.
    #[error("not a queue bundle: {0}")]
    Malformed(String),
    /// A bundle of a format this back office does not know.
    #[error("a bundle of format {0:?}; this back office reads {BUNDLE_FORMAT:?}")]
    Format(String),
    /// No terminal with the bundle's id.
    #[error("no terminal {0} is enrolled with this back office")]
    UnknownTerminal(Uuid),
    /// The terminal never registered a signing key, so nothing it signed can be checked.
    #[error("terminal {0} has not registered a signing key; its bundle cannot be checked")]
    NoKey(Uuid),
    /// The signature is not the terminal's key's over these bytes: changed, or another's.
    #[error("the signature does not match terminal {0}'s key: the file was changed or signed by another till")]
    BadSignature(Uuid),
}

impl BundleError {
    /// The stable code printed with it.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "malformed_bundle",
            BundleError::Format(_) => "unknown_bundle_format",
            BundleError::UnknownTerminal(_) => "unknown_terminal",
            BundleError::NoKey(_) => "no_terminal_key",
            BundleError::BadSignature(_) => "bad_signature",
        }
    }
}

/// A bundle read from its bytes and not yet checked: only its terminal is to be trusted to look
/// the key up by.
pub struct Unverified {
    bundle: Bundle,
    content: BundleContent<Received>,
}

/// Reads a bundle file's bytes.
pub fn read(bytes: &[u8]) -> Result<Unverified, BundleError> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let content: BundleContent<Received> = serde_json::from_str(bundle.signed.get())
        .map_err(|e| BundleError::Malformed(e.to_string()))?;
    if content.format != BUNDLE_FORMAT {
        return Err(BundleError::Format(content.format));
    }
    if let Some(m) = super::push::seq_out_of_range(&content.mutations) {
        return Err(BundleError::Malformed(format!(
            "mutation {} has sequence {}, which is out of range",
            m.id, m.seq
        )));
    }
    Ok(Unverified { bundle, content })
}

impl Unverified {
    /// The terminal the bundle says signed it.
    pub fn terminal_id(&self) -> Uuid {
        self.content.terminal_id
    }

    /// The bundle's content, when its signature is `key`'s (the key registered for its
    /// terminal, `None` when it registered none) over its exact signed bytes.
    pub fn verify(self, key: Option<&str>) -> Result<BundleContent<Received>, BundleError> {
        let terminal = self.terminal_id();
        let key = key
            .map(|k| TerminalKey {
                public_key: k.to_string(),
            })
            .and_then(|k| k.bytes())
            .ok_or(BundleError::NoKey(terminal))?;
        let signature =
            hex::decode(&self.bundle.signature).map_err(|_| BundleError::BadSignature(terminal))?;
        UnparsedPublicKey::new(&ED25519, key)
            .verify(self.bundle.signed.get().as_bytes(), &signature)
            .map_err(|_| BundleError::BadSignature(terminal))?;
        Ok(self.content)
    }
}

/// How many of a bundle's mutations each outcome took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub applied: u64,
    /// Settled before (by an earlier import or the till's own push): nothing applied twice.
    pub duplicates: u64,
    /// Disputed, conflicting, rejected, mismatched or out of sequence: see `till-server stats`
    /// and the till's failed list.
    pub other: u64,
}

impl Tally {
    /// Counts `results` in.
    pub fn add(&mut self, results: &[MutationResult]) {
        for r in results {
            match r.outcome {
                Outcome::Applied { .. } => self.applied += 1,
                Outcome::Duplicate { .. } => self.duplicates += 1,
                _ => self.other += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::value::RawValue;
    use till_protocol::MutationBody;

    use super::*;
    use crate::sample;

    fn key_pair() -> Ed25519KeyPair {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("a key");
        Ed25519KeyPair::from_pkcs8(document.as_ref()).expect("reads it")
    }

    /// A bundle of one sale by `terminal`, signed by `pair`, as a till writes it.
    fn signed_bundle(terminal: Uuid, pair: &Ed25519KeyPair) -> Vec<u8> {
        let sale = sample::mutation(1, MutationBody::TicketCreated(sample::sale(1)));
        let content = BundleContent {
            format: BUNDLE_FORMAT.to_string(),
            terminal_id: terminal,
            created_at_ms: 1,
            head: None,
            mutations: vec![serde_json::value::to_raw_value(&sale).expect("serialises")],
        };
        let signed: Box<RawValue> = serde_json::value::to_raw_value(&content).expect("serialises");
        let signature = hex::encode(pair.sign(signed.get().as_bytes()).as_ref());
        serde_json::to_vec(&Bundle { signed, signature }).expect("serialises")
    }

    fn public(pair: &Ed25519KeyPair) -> String {
        hex::encode(pair.public_key().as_ref())
    }

    #[test]
    fn a_bundle_signed_by_its_terminals_key_opens() {
        let (terminal, pair) = (Uuid::now_v7(), key_pair());
        let unverified = read(&signed_bundle(terminal, &pair)).expect("reads");
        assert_eq!(unverified.terminal_id(), terminal);
        let content = unverified.verify(Some(&public(&pair))).expect("verifies");
        assert_eq!(content.mutations.len(), 1);
        assert_eq!(content.mutations[0].mutation.seq, 1);
    }

    #[test]
    fn one_changed_byte_anywhere_refuses_the_bundle() {
        let (terminal, pair) = (Uuid::now_v7(), key_pair());
        let bytes = signed_bundle(terminal, &pair);
        let key = public(&pair);
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= 0x01;
            let opened = read(&changed).and_then(|u| u.verify(Some(&key)));
            assert!(
                opened.is_err(),
                "a bundle with byte {at} changed ({:?}) must be refused",
                char::from(bytes[at])
            );
        }
    }

    #[test]
    fn a_bundle_signed_by_another_key_is_refused() {
        let terminal = Uuid::now_v7();
        let bytes = signed_bundle(terminal, &key_pair());
        let other = public(&key_pair());
        assert_eq!(
            read(&bytes).expect("reads").verify(Some(&other)).err(),
            Some(BundleError::BadSignature(terminal)),
            "only the key the terminal registered vouches for its sales"
        );
    }

    #[test]
    fn a_terminal_without_a_registered_key_cannot_be_checked() {
        let terminal = Uuid::now_v7();
        let bytes = signed_bundle(terminal, &key_pair());
        for key in [None, Some("not hex")] {
            assert_eq!(
                read(&bytes).expect("reads").verify(key).err(),
                Some(BundleError::NoKey(terminal))
            );
        }
    }

    #[test]
    fn a_mutation_numbered_out_of_range_refuses_the_bundle() {
        let pair = key_pair();
        let text = String::from_utf8(signed_bundle(Uuid::now_v7(), &pair)).expect("UTF-8");
        let zero = text.replacen("\"seq\":1", "\"seq\":0", 1);
        assert_ne!(zero, text, "the sample names its sequence");
        assert!(matches!(
            read(zero.as_bytes()),
            Err(BundleError::Malformed(_))
        ));
    }

    #[test]
    fn another_format_or_no_bundle_at_all_is_refused() {
        assert!(matches!(read(b"{}"), Err(BundleError::Malformed(_))));
        assert!(matches!(read(b"sales"), Err(BundleError::Malformed(_))));
        let pair = key_pair();
        let text = String::from_utf8(signed_bundle(Uuid::now_v7(), &pair)).expect("UTF-8");
        let other = text.replace(BUNDLE_FORMAT, "till-queue-bundle/9");
        assert!(matches!(
            read(other.as_bytes()),
            Err(BundleError::Format(f)) if f == "till-queue-bundle/9"
        ));
    }

    #[test]
    fn outcomes_are_tallied_applied_duplicate_or_other() {
        let result = |outcome| MutationResult {
            mutation_id: Uuid::now_v7(),
            seq: 1,
            outcome,
            stored: None,
        };
        let applied = Outcome::Applied {
            server_id: 1,
            server_number: None,
            version: 1,
        };
        let mut tally = Tally::default();
        tally.add(&[
            result(applied.clone()),
            result(Outcome::Duplicate {
                original: Box::new(applied),
            }),
            result(Outcome::Gap { expected_seq: 1 }),
        ]);
        assert_eq!(
            tally,
            Tally {
                applied: 1,
                duplicates: 1,
                other: 1
            }
        );
    }
}
