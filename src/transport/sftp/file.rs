//! Reading and writing remote files: libssh2 pipelines SFTP requests only
//! within one call, so writes are gathered into [`WRITE_CHUNK`]-byte calls
//! and reads are made [`READ_CHUNK`] bytes at a time (see those constants
//! for the measured figures). `finish` sends `fsync@openssh.com` where
//! offered, checks the size, closes, and for a put renames the staging
//! file into place.

use std::io::{self, Read, Write};
use std::path::Path;

use libssh2_sys as raw;
use ssh2::{ErrorCode, Session};

use super::conn::Conn;
use super::status::{map_file_io, map_sftp_error};
use crate::transport::backend::{PutMode, RemoteRead, RemoteWrite};
use crate::transport::error::TransportError;
use crate::transport::staging;

/// Bytes gathered before one SFTP write call. libssh2 sends one call as
/// 30000-byte packets without waiting for each acknowledgement, so bigger
/// calls keep the pipe full.
///
/// Measured with `benches/sftp_calls.rs` (`cargo bench --bench sftp_calls`, loopback to OpenSSH
/// 9.2 internal-sftp, chacha20-poly1305, 256 MiB, median of 3, two runs on
/// a shared 2-core machine, so noisy): 256 KiB calls 269-288 MB/s, 1 MiB
/// 312-336, 2 MiB 323-355, 4 MiB 320-390, 8 MiB 342-425. The gain flattens
/// past 2-4 MiB while memory per upload keeps growing, so 4 MiB. Through
/// this writer, fed in 64 KiB pieces: 377-424 MB/s.
pub(crate) const WRITE_CHUNK: usize = 4 << 20;

/// Bytes gathered per SFTP write call by a part writer
/// (`Transport::write_part`). Part writers work side by side on several
/// connections, so each needs less pipelining to keep the link busy, and
/// memory grows with connections times call size (libssh2 keeps a copy of
/// every unacknowledged byte of a call).
pub(crate) const PART_WRITE_CHUNK: usize = 1 << 20;

/// Bytes asked for per SFTP read call (libssh2 issues read-ahead requests
/// for the whole buffer). Measured as above: 256 KiB calls 83-86 MB/s (!),
/// 1 MiB 445-458, 4 MiB 389-392; through this reader, read in 64 KiB
/// pieces, 522-531 MB/s.
pub(crate) const READ_CHUNK: usize = 1 << 20;

/// Reads a byte range of a remote file in calls of at most [`READ_CHUNK`]
/// bytes, never asking for bytes past the range: libssh2 sends read-ahead
/// requests for the whole buffer of a call, so a plain `BufReader` would
/// fetch up to a whole call's worth of another connection's range.
pub(crate) struct RangeReader {
    pub file: ssh2::File,
    pub buf: Vec<u8>,
    pub pos: usize,
    pub end: usize,
    /// Bytes of the range not yet asked for.
    pub left: u64,
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end {
            if self.left == 0 || out.is_empty() {
                return Ok(0);
            }
            let want = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            if out.len() >= want {
                // Large caller buffers go straight through.
                let n = self.file.read(&mut out[..want])?;
                self.left = if n == 0 { 0 } else { self.left - n as u64 };
                return Ok(n);
            }
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let n = self.file.read(&mut self.buf[..want])?;
            self.left = if n == 0 { 0 } else { self.left - n as u64 };
            self.pos = 0;
            self.end = n;
            if n == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads a remote file in [`READ_CHUNK`] calls, classifying what ssh2
/// reports.
pub(crate) struct SftpReader {
    pub inner: Box<dyn Read + Send>,
    pub shown: String,
    pub host: String,
    pub sess: Session,
}

impl RemoteRead for SftpReader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => {
                    return r.map_err(|e| {
                        map_file_io(&self.host, e, &self.shown, "reading", Some(&self.sess))
                    });
                }
            }
        }
    }
}

/// What an [`SftpWriter`] writes.
pub(crate) enum Kind {
    /// A whole file staged at `staged` and renamed to `target` by `finish`;
    /// dropped unfinished, the staging file is removed.
    Put {
        staged: String,
        target: String,
        mode: PutMode,
    },
    /// A part of an upload from `offset`: neither owns the file nor knows
    /// its final size, and leaves it alone when dropped.
    Part { offset: u64 },
    /// A file created in place at `path` (`Transport::create`): `finish`
    /// syncs it only if `sync`, and closes it; dropped unfinished, it is
    /// removed. No size check: nobody else writes a file created
    /// exclusively, and each round trip counts for the small files this
    /// is for.
    InPlace { path: String, sync: bool },
}

/// A remote file being written in calls of `call` bytes; see [`RemoteWrite`].
pub(crate) struct SftpWriter<'a> {
    file: Option<ssh2::File>,
    /// Set by `finish` on success; otherwise `drop` cleans up.
    finished: bool,
    /// The first failure; the writer refuses to go on after one.
    failed: Option<String>,
    buf: Vec<u8>,
    written: u64,
    kind: Kind,
    /// Bytes per write call: [`WRITE_CHUNK`] or [`PART_WRITE_CHUNK`].
    call: usize,
    shown: String,
    conn: &'a mut Conn,
}

