//! The sealed metadata record of a remote object: its name, size and times,
//! and who it is sealed to.
//!
//! ```text
//! record    = version (01) || name len (u16) || name (UTF-8)
//!             || size (u64) || mtime (u64) || created (u64)
//!             || recipient count (u16) || 32-byte public keys, in stanza order
//!             || zero padding to a multiple of 256 bytes
//! sealed    = crate::crypto::record::seal(file key, aad = header bytes, record)
//! ```
//!
//! The sealing itself (a fresh salt per write, the header bytes as AAD) is
//! [`crate::crypto::record`]'s. Padding hides the length of the name. The recipient list is what lets an
//! owner remove one recipient's stanza later: a stanza alone does not say
//! whom it is for.

use rand_core::CryptoRng;

use crate::crypto::{FileKey, X25519Recipient, record};

use crate::remote::RemoteError;

const VERSION: u8 = 1;
const PAD: usize = 256;
/// Longest object name, in bytes.
pub const MAX_NAME: usize = 1024;
/// Most recipients recorded (as many as a header may hold).
const MAX_RECIPIENTS: usize = crate::crypto::header::MAX_STANZAS;

/// What the server must not see about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The logical name, `/`-separated.
    pub name: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The source file's modification time (Unix seconds).
    pub mtime: u64,
    /// When the object was pushed (Unix seconds).
    pub created: u64,
    /// The recipients, in the order of the header's stanzas.
    pub recipients: Vec<X25519Recipient>,
}

impl Metadata {
    /// The padded plaintext record (also used by `crate::fuzzing`).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.name.len() + 32 * self.recipients.len());
        out.push(VERSION);
        let name_len = u16::try_from(self.name.len()).expect("names are bounded");
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(self.name.as_bytes());
        for v in [self.size, self.mtime, self.created] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        let count = u16::try_from(self.recipients.len()).expect("recipients are bounded");
        out.extend_from_slice(&count.to_be_bytes());
        for r in &self.recipients {
            out.extend_from_slice(&r.to_bytes());
        }
        out.resize(out.len().div_ceil(PAD) * PAD, 0);
        out
    }

    /// Parse a decrypted record, strictly (also used by `crate::fuzzing`).
    pub(crate) fn decode(b: &[u8]) -> Option<Metadata> {
        let mut r = Cursor { b, at: 0 };
        if r.take(1)?[0] != VERSION {
            return None;
        }
        let name_len = usize::from(r.u16()?);
        if name_len > MAX_NAME {
            return None;
        }
        let name = String::from_utf8(r.take(name_len)?.to_vec()).ok()?;
        let (size, mtime, created) = (r.u64()?, r.u64()?, r.u64()?);
        let count = usize::from(r.u16()?);
        if count > MAX_RECIPIENTS {
            return None;
        }
        let mut recipients = Vec::with_capacity(count);
        for _ in 0..count {
            let k: [u8; 32] = r.take(32)?.try_into().ok()?;
            recipients.push(X25519Recipient::from_bytes(k));
        }
        // Canonical: only zero padding, and no more than needed.
        let rest = &b[r.at..];
        if rest.iter().any(|&x| x != 0) || !b.len().is_multiple_of(PAD) || rest.len() >= PAD {
            return None;
        }
        Some(Metadata {
            name,
            size,
            mtime,
            created,
            recipients,
        })
    }

    /// Seal this record for an object with `file_key` and header bytes
    /// `header` (see [`crate::crypto::record`]).
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        file_key: &FileKey,
        header: &[u8],
    ) -> Vec<u8> {
        record::seal(
            rng,
            file_key,
            header,
            &zeroize::Zeroizing::new(self.encode()),
        )
    }

    /// Open a sealed record (all of `sealed`, nothing after it).
    pub fn open(sealed: &[u8], file_key: &FileKey, header: &[u8]) -> Result<Metadata, RemoteError> {
        let bad = || RemoteError::BadObject("metadata is damaged or was modified".into());
        let body = record::open(sealed, file_key, header).ok_or_else(bad)?;
        Metadata::decode(&body).ok_or_else(bad)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{X25519Identity, os_rng};

    fn sample() -> Metadata {
        Metadata {
            name: "reports/2026 Q3 — final.pdf".into(),
            size: 123_456,
            mtime: 1_700_000_000,
            created: 1_700_000_100,
            recipients: vec![X25519Identity::generate(&mut os_rng()).recipient()],
        }
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let fk = FileKey::generate(&mut os_rng(), 32);
        let m = sample();
        let sealed = m.seal(&mut os_rng(), &fk, b"header A");
        assert_eq!(Metadata::open(&sealed, &fk, b"header A").unwrap(), m);
        assert!(Metadata::open(&sealed, &fk, b"header B").is_err());
        let other = FileKey::generate(&mut os_rng(), 32);
        assert!(Metadata::open(&sealed, &other, b"header A").is_err());
        for i in 0..sealed.len() {
            let mut b = sealed.clone();
            b[i] ^= 1;
            assert!(Metadata::open(&b, &fk, b"header A").is_err(), "byte {i}");
        }
        // Two seals of the same record differ (fresh salt).
        assert_ne!(sealed, m.seal(&mut os_rng(), &fk, b"header A"));
    }

    #[test]
    fn name_length_is_hidden_by_padding() {
        let fk = FileKey::generate(&mut os_rng(), 32);
        let mut a = sample();
        a.name = "a".into();
        let mut b = sample();
        b.name = "a much longer name of a secret project".into();
        let la = a.seal(&mut os_rng(), &fk, b"").len();
        let lb = b.seal(&mut os_rng(), &fk, b"").len();
        assert_eq!(la, lb);
    }

    #[test]
    fn decode_is_strict() {
        let enc = sample().encode();
        assert!(Metadata::decode(&enc).is_some());
        let mut bad = enc.clone();
        *bad.last_mut().unwrap() = 1;
        assert!(Metadata::decode(&bad).is_none(), "non-zero padding");
        let mut long = enc.clone();
        long.extend_from_slice(&[0; PAD]);
        assert!(Metadata::decode(&long).is_none(), "excess padding");
        assert!(Metadata::decode(&enc[..enc.len() - 1]).is_none());
    }
}
