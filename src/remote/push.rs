//! Pushing: sealing a file into a new object.
//!
//! A small file (at most [`INLINE_MAX`] bytes, one STREAM chunk) becomes one
//! file on the server, its head with the payload inside, created in place
//! with an exclusive create: one create, one write, one close, so a folder
//! of small files costs about three round trips per file per connection. A
//! reader that meets the head while it is being written sees an incomplete
//! head and skips it ([`RemoteError::IncompleteHead`]).
//!
//! A larger file's payload goes first, to `objects/ID.p` (created in place
//! and synced, or a multi-part upload over several connections for a large
//! regular file); then its head. An object exists for readers once its
//! head is complete, so an interrupted push leaves nothing visible, and a
//! rerun simply starts again (what it left is swept after an hour).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};

use super::cache::Known;
use super::codec::{self, INLINE_MAX, head_path, names, payload_path};
use super::listing::Object;
use super::vault::now;
use super::{Metadata, RemoteError, RemoteVault, parallel, pipe};
use crate::crypto::file::{FILE_KEY_LEN, payload_key};
use crate::crypto::header::NONCE_LEN;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{
    CopyError, FileKey, Header, Recipient, StreamWriter, Suite, bound, os_rng, pipeline,
};
use crate::transport::{PutMode, Transport};

/// What to push: the metadata of the new object.
pub struct PushSpec<'a> {
    /// Logical name.
    pub name: &'a str,
    /// Modification time of the source.
    pub mtime: u64,
    /// Payload suite.
    pub suite: Suite,
    /// Recipients, in order (repeats are removed).
    pub recipients: &'a [&'a (dyn Recipient + Sync)],
}

/// Sealing threads per connection. One: the network, not the AEAD (well
/// over 1 GB/s a core), bounds a transfer, and the second thread of
/// [`pipe::send_behind`] already overlaps sealing with sending; more
/// workers would only compete with the SSH cipher for the cores.
pub(super) const SEAL_THREADS: usize = 1;

/// A pushed object: what a listing will show, and its head's bytes.
pub struct Pushed {
    /// The new object.
    pub obj: Object,
    /// Its head file.
    pub head: Vec<u8>,
}

/// A new object's header and keys, before anything is written.
pub(super) struct Fresh {
    pub header: Header,
    pub file_key: FileKey,
    pub id: String,
    pub recipients: Vec<String>,
}

impl Fresh {
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        spec: &PushSpec<'_>,
    ) -> Result<Fresh, RemoteError> {
        names::check(spec.name)?;
        let mut list: Vec<&dyn Recipient> = Vec::new();
        let mut strings: Vec<String> = Vec::new();
        for r in spec.recipients {
            let s = r.to_string();
            if !strings.contains(&s) {
                strings.push(s);
                list.push(*r);
            }
        }
        let file_key = FileKey::generate(rng, FILE_KEY_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let header = bound::header(spec.suite, &file_key, nonce, &list)?;
        Ok(Fresh {
            header,
            file_key,
            id: codec::new_id(rng),
            recipients: strings,
        })
    }

    pub fn key(&self) -> PayloadKey {
        payload_key(self.header.suite, &self.file_key, &self.header.nonce)
    }

    fn meta(&self, spec: &PushSpec<'_>, size: u64, sha: [u8; 32], inline: bool) -> Metadata {
        Metadata {
            version: 2,
            id: self.id.clone(),
            rev: 1,
            inline,
            name: spec.name.to_owned(),
            size,
            mtime: spec.mtime,
            created: now(),
            sha256: Some(sha),
            recipients: self.recipients.clone(),
        }
    }

    /// Write the head (revision 1) in place and describe the object.
    fn finish(
        self,
        t: &mut dyn Transport,
        meta: Metadata,
        inline: Option<&[u8]>,
        payload_size: Option<u64>,
    ) -> Result<Pushed, RemoteError> {
        meta.check()?;
        let head = codec::head::build(&mut os_rng(), &self.header, &self.file_key, &meta, inline);
        let mut w = t.create(&head_path(&self.id, 1), false)?;
        w.write_all(&head)?;
        w.finish()?;
        Ok(Pushed {
            obj: Object {
                id: self.id,
                rev: 1,
                head_size: head.len() as u64,
                payload_size,
                suite: self.header.suite,
                meta,
                unverified: 0,
            },
            head,
        })
    }
}

/// Seal `data` (at most [`INLINE_MAX`] bytes) into a new object whose
/// payload is inside its head, on connection `t`.
pub fn push_small<R: CryptoRng + ?Sized>(
    t: &mut dyn Transport,
    rng: &mut R,
    data: &[u8],
    spec: &PushSpec<'_>,
) -> Result<Pushed, RemoteError> {
    assert!(data.len() as u64 <= INLINE_MAX, "a small payload");
    let fresh = Fresh::new(rng, spec)?;
    let mut w = StreamWriter::new(fresh.key(), Vec::with_capacity(data.len() + 16));
    io::Write::write_all(&mut w, data).map_err(RemoteError::Io)?;
    let sealed = w.finish().map_err(RemoteError::Io)?;
    let sha: [u8; 32] = Sha256::digest(data).into();
    let meta = fresh.meta(spec, data.len() as u64, sha, true);
    fresh.finish(t, meta, Some(&sealed), None)
}

