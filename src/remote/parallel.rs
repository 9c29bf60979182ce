//! Moving one large payload over several connections at once.
//!
//! One SFTP session is one TCP stream and one libssh2 thread, which on
//! loopback or a fast link is CPU-bound on one core (SSH cipher, MAC, SFTP
//! framing). So a payload of a regular file is cut into K segments at
//! sealed-chunk boundaries and each segment travels on its own connection:
//!
//! - push: the caller begins an upload ([`Transport::begin_upload`]); each
//!   worker reads its plaintext chunks with positioned reads, seals chunk
//!   `i` under `STREAM` nonce `i || last` (the last flag only on the final
//!   chunk of the whole payload), and writes them at `i * (64 KiB + 16)`
//!   through [`Transport::write_part`], in calls of the backend's
//!   [`part_write_size`](crate::transport::Properties::part_write_size).
//!   The payload bytes are exactly those of a serial push, so nothing in
//!   the remote layout changes.
//! - pull: each worker reads its byte range ([`Transport::read_at`]),
//!   authenticates every chunk at its index (and the last flag), and writes
//!   the plaintext at `i * 64 KiB` into the local temporary file. The last
//!   worker also asks for one byte past the end, to refuse trailing data.
//!   The caller renames the local file into place only after every worker
//!   succeeded, so tampering or truncation anywhere leaves no output.
//!
//! Each worker overlaps its crypto with its network I/O through
//! [`super::pipe`]. The first failure stops the other workers at their next
//! chunk, and is the one reported (a crypto failure is preferred over a
//! transport failure; a worker that only stopped because another failed
//! reports nothing).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use super::pull::PositionedOutput;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::{RemoteError, pipe};
use crate::crypto::CryptoError;
use crate::crypto::primitives::TAG_LEN;
use crate::crypto::stream::{
    SEALED_CHUNK_SIZE, chunk_count, chunk_plain_len, plain_offset, sealed_len, sealed_offset,
};
use crate::crypto::suite::PayloadKey;
use crate::transport::{Transport, Upload};

/// Bytes per queued buffer in a download. This is the queue's granularity,
/// not the backend's read size (the SFTP backend still asks for its own
/// `read_size` per call, and reads ahead past that), so the buffers are
/// kept small: they only need to absorb the jitter between network and
/// crypto.
pub(crate) const PULL_PIECE: usize = 256 << 10;

/// Split chunk indices `0..chunks` into `k` contiguous, nearly equal ranges.
pub(crate) fn segments(chunks: u64, k: usize) -> Vec<(u64, u64)> {
    let k = (k as u64).clamp(1, chunks.max(1));
    (0..k)
        .map(|i| (chunks * i / k, chunks * (i + 1) / k))
        .collect()
}

/// Shared state of the workers of one transfer.
struct Crew {
    stop: AtomicBool,
    first: Mutex<Option<RemoteError>>,
}

impl Crew {
    fn new() -> Crew {
        Crew {
            stop: AtomicBool::new(false),
            first: Mutex::new(None),
        }
    }

    fn fail(&self, e: RemoteError) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut f) = self.first.lock() {
            let better = match &*f {
                None => true,
                Some(RemoteError::Transport(_)) => matches!(e, RemoteError::Crypto(_)),
                _ => false,
            };
            if better {
                *f = Some(e);
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn result(self) -> Result<(), RemoteError> {
        match self.first.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => Err(RemoteError::Io(io::Error::other("a worker panicked"))),
        }
    }
}

/// Seal `len` bytes of `input` into the upload `up`, one segment per
/// connection in `conns`.
pub(crate) fn push(
    conns: Vec<&mut (dyn Transport + 'static)>,
    up: &Upload,
    input: &File,
    len: u64,
    key: &PayloadKey,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), RemoteError> {
    on_segments(conns, len, key, progress, &|conn, seg| {
        push_segment(conn, up, input, seg)
    })
}

/// One connection's share of a transfer of `len` plaintext bytes: chunks
/// `c0..c1`, with what every share needs.
struct Segment<'a> {
    len: u64,
    key: &'a PayloadKey,
    c0: u64,
    c1: u64,
    crew: &'a Crew,
    progress: &'a (dyn Fn(u64) + Sync),
    /// Set when this share stopped only because another one failed.
    gave_way: Cell<bool>,
}

impl Segment<'_> {
    /// Whether another share failed; then this one gives way: it stops,
    /// and what it returns is not reported.
    fn should_stop(&self) -> bool {
        if crate::atomic::interrupted() {
            self.crew.fail(RemoteError::Interrupted);
        }
        let stop = self.crew.stopped();
        self.gave_way.set(stop);
        stop
    }
}

/// What a share that gives way returns (never reported: see
/// [`Segment::should_stop`]).
fn gave_way() -> RemoteError {
    RemoteError::Io(io::Error::other("stopped after another connection failed"))
}

