//! Pushing: sealing a file into a new object.
//!
//! The payload goes first, visible at `objects/ID.p` only once complete
//! ([`crate::transport::Transport::put`], or a multi-part upload over
//! several connections for a large regular file); then the head. An object
//! exists for readers once its head exists, so an interrupted push leaves
//! nothing visible, and a rerun simply starts again (a payload without a
//! head is swept after an hour).

use std::fs::File;
use std::io::Read;

use rand_core::CryptoRng;

use super::codec::{self, head_path, names, payload_path};
use super::vault::now;
use super::{Metadata, RemoteError, RemoteVault, parallel, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{CopyError, Suite, X25519Recipient, as_recipients, pipeline};
use crate::transport::PutMode;

/// What to push: the plaintext source and its metadata.
pub struct PushSpec<'a> {
    /// Logical name.
    pub name: &'a str,
    /// Modification time of the source.
    pub mtime: u64,
    /// Payload suite.
    pub suite: Suite,
    /// Recipients (deduplicated, in order).
    pub recipients: &'a [X25519Recipient],
}

/// Sealing threads per connection. One: the network, not the AEAD (well
/// over 1 GB/s a core), bounds a transfer, and the second thread of
/// [`pipe::send_behind`] already overlaps sealing with sending; more
/// workers would only compete with the SSH cipher for the cores.
pub(super) const SEAL_THREADS: usize = 1;

impl RemoteVault {
    /// Put `bytes` (complete) at `path`, visible whole or not at all.
    pub(super) fn put_small(
        &mut self,
        path: &str,
        bytes: &[u8],
        mode: PutMode,
    ) -> Result<(), RemoteError> {
        let mut w = self.t.put(path, mode)?;
        w.write_all(bytes)?;
        w.finish()?;
        Ok(())
    }

    /// Seal `input` into a new object. Returns its id.
    pub fn push<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &mut dyn Read,
        spec: &PushSpec<'_>,
    ) -> Result<String, RemoteError> {
        self.push_with(rng, spec, &mut |v, path, key| {
            v.upload_serial(path, key, input, &|| Ok(()))
        })
    }

    /// Seal everything `input` yields under `key` into the new file `path`
    /// over this vault's own connection, sealing while sending. `unchanged`
    /// is called once the input is read, before the file becomes visible.
    fn upload_serial(
        &mut self,
        path: &str,
        key: PayloadKey,
        input: &mut dyn Read,
        unchanged: &dyn Fn() -> std::io::Result<()>,
    ) -> Result<u64, RemoteError> {
        let piece = self.t.properties().write_size;
        let w = self.t.put(path, PutMode::New)?;
        pipe::send_behind(w, piece, |q| {
            let n = match pipeline::seal_payload(key, input, q, SEAL_THREADS) {
                Ok((n, _)) => n,
                Err(CopyError::Read(e) | CopyError::Write(e)) => return Err(RemoteError::Io(e)),
                Err(CopyError::Crypto(e)) => return Err(RemoteError::Crypto(e)),
            };
            unchanged().map_err(RemoteError::Io)?;
            Ok(n)
        })
    }

    /// Seal the first `len` bytes of the regular file `input` into a new
    /// object, over several connections if it is large (see
    /// [`RemoteVault::set_connections`]). `progress` is called with each
    /// count of plaintext bytes sealed. `unchanged` is called once the
    /// payload is read and before it becomes visible: an error from it (the
    /// file changed while it was read) abandons the push.
    /// Returns the object's id.
    pub fn push_file<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &File,
        len: u64,
        spec: &PushSpec<'_>,
        progress: &(dyn Fn(u64) + Sync),
        unchanged: &dyn Fn() -> std::io::Result<()>,
    ) -> Result<String, RemoteError> {
        let k = self.fan_out(len);
        self.push_with(rng, spec, &mut |v, path, key| {
            if k <= 1 {
                let mut r = ProgressRead {
                    inner: Read::take(input, len),
                    progress,
                };
                return v.upload_serial(path, key, &mut r, unchanged);
            }
            // The upload exists before any connection writes its part.
            let up = v.t.begin_upload(path)?;
            let pushed = v.connections_for(k).and_then(|conns| {
                parallel::push(conns, &up, input, len, &key, progress)?;
                unchanged().map_err(RemoteError::Io)
            });
            match pushed {
                Ok(()) => {
                    let sealed = crate::crypto::stream::sealed_len(len);
                    v.t.finish_upload(up, sealed, PutMode::New)?;
                    Ok(len)
                }
                Err(e) => {
                    // Best effort: the connection may be gone; then a later
                    // push's sweep removes it.
                    v.t.abort_upload(up);
                    Err(e)
                }
            }
        })
    }

    /// The push protocol around `upload`, which puts the payload sealed
    /// under the given key at the given path (visible only once complete)
    /// and returns the plaintext size; then the head is written.
    fn push_with<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        spec: &PushSpec<'_>,
        upload: &mut dyn FnMut(&mut RemoteVault, &str, PayloadKey) -> Result<u64, RemoteError>,
    ) -> Result<String, RemoteError> {
        names::check(spec.name)?;
        let (header, file_key) =
            crate::crypto::file::new_header(rng, spec.suite, &as_recipients(spec.recipients))?;
        // Stanzas were deduplicated in order; record the same list.
        let mut recipients = Vec::new();
        for r in spec.recipients {
            if !recipients.contains(r) {
                recipients.push(*r);
            }
        }
        let id = codec::new_id(rng);
        let key = payload_key(spec.suite, &file_key, &header.nonce);
        let size = upload(self, &payload_path(&id), key)?;
        let meta = Metadata {
            name: spec.name.to_owned(),
            size,
            mtime: spec.mtime,
            created: now(),
            recipients,
        };
        let head = codec::head::build(rng, &header, &file_key, &meta);
        if let Err(e) = self.put_small(&head_path(&id), &head, PutMode::New) {
            let _ = self.t.remove(&payload_path(&id));
            return Err(e);
        }
        Ok(id)
    }
}

/// A reader that reports progress.
struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}
