//! Reading and writing remote files. libssh2 pipelines SFTP requests only
//! within one call, so a writer keeps a window of [`WRITE_WINDOW`] (or
//! [`PART_WRITE_WINDOW`]) bytes in flight across calls (see
//! [`SftpWriter`]), and reads are made [`READ_CHUNK`] bytes at a time (see
//! those constants for the measured figures). `finish` sends
//! `fsync@openssh.com` where offered, checks the size, closes, and for a
//! put renames the staging file into place.

use std::io::{self, Read, Write};
use std::path::Path;

use libssh2_sys as raw;
use ssh2::{ErrorCode, Session};

use super::conn::Conn;
use super::status::{map_file_io, map_sftp_error};
use crate::transport::backend::{PutMode, RemoteRead, RemoteWrite};
use crate::transport::error::TransportError;
use crate::transport::staging;

/// Bytes a whole-file writer keeps sent but not yet acknowledged.
///
/// libssh2 turns one write call into 30000-byte SFTP packets sent without
/// waiting, returns once the first of them is acknowledged, and skips what
/// it already sent when the caller passes the same bytes again. So the
/// writer hands it its whole unacknowledged window plus what is new, and the
/// pipe never drains between calls: throughput is the window over the
/// round trip, as for OpenSSH's `sftp` (64 requests of 32 KiB). Calls that
/// each drained their pipe cost one round trip per call: with 1 MiB calls,
/// a 256 MiB push over a link of 40 ms took 7.3 s (bench/farlink.py),
/// slower than `sftp put`.
///
/// OpenSSH's server opens a 2 MiB channel window, so a bigger window
/// mostly covers the bytes the server has taken but not yet acknowledged;
/// libssh2 keeps a copy of every byte in flight besides the writer's own
/// (which also holds up to half a window already acknowledged), so memory
/// per upload is about two and a half windows.
pub(crate) const WRITE_WINDOW: usize = 4 << 20;

/// The window of a part writer (`Transport::write_part`): part writers
/// work side by side on several connections, so each needs less in flight
/// to keep the link busy, and memory grows with connections times window.
pub(crate) const PART_WRITE_WINDOW: usize = 2 << 20;

/// What the layer above is asked to hand over per write (its queue's
/// buffer size): the window, not the call, sets the pipelining, so this
/// only needs to be large enough that queueing costs nothing.
pub(crate) const WRITE_PIECE: usize = 1 << 20;

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

/// A remote file being written through a sliding window; see
/// [`RemoteWrite`] and [`WRITE_WINDOW`].
///
/// `buf[start..]` holds every byte handed over but not yet acknowledged by
/// the server: libssh2 has sent some of them (it knows how many) and keeps
/// the rest for its next call. A write call is made once that reaches the
/// window; each call sends what is new and returns what was acknowledged,
/// which leaves the window. The acknowledged front is dropped lazily, once
/// it is half a window long, so each byte is moved at most twice.
pub(crate) struct SftpWriter<'a> {
    file: Option<ssh2::File>,
    /// Set by `finish` on success; otherwise `drop` cleans up.
    finished: bool,
    /// The first failure; the writer refuses to go on after one.
    failed: Option<String>,
    buf: Vec<u8>,
    /// Where the unacknowledged bytes of `buf` begin.
    start: usize,
    written: u64,
    kind: Kind,
    /// Bytes kept in flight: [`WRITE_WINDOW`] or [`PART_WRITE_WINDOW`].
    window: usize,
    shown: String,
    conn: &'a mut Conn,
}

impl<'a> SftpWriter<'a> {
    /// A writer of `file`, which is `rel` on `conn`.
    pub fn new(conn: &'a mut Conn, file: ssh2::File, rel: &str, kind: Kind) -> Self {
        let window = match kind {
            Kind::Put { .. } | Kind::InPlace { .. } => WRITE_WINDOW,
            Kind::Part { .. } => PART_WRITE_WINDOW,
        };
        SftpWriter {
            file: Some(file),
            finished: false,
            failed: None,
            buf: Vec::new(),
            start: 0,
            written: 0,
            kind,
            window,
            shown: conn.shown(&conn.full(rel)),
            conn,
        }
    }

    fn io_error(&self, msg: String) -> TransportError {
        TransportError::Io {
            context: format!("writing {}", self.shown),
            source: io::Error::other(msg),
        }
    }

    /// One SFTP write call over the unacknowledged bytes: libssh2 sends
    /// those it has not sent yet and returns once some are acknowledged.
    fn advance(&mut self) -> Result<(), TransportError> {
        if let Some(msg) = &self.failed {
            return Err(self.io_error(format!("an earlier write failed: {msg}")));
        }
        let Some(file) = self.file.as_mut() else {
            return Err(self.io_error("write after finish".to_owned()));
        };
        let acked = loop {
            match file.write(&self.buf[self.start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        match acked {
            Ok(0) => {
                let err = self.io_error("the server acknowledged nothing".to_owned());
                self.failed = Some(err.to_string());
                Err(err)
            }
            Ok(n) => {
                self.start += n;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                Ok(())
            }
            Err(e) => {
                let err = self.classify(e, "writing");
                self.failed = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// Wait until the server has acknowledged every byte handed over.
    fn drain(&mut self) -> Result<(), TransportError> {
        while self.start < self.buf.len() {
            self.advance()?;
        }
        Ok(())
    }

    /// Take what fits of `data` into the window, making one write call
    /// when the window is full; returns how many bytes were taken.
    fn write_some(&mut self, data: &[u8]) -> Result<usize, TransportError> {
        let pending = self.buf.len() - self.start;
        if pending >= self.window {
            self.advance()?;
            return Ok(0);
        }
        let cap = self.window + self.window / 2;
        if self.buf.len() >= cap {
            // Here `start` > window / 2: drop the acknowledged front.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() < cap {
            self.buf.reserve_exact(cap - self.buf.len());
        }
        let room = (self.window - pending).min(cap - self.buf.len());
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        self.written += n as u64;
        Ok(n)
    }

    /// Whether the remote file system is out of space, per statvfs.
    fn disk_full(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.statvfs() {
            Ok(st) => st.f_bavail.saturating_mul(st.f_frsize.max(1)) < WRITE_WINDOW as u64,
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
        self.drain()?;
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
