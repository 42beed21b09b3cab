//! Employee PINs: a PIN given on the command line is hashed here, with a fresh random salt, by
//! the rule in [`crate::decide::employees::hash_pin`]; only the hash is ever stored.

use argon2::password_hash::SaltString;
use rand::RngCore;

use crate::decide::employees::{self, PinHash};
use crate::storage::StorageError;

/// The Argon2id hash of `pin` under a new 128-bit salt (refused unless 4 to 8 ASCII digits).
pub fn hash(pin: &str) -> Result<PinHash, StorageError> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| StorageError::Invalid(format!("cannot salt the PIN: {e}")))?;
    employees::hash_pin(pin, &salt)
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_hash_of_a_pin_has_its_own_salt() {
        let a = super::hash("1234").expect("a valid PIN");
        let b = super::hash("1234").expect("a valid PIN");
        assert_ne!(a, b, "two employees with one PIN never share a hash");
    }
}
