//! An object's head: its vault header, its sealed metadata record (bound
//! to the header: the record's AEAD takes the header bytes as associated
//! data) and, for a small object, its payload.
//!
//! ```text
//! head = header || sealed record || [STREAM[payload key](plaintext), if inline]
//! ```
//!
//! [`open`] is what every reader of a head goes through (the listing, the
//! packs, the cache, the fuzz harness, the tests): the header is parsed
//! strictly, the file key unwrapped with the caller's identities, the
//! record opened and checked against the header and the file it came
//! from. For a version 2 record that means: the id and revision it was
//! sealed for are the ones the head is stored under, and each stanza is
//! exactly the one its recipient entry names ([`crate::crypto::bound`]).
//! A version 1 record (earlier vaults, at revision 0 only) has no binding:
//! its recipients are reported as unverified. [`build`] makes the bytes a
//! writer stores.
//!
//! A head that ends early is [`RemoteError::IncompleteHead`], not damage:
//! small heads are created in place (see `crate::remote`), so a reader can
//! meet one while it is being written.

use rand_core::CryptoRng;

use super::{Metadata, parse_recipient};
use crate::crypto::file::file_key_for;
use crate::crypto::header::KIND_PASSPHRASE;
use crate::crypto::stream::{CHUNK_SIZE, sealed_len};
use crate::crypto::{CryptoError, FileKey, Header, Identity, Recipient, bound, record};
use crate::remote::RemoteError;

/// Longest head a reader accepts.
pub const MAX_HEAD: u64 = 1 << 20;
/// Largest plaintext stored inline in its head: one STREAM chunk. A push of
/// a small file is then one file on the server (one create, one write, one
/// close), and a pull one read.
pub const INLINE_MAX: u64 = CHUNK_SIZE as u64;

/// A head that opened with one of the caller's identities.
pub struct OpenedHead {
    /// The parsed header.
    pub header: Header,
    /// The file key (secret).
    pub file_key: FileKey,
    /// The decrypted metadata.
    pub meta: Metadata,
    /// Where the inline payload starts in the head (header and record
    /// length).
    pub body_at: usize,
    /// How many recipient entries could not be checked against their
    /// stanza (a v1 record, or kinds this build cannot recompute).
    pub unverified: usize,
}

fn damaged(why: &str) -> RemoteError {
    RemoteError::BadObject(why.to_owned())
}

