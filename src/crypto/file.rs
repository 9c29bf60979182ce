//! Sealing and opening whole vault files: the header, then the payload.
//!
//! ```text
//! file key     = 32 random bytes, fresh per file
//! payload key  = HKDF-SHA256[salt = nonce, info = "vault/v1 payload " || suite](file key)
//! file         = header || STREAM[payload key](plaintext)
//! ```
//!
//! The payload key depends on the file key and the header nonce only, not on
//! the stanzas: recipients can be added to or removed from a file by
//! rewriting its (small) header without touching the payload.

use std::io::{Read, Write};

use rand_core::CryptoRng;

use super::error::CryptoError;
use super::header::{Header, KIND_MLKEM768X25519, KIND_PASSPHRASE, MAC_LEN, NONCE_LEN, Stanza};
use super::keys::FileKey;
use super::open::SealedFile;
use super::passphrase::{self, Passphrase};
use super::primitives::hkdf_sha256;
use super::recipient::{Identity, Recipient, check_labels, distinct};
use super::stream::StreamWriter;
use super::suite::{PayloadKey, Suite};

/// Length of vault's file keys.
pub const FILE_KEY_LEN: usize = 32;

/// `HKDF-SHA256[salt = nonce, info = "vault/v1 payload " || suite](file key)`
/// (note the space before the suite byte).
pub fn payload_key(suite: Suite, file_key: &FileKey, nonce: &[u8; NONCE_LEN]) -> PayloadKey {
    let mut info = b"vault/v1 payload ".to_vec();
    info.push(suite.id());
    PayloadKey::new(suite, &hkdf_sha256(nonce, file_key.as_bytes(), &info))
}

/// A header for a fresh file key, with one stanza per recipient (duplicates
/// removed) and the MAC set. Returns the header and the file key.
pub fn new_header<R: CryptoRng + ?Sized>(
    rng: &mut R,
    suite: Suite,
    recipients: &[&dyn Recipient],
) -> Result<(Header, FileKey), CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let file_key = FileKey::generate(rng, FILE_KEY_LEN);
    let mut header = Header {
        suite,
        stanzas: Vec::with_capacity(recipients.len()),
        nonce: [0; NONCE_LEN],
        mac: [0; MAC_LEN],
    };
    add_recipients(rng, &mut header, &file_key, recipients)?;
    rng.fill_bytes(&mut header.nonce);
    header.seal_mac(&file_key)?;
    Ok((header, file_key))
}

/// Append a stanza for each of `recipients`, in order, skipping
/// duplicates. The caller re-seals the MAC.
fn add_recipients<R: CryptoRng + ?Sized>(
    rng: &mut R,
    header: &mut Header,
    file_key: &FileKey,
    recipients: &[&dyn Recipient],
) -> Result<(), CryptoError> {
    let mut rng = rng;
    let recipients = distinct(recipients);
    for r in &recipients {
        header.stanzas.push(r.vault_stanza(&mut rng, file_key)?);
    }
    check_labels(&recipients)?;
    // Stanzas already in the header (sharing): their kind says whether
    // they are post-quantum.
    let pq = |s: &Stanza| s.kind == KIND_MLKEM768X25519;
    if header.stanzas.iter().any(pq) && !header.stanzas.iter().all(pq) {
        return Err(CryptoError::MixedPostQuantum);
    }
    Ok(())
}

/// Add stanzas for `recipients` to an existing header whose file key is
/// `file_key`, and re-seal its MAC. The payload is unchanged.
pub fn share<R: CryptoRng + ?Sized>(
    rng: &mut R,
    header: &mut Header,
    file_key: &FileKey,
    recipients: &[&dyn Recipient],
) -> Result<(), CryptoError> {
    if header.stanzas.iter().any(|s| s.kind == KIND_PASSPHRASE) {
        return Err(CryptoError::PassphraseNotAlone);
    }
    add_recipients(rng, header, file_key, recipients)?;
    header.seal_mac(file_key)
}

/// A fresh header for `recipients`, and the key its payload is sealed with.
pub fn seal_header<R: CryptoRng + ?Sized>(
    rng: &mut R,
    suite: Suite,
    recipients: &[&dyn Recipient],
) -> Result<(Header, PayloadKey), CryptoError> {
    let (header, file_key) = new_header(rng, suite, recipients)?;
    let key = payload_key(suite, &file_key, &header.nonce);
    Ok((header, key))
}

