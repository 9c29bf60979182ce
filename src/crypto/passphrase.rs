//! The passphrase stanza, and the passphrase secret type.
//!
//! ```text
//! wrap key = Argon2id[m, t, p](passphrase, salt = "vault/v1 passphrase" || s)
//! body     = s (16) || m KiB (u32) || t (u32) || p (u32)
//!            || ChaCha20-Poly1305[wrap key](nonce = 0, file key)
//! ```
//!
//! Argon2id (RFC 9106) is memory-hard, so guessing costs memory as well as
//! time. The work factors travel in the stanza so they can grow later; a
//! reader refuses factors above [`MAX_MEMORY_KIB`] / [`MAX_TIME`] /
//! [`MAX_LANES`], so a hostile file cannot make `open` allocate gigabytes.
//! A passphrase stanza must be the only stanza of its header.

use std::fmt;

use argon2::{Algorithm, Argon2, Version};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::error::CryptoError;
use super::header::{KIND_PASSPHRASE, Stanza};
use super::keys::FileKey;
use super::primitives::{TAG_LEN, unwrap_key, wrap_key};

const LABEL: &[u8] = b"vault/v1 passphrase";
const SALT_LEN: usize = 16;
/// Body length of the passphrase stanza.
pub const BODY_LEN: usize = super::header::PASSPHRASE_BODY_LEN;

/// Memory cost written by this build: 64 MiB.
pub const DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
/// Passes written by this build.
pub const DEFAULT_TIME: u32 = 3;
/// Lanes written by this build.
pub const DEFAULT_LANES: u32 = 1;
/// Highest memory cost a reader accepts: 1 GiB.
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Most passes a reader accepts.
pub const MAX_TIME: u32 = 16;
/// Most lanes a reader accepts.
pub const MAX_LANES: u32 = 8;

/// A passphrase, zeroized when dropped, never shown by `Debug`.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wrap a string as a passphrase (the string is moved, not copied).
    pub fn new(s: String) -> Passphrase {
        Passphrase(Zeroizing::new(s))
    }

    /// The passphrase text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<Zeroizing<String>> for Passphrase {
    fn from(s: Zeroizing<String>) -> Passphrase {
        Passphrase(s)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

fn derive(
    passphrase: &Passphrase,
    salt: &[u8; SALT_LEN],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    if m > MAX_MEMORY_KIB || t > MAX_TIME || p > MAX_LANES || t == 0 || p == 0 {
        return Err(CryptoError::WorkFactorTooHigh(format!(
            "m={m} KiB, t={t}, p={p}; at most m={MAX_MEMORY_KIB}, t={MAX_TIME}, p={MAX_LANES}"
        )));
    }
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|_| CryptoError::InvalidHeader("invalid Argon2id parameters"))?;
    let mut full_salt = [0u8; LABEL.len() + SALT_LEN];
    full_salt[..LABEL.len()].copy_from_slice(LABEL);
    full_salt[LABEL.len()..].copy_from_slice(salt);
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose().as_bytes(), &full_salt, &mut key[..])
        .map_err(|e| CryptoError::Io(std::io::Error::other(format!("argon2: {e}"))))?;
    Ok(key)
}

/// A passphrase stanza with the default work factors.
pub fn stanza<R: CryptoRng + ?Sized>(
    rng: &mut R,
    passphrase: &Passphrase,
    file_key: &FileKey,
) -> Result<Stanza, CryptoError> {
    stanza_with(
        rng,
        passphrase,
        file_key,
        (DEFAULT_MEMORY_KIB, DEFAULT_TIME, DEFAULT_LANES),
    )
}

/// A passphrase stanza with explicit work factors `(m KiB, t, p)`.
pub fn stanza_with<R: CryptoRng + ?Sized>(
    rng: &mut R,
    passphrase: &Passphrase,
    file_key: &FileKey,
    (m, t, p): (u32, u32, u32),
) -> Result<Stanza, CryptoError> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let key = derive(passphrase, &salt, m, t, p)?;
    let mut body = Vec::with_capacity(BODY_LEN);
    body.extend_from_slice(&salt);
    for v in [m, t, p] {
        body.extend_from_slice(&v.to_be_bytes());
    }
    let mut wrapped = [0u8; 32 + TAG_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut wrapped);
    body.extend_from_slice(&wrapped);
    Ok(Stanza {
        kind: KIND_PASSPHRASE,
        body,
    })
}

/// Unwrap the file key from a passphrase stanza.
pub fn open_stanza(passphrase: &Passphrase, stanza: &Stanza) -> Result<FileKey, CryptoError> {
    debug_assert_eq!(stanza.kind, KIND_PASSPHRASE);
    let b = &stanza.body;
    let salt: [u8; SALT_LEN] = b[..SALT_LEN].try_into().expect("length checked by parser");
    let word = |i: usize| {
        let at = SALT_LEN + 4 * i;
        u32::from_be_bytes(b[at..at + 4].try_into().expect("length checked by parser"))
    };
    let key = derive(passphrase, &salt, word(0), word(1), word(2))?;
    unwrap_file_key::<32>(&key, &b[SALT_LEN + 12..])
}

/// The `N`-byte file key in `wrapped` under `key`, a key derived from a
/// passphrase: a body that does not open means a wrong passphrase. Both
/// formats' passphrase stanzas (Argon2id here, age's scrypt) end this way.
pub(crate) fn unwrap_file_key<const N: usize>(
    key: &[u8; 32],
    wrapped: &[u8],
) -> Result<FileKey, CryptoError> {
    let mut out = Zeroizing::new([0u8; N]);
    if !unwrap_key(key, wrapped, &mut out[..]) {
        return Err(CryptoError::WrongPassphrase);
    }
    Ok(FileKey::from_bytes(&out[..]).expect("16 or 32 bytes, a file key's length"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;

    #[test]
    fn round_trip_wrong_passphrase_and_limits() {
        let mut rng = os_rng();
        let fk = FileKey::generate(&mut rng, 32);
        let pass = Passphrase::new("correct horse".into());
        let s = stanza_with(&mut rng, &pass, &fk, (64, 1, 1)).unwrap();
        assert_eq!(s.body.len(), BODY_LEN);
        assert_eq!(open_stanza(&pass, &s).unwrap().as_bytes(), fk.as_bytes());
        let wrong = Passphrase::new("battery staple".into());
        assert!(matches!(
            open_stanza(&wrong, &s),
            Err(CryptoError::WrongPassphrase)
        ));
        let mut greedy = s.clone();
        greedy.body[SALT_LEN..SALT_LEN + 4].copy_from_slice(&(MAX_MEMORY_KIB + 1).to_be_bytes());
        assert!(matches!(
            open_stanza(&pass, &greedy),
            Err(CryptoError::WorkFactorTooHigh(_))
        ));
        assert_eq!(format!("{pass:?}"), "Passphrase(..)");
    }
}