/// Seal everything `input` yields into a new object on connection `t`:
/// inline if it turns out small, else payload then head, sealing while
/// sending. `unchanged` is called once the input is read, before the
/// object becomes visible (an error abandons the push).
pub fn push_stream<R: CryptoRng + ?Sized>(
    t: &mut dyn Transport,
    rng: &mut R,
    input: &mut dyn Read,
    spec: &PushSpec<'_>,
    unchanged: &dyn Fn() -> io::Result<()>,
) -> Result<Pushed, RemoteError> {
    // Read up to one chunk and a byte: a small input goes inline.
    let mut first = Vec::with_capacity(INLINE_MAX as usize + 1);
    input
        .take(INLINE_MAX + 1)
        .read_to_end(&mut first)
        .map_err(RemoteError::Io)?;
    if first.len() as u64 <= INLINE_MAX {
        unchanged().map_err(RemoteError::Io)?;
        return push_small(t, rng, &first, spec);
    }
    let fresh = Fresh::new(rng, spec)?;
    let mut hasher = Hashing {
        inner: io::Cursor::new(first).chain(input),
        hash: Sha256::new(),
    };
    let piece = t.properties().write_size;
    let path = payload_path(&fresh.id);
    let size = {
        let w = t.create(&path, true)?;
        pipe::send_behind(w, piece, |q| {
            let n = match pipeline::seal_payload(fresh.key(), &mut hasher, q, SEAL_THREADS) {
                Ok((n, _)) => n,
                Err(CopyError::Read(e) | CopyError::Write(e)) => return Err(RemoteError::Io(e)),
                Err(CopyError::Crypto(e)) => return Err(RemoteError::Crypto(e)),
            };
            unchanged().map_err(RemoteError::Io)?;
            Ok(n)
        })?
    };
    let sha: [u8; 32] = hasher.hash.finalize().into();
    let meta = fresh.meta(spec, size, sha, false);
    let sealed = crate::crypto::stream::sealed_len(size);
    fresh.finish(t, meta, None, Some(sealed)).inspect_err(|_| {
        let _ = t.remove(&path);
    })
}

/// A reader that hashes what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

impl RemoteVault {
    /// Note a pushed object in the cache.
    pub(super) fn remember(&mut self, p: &Pushed) {
        if let Some(c) = self.cache.as_mut() {
            c.put_head(&p.obj.id, p.obj.rev, &p.head);
            c.insert(
                &p.obj.id,
                p.obj.rev,
                Known::Mine(std::sync::Arc::new(p.obj.clone())),
            );
            c.forget_snapshot();
        }
    }

    /// Seal `input` into a new object. Returns it.
    pub fn push<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &mut dyn Read,
        spec: &PushSpec<'_>,
    ) -> Result<Object, RemoteError> {
        let p = push_stream(self.t.as_mut(), rng, input, spec, &|| Ok(()))?;
        self.remember(&p);
        Ok(p.obj)
    }

    /// Seal the first `len` bytes of the regular file `input` into a new
    /// object, over several connections if it is large (see
    /// [`RemoteVault::set_connections`]). `progress` is called with each
    /// count of plaintext bytes sealed. `unchanged` is called once the
    /// payload is read and before it becomes visible: an error from it (the
    /// file changed while it was read) abandons the push.
    pub fn push_file<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &File,
        len: u64,
        spec: &PushSpec<'_>,
        progress: &(dyn Fn(u64) + Sync),
        unchanged: &dyn Fn() -> io::Result<()>,
    ) -> Result<Object, RemoteError> {
        let k = self.fan_out(len);
        let p = if k <= 1 {
            let mut r = ProgressRead {
                inner: Read::take(input, len),
                progress,
            };
            push_stream(self.t.as_mut(), rng, &mut r, spec, unchanged)?
        } else {
            self.push_parallel(rng, input, len, spec, k, progress, unchanged)?
        };
        self.remember(&p);
        Ok(p.obj)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_parallel<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &File,
        len: u64,
        spec: &PushSpec<'_>,
        k: usize,
        progress: &(dyn Fn(u64) + Sync),
        unchanged: &dyn Fn() -> io::Result<()>,
    ) -> Result<Pushed, RemoteError> {
        let fresh = Fresh::new(rng, spec)?;
        let path = payload_path(&fresh.id);
        let key = fresh.key();
        // The upload exists before any connection writes its part.
        let up = self.t.begin_upload(&path)?;
        let hashed = std::thread::scope(|s| {
            // The content hash is sequential: one more reader of the file,
            // beside the connections.
            let hasher = s.spawn(|| hash_file(input, len));
            let pushed = self.connections_for(k).and_then(|conns| {
                parallel::push(conns, &up, input, len, &key, progress)?;
                unchanged().map_err(RemoteError::Io)
            });
            let sha = hasher
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
                .map_err(RemoteError::Io);
            pushed.and(sha)
        });
        let sha = match hashed {
            Ok(sha) => sha,
            Err(e) => {
                // Best effort: the connection may be gone; then a later
                // push's sweep removes it.
                self.t.abort_upload(up);
                return Err(e);
            }
        };
        let sealed = crate::crypto::stream::sealed_len(len);
        self.t.finish_upload(up, sealed, PutMode::New)?;
        let meta = fresh.meta(spec, len, sha, false);
        fresh
            .finish(self.t.as_mut(), meta, None, Some(sealed))
            .inspect_err(|_| {
                let _ = self.t.remove(&path);
            })
    }
}

/// SHA-256 of the first `len` bytes of `f`, read at offsets.
fn hash_file(f: &File, len: u64) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let want = buf.len().min((len - at) as usize);
        let n = f.read_at(&mut buf[..want], at)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read",
            ));
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(h.finalize().into())
}

/// A reader that reports progress.
pub(super) struct ProgressRead<'a, R> {
    pub inner: R,
    pub progress: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}