/// Parse head `bytes`, stored as revision `rev` of object `id`, and open it
/// with `ids`. `whole`: `bytes` is the entire head file (else a copy of its
/// start, from a pack, which may stop after the record). `Ok(None)`: the
/// object is not for these identities. Errors: [`RemoteError::IncompleteHead`]
/// when the bytes end before the head does; otherwise the head is damaged,
/// too large, or does not belong where it is stored.
pub fn open(
    bytes: &[u8],
    id: &str,
    rev: u64,
    whole: bool,
    ids: &[&dyn Identity],
) -> Result<Option<OpenedHead>, RemoteError> {
    if bytes.is_empty() {
        return Err(RemoteError::IncompleteHead);
    }
    if bytes.len() as u64 > MAX_HEAD {
        return Err(damaged("head is too large"));
    }
    let mut rest = bytes;
    let header = match Header::read_from(&mut rest) {
        Ok(h) => h,
        Err(CryptoError::Truncated) => return Err(RemoteError::IncompleteHead),
        Err(e) => return Err(e.into()),
    };
    if header.stanzas.iter().any(|s| s.kind == KIND_PASSPHRASE) {
        return Err(damaged("a head holds a passphrase stanza"));
    }
    let header_len = bytes.len() - rest.len();
    let header_bytes = &bytes[..header_len];
    let file_key = match file_key_for(&header, ids) {
        Ok(k) => k,
        Err(CryptoError::NoMatchingIdentity) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let record_len = record::sealed_len(rest).ok_or(RemoteError::IncompleteHead)?;
    if record_len > rest.len() {
        return Err(if record_len > record::MAX_SEALED {
            damaged("metadata is damaged or was modified")
        } else {
            RemoteError::IncompleteHead
        });
    }
    let (sealed, tail) = rest.split_at(record_len);
    let meta = Metadata::open(sealed, &file_key, header_bytes)?;
    let unverified = check_binding(&header, &file_key, &meta, id, rev)?;
    if meta.inline {
        if meta.size > INLINE_MAX {
            return Err(damaged("an inline payload is too large"));
        }
        let want = sealed_len(meta.size) as usize;
        let ok = tail.len() == want || (!whole && tail.is_empty());
        if !ok {
            return Err(if tail.len() < want {
                RemoteError::IncompleteHead
            } else {
                damaged("head has unexpected data after its end")
            });
        }
    } else if !tail.is_empty() {
        return Err(damaged("head has unexpected data after its end"));
    }
    Ok(Some(OpenedHead {
        header,
        file_key,
        meta,
        body_at: header_len + record_len,
        unverified,
    }))
}

/// Check that `meta` belongs to `header` and to where it is stored;
/// returns how many recipients could not be checked.
fn check_binding(
    header: &Header,
    file_key: &FileKey,
    meta: &Metadata,
    id: &str,
    rev: u64,
) -> Result<usize, RemoteError> {
    if meta.recipients.len() != header.stanzas.len() {
        return Err(damaged("metadata does not match the header's recipients"));
    }
    if meta.version == 1 {
        // Earlier vaults: only at the unnumbered path, and unbound.
        return if rev == 0 {
            Ok(meta.recipients.len())
        } else {
            Err(damaged("a version 1 head is stored as a numbered revision"))
        };
    }
    if meta.id != id || meta.rev != rev {
        return Err(damaged(
            "this head was sealed for another object or revision",
        ));
    }
    let parsed: Vec<Option<crate::crypto::AnyRecipient>> =
        meta.recipients.iter().map(|s| parse_recipient(s)).collect();
    let list: Vec<Option<&dyn Recipient>> = parsed
        .iter()
        .map(|r| r.as_deref().map(|r| r as &dyn Recipient))
        .collect();
    match bound::verify(header, file_key, &list) {
        Ok(bound::Unchecked::None) => Ok(0),
        Ok(bound::Unchecked::Some(n)) => Ok(n),
        Err(CryptoError::InvalidHeader(why)) => Err(damaged(why)),
        Err(e) => Err(e.into()),
    }
}

/// The bytes of a head: `header`, then `meta` sealed under `file_key` and
/// bound to the header's bytes, then `inline` (the sealed payload, exactly
/// when `meta.inline`).
pub fn build<R: CryptoRng + ?Sized>(
    rng: &mut R,
    header: &Header,
    file_key: &FileKey,
    meta: &Metadata,
    inline: Option<&[u8]>,
) -> Vec<u8> {
    assert_eq!(
        meta.inline,
        inline.is_some(),
        "inline flag and payload agree"
    );
    let mut head = header.to_bytes();
    let sealed = meta.seal(rng, file_key, &head);
    head.extend_from_slice(&sealed);
    if let Some(p) = inline {
        head.extend_from_slice(p);
    }
    head
}

/// The start of `head` that a pack keeps when the whole head is too big
/// to copy: the header and the sealed record. `None` if `head` does not
/// parse that far.
pub fn prefix_len(head: &[u8]) -> Option<usize> {
    let mut rest = head;
    Header::read_from(&mut rest).ok()?;
    let at = head.len() - rest.len();
    let n = at.checked_add(record::sealed_len(rest)?)?;
    (n <= head.len()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::header::NONCE_LEN;
    use crate::crypto::{Suite, X25519Identity, os_rng, pipeline};
    use crate::remote::codec::new_id;

    struct Made {
        alice: X25519Identity,
        bob: X25519Identity,
        id: String,
        head: Vec<u8>,
        header: Header,
        fk: FileKey,
        meta: Metadata,
    }

    fn make(inline: bool) -> Made {
        let mut rng = os_rng();
        let alice = X25519Identity::generate(&mut rng);
        let bob = X25519Identity::generate(&mut rng);
        let rs = [alice.recipient(), bob.recipient()];
        let fk = FileKey::generate(&mut rng, 32);
        let header = bound::header(
            Suite::ChaCha20Poly1305,
            &fk,
            [9; NONCE_LEN],
            &[&rs[0], &rs[1]],
        )
        .unwrap();
        let id = new_id(&mut rng);
        let data = b"small and inline";
        let meta = Metadata {
            version: 2,
            id: id.clone(),
            rev: 1,
            inline,
            name: "n".into(),
            size: data.len() as u64,
            mtime: 1,
            created: 2,
            sha256: Some([0; 32]),
            recipients: rs.iter().map(ToString::to_string).collect(),
        };
        let key = crate::crypto::file::payload_key(header.suite, &fk, &header.nonce);
        let (_, sealed) = pipeline::seal_payload(key, &mut &data[..], Vec::new(), 1).unwrap();
        let head = build(&mut rng, &header, &fk, &meta, inline.then_some(&sealed[..]));
        Made {
            alice,
            bob,
            id,
            head,
            header,
            fk,
            meta,
        }
    }

    #[test]
    fn opens_where_it_belongs_only() {
        let m = make(true);
        for who in [&m.alice, &m.bob] {
            let o = open(&m.head, &m.id, 1, true, &[who]).unwrap().unwrap();
            assert_eq!(o.meta, m.meta);
            assert_eq!(o.unverified, 0);
            assert_eq!(o.body_at, prefix_len(&m.head).unwrap());
        }
        let stranger = X25519Identity::generate(&mut os_rng());
        assert!(
            open(&m.head, &m.id, 1, true, &[&stranger])
                .unwrap()
                .is_none()
        );
        // Another id or revision: refused.
        let other = new_id(&mut os_rng());
        assert!(open(&m.head, &other, 1, true, &[&m.alice]).is_err());
        assert!(open(&m.head, &m.id, 2, true, &[&m.alice]).is_err());
        assert!(open(&m.head, &m.id, 0, true, &[&m.alice]).is_err());
        // A prefix is fine as a prefix, not as the whole file.
        let p = prefix_len(&m.head).unwrap();
        assert!(
            open(&m.head[..p], &m.id, 1, false, &[&m.alice])
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            open(&m.head[..p], &m.id, 1, true, &[&m.alice]),
            Err(RemoteError::IncompleteHead)
        ));
        // Cut anywhere: incomplete, never opened.
        for cut in [0, 1, 20, 150, p - 1, p + 1, m.head.len() - 1] {
            assert!(
                matches!(
                    open(&m.head[..cut], &m.id, 1, true, &[&m.alice]),
                    Err(RemoteError::IncompleteHead) | Err(RemoteError::Crypto(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = m.head.clone();
        long.push(0);
        assert!(matches!(
            open(&long, &m.id, 1, true, &[&m.alice]),
            Err(RemoteError::BadObject(_))
        ));
    }

    #[test]
    fn a_list_that_lies_about_the_stanzas_is_refused() {
        let m = make(false);
        // A co-recipient (who holds the file key) swaps the two entries.
        let mut meta = m.meta.clone();
        meta.recipients.swap(0, 1);
        let forged = build(&mut os_rng(), &m.header, &m.fk, &meta, None);
        assert!(open(&forged, &m.id, 1, true, &[&m.alice]).is_err());
        // ... or names someone else for bob's stanza.
        let mut meta = m.meta.clone();
        meta.recipients[1] = X25519Identity::generate(&mut os_rng())
            .recipient()
            .to_string();
        let forged = build(&mut os_rng(), &m.header, &m.fk, &meta, None);
        assert!(open(&forged, &m.id, 1, true, &[&m.alice]).is_err());
        // An honest rewrite opens.
        let honest = build(&mut os_rng(), &m.header, &m.fk, &m.meta, None);
        assert!(open(&honest, &m.id, 1, true, &[&m.bob]).unwrap().is_some());
    }
}
