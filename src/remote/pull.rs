//! Pulling: opening an object's payload into a local output, serially or,
//! for a large object pulled to a regular file, over several connections.

use std::fs::File;
use std::io::Write;

use super::codec::payload_path;
use super::{Object, RemoteError, RemoteVault, parallel, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{CopyError, pipeline};

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
    pub fn pull(
        &mut self,
        obj: &Object,
        out: &mut dyn Write,
        threads: usize,
    ) -> Result<u64, RemoteError> {
        let key = payload_key_checked(obj)?;
        let r = self.t.read(&payload_path(&obj.id))?;
        let n = pipe::fetch_ahead(r, parallel::PULL_PIECE, |q| {
            pipeline::open_payload(key, q, out, threads).map_err(|e| match e {
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
    /// with positioned writes), over several connections if it is large.
    /// On failure `out` holds garbage: the caller discards it, and must
    /// only keep it after success. `progress` is called with each count of
    /// plaintext bytes written. Returns the bytes written.
    pub fn pull_to_file(
        &mut self,
        obj: &Object,
        out: &File,
        threads: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, RemoteError> {
        let k = self.fan_out(obj.meta.size);
        if k <= 1 {
            let mut w = ProgressWrite {
                inner: out,
                progress,
            };
            return self.pull(obj, &mut w, threads);
        }
        let key = payload_key_checked(obj)?;
        let path = payload_path(&obj.id);
        let conns = self.connections_for(k)?;
        parallel::pull(conns, &path, obj.meta.size, &key, out, progress)?;
        let n = out.metadata().map_err(RemoteError::Io)?.len();
        if n != obj.meta.size {
            return Err(RemoteError::BadObject(format!(
                "{:?}: size does not match its metadata",
                obj.meta.name
            )));
        }
        Ok(n)
    }
}

/// A writer that reports progress.
struct ProgressWrite<'a, W> {
    inner: W,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<W: Write> Write for ProgressWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
