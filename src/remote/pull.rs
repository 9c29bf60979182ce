//! Pulling: opening an object's payload into a local output: from its head
//! when the payload is inline (nothing more is read), else from
//! `objects/ID.p`, serially or, for a large object pulled to a regular
//! file, over several connections.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use super::codec::payload_path;
use super::listing::Opened;
use super::{RemoteError, RemoteVault, parallel, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::stream::sealed_len;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{CopyError, CryptoError, pipeline};
use crate::transport::Transport;

/// The local file a pull to a regular file writes: at offsets, from
/// several threads at once for a large object. What else a write does is
/// the caller's business (the command line starts disk writeback as the
/// file grows; the remote layer knows nothing of local disks).
pub trait PositionedOutput: Sync {
    /// Write all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The file's size now.
    fn size(&self) -> io::Result<u64>;
}

impl PositionedOutput for File {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

fn copy_error(e: CopyError) -> RemoteError {
    match e {
        CopyError::Read(e) | CopyError::Write(e) => RemoteError::Io(e),
        CopyError::Crypto(e) => RemoteError::Crypto(e),
    }
}

/// The payload key of `o`, once its stored payload has the size its
/// metadata promises (checked before any byte is fetched, when the size is
/// known).
fn payload_key_checked(o: &Opened) -> Result<PayloadKey, RemoteError> {
    let want = crate::crypto::stream::sealed_len(o.obj.meta.size);
    let stored = if o.obj.meta.inline {
        Some((o.head.len() - o.body_at) as u64)
    } else {
        o.obj.payload_size
    };
    match stored {
        Some(s) if s < want => {
            return Err(RemoteError::BadObject(format!(
                "{:?}: the stored payload is cut short ({s} of {want} bytes)",
                o.obj.meta.name
            )));
        }
        Some(s) if s > want => {
            return Err(RemoteError::BadObject(format!(
                "{:?}: the stored payload has unexpected data after its end ({s} bytes, not {want})",
                o.obj.meta.name
            )));
        }
        _ => {}
    }
    Ok(payload_key(o.header.suite, &o.file_key, &o.header.nonce))
}

fn size_matches(o: &Opened, n: u64) -> Result<u64, RemoteError> {
    if n != o.obj.meta.size {
        return Err(RemoteError::BadObject(format!(
            "{:?}: size does not match its metadata",
            o.obj.meta.name
        )));
    }
    Ok(n)
}

/// Open `o`'s payload into `out` over connection `t`. Fails (after writing
/// the authenticated part) if it does not authenticate or its size does
/// not match the metadata.
pub fn pull_on(t: &mut dyn Transport, o: &Opened, out: &mut dyn Write) -> Result<u64, RemoteError> {
    let key = payload_key_checked(o)?;
    if o.obj.meta.inline {
        let body = &o.head[o.body_at..];
        let n = pipeline::open_payload(key, body, out, 1).map_err(|e| {
            resolve_cut(
                copy_error(e),
                body.len() as u64,
                sealed_len(o.obj.meta.size),
            )
        })?;
        return size_matches(o, n);
    }
    let r = t.read(&payload_path(&o.obj.id))?;
    let want = sealed_len(o.obj.meta.size);
    let n = pipe::fetch_ahead(r, parallel::PULL_PIECE, |q| {
        let mut counted = Counted { inner: q, n: 0 };
        let res = pipeline::open_payload(key, &mut counted, out, super::push::SEAL_THREADS);
        res.map_err(|e| resolve_cut(copy_error(e), counted.n, want))
    })?;
    size_matches(o, n)
}

/// A short last chunk that fails (`CutOrDamaged`) is one or the other by
/// the size the authenticated metadata promises: the reader only calls a
/// chunk last once the input has ended, so `read` is the stored length.
fn resolve_cut(e: RemoteError, read: u64, want: u64) -> RemoteError {
    match e {
        RemoteError::Crypto(CryptoError::CutOrDamaged) if read < want => {
            RemoteError::Crypto(CryptoError::Truncated)
        }
        RemoteError::Crypto(CryptoError::CutOrDamaged) if read > want => {
            RemoteError::Crypto(CryptoError::TrailingData)
        }
        RemoteError::Crypto(CryptoError::CutOrDamaged) => {
            RemoteError::Crypto(CryptoError::DecryptFailed)
        }
        other => other,
    }
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

impl RemoteVault {
    /// Open an object's payload into `out`.
    pub fn pull(&mut self, o: &Opened, out: &mut dyn Write) -> Result<u64, RemoteError> {
        pull_on(self.t.as_mut(), o, out)
    }

    /// Open an object's payload into the regular file `out` (empty, written
    /// at offsets), over several connections if it is large.
    /// On failure `out` holds garbage: the caller discards it, and must
    /// only keep it after success. `progress` is called with each count of
    /// plaintext bytes written. Returns the bytes written.
    pub fn pull_to_file(
        &mut self,
        o: &Opened,
        out: &dyn PositionedOutput,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, RemoteError> {
        let k = if o.obj.meta.inline {
            1
        } else {
            self.fan_out(o.obj.meta.size)
        };
        if k <= 1 {
            let mut w = ProgressWrite {
                inner: out,
                at: 0,
                progress,
            };
            return self.pull(o, &mut w);
        }
        let key = payload_key_checked(o)?;
        let path = payload_path(&o.obj.id);
        let conns = self.connections_for(k)?;
        parallel::pull(conns, &path, o.obj.meta.size, &key, out, progress)?;
        let n = out.size().map_err(RemoteError::Io)?;
        size_matches(o, n)
    }
}

/// A positioned output written from its start, reporting progress.
pub struct ProgressWrite<'a> {
    /// Where the bytes go.
    pub inner: &'a dyn PositionedOutput,
    /// The next offset.
    pub at: u64,
    /// Told each count of bytes written.
    pub progress: &'a (dyn Fn(u64) + Sync),
}

impl Write for ProgressWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all_at(buf, self.at)?;
        self.at += buf.len() as u64;
        (self.progress)(buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
