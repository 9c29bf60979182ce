//! An object's head: its vault header followed by its sealed metadata
//! record, bound to each other (the record's AEAD takes the header bytes as
//! associated data) and to one file key.
//!
//! [`open`] is what every reader of a head goes through (the listing, the
//! fuzz harness, the tests): the header is parsed strictly, the file key
//! unwrapped with the caller's identities, the record opened and checked
//! against the header (one recorded recipient per stanza). [`build`] makes
//! the bytes a writer stores.

use rand_core::CryptoRng;

use super::Metadata;
use crate::crypto::file::file_key_for;
use crate::crypto::{CryptoError, FileKey, Header, Identity};
use crate::remote::RemoteError;

/// Longest head a reader accepts.
pub const MAX_HEAD: u64 = 256 * 1024;

/// A head that opened with one of the caller's identities.
pub struct OpenedHead {
    /// The parsed header.
    pub header: Header,
    /// The file key (secret).
    pub file_key: FileKey,
    /// The decrypted metadata.
    pub meta: Metadata,
}

/// Parse a head and open it with `ids`. `Ok(None)` means the object is not
/// for these identities; an error means the head is damaged, too large, or
/// its record does not match its header.
pub fn open(head: &[u8], ids: &[&dyn Identity]) -> Result<Option<OpenedHead>, RemoteError> {
    if head.len() as u64 > MAX_HEAD {
        return Err(RemoteError::BadObject("head is too large".into()));
    }
    let mut rest = head;
    let header = Header::read_from(&mut rest)?;
    let header_bytes = &head[..head.len() - rest.len()];
    let file_key = match file_key_for(&header, ids) {
        Ok(k) => k,
        Err(CryptoError::NoMatchingIdentity) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let meta = Metadata::open(rest, &file_key, header_bytes)?;
    if meta.recipients.len() != header.stanzas.len() {
        return Err(RemoteError::BadObject(
            "metadata does not match the header's recipients".into(),
        ));
    }
    Ok(Some(OpenedHead {
        header,
        file_key,
        meta,
    }))
}

/// The bytes of a head: `header`, then `meta` sealed under `file_key` and
/// bound to the header's bytes.
pub fn build<R: CryptoRng + ?Sized>(
    rng: &mut R,
    header: &Header,
    file_key: &FileKey,
    meta: &Metadata,
) -> Vec<u8> {
    let mut head = header.to_bytes();
    let sealed = meta.seal(rng, file_key, &head);
    head.extend_from_slice(&sealed);
    head
}