/// A fresh header sealed to a passphrase, and its payload key.
pub fn seal_header_with_passphrase<R: CryptoRng + ?Sized>(
    rng: &mut R,
    suite: Suite,
    passphrase: &Passphrase,
) -> Result<(Header, PayloadKey), CryptoError> {
    let file_key = FileKey::generate(rng, FILE_KEY_LEN);
    let mut header = Header {
        suite,
        stanzas: vec![passphrase::stanza(rng, passphrase, &file_key)?],
        nonce: [0; NONCE_LEN],
        mac: [0; MAC_LEN],
    };
    rng.fill_bytes(&mut header.nonce);
    header.seal_mac(&file_key)?;
    let key = payload_key(suite, &file_key, &header.nonce);
    Ok((header, key))
}

/// Write a fresh header for `recipients` to `out` and return the payload
/// writer. Call [`StreamWriter::finish`] at the end.
pub fn seal<W: Write, R: CryptoRng + ?Sized>(
    rng: &mut R,
    suite: Suite,
    recipients: &[&dyn Recipient],
    mut out: W,
) -> Result<StreamWriter<W>, CryptoError> {
    let (header, key) = seal_header(rng, suite, recipients)?;
    header.write_to(&mut out).map_err(CryptoError::Io)?;
    Ok(StreamWriter::new(key, out))
}

/// Like [`seal`], to a passphrase instead of keys.
pub fn seal_with_passphrase<W: Write, R: CryptoRng + ?Sized>(
    rng: &mut R,
    suite: Suite,
    passphrase: &Passphrase,
    mut out: W,
) -> Result<StreamWriter<W>, CryptoError> {
    let (header, key) = seal_header_with_passphrase(rng, suite, passphrase)?;
    header.write_to(&mut out).map_err(CryptoError::Io)?;
    Ok(StreamWriter::new(key, out))
}

/// A vault file whose header has been read, waiting for a key.
pub struct Decryptor<R: Read> {
    header: Header,
    input: R,
}

impl<R: Read> Decryptor<R> {
    /// Read and parse the header from `input`.
    pub fn new(mut input: R) -> Result<Self, CryptoError> {
        let header = Header::read_from(&mut input)?;
        Ok(Decryptor { header, input })
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Split into the header and the unread input (the payload).
    pub fn into_parts(self) -> (Header, R) {
        (self.header, self.input)
    }
}

impl<R: Read> SealedFile for Decryptor<R> {
    type Payload = R;

    fn is_passphrase(&self) -> bool {
        self.header
            .stanzas
            .iter()
            .any(|s| s.kind == KIND_PASSPHRASE)
    }

