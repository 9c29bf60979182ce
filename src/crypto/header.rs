//! The vault header: its one canonical binary encoding and its MAC.
//!
//! ```text
//! magic    8   89 56 4C 54 0D 0A 1A 0A   ("\x89VLT\r\n\x1a\n")
//! version  1   01
//! suite    1   01 ChaCha20-Poly1305 | 02 AES-256-GCM
//! count    2   big-endian, 1..=1024 recipient stanzas
//! stanza*  1   kind (01 X25519, 02 passphrase, 03 ssh-ed25519, 04 ssh-rsa,
//!              05 mlkem768x25519, 06 age plugin; 00 invalid; others skipped)
//!          2   body length, big-endian (bounded per known kind, <= 4096)
//!          n   body
//! nonce   16   random, input to the payload key
//! mac     32   HMAC-SHA256[HKDF(file key, "vault/v1 header")](all bytes above)
//! ```
//!
//! Parsing is strict: every field is bounded, known stanza kinds must have
//! their exact length, and serialising a parsed header gives back the input
//! bytes (tested and fuzzed). The parser reads exactly the header's bytes
//! from a stream, so the payload that follows can be read by the caller.
//! See `docs/FORMAT.md` for the rationale.

use std::io::{self, Read, Write};

use super::error::CryptoError;
use super::keys::FileKey;
use super::primitives::{TAG_LEN, hkdf_sha256, hmac_sha256, hmac_sha256_verify};
use super::suite::Suite;

/// The first eight bytes of every vault file. The high first byte and the
/// CR LF / ^Z / LF sequence catch 7-bit and newline-translating transfers.
pub const MAGIC: [u8; 8] = *b"\x89VLT\r\n\x1a\n";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Most recipient stanzas in one header.
pub const MAX_STANZAS: usize = 1024;
/// Longest stanza body of a kind this build does not know.
pub const MAX_UNKNOWN_BODY: usize = 4096;
/// Length of the header nonce.
pub const NONCE_LEN: usize = 16;
/// Length of the header MAC.
pub const MAC_LEN: usize = 32;

/// Stanza kind: X25519 recipient.
pub const KIND_X25519: u8 = 1;
/// Stanza kind: passphrase (Argon2id).
pub const KIND_PASSPHRASE: u8 = 2;
/// Stanza kind: an SSH Ed25519 key (`crate::crypto::ssh`).
pub const KIND_SSH_ED25519: u8 = 3;
/// Stanza kind: an SSH RSA key (`crate::crypto::ssh`).
pub const KIND_SSH_RSA: u8 = 4;
/// Stanza kind: an ML-KEM-768 + X25519 hybrid key (`crate::crypto::pq`).
pub const KIND_MLKEM768X25519: u8 = 5;
/// Stanza kind: an age plugin (`crate::crypto::plugin`).
pub const KIND_PLUGIN: u8 = 6;

/// Body length of an X25519 stanza: the ephemeral share (32), the wrapped
/// 32-byte file key and its tag (48).
pub const X25519_BODY_LEN: usize = 32 + 32 + TAG_LEN;
/// Body length of a passphrase stanza: salt (16), three Argon2id costs (12),
/// the wrapped file key and its tag (48).
pub const PASSPHRASE_BODY_LEN: usize = 16 + 12 + 32 + TAG_LEN;

/// The body lengths allowed for a known stanza kind. Every kind fits in
/// [`MAX_UNKNOWN_BODY`], so that a reader that predates it skips it.
fn known_body_len(kind: u8) -> Option<std::ops::RangeInclusive<usize>> {
    let exact = |n: usize| Some(n..=n);
    match kind {
        KIND_X25519 => exact(X25519_BODY_LEN),
        KIND_PASSPHRASE => exact(PASSPHRASE_BODY_LEN),
        KIND_SSH_ED25519 => exact(super::ssh::ED25519_BODY_LEN),
        // The tag, then the RSA-OAEP ciphertext: one modulus, 2048 to 8192 bits.
        KIND_SSH_RSA => Some(
            super::ssh::TAG + super::ssh::MIN_RSA_BITS / 8
                ..=super::ssh::TAG + super::ssh::MAX_RSA_BITS / 8,
        ),
        KIND_MLKEM768X25519 => exact(super::pq::BODY_LEN),
        KIND_PLUGIN => Some(super::plugin::MIN_VAULT_BODY..=MAX_UNKNOWN_BODY),
        _ => None,
    }
}

/// One recipient stanza: a kind byte and an opaque body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    /// The stanza kind.
    pub kind: u8,
    /// The kind-specific body.
    pub body: Vec<u8>,
}

