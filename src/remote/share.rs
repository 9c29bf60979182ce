//! Changing who can open an object: rewriting its head (`share`,
//! `unshare`, and `mv`'s rename, through [`RemoteVault::rewrite_head`]) or
//! re-sealing its payload under a fresh file key ([`RemoteVault::rekey`]).

use rand_core::CryptoRng;

use super::codec::{self, head_path, payload_path};
use super::push::PushSpec;
use super::{Metadata, Object, RemoteError, RemoteVault, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::{Header, X25519Recipient, as_recipients};
use crate::transport::PutMode;

impl RemoteVault {
    /// Replace an object's head (new header and/or metadata) atomically;
    /// the payload is untouched. Returns the bytes written.
    pub fn rewrite_head<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        header: &Header,
        meta: &Metadata,
    ) -> Result<u64, RemoteError> {
        let head = codec::head::build(rng, header, &obj.file_key, meta);
        self.put_small(&head_path(&obj.id), &head, PutMode::Replace)?;
        Ok(head.len() as u64)
    }

    /// Add `recipients` to an object by rewriting only its head. Recipients
    /// it already has are skipped. Returns the ones added and the bytes
    /// written.
    pub fn share<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
    ) -> Result<(Vec<X25519Recipient>, u64), RemoteError> {
        let mut added = Vec::new();
        for r in recipients {
            if !obj.meta.recipients.contains(r) && !added.contains(r) {
                added.push(*r);
            }
        }
        if added.is_empty() {
            return Ok((added, 0));
        }
        let mut header = obj.header.clone();
        crate::crypto::file::share(rng, &mut header, &obj.file_key, &as_recipients(&added))?;
        let mut meta = obj.meta.clone();
        meta.recipients.extend_from_slice(&added);
        let written = self.rewrite_head(rng, obj, &header, &meta)?;
        Ok((added, written))
    }

    /// Remove `recipients`' stanzas from an object's head. This does not
    /// revoke anything they already have (see [`RemoteVault::rekey`]).
    /// Returns the bytes written.
    pub fn unshare<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
    ) -> Result<u64, RemoteError> {
        let indices: Vec<usize> = obj
            .meta
            .recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| recipients.contains(r))
            .map(|(i, _)| i)
            .collect();
        if indices.len() == obj.meta.recipients.len() {
            return Err(RemoteError::BadName(
                obj.meta.name.clone(),
                "removing every recipient would leave an object nobody can open; use rm".into(),
            ));
        }
        let mut header = obj.header.clone();
        crate::crypto::file::remove_stanzas(&mut header, &obj.file_key, &indices)?;
        let mut meta = obj.meta.clone();
        meta.recipients.retain(|r| !recipients.contains(r));
        self.rewrite_head(rng, obj, &header, &meta)
    }

    /// Re-seal an object under a fresh file key for `recipients` (a full
    /// re-upload through a second connection), then remove the old one.
    /// This is real revocation for future copies: whoever is left out
    /// cannot open the new version even with the old file key.
    pub fn rekey<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
    ) -> Result<String, RemoteError> {
        let mut reader_conn = self.t.reconnect()?;
        let key = payload_key(obj.header.suite, &obj.file_key, &obj.header.nonce);
        let raw = reader_conn.read(&payload_path(&obj.id))?;
        let mut src = pipe::ReadBridge::new(raw);
        let mut plain = crate::crypto::StreamReader::new(key, &mut src);
        let spec = PushSpec {
            name: &obj.meta.name,
            mtime: obj.meta.mtime,
            suite: obj.header.suite,
            recipients,
        };
        let pushed = self.push(rng, &mut plain, &spec);
        let class = plain.failure();
        drop(plain);
        let id = pushed.map_err(|e| match (e, src.take_error(), class) {
            // Reading the old payload failed: report the transport's error,
            // or its crypto class.
            (RemoteError::Io(_), Some(t), _) => RemoteError::Transport(t),
            (RemoteError::Io(_), None, Some(class)) => RemoteError::Crypto(class),
            (other, _, _) => other,
        })?;
        self.remove(obj)?;
        Ok(id)
    }
}