type SegmentWork<'a> = dyn Fn(&mut dyn Transport, &Segment) -> Result<(), RemoteError> + Sync + 'a;

/// Run `work` for each connection on its own thread, over the chunk range
/// that [`segments`] gives it; the first failure stops the crew and is the
/// one returned.
fn on_segments(
    conns: Vec<&mut (dyn Transport + 'static)>,
    len: u64,
    key: &PayloadKey,
    progress: &(dyn Fn(u64) + Sync),
    work: &SegmentWork<'_>,
) -> Result<(), RemoteError> {
    let segs = segments(chunk_count(len), conns.len());
    let crew = Crew::new();
    thread::scope(|s| {
        for (conn, (c0, c1)) in conns.into_iter().zip(segs) {
            let seg = Segment {
                len,
                key,
                c0,
                c1,
                crew: &crew,
                progress,
                gave_way: Cell::new(false),
            };
            s.spawn(move || {
                if let Err(e) = work(conn, &seg)
                    && !seg.gave_way.get()
                {
                    seg.crew.fail(e);
                }
            });
        }
    });
    crew.result()
}

fn push_segment(
    conn: &mut dyn Transport,
    up: &Upload,
    input: &File,
    seg: &Segment,
) -> Result<(), RemoteError> {
    let chunks = chunk_count(seg.len);
    let piece = conn.properties().part_write_size;
    let w = conn.write_part(up, sealed_offset(seg.c0))?;
    pipe::send_behind(w, piece, |q| {
        let mut buf = vec![0u8; SEALED_CHUNK_SIZE];
        for i in seg.c0..seg.c1 {
            if seg.should_stop() {
                return Err(gave_way());
            }
            let n = chunk_plain_len(seg.len, i);
            input
                .read_exact_at(&mut buf[..n], plain_offset(i))
                .map_err(|e| {
                    RemoteError::Io(if e.kind() == io::ErrorKind::UnexpectedEof {
                        io::Error::other("the file shrank while it was being pushed")
                    } else {
                        e
                    })
                })?;
            let m = seg.key.seal_chunk(i, i + 1 == chunks, &mut buf, n);
            q.write_all(&buf[..m]).map_err(RemoteError::Io)?;
            (seg.progress)(n as u64);
        }
        Ok(())
    })
}

/// Open the remote payload `path` (`sealed` bytes, `len` plaintext bytes)
/// into `out` with positioned writes, one segment per connection.
pub(crate) fn pull(
    conns: Vec<&mut (dyn Transport + 'static)>,
    path: &str,
    len: u64,
    key: &PayloadKey,
    out: &dyn PositionedOutput,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), RemoteError> {
    on_segments(conns, len, key, progress, &|conn, seg| {
        pull_segment(conn, path, out, seg)
    })
}

fn pull_segment(
    conn: &mut dyn Transport,
    path: &str,
    out: &dyn PositionedOutput,
    seg: &Segment,
) -> Result<(), RemoteError> {
    let chunks = chunk_count(seg.len);
    let sealed_total = sealed_len(seg.len);
    let from = sealed_offset(seg.c0);
    let to = if seg.c1 == chunks {
        sealed_total
    } else {
        sealed_offset(seg.c1)
    };
    let tail = u64::from(seg.c1 == chunks);
    let r = conn.read_at(path, from, to - from + tail)?;
    pipe::fetch_ahead(r, PULL_PIECE, |q| {
        let mut buf = vec![0u8; SEALED_CHUNK_SIZE];
        for i in seg.c0..seg.c1 {
            if seg.should_stop() {
                return Err(gave_way());
            }
            let last = i + 1 == chunks;
            let m = chunk_plain_len(seg.len, i) + TAG_LEN;
            read_full(q, &mut buf[..m])?;
            let Some(n) = seg.key.open_chunk(i, last, &mut buf[..m]) else {
                return Err(CryptoError::DecryptFailed.into());
            };
            debug_assert_eq!(n + TAG_LEN, m);
            out.write_all_at(&buf[..n], plain_offset(i))
                .map_err(RemoteError::Io)?;
            (seg.progress)(n as u64);
        }
        if tail == 1 {
            let mut extra = [0u8; 1];
            if q.read(&mut extra).map_err(RemoteError::Io)? != 0 {
                return Err(CryptoError::TrailingData.into());
            }
        }
        Ok(())
    })
}

/// Fill `buf` from `r`; a short read is a truncated payload.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<(), RemoteError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Err(CryptoError::Truncated.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(RemoteError::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_every_chunk_once() {
        for chunks in [1u64, 2, 3, 7, 100, 16_385] {
            for k in 1..6 {
                let s = segments(chunks, k);
                assert_eq!(s.len(), k.min(chunks as usize));
                assert_eq!(s[0].0, 0);
                assert_eq!(s.last().unwrap().1, chunks);
                for w in s.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                assert!(s.iter().all(|(a, b)| a < b));
            }
        }
    }
}