/// A parsed vault header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The payload cipher suite.
    pub suite: Suite,
    /// The recipient stanzas, in file order.
    pub stanzas: Vec<Stanza>,
    /// The random nonce the payload key is derived with.
    pub nonce: [u8; NONCE_LEN],
    /// The header MAC over everything before it.
    pub mac: [u8; MAC_LEN],
}

/// The MAC both formats end their header with:
/// `HMAC-SHA256[HKDF-SHA256[salt = "", info](file key)](input)`, where
/// `input` is the header's encoding before the MAC. Only the HKDF label
/// differs between vault and age, so the sealing and checking are written
/// once here.
pub(crate) struct HeaderMac {
    info: &'static [u8],
}

impl HeaderMac {
    /// The MAC keyed by `HKDF-SHA256[salt = "", info](file key)`.
    pub(crate) const fn new(info: &'static [u8]) -> Self {
        HeaderMac { info }
    }

    fn key(&self, file_key: &FileKey) -> zeroize::Zeroizing<[u8; 32]> {
        hkdf_sha256(&[], file_key.as_bytes(), self.info)
    }

    /// Check that a header of `stanzas` stanzas is within bounds, then MAC
    /// its encoding `input` under `file_key`.
    pub(crate) fn seal(
        &self,
        file_key: &FileKey,
        stanzas: usize,
        input: &[u8],
    ) -> Result<[u8; MAC_LEN], CryptoError> {
        check_stanza_count(stanzas, MAX_STANZAS)?;
        Ok(hmac_sha256(&self.key(file_key)[..], input))
    }

    /// Whether `mac` is the MAC of `input` under `file_key` (constant time).
    pub(crate) fn verify(&self, file_key: &FileKey, input: &[u8], mac: &[u8]) -> bool {
        hmac_sha256_verify(&self.key(file_key)[..], input, mac)
    }
}

/// vault's header MAC: `info = "vault/v1 header"`.
const MAC: HeaderMac = HeaderMac::new(b"vault/v1 header");

/// A header needs at least one stanza and at most `max` (both formats).
fn check_stanza_count(count: usize, max: usize) -> Result<(), CryptoError> {
    match count {
        0 => Err(CryptoError::NoRecipients),
        n if n > max => Err(CryptoError::TooManyRecipients { count: n, max }),
        _ => Ok(()),
    }
}

/// Read exactly `buf.len()` bytes; an early end is a truncated header.
fn read_exact<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<(), CryptoError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => CryptoError::Truncated,
        _ => CryptoError::Io(e),
    })
}

/// True if `prefix` (the first bytes read, at least 8 unless the input is
/// shorter) begins an age v1 file, binary or armored. Inputs shorter than 8
/// bytes are never age files.
pub fn looks_like_age(prefix: &[u8]) -> bool {
    const AGE: &[u8] = b"age-encryption.org/";
    const ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
    let trimmed = prefix.trim_ascii_start();
    [AGE, ARMOR]
        .iter()
        .any(|m| trimmed.starts_with(m) || (trimmed.len() >= 8 && m.starts_with(trimmed)))
}

impl Header {
    /// Read a header from the start of `r`, consuming exactly its bytes.
    ///
    /// The MAC is read but not checked: that needs the file key.
    pub fn read_from<R: Read + ?Sized>(r: &mut R) -> Result<Header, CryptoError> {
        let mut magic = [0u8; 8];
        let got = super::pipeline::read_full(r, &mut magic).map_err(CryptoError::Io)?;
        if magic[..got] != MAGIC[..got] || got == 0 {
            return Err(if looks_like_age(&magic[..got]) {
                CryptoError::AgeFile
            } else {
                CryptoError::NotVaultFile
            });
        }
        if got < magic.len() {
            return Err(CryptoError::Truncated);
        }
        let mut fixed = [0u8; 4];
        read_exact(r, &mut fixed)?;
        if fixed[0] != VERSION {
            return Err(CryptoError::UnsupportedVersion(fixed[0]));
        }
        let suite = Suite::from_id(fixed[1]).ok_or(CryptoError::UnknownSuite(fixed[1]))?;
        let count = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
        if count == 0 {
            return Err(CryptoError::InvalidHeader("no recipient stanzas"));
        }
        if count > MAX_STANZAS {
            return Err(CryptoError::InvalidHeader("too many recipient stanzas"));
        }
        let mut stanzas = Vec::with_capacity(count);
        for _ in 0..count {
            let mut head = [0u8; 3];
            read_exact(r, &mut head)?;
            let kind = head[0];
            let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
            if kind == 0 {
                return Err(CryptoError::InvalidHeader("stanza kind 0"));
            }
            match known_body_len(kind) {
                Some(want) if !want.contains(&len) => {
                    return Err(CryptoError::InvalidHeader("wrong stanza length"));
                }
                None if len > MAX_UNKNOWN_BODY => {
                    return Err(CryptoError::InvalidHeader("stanza too long"));
                }
                _ => {}
            }
            let mut body = vec![0u8; len];
            read_exact(r, &mut body)?;
            stanzas.push(Stanza { kind, body });
        }
        if stanzas.len() > 1 && stanzas.iter().any(|s| s.kind == KIND_PASSPHRASE) {
            return Err(CryptoError::PassphraseNotAlone);
        }
        let mut nonce = [0u8; NONCE_LEN];
        read_exact(r, &mut nonce)?;
        let mut mac = [0u8; MAC_LEN];
        read_exact(r, &mut mac)?;
        Ok(Header {
            suite,
            stanzas,
            nonce,
            mac,
        })
    }