    fn file_key(&self, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError> {
        file_key_for(&self.header, identities)
    }

    fn file_key_with_passphrase(&self, pass: &Passphrase) -> Result<FileKey, CryptoError> {
        let stanza = self
            .header
            .stanzas
            .iter()
            .find(|s| s.kind == KIND_PASSPHRASE)
            .ok_or(CryptoError::NoMatchingIdentity)?;
        let key = passphrase::open_stanza(pass, stanza)?;
        if !self.header.verify_mac(&key) {
            return Err(CryptoError::HeaderMac);
        }
        Ok(key)
    }

    fn into_payload(self, file_key: &FileKey) -> (PayloadKey, R) {
        let key = payload_key(self.header.suite, file_key, &self.header.nonce);
        (key, self.input)
    }
}

/// Unwrap `header`'s file key with `identities` and verify its MAC: for
/// each stanza in file order, each identity in the order given; the first
/// that unwraps decides (a MAC that then fails fails the file).
pub fn file_key_for(header: &Header, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError> {
    if header.stanzas.iter().any(|s| s.kind == KIND_PASSPHRASE) {
        return Err(CryptoError::NoMatchingIdentity);
    }
    for stanza in &header.stanzas {
        for id in identities {
            if let Some(key) = id.unwrap_vault(stanza)? {
                if !header.verify_mac(&key) {
                    return Err(CryptoError::HeaderMac);
                }
                return Ok(key);
            }
        }
    }
    Err(CryptoError::NoMatchingIdentity)
}

/// Remove the stanzas at `indices` from `header` (whose file key is
/// `file_key`) and re-seal its MAC. Returns how many were removed.
///
/// A stanza does not say whom it is for (only the recipient's secret can
/// tell), so the caller maps recipients to indices from a list it keeps
/// under the file key (the remote vault's sealed metadata does).
pub fn remove_stanzas(
    header: &mut Header,
    file_key: &FileKey,
    indices: &[usize],
) -> Result<usize, CryptoError> {
    let before = header.stanzas.len();
    let mut i = 0;
    header.stanzas.retain(|_: &Stanza| {
        let keep = !indices.contains(&i);
        i += 1;
        keep
    });
    header.seal_mac(file_key)?;
    Ok(before - header.stanzas.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;
    use crate::crypto::{X25519Identity, X25519Recipient, as_identities, as_recipients};

    fn seal_bytes(recipients: &[X25519Recipient], suite: Suite, data: &[u8]) -> Vec<u8> {
        let mut w = seal(&mut os_rng(), suite, &as_recipients(recipients), Vec::new()).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn open_bytes(ids: &[X25519Identity], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let d = Decryptor::new(sealed)?;
        let key = d.file_key(&as_identities(ids))?;
        let mut out = Vec::new();
        let mut r = d.into_reader(&key);
        if let Err(e) = r.read_to_end(&mut out) {
            return Err(r.failure().unwrap_or(CryptoError::Io(e)));
        }
        Ok(out)
    }

    #[test]
    fn every_recipient_opens_and_others_do_not() {
        let (ids, recips) = crate::crypto::testing::two_of_three();
        for suite in Suite::ALL {
            let sealed = seal_bytes(&recips, suite, b"secret");
            for id in &ids[..2] {
                let got = open_bytes(std::slice::from_ref(id), &sealed).unwrap();
                assert_eq!(got, b"secret");
            }
            let err = open_bytes(&ids[2..], &sealed).unwrap_err();
            assert!(matches!(err, CryptoError::NoMatchingIdentity));
        }
    }

    #[test]
    fn duplicate_recipients_get_one_stanza() {
        let mut rng = os_rng();
        let id = X25519Identity::generate(&mut rng);
        let r = id.recipient();
        let (h, _) = new_header(&mut rng, Suite::ChaCha20Poly1305, &[&r, &r, &r]).unwrap();
        assert_eq!(h.stanzas.len(), 1);
        assert!(matches!(
            new_header(&mut rng, Suite::ChaCha20Poly1305, &[]),
            Err(CryptoError::NoRecipients)
        ));
    }

    #[test]
    fn sharing_rewrites_only_the_header() {
        let mut rng = os_rng();
        let alice = X25519Identity::generate(&mut rng);
        let carol = X25519Identity::generate(&mut rng);
        let sealed = seal_bytes(&[alice.recipient()], Suite::Aes256Gcm, b"shared payload");
        let d = Decryptor::new(&sealed[..]).unwrap();
        let key = d.file_key(&[&alice]).unwrap();
        let (mut header, payload) = d.into_parts();
        let payload = payload.to_vec();
        share(&mut rng, &mut header, &key, &[&carol.recipient()]).unwrap();
        let mut reshared = header.to_bytes();
        reshared.extend_from_slice(&payload);
        assert_eq!(
            open_bytes(std::slice::from_ref(&carol), &reshared).unwrap(),
            b"shared payload"
        );
        // Header from one file, payload from another: refused.
        let other = seal_bytes(&[carol.recipient()], Suite::Aes256Gcm, b"other payload");
        let (other_header, _) = Decryptor::new(&other[..]).unwrap().into_parts();
        let mut franken = other_header.to_bytes();
        franken.extend_from_slice(&payload);
        assert!(open_bytes(std::slice::from_ref(&carol), &franken).is_err());
    }

    #[test]
    fn passphrase_files_open_with_the_passphrase_only() {
        let mut rng = os_rng();
        let pass = Passphrase::new("hunter2 hunter2".into());
        let mut w =
            seal_with_passphrase(&mut rng, Suite::ChaCha20Poly1305, &pass, Vec::new()).unwrap();
        w.write_all(b"pw").unwrap();
        let sealed = w.finish().unwrap();
        let d = Decryptor::new(&sealed[..]).unwrap();
        assert!(d.is_passphrase());
        assert!(matches!(
            d.file_key(&[&X25519Identity::generate(&mut rng)]),
            Err(CryptoError::NoMatchingIdentity)
        ));
        let key = d.file_key_with_passphrase(&pass).unwrap();
        let mut out = Vec::new();
        d.into_reader(&key).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"pw");
    }
}
