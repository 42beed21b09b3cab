//! Terminal bearer tokens. The server hands a token out once, at enrolment, and keeps only its
//! SHA-256 hash: a stolen database does not let anyone push as a terminal.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a Till token recognisable in logs and secret scanners.
const PREFIX: &str = "till_";

/// A fresh token: 256 random bits, hex encoded.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// The hex SHA-256 of a token, as stored and looked up.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b, "two enrolments must never share a token");
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