    /// The encoding of everything the MAC covers.
    fn mac_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            14 + NONCE_LEN + self.stanzas.iter().map(|s| 3 + s.body.len()).sum::<usize>(),
        );
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.suite.id());
        let count = u16::try_from(self.stanzas.len()).expect("stanza count is bounded");
        out.extend_from_slice(&count.to_be_bytes());
        for s in &self.stanzas {
            out.push(s.kind);
            let len = u16::try_from(s.body.len()).expect("stanza length is bounded");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&s.body);
        }
        out.extend_from_slice(&self.nonce);
        out
    }

    /// The header's canonical encoding, MAC included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.mac_input();
        out.extend_from_slice(&self.mac);
        out
    }

    /// Write the header's canonical encoding.
    pub fn write_to<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.to_bytes())
    }

    /// Check the stanza count bounds, then set the MAC for `file_key`.
    pub fn seal_mac(&mut self, file_key: &FileKey) -> Result<(), CryptoError> {
        self.mac = MAC.seal(file_key, self.stanzas.len(), &self.mac_input())?;
        Ok(())
    }

    /// Whether the MAC matches `file_key` (constant time).
    pub fn verify_mac(&self, file_key: &FileKey) -> bool {
        MAC.verify(file_key, &self.mac_input(), &self.mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testing::{check_mac, parse_inverts_serialise, patched};

    fn sample() -> Header {
        let mut h = Header {
            suite: Suite::Aes256Gcm,
            stanzas: vec![
                Stanza {
                    kind: KIND_X25519,
                    body: vec![1; X25519_BODY_LEN],
                },
                Stanza {
                    kind: 0x7f,
                    body: vec![2; 5],
                },
            ],
            nonce: [3; NONCE_LEN],
            mac: [0; MAC_LEN],
        };
        h.seal_mac(&FileKey::from_bytes(&[9; 32]).unwrap()).unwrap();
        h
    }

    #[test]
    fn parse_then_serialise_is_the_identity() {
        parse_inverts_serialise(
            &sample(),
            Header::to_bytes,
            |r| Header::read_from(r),
            b"payload",
        );
    }

    #[test]
    fn mac_catches_every_change() {
        let keys = [&[9; 32], &[8; 32]].map(|k| FileKey::from_bytes(k).unwrap());
        check_mac(&sample(), &keys);
    }

    #[test]
    fn strict_parsing() {
        let good = sample().to_bytes();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "not a vault file"),
            (b"hello world".to_vec(), "not a vault file"),
            (b"age-encryption.org/v1\n".to_vec(), "this is an age file"),
            (good[..5].to_vec(), "file is truncated"),
            (good[..good.len() - 1].to_vec(), "file is truncated"),
            (
                patched(&good, &[(8, 2)]),
                "unsupported vault format version 2",
            ),
            (patched(&good, &[(9, 9)]), "unknown cipher suite 9"),
            (patched(&good, &[(10, 0), (11, 0)]), "no recipient stanzas"),
            (patched(&good, &[(10, 0xff)]), "too many"),
            (patched(&good, &[(12, 0)]), "stanza kind 0"),
            (patched(&good, &[(14, 79)]), "wrong stanza length"),
        ];
        for (bytes, want) in cases {
            let err = Header::read_from(&mut &bytes[..]).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn passphrase_stanza_must_be_alone() {
        let mut h = sample();
        h.stanzas[1] = Stanza {
            kind: KIND_PASSPHRASE,
            body: vec![0; PASSPHRASE_BODY_LEN],
        };
        let err = Header::read_from(&mut &h.to_bytes()[..]).unwrap_err();
        assert!(matches!(err, CryptoError::PassphraseNotAlone));
    }
}
