//! Identity numbers never stored in clear: NIK and KK become a keyed hash (HMAC-SHA256 with
//! the installation's secret) for matching and deduplication, plus a masked display form.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{IdHash, Text};

/// Environment variable holding the secret.
pub const SECRET_ENV: &str = "LENTERA_SECRET";

/// Shortest accepted secret, in bytes.
const MIN_SECRET_LEN: usize = 16;

/// The installation's hashing secret, kept as the HMAC state after the key (hashing the key's
/// inner and outer pads once instead of for every identity number).
#[derive(Clone)]
pub struct Secret(Hmac<Sha256>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why no secret could be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not configured.
    #[error("{SECRET_ENV} is not set: set it to a long random value (e.g. `openssl rand -hex 32`) and keep it; NIK and KK numbers are stored only as keyed hashes under it")]
    Missing,
    /// Too short to resist guessing (NIKs are structured, so a weak key is brute-forceable).
    #[error("{SECRET_ENV} is too short: use at least {MIN_SECRET_LEN} characters of random text")]
    TooShort,
}

impl Secret {
    /// Builds a secret from bytes, refusing short ones.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Secret, SecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(SecretError::TooShort);
        }
        // HMAC takes keys of any length: the error is never returned.
        Hmac::<Sha256>::new_from_slice(&bytes)
            .map(Secret)
            .map_err(|_| SecretError::TooShort)
    }

    /// Reads the secret from `LENTERA_SECRET`.
    pub fn from_env() -> Result<Secret, SecretError> {
        match std::env::var(SECRET_ENV) {
            Ok(s) if !s.trim().is_empty() => Secret::new(s.trim().as_bytes().to_vec()),
            _ => Err(SecretError::Missing),
        }
    }

    /// The keyed hash of an identity number (digits only).
    pub fn hash(&self, digits: &str) -> IdHash {
        let mut mac = self.0.clone();
        mac.update(digits.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A fingerprint of the secret itself, stored so that a store refuses imports under a
    /// different secret (whose hashes would never match the earlier ones).
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.hash("lentera-secret-fingerprint")[..8])
    }
}

/// The display form of a 16-digit identity number: first 6 and last 2 digits, e.g.
/// `647201********01`. Anything else is fully hidden.
pub fn mask(digits: &str) -> Text {
    let mut masked = Text::default();
    if digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()) {
        masked.push_str(&digits[..6]);
        masked.push_str("********");
        masked.push_str(&digits[14..]);
    } else {
        masked.extend(std::iter::repeat_n('*', digits.chars().count().min(16)));
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_stable() {
        let a = Secret::new("0123456789abcdef0123").unwrap();
        let b = Secret::new("another-secret-of-enough-length").unwrap();
        let nik = "6472014107850001";
        assert_eq!(a.hash(nik), a.hash(nik));
        assert_ne!(a.hash(nik), b.hash(nik));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!format!("{a:?}").contains("0123"));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(Secret::new("short"), Err(SecretError::TooShort)));
    }

    #[test]
    fn masks_keep_region_prefix_and_last_two_digits() {
        assert_eq!(mask("6472014107850001"), "647201********01");
        assert_eq!(mask("64720141078500A1"), "****************");
        assert_eq!(mask("123"), "***");
    }
}
