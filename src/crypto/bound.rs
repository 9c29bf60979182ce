//! Stanzas bound to the recipients they are for: a writer makes each
//! recipient's stanza with a generator seeded from the file key, the header
//! nonce and the recipient's public string, so that anyone holding the file
//! key can recompute the stanza for a named recipient and compare it with
//! the header's, byte for byte.
//!
//! ```text
//! seed(r)    = HKDF-SHA256[salt = header nonce, info = "vault/v2 stanza " || r](file key)
//! stanza(r)  = r's vault stanza of the file key, made with ChaCha20Rng(seed(r))
//! ```
//!
//! A stanza alone does not say whom it is for (only the recipient's secret
//! key can tell), so a list of recipients kept beside a header (a remote
//! object's sealed metadata) could otherwise disagree with the stanzas: a
//! co-recipient could swap two names, or hide an extra stanza under
//! someone else's name. With bound stanzas a reader checks, on every open,
//! that stanza `i` is exactly `stanza(list[i])`.
//!
//! What a seed reveals: only a holder of the file key can compute it, and a
//! holder of the file key gains nothing from the ephemeral secret (it
//! protects the file key they already have). Recipient kinds whose stanza
//! cannot be recomputed (a stanza made by an external plugin) cannot be
//! bound; [`verify`] reports them instead of accepting them silently.

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;

use super::error::CryptoError;
use super::header::{Header, MAC_LEN, NONCE_LEN, Stanza};
use super::keys::FileKey;
use super::primitives::hkdf_sha256;
use super::recipient::Recipient;
use super::suite::Suite;

const LABEL: &[u8] = b"vault/v2 stanza ";

/// The generator `recipient`'s stanza is made with.
fn rng_for(file_key: &FileKey, nonce: &[u8; NONCE_LEN], recipient: &str) -> ChaCha20Rng {
    let mut info = LABEL.to_vec();
    info.extend_from_slice(recipient.as_bytes());
    let seed = hkdf_sha256(nonce, file_key.as_bytes(), &info);
    ChaCha20Rng::from_seed(*seed)
}

/// The bound stanza of `recipient` for this file key and nonce.
pub fn stanza(
    file_key: &FileKey,
    nonce: &[u8; NONCE_LEN],
    recipient: &dyn Recipient,
) -> Result<Stanza, CryptoError> {
    let mut rng = rng_for(file_key, nonce, &recipient.to_string());
    recipient.vault_stanza(&mut rng, file_key)
}

/// A header whose stanzas are bound to `recipients`, in the order given
/// (the caller removes repeats), with the MAC sealed.
pub fn header(
    suite: Suite,
    file_key: &FileKey,
    nonce: [u8; NONCE_LEN],
    recipients: &[&dyn Recipient],
) -> Result<Header, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let mut h = Header {
        suite,
        stanzas: recipients
            .iter()
            .map(|r| stanza(file_key, &nonce, *r))
            .collect::<Result<_, _>>()?,
        nonce,
        mac: [0; MAC_LEN],
    };
    h.seal_mac(file_key)?;
    Ok(h)
}

/// What [`verify`] could not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchecked {
    /// Every stanza is the one its recipient's entry says.
    None,
    /// This many entries are of a kind whose stanza cannot be recomputed
    /// here (unknown to this build, or made outside it); their stanzas were
    /// not compared.
    Some(usize),
}

/// Check that `header`'s stanzas are, one for one and in order, the bound
/// stanzas of `recipients`. Each entry is `Some(recipient)` when this
/// build can recompute its stanza, `None` when it cannot (counted in the
/// result). Fails with [`CryptoError::InvalidHeader`] on any difference.
pub fn verify(
    header: &Header,
    file_key: &FileKey,
    recipients: &[Option<&dyn Recipient>],
) -> Result<Unchecked, CryptoError> {
    if recipients.len() != header.stanzas.len() {
        return Err(CryptoError::InvalidHeader(
            "the recipient list does not match the stanzas",
        ));
    }
    let mut unchecked = 0;
    for (r, s) in recipients.iter().zip(&header.stanzas) {
        match r {
            Some(r) => {
                if stanza(file_key, &header.nonce, *r)? != *s {
                    return Err(CryptoError::InvalidHeader(
                        "a stanza is not the one its recipient entry names",
                    ));
                }
            }
            None => unchecked += 1,
        }
    }
    Ok(if unchecked == 0 {
        Unchecked::None
    } else {
        Unchecked::Some(unchecked)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::file::file_key_for;
    use crate::crypto::{X25519Identity, os_rng};

    #[test]
    fn bound_stanzas_are_reproducible_and_open() {
        let mut rng = os_rng();
        let ids: Vec<X25519Identity> = (0..3).map(|_| X25519Identity::generate(&mut rng)).collect();
        let rs: Vec<_> = ids.iter().map(X25519Identity::recipient).collect();
        let fk = FileKey::generate(&mut rng, 32);
        let nonce = [7u8; NONCE_LEN];
        let list: Vec<&dyn Recipient> = rs.iter().map(|r| r as &dyn Recipient).collect();
        let h = header(Suite::ChaCha20Poly1305, &fk, nonce, &list).unwrap();
        // Same inputs, same bytes.
        let again = header(Suite::ChaCha20Poly1305, &fk, nonce, &list).unwrap();
        assert_eq!(h, again);
        for id in &ids {
            let k = file_key_for(&h, &[id]).unwrap();
            assert_eq!(k.as_bytes(), fk.as_bytes());
        }
        let opt: Vec<Option<&dyn Recipient>> = list.iter().map(|r| Some(*r)).collect();
        assert_eq!(verify(&h, &fk, &opt).unwrap(), Unchecked::None);
        // Another nonce or file key gives other stanzas.
        let h2 = header(Suite::ChaCha20Poly1305, &fk, [8; NONCE_LEN], &list).unwrap();
        assert_ne!(h.stanzas[0], h2.stanzas[0]);
    }

    #[test]
    fn a_swapped_or_foreign_list_is_refused() {
        let mut rng = os_rng();
        let rs: Vec<_> = (0..3)
            .map(|_| X25519Identity::generate(&mut rng).recipient())
            .collect();
        let fk = FileKey::generate(&mut rng, 32);
        let list: Vec<&dyn Recipient> = rs.iter().map(|r| r as &dyn Recipient).collect();
        let h = header(Suite::Aes256Gcm, &fk, [1; NONCE_LEN], &list).unwrap();
        let swapped = [Some(list[1]), Some(list[0]), Some(list[2])];
        assert!(verify(&h, &fk, &swapped).is_err());
        let short = [Some(list[0]), Some(list[1])];
        assert!(verify(&h, &fk, &short).is_err());
        // A stanza made with an ordinary random generator is not bound.
        let mut loose = h.clone();
        loose.stanzas[2] = rs[2].vault_stanza(&mut rng, &fk).unwrap();
        let all: Vec<Option<&dyn Recipient>> = list.iter().map(|r| Some(*r)).collect();
        assert!(verify(&loose, &fk, &all).is_err());
        // An entry that cannot be recomputed is counted, not trusted.
        let partly = [Some(list[0]), None, Some(list[2])];
        assert_eq!(verify(&h, &fk, &partly).unwrap(), Unchecked::Some(1));
    }
}
