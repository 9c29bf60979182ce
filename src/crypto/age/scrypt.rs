//! age's passphrase recipient type, `scrypt` (C2SP age, "The scrypt
//! recipient type").
//!
//! ```text
//! -> scrypt base64(salt) logN    body = ChaCha20-Poly1305[scrypt(N = 2^logN, r = 8, p = 1,
//!                                  S = "age-encryption.org/v1/scrypt" || salt)(passphrase)](file key)
//! ```
//!
//! The key wrap is [`crate::crypto::primitives::wrap_key`], as for every
//! stanza. A reader checks the stanza strictly (argument count, canonical
//! base64 and lengths, a body of exactly 32 bytes before any decryption, a
//! decimal work factor without leading zeros) and reports any deviation as a
//! damaged header. (age's `X25519` type lives with vault's in
//! [`crate::crypto::x25519`].)

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use super::header::SCRYPT;
use super::header::{BODY_LEN, FILE_KEY_LEN, Stanza, decode_base64_array, encode_base64};
use crate::crypto::error::CryptoError;
use crate::crypto::keys::FileKey;
use crate::crypto::passphrase::{Passphrase, unwrap_file_key};
use crate::crypto::primitives::wrap_key;

/// Prefix of the scrypt salt.
pub const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
/// scrypt salt length.
pub const SALT_LEN: usize = 16;
/// log2 of the scrypt work factor this build writes: what `age -p` writes
/// (256 MiB, about a second), so every age implementation opens it.
pub const SCRYPT_LOG_N: u8 = 18;
/// Highest log2 work factor a reader accepts: age's default limit (at 22,
/// scrypt needs 4 GiB and several seconds).
pub const MAX_SCRYPT_LOG_N: u8 = 22;

fn bad(why: &'static str) -> CryptoError {
    CryptoError::InvalidHeader(why)
}

/// The scrypt parameters of a stanza: salt and log2 work factor, checked.
pub fn scrypt_params(s: &Stanza) -> Result<([u8; SALT_LEN], u8), CryptoError> {
    debug_assert_eq!(s.kind(), SCRYPT);
    if s.args.len() != 3 {
        return Err(bad("an scrypt stanza must have exactly two arguments"));
    }
    let salt: [u8; SALT_LEN] = decode_base64_array(
        &s.args[1],
        "an scrypt salt is not canonical base64 of 16 bytes",
    )?;
    let digits = s.args[2].as_bytes();
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("an scrypt work factor is not a decimal number from 1"));
    }
    let log_n = s.args[2]
        .parse::<u8>()
        .ok()
        .filter(|&n| n <= MAX_SCRYPT_LOG_N)
        .ok_or_else(|| {
            let shown: String = s.args[2].chars().take(24).collect();
            CryptoError::WorkFactorTooHigh(format!(
                "scrypt log2 N = {shown}; at most {MAX_SCRYPT_LOG_N}"
            ))
        })?;
    if s.body.len() != BODY_LEN {
        return Err(bad("an scrypt stanza body is not 32 bytes"));
    }
    Ok((salt, log_n))
}

/// `scrypt[N = 2^log_n, r = 8, p = 1](passphrase, label || salt)` (RFC 7914).
fn scrypt_key(
    passphrase: &Passphrase,
    salt: &[u8; SALT_LEN],
    log_n: u8,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let params = scrypt::Params::new(log_n, 8, 1).map_err(|_| bad("invalid scrypt parameters"))?;
    let mut full_salt = [0u8; SCRYPT_LABEL.len() + SALT_LEN];
    full_salt[..SCRYPT_LABEL.len()].copy_from_slice(SCRYPT_LABEL);
    full_salt[SCRYPT_LABEL.len()..].copy_from_slice(salt);
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(
        passphrase.expose().as_bytes(),
        &full_salt,
        &params,
        &mut key[..],
    )
    .expect("a 32-byte output is a valid scrypt length");
    Ok(key)
}

/// An `scrypt` stanza wrapping `file_key` under `passphrase`.
pub fn scrypt_stanza<R: CryptoRng + ?Sized>(
    rng: &mut R,
    passphrase: &Passphrase,
    file_key: &FileKey,
    log_n: u8,
) -> Result<Stanza, CryptoError> {
    if log_n == 0 || log_n > MAX_SCRYPT_LOG_N {
        return Err(CryptoError::WorkFactorTooHigh(format!(
            "scrypt log2 N = {log_n}; from 1 to {MAX_SCRYPT_LOG_N}"
        )));
    }
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let key = scrypt_key(passphrase, &salt, log_n)?;
    let mut body = vec![0u8; BODY_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut body);
    Ok(Stanza {
        args: vec![SCRYPT.into(), encode_base64(&salt), log_n.to_string()],
        body,
    })
}

/// Unwrap the file key from an `scrypt` stanza with `passphrase`.
pub fn scrypt_unwrap(passphrase: &Passphrase, s: &Stanza) -> Result<FileKey, CryptoError> {
    let (salt, log_n) = scrypt_params(s)?;
    let key = scrypt_key(passphrase, &salt, log_n)?;
    unwrap_file_key::<FILE_KEY_LEN>(&key, &s.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;

    #[test]
    fn scrypt_round_trip_wrong_passphrase_and_work_factor_rules() {
        let mut rng = os_rng();
        let fk = FileKey::generate(&mut rng, FILE_KEY_LEN);
        let pass = Passphrase::new("correct horse".into());
        let s = scrypt_stanza(&mut rng, &pass, &fk, 4).unwrap();
        assert_eq!(s.args[2], "4");
        assert_eq!(scrypt_unwrap(&pass, &s).unwrap().as_bytes(), fk.as_bytes());
        let wrong = Passphrase::new("battery staple".into());
        assert!(matches!(
            scrypt_unwrap(&wrong, &s),
            Err(CryptoError::WrongPassphrase)
        ));
        for (factor, too_high) in [
            ("0", false),
            ("04", false),
            ("+4", false),
            ("0x4", false),
            ("23", true),
            ("99999999999999999999", true),
        ] {
            let mut t = s.clone();
            t.args[2] = factor.into();
            let err = scrypt_unwrap(&pass, &t).unwrap_err();
            assert_eq!(
                matches!(err, CryptoError::WorkFactorTooHigh(_)),
                too_high,
                "{factor}: {err}"
            );
            assert!(
                too_high || matches!(err, CryptoError::InvalidHeader(_)),
                "{factor}: {err}"
            );
        }
        assert!(scrypt_stanza(&mut rng, &pass, &fk, MAX_SCRYPT_LOG_N + 1).is_err());
    }
}
