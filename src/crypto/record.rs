//! Small records sealed under a file key and bound to the header they
//! travel with: a remote object's metadata (`docs/FORMAT.md`, "Sealed
//! metadata").
//!
//! ```text
//! key     = HKDF-SHA256[salt, info = "vault/v1 metadata"](file key)
//! sealed  = salt (16) || length (u32) || ChaCha20-Poly1305[key](nonce = 0, aad = header, record)
//! ```
//!
//! A fresh salt for every seal gives a fresh key, so the zero nonce is never
//! reused when a record is rewritten under the same file key (`mv`,
//! `share`). The header bytes as associated data tie a record to the exact
//! header it was written with. What the record holds is the caller's
//! business (`crate::remote`).

use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::keys::FileKey;
use super::primitives::{TAG_LEN, hkdf_sha256};

const LABEL: &[u8] = b"vault/v1 metadata";
const SALT_LEN: usize = 16;
/// Longest sealed record a reader accepts.
pub const MAX_SEALED: usize = 256 * 1024;

/// Seal `record` under `file_key`, bound to `header`.
pub fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    file_key: &FileKey,
    header: &[u8],
    record: &[u8],
) -> Vec<u8> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let key = hkdf_sha256(&salt, file_key.as_bytes(), LABEL);
    let mut body = Zeroizing::new(record.to_vec());
    let tag = ChaCha20Poly1305::new(&(*key).into())
        .encrypt_inout_detached(&[0u8; 12].into(), header, body.as_mut_slice().into())
        .expect("records are far below the AEAD limit");
    let len = u32::try_from(body.len() + TAG_LEN).expect("records are bounded");
    let mut out = Vec::with_capacity(SALT_LEN + 4 + body.len() + TAG_LEN);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    out
}

/// The length of the sealed record that `prefix` starts with, from its
/// length field; `None` if `prefix` is too short to hold that field. (The
/// record itself may be longer than what has been read so far.)
pub fn sealed_len(prefix: &[u8]) -> Option<usize> {
    let len: [u8; 4] = prefix.get(SALT_LEN..SALT_LEN + 4)?.try_into().ok()?;
    Some(SALT_LEN + 4 + u32::from_be_bytes(len) as usize)
}

/// Open a sealed record (all of `sealed`, nothing after it). `None` if it
/// is malformed, too long, or does not authenticate under this key and
/// header.
pub fn open(sealed: &[u8], file_key: &FileKey, header: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < SALT_LEN + 4 + TAG_LEN || sealed.len() > MAX_SEALED {
        return None;
    }
    let (salt, rest) = sealed.split_at(SALT_LEN);
    let (len, ct) = rest.split_at(4);
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    if len != ct.len() || len < TAG_LEN {
        return None;
    }
    let key = hkdf_sha256(salt, file_key.as_bytes(), LABEL);
    let (body, tag) = ct.split_at(len - TAG_LEN);
    let mut body = Zeroizing::new(body.to_vec());
    let tag: &[u8; TAG_LEN] = tag.try_into().expect("16 bytes");
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt_inout_detached(
            &[0u8; 12].into(),
            header,
            body.as_mut_slice().into(),
            tag.into(),
        )
        .ok()?;
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let fk = FileKey::generate(&mut os_rng(), 32);
        let rec = b"a record of some length".to_vec();
        let sealed = seal(&mut os_rng(), &fk, b"header A", &rec);
        assert_eq!(open(&sealed, &fk, b"header A").as_deref(), Some(&rec));
        assert!(open(&sealed, &fk, b"header B").is_none());
        let other = FileKey::generate(&mut os_rng(), 32);
        assert!(open(&sealed, &other, b"header A").is_none());
        for i in 0..sealed.len() {
            let mut b = sealed.clone();
            b[i] ^= 1;
            assert!(open(&b, &fk, b"header A").is_none(), "byte {i}");
        }
        // Two seals of the same record differ (fresh salt).
        assert_ne!(sealed, seal(&mut os_rng(), &fk, b"header A", &rec));
    }
}
