//! The sealed metadata record of a remote object: its name, size, times,
//! content hash, who it is sealed to, and (from version 2) which head it
//! belongs to.
//!
//! ```text
//! record v2 = 02 || id (16) || rev (u64)
//!             || flags (u8: bit 0 = payload inline, bit 1 = content hash known)
//!             || name len (u16) || name (UTF-8)
//!             || size (u64) || mtime (u64) || created (u64)
//!             || SHA-256 of the plaintext (32; zero when not known)
//!             || recipient count (u16) || per recipient: len (u16) || public string
//!             || zero padding to a multiple of 256 bytes
//! record v1 = 01 || name len (u16) || name || size || mtime || created
//!             || recipient count (u16) || 32-byte X25519 keys || padding
//! sealed    = crate::crypto::record::seal(file key, aad = header bytes, record)
//! ```
//!
//! Version 2 names each recipient by its public string (what `-r` takes:
//! `age1...`, and the other kinds as the crypto layer learns them), in the
//! order of the header's stanzas, whose bytes a reader recomputes from it
//! ([`crate::crypto::bound`]); binds the record to the object id and head
//! revision it is stored under; and carries the plaintext's SHA-256 for
//! `push --checksum`. Version 1 (earlier vaults) is still read.
//!
//! The sealing itself (a fresh salt per write, the header bytes as AAD) is
//! [`crate::crypto::record`]'s. Padding hides the length of the name.

use rand_core::CryptoRng;

use crate::crypto::{FileKey, X25519Recipient, record};

use crate::remote::RemoteError;

const V1: u8 = 1;
const V2: u8 = 2;
const PAD: usize = 256;
/// Longest object name, in bytes.
pub const MAX_NAME: usize = 1024;
/// Longest recipient string, in bytes.
pub const MAX_RECIPIENT: usize = 4096;
/// Most recipients recorded (as many as a header may hold).
const MAX_RECIPIENTS: usize = crate::crypto::header::MAX_STANZAS;
/// Flag: the payload follows the record in the head file.
const FLAG_INLINE: u8 = 1;
/// Flag: the content hash is known (every push; not an object of an
/// earlier vault rewritten since).
const FLAG_HASH: u8 = 2;

/// What the server must not see about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The record's version: 2 for everything written now, 1 for objects
    /// of earlier vaults (which have no id, revision, hash or inline flag).
    pub version: u8,
    /// The object id the record was sealed for (32 hex digits; empty in v1).
    pub id: String,
    /// The head revision the record was sealed for (0 in v1).
    pub rev: u64,
    /// Whether the payload is stored in the head file, after the record.
    pub inline: bool,
    /// The logical name, `/`-separated.
    pub name: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The source file's modification time (Unix seconds).
    pub mtime: u64,
    /// When the object was pushed (Unix seconds).
    pub created: u64,
    /// SHA-256 of the plaintext (`None` in v1, and in v2 heads rewritten
    /// from v1 ones).
    pub sha256: Option<[u8; 32]>,
    /// The recipients' public strings, in the order of the header's stanzas.
    pub recipients: Vec<String>,
}

