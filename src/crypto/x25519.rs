//! The X25519 recipient stanza.
//!
//! For each file and recipient a fresh ephemeral key pair `(e, E)` is made:
//!
//! ```text
//! shared   = X25519(e, R)                       (refused if all zero)
//! wrap key = HKDF-SHA256[salt = E || R, info = label](shared)
//! body     = E || ChaCha20-Poly1305[wrap key](nonce = 0, file key)
//! ```
//!
//! Binding both public keys into the salt ties the wrap key to this
//! recipient and this ephemeral key. The same construction, with age's label
//! and 16-byte file keys, is age's X25519 recipient: [`wrap`] and [`unwrap`]
//! take the label so both formats share this code.

use rand_core::CryptoRng;
use x25519_dalek::{EphemeralSecret, PublicKey};

use super::error::CryptoError;
use super::header::{KIND_X25519, Stanza};
use super::keys::{FileKey, Identity, Recipient};
use super::primitives::{TAG_LEN, hkdf_sha256, unwrap_key, wrap_key};

/// The HKDF label of vault's X25519 stanza.
pub const LABEL: &[u8] = b"vault/v1 x25519";
/// Body length of vault's X25519 stanza: ephemeral share and wrapped key.
pub const BODY_LEN: usize = 32 + 32 + TAG_LEN;

/// Wrap `file_key` to `recipient`: returns the ephemeral public key and the
/// wrapped key (`file key || tag`).
pub fn wrap<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &Recipient,
    file_key: &FileKey,
    label: &[u8],
) -> Result<([u8; 32], Vec<u8>), CryptoError> {
    let ephemeral = EphemeralSecret::random_from_rng(rng);
    let epk = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(recipient.public_key());
    if !shared.was_contributory() {
        return Err(CryptoError::InvalidKey(format!(
            "{recipient} is a low-order point and cannot be a recipient"
        )));
    }
    let key = wrap_key_for(shared.as_bytes(), &epk, recipient.public_key(), label);
    let mut wrapped = vec![0u8; file_key.as_bytes().len() + TAG_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut wrapped);
    Ok((epk.to_bytes(), wrapped))
}

/// Try to unwrap a file key of `key_len` bytes with `identity`.
///
/// `Ok(None)` means the stanza is not for this identity. An ephemeral share
/// that gives an all-zero shared secret is an error: no honest sender makes
/// one.
pub fn unwrap(
    identity: &Identity,
    epk: &[u8; 32],
    wrapped: &[u8],
    key_len: usize,
    label: &[u8],
) -> Result<Option<FileKey>, CryptoError> {
    let epk = PublicKey::from(*epk);
    let shared = identity.secret().diffie_hellman(&epk);
    if !shared.was_contributory() {
        return Err(CryptoError::InvalidHeader(
            "an X25519 stanza has a low-order ephemeral key",
        ));
    }
    let key = wrap_key_for(
        shared.as_bytes(),
        &epk,
        identity.recipient().public_key(),
        label,
    );
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    let out = &mut out[..key_len];
    if !unwrap_key(&key, wrapped, out) {
        return Ok(None);
    }
    Ok(FileKey::from_bytes(out))
}

fn wrap_key_for(
    shared: &[u8; 32],
    epk: &PublicKey,
    recipient: &PublicKey,
    label: &[u8],
) -> zeroize::Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    hkdf_sha256(&salt, shared, label)
}

/// Vault's X25519 stanza for `recipient`.
pub fn stanza<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &Recipient,
    file_key: &FileKey,
) -> Result<Stanza, CryptoError> {
    let (epk, wrapped) = wrap(rng, recipient, file_key, LABEL)?;
    let mut body = Vec::with_capacity(BODY_LEN);
    body.extend_from_slice(&epk);
    body.extend_from_slice(&wrapped);
    Ok(Stanza {
        kind: KIND_X25519,
        body,
    })
}

/// Try each identity on a vault X25519 stanza.
pub fn open_stanza(
    identities: &[Identity],
    stanza: &Stanza,
) -> Result<Option<FileKey>, CryptoError> {
    debug_assert_eq!(stanza.kind, KIND_X25519);
    let (epk, wrapped) = stanza.body.split_at(32);
    let epk: &[u8; 32] = epk.try_into().expect("length checked by the parser");
    for id in identities {
        if let Some(k) = unwrap(id, epk, wrapped, 32, LABEL)? {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;

    #[test]
    fn wraps_to_the_recipient_only() {
        let mut rng = os_rng();
        let alice = Identity::generate(&mut rng);
        let bob = Identity::generate(&mut rng);
        let fk = FileKey::generate(&mut rng, 32);
        let s = stanza(&mut rng, &alice.recipient(), &fk).unwrap();
        assert_eq!(s.body.len(), BODY_LEN);
        let got = open_stanza(&[bob], &s).unwrap();
        assert!(got.is_none());
        let got = open_stanza(std::slice::from_ref(&alice), &s)
            .unwrap()
            .unwrap();
        assert_eq!(got.as_bytes(), fk.as_bytes());
    }

    #[test]
    fn low_order_points_are_refused() {
        let mut rng = os_rng();
        let fk = FileKey::generate(&mut rng, 32);
        let zero = Recipient::from_bytes([0; 32]);
        assert!(stanza(&mut rng, &zero, &fk).is_err());
        let id = Identity::generate(&mut rng);
        let s = Stanza {
            kind: KIND_X25519,
            body: vec![0; BODY_LEN],
        };
        assert!(open_stanza(&[id], &s).is_err());
    }
}
