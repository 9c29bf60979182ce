//! The primitives the format composes, named as the spec names them.
//!
//! Nothing here is a cryptographic algorithm of our own: each function is a
//! thin, typed call into a maintained RustCrypto crate, so that the format
//! code reads like `docs/FORMAT.md` and every key that passes through is held
//! in a zeroizing buffer.

use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Length of the authentication tag of every AEAD we use.
pub const TAG_LEN: usize = 16;

/// `HKDF-SHA256[salt, info](ikm)` with a 32-byte output (RFC 5869).
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// What an identity gives to key the local cache kept for it
/// ([`super::Identity::cache_secret`]): a one-way function of its secret
/// key's text, so that whoever holds this value (the cache code, or a
/// process the vault agent answered) learns nothing of the key itself.
pub fn cache_secret_of(secret_key_text: &str) -> Zeroizing<Vec<u8>> {
    let okm = hkdf_sha256(b"vault/v1 cache secret", secret_key_text.as_bytes(), b"");
    Zeroizing::new(okm.to_vec())
}

/// `HMAC-SHA256[key](message)` (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time check that `tag == HMAC-SHA256[key](message)`.
pub fn hmac_sha256_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

/// `ChaCha20-Poly1305[key](nonce = 0, plaintext)` (RFC 8439), used to wrap a
/// file key under a single-use key. Returns `plaintext || tag`.
pub fn wrap_key(key: &[u8; 32], plaintext: &[u8], out: &mut [u8]) {
    assert_eq!(out.len(), plaintext.len() + TAG_LEN, "wrap output size");
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(&[0u8; 12].into(), &[], body.into())
        .expect("a key-sized message is far below the AEAD length limit");
    tag_out.copy_from_slice(&tag);
}

/// Inverse of [`wrap_key`]: authenticate and decrypt `ciphertext || tag`
/// into `out`. Returns `false` (and leaves `out` zeroed) if it does not
/// authenticate.
pub fn unwrap_key(key: &[u8; 32], wrapped: &[u8], out: &mut [u8]) -> bool {
    if wrapped.len() != out.len() + TAG_LEN {
        return false;
    }
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let (body, tag) = wrapped.split_at(out.len());
    out.copy_from_slice(body);
    let Ok(tag) = tag.try_into() else {
        return false;
    };
    if cipher
        .decrypt_inout_detached(&[0u8; 12].into(), &[], (&mut *out).into(), tag)
        .is_err()
    {
        out.iter_mut().for_each(|b| *b = 0);
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        // RFC 5869 A.1, truncated to our 32-byte output.
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info);
        assert_eq!(
            hex(&okm[..]),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn wrap_round_trip_and_tamper() {
        let key = [7u8; 32];
        let mut wrapped = [0u8; 48];
        wrap_key(&key, &[9u8; 32], &mut wrapped);
        let mut out = [0u8; 32];
        assert!(unwrap_key(&key, &wrapped, &mut out));
        assert_eq!(out, [9u8; 32]);
        wrapped[3] ^= 1;
        assert!(!unwrap_key(&key, &wrapped, &mut out));
        assert_eq!(out, [0u8; 32]);
    }

    #[test]
    fn hmac_verify_rejects_wrong_tag() {
        let tag = hmac_sha256(b"k", b"m");
        assert!(hmac_sha256_verify(b"k", b"m", &tag));
        assert!(!hmac_sha256_verify(b"k", b"n", &tag));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