impl<'a> SftpWriter<'a> {
    /// A writer of `file`, which is `rel` on `conn`.
    pub fn new(conn: &'a mut Conn, file: ssh2::File, rel: &str, kind: Kind) -> Self {
        let call = match kind {
            Kind::Put { .. } | Kind::InPlace { .. } => WRITE_CHUNK,
            Kind::Part { .. } => PART_WRITE_CHUNK,
        };
        SftpWriter {
            file: Some(file),
            finished: false,
            failed: None,
            buf: Vec::new(),
            written: 0,
            kind,
            call,
            shown: conn.shown(&conn.full(rel)),
            conn,
        }
    }

    /// Send `data` in one SFTP write call (libssh2 pipelines within it).
    fn send(&mut self, data: &[u8]) -> Result<(), TransportError> {
        if let Some(msg) = &self.failed {
            return Err(TransportError::Io {
                context: format!("writing {}", self.shown),
                source: io::Error::other(format!("an earlier write failed: {msg}")),
            });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(TransportError::Io {
                context: format!("writing {}", self.shown),
                source: io::Error::other("write after finish"),
            });
        };
        if let Err(e) = file.write_all(data) {
            let err = self.classify(e, "writing");
            self.failed = Some(err.to_string());
            return Err(err);
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), TransportError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.send(&buf);
        self.buf = buf;
        self.buf.clear();
        r
    }

    /// Take what fits of `data` (one call's worth at most); returns how
    /// many bytes were taken.
    fn write_some(&mut self, data: &[u8]) -> Result<usize, TransportError> {
        let call = self.call;
        if self.buf.is_empty() && data.len() >= call {
            // Large caller buffers go straight through.
            self.send(data)?;
            self.written += data.len() as u64;
            return Ok(data.len());
        }
        if self.buf.capacity() < call {
            self.buf.reserve_exact(call - self.buf.len());
        }
        let n = data.len().min(call - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.written += n as u64;
        if self.buf.len() == call {
            self.flush_buf()?;
        }
        Ok(n)
    }

    /// Whether the remote file system is out of space, per statvfs.
    fn disk_full(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.statvfs() {
            Ok(st) => st.f_bavail.saturating_mul(st.f_frsize.max(1)) < WRITE_CHUNK as u64,
            Err(_) => false,
        }
    }

    /// Classify a write-side error, telling a full disk apart from other
    /// generic failures.
    fn classify(&mut self, e: io::Error, what: &str) -> TransportError {
        let mapped = map_file_io(
            self.conn.host(),
            e,
            &self.shown,
            what,
            Some(&self.conn.sess),
        );
        self.full_disk_or(mapped)
    }

    fn full_disk_or(&mut self, err: TransportError) -> TransportError {
        if matches!(err, TransportError::ServerFailure { .. }) && self.disk_full() {
            TransportError::NoSpace(self.shown.clone())
        } else {
            err
        }
    }

    /// Flush, sync, check the size and close.
    fn complete(&mut self) -> Result<(), TransportError> {
        self.flush_buf()?;
        let shown = self.shown.clone();
        let host = self.conn.host().to_owned();
        let Some(file) = self.file.as_mut() else {
            return Err(TransportError::Io {
                context: format!("writing {shown}"),
                source: io::Error::other("already finished"),
            });
        };
        if let Kind::InPlace { sync: false, .. } = self.kind {
            file.close()
                .map_err(|e| map_sftp_error(&host, &e, &shown, "closing"))?;
            self.file = None;
            return Ok(());
        }
        match file.fsync() {
            Ok(()) => {}
            // Servers without fsync@openssh.com: nothing more can be done.
            Err(e) if matches!(e.code(), ErrorCode::SFTP(raw::LIBSSH2_FX_OP_UNSUPPORTED)) => {}
            Err(e) => {
                let err = map_sftp_error(&host, &e, &shown, "syncing");
                return Err(self.full_disk_or(err));
            }
        }
        let size = file
            .stat()
            .map_err(|e| map_sftp_error(&host, &e, &shown, "checking the size of"))?
            .size;
        let (expected, wrong) = match self.kind {
            Kind::Put { .. } | Kind::InPlace { .. } => {
                (self.written, size.is_some_and(|s| s != self.written))
            }
            Kind::Part { offset } => {
                let end = offset + self.written;
                (end, size.is_some_and(|s| s < end))
            }
        };
        if wrong {
            return Err(TransportError::Io {
                context: format!("writing {shown}"),
                source: io::Error::other(format!(
                    "the server holds {} bytes after {expected} were written",
                    size.unwrap_or(0)
                )),
            });
        }
        file.close()
            .map_err(|e| map_sftp_error(&host, &e, &shown, "closing"))?;
        self.file = None;
        Ok(())
    }
}

impl RemoteWrite for SftpWriter<'_> {
    fn write_all(&mut self, mut data: &[u8]) -> Result<(), TransportError> {
        while !data.is_empty() {
            let n = self.write_some(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), TransportError> {
        self.complete()?;
        self.finished = true;
        match &self.kind {
            Kind::Put {
                staged,
                target,
                mode,
            } => staging::commit(&mut *self.conn, staged, target, *mode),
            Kind::Part { .. } | Kind::InPlace { .. } => Ok(()),
        }
    }
}

impl Drop for SftpWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Not finished (or failed): close, then remove, so that nothing
            // that looks complete stays behind. Best effort. A part writer
            // does not own the file: its upload's owner aborts it.
            drop(self.file.take());
            let own = match &self.kind {
                Kind::Put { staged, .. } => Some(staged),
                Kind::InPlace { path, .. } => Some(path),
                Kind::Part { .. } => None,
            };
            if let Some(rel) = own {
                let full = self.conn.full(rel);
                let _ = self.conn.sftp.unlink(Path::new(&full));
            }
        }
    }
}