fn id_bytes(id: &str) -> Option<[u8; 16]> {
    if !super::is_id(id) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&id[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Whether `s` may be recorded as a recipient string.
fn recipient_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_RECIPIENT && !s.chars().any(char::is_control)
}

impl Metadata {
    /// The padded plaintext record (also used by `crate::fuzzing` and the
    /// vector generator). Panics on fields no reader would accept back
    /// (the writers check them first).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.name.len() + 64 * self.recipients.len());
        out.push(self.version);
        if self.version == V2 {
            out.extend_from_slice(&id_bytes(&self.id).expect("a v2 record has an id"));
            out.extend_from_slice(&self.rev.to_be_bytes());
            let mut flags = 0;
            if self.inline {
                flags |= FLAG_INLINE;
            }
            if self.sha256.is_some() {
                flags |= FLAG_HASH;
            }
            out.push(flags);
        } else {
            assert_eq!(self.version, V1, "records are v1 or v2");
        }
        let name_len = u16::try_from(self.name.len()).expect("names are bounded");
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(self.name.as_bytes());
        for v in [self.size, self.mtime, self.created] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        if self.version == V2 {
            out.extend_from_slice(&self.sha256.unwrap_or([0; 32]));
        }
        let count = u16::try_from(self.recipients.len()).expect("recipients are bounded");
        out.extend_from_slice(&count.to_be_bytes());
        for r in &self.recipients {
            if self.version == V2 {
                let len = u16::try_from(r.len()).expect("recipient strings are bounded");
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(r.as_bytes());
            } else {
                let key: X25519Recipient = r.parse().expect("a v1 record holds X25519 keys");
                out.extend_from_slice(&key.to_bytes());
            }
        }
        out.resize(out.len().div_ceil(PAD) * PAD, 0);
        out
    }

    /// Parse a decrypted record, strictly (also used by `crate::fuzzing`).
    pub(crate) fn decode(b: &[u8]) -> Option<Metadata> {
        let mut r = Cursor { b, at: 0 };
        let version = r.take(1)?[0];
        let (mut id, mut rev, mut inline, mut hashed) = (String::new(), 0, false, false);
        match version {
            V1 => {}
            V2 => {
                id = r.take(16)?.iter().map(|x| format!("{x:02x}")).collect();
                rev = r.u64()?;
                let flags = r.take(1)?[0];
                if flags & !(FLAG_INLINE | FLAG_HASH) != 0 || rev == 0 {
                    return None;
                }
                inline = flags & FLAG_INLINE != 0;
                hashed = flags & FLAG_HASH != 0;
            }
            _ => return None,
        }
        let name_len = usize::from(r.u16()?);
        if name_len > MAX_NAME {
            return None;
        }
        let name = String::from_utf8(r.take(name_len)?.to_vec()).ok()?;
        let (size, mtime, created) = (r.u64()?, r.u64()?, r.u64()?);
        let sha256 = if version == V2 {
            let h: [u8; 32] = r.take(32)?.try_into().ok()?;
            if !hashed && h != [0; 32] {
                return None;
            }
            hashed.then_some(h)
        } else {
            None
        };
        let count = usize::from(r.u16()?);
        if count > MAX_RECIPIENTS {
            return None;
        }
        let mut recipients: Vec<String> = Vec::with_capacity(count);
        for _ in 0..count {
            let s = if version == V2 {
                let len = usize::from(r.u16()?);
                let s = String::from_utf8(r.take(len)?.to_vec()).ok()?;
                if !recipient_ok(&s) {
                    return None;
                }
                s
            } else {
                let k: [u8; 32] = r.take(32)?.try_into().ok()?;
                // Only keys some key pair has: the same rule as every other
                // place a public key is read.
                if crate::crypto::x25519::non_canonical(&k).is_some() {
                    return None;
                }
                X25519Recipient::from_bytes(k).to_string()
            };
            if version == V2 && recipients.contains(&s) {
                return None;
            }
            recipients.push(s);
        }
        // Canonical: only zero padding, and no more than needed.
        let rest = &b[r.at..];
        if rest.iter().any(|&x| x != 0) || !b.len().is_multiple_of(PAD) || rest.len() >= PAD {
            return None;
        }
        Some(Metadata {
            version,
            id,
            rev,
            inline,
            name,
            size,
            mtime,
            created,
            sha256,
            recipients,
        })
    }

    /// Check what [`Metadata::encode`] would panic on, with a message.
    pub fn check(&self) -> Result<(), RemoteError> {
        let bad = |why: &str| Err(RemoteError::BadObject(format!("cannot record this: {why}")));
        if self.version != V2 || id_bytes(&self.id).is_none() || self.rev == 0 {
            return bad("a new record is v2, with an id and a revision");
        }
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            return bad("1 to 1024 recipients");
        }
        for (i, r) in self.recipients.iter().enumerate() {
            if !recipient_ok(r) || self.recipients[..i].contains(r) {
                return bad("a recipient string is empty, too long, odd or repeated");
            }
        }
        super::names::check(&self.name)
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

    pub(crate) fn sample() -> Metadata {
        Metadata {
            version: V2,
            id: "0123456789abcdef0123456789abcdef".into(),
            rev: 3,
            inline: true,
            name: "reports/2026 Q3 — final.pdf".into(),
            size: 123_456,
            mtime: 1_700_000_000,
            created: 1_700_000_100,
            sha256: Some([5; 32]),
            recipients: vec![
                X25519Identity::generate(&mut os_rng())
                    .recipient()
                    .to_string(),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5vdCBhIHJlYWwga2V5IGF0IGFsbCBub3Bl".into(),
            ],
        }
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let fk = FileKey::generate(&mut os_rng(), 32);
        let m = sample();
        m.check().unwrap();
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
    fn v1_records_still_decode() {
        let mut m = sample();
        m.version = V1;
        m.id = String::new();
        m.rev = 0;
        m.inline = false;
        m.sha256 = None;
        m.recipients.truncate(1);
        let enc = m.encode();
        assert_eq!(Metadata::decode(&enc).unwrap(), m);
        assert!(m.check().is_err(), "nothing new is written as v1");
    }

    #[test]
    fn name_length_is_hidden_by_padding() {
        let fk = FileKey::generate(&mut os_rng(), 32);
        let mut a = sample();
        a.recipients.truncate(1);
        a.name = "a".into();
        let mut b = a.clone();
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
        let mut flags = enc.clone();
        flags[1 + 16 + 8] |= 4;
        assert!(Metadata::decode(&flags).is_none(), "unknown flag");
        let mut rev0 = enc.clone();
        rev0[1 + 16..1 + 16 + 8].fill(0);
        assert!(Metadata::decode(&rev0).is_none(), "revision 0 in v2");
        let mut twice = sample();
        twice.recipients[1] = twice.recipients[0].clone();
        assert!(
            Metadata::decode(&twice.encode()).is_none(),
            "a repeated recipient"
        );
        assert!(twice.check().is_err());
    }
}
