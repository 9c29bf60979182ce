//! Pulling: opening an object's payload into a local output, serially or,
//! for a large object pulled to a regular file, over several connections.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use super::codec::payload_path;
use super::{Object, RemoteError, RemoteVault, parallel, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{CopyError, pipeline};

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

/// The payload key of `obj`, once its stored payload has the size its
/// metadata promises (checked before any byte is fetched).
fn payload_key_checked(obj: &Object) -> Result<PayloadKey, RemoteError> {
    if obj.stored_size != crate::crypto::stream::sealed_len(obj.meta.size) {
        return Err(RemoteError::BadObject(format!(
            "{:?}: the stored payload has the wrong size (damaged or modified)",
            obj.meta.name
        )));
    }
    Ok(payload_key(
        obj.header.suite,
        &obj.file_key,
        &obj.header.nonce,
    ))
}

impl RemoteVault {
    /// Open an object's payload into `out`. Fails (after writing the
    /// authenticated part) if it does not authenticate or its size does not
    /// match the metadata.
    pub fn pull(&mut self, obj: &Object, out: &mut dyn Write) -> Result<u64, RemoteError> {
        let key = payload_key_checked(obj)?;
        let r = self.t.read(&payload_path(&obj.id))?;
        let n = pipe::fetch_ahead(r, parallel::PULL_PIECE, |q| {
            pipeline::open_payload(key, q, out, super::push::SEAL_THREADS).map_err(|e| match e {
                CopyError::Read(e) => RemoteError::Io(e),
                CopyError::Write(e) => RemoteError::Io(e),
                CopyError::Crypto(e) => RemoteError::Crypto(e),
            })
        })?;
        if n != obj.meta.size {
            return Err(RemoteError::BadObject(format!(
                "{:?}: size does not match its metadata",
                obj.meta.name
            )));
        }
        Ok(n)
    }

    /// Open an object's payload into the regular file `out` (empty, written
    /// at offsets), over several connections if it is large.
    /// On failure `out` holds garbage: the caller discards it, and must
    /// only keep it after success. `progress` is called with each count of
    /// plaintext bytes written. Returns the bytes written.
    pub fn pull_to_file(
        &mut self,
        obj: &Object,
        out: &dyn PositionedOutput,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, RemoteError> {
        let k = self.fan_out(obj.meta.size);
        if k <= 1 {
            let mut w = ProgressWrite {
                inner: out,
                at: 0,
                progress,
            };
            return self.pull(obj, &mut w);
        }
        let key = payload_key_checked(obj)?;
        let path = payload_path(&obj.id);
        let conns = self.connections_for(k)?;
        parallel::pull(conns, &path, obj.meta.size, &key, out, progress)?;
        let n = out.size().map_err(RemoteError::Io)?;
        if n != obj.meta.size {
            return Err(RemoteError::BadObject(format!(
                "{:?}: size does not match its metadata",
                obj.meta.name
            )));
        }
        Ok(n)
    }
}

/// A positioned output written from its start, reporting progress.
struct ProgressWrite<'a> {
    inner: &'a dyn PositionedOutput,
    at: u64,
    progress: &'a (dyn Fn(u64) + Sync),
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
