//! Overlap of crypto with the network, one connection at a time.
//!
//! libssh2 calls are blocking: while a write call waits for the server's
//! acknowledgements, the thread that made it cannot seal the next chunk, and
//! while it opens a chunk it sends no read requests. So every transfer runs
//! in two threads joined by a small bounded queue of large buffers:
//! [`send_behind`] seals in the caller's thread and sends from a second one,
//! [`fetch_ahead`] receives in a second thread and opens in the caller's.
//! The queue is short (a few buffers) to keep memory bounded whatever the
//! file size.
//!
//! Failures keep the transport's guarantees: the sender finishes the remote
//! file only after the producer said it completed; otherwise it drops the
//! writer unfinished (which leaves nothing visible). The error reported is
//! the one that caused the stop: the sender's own failure (network, disk
//! full) rather than the producer's "queue closed", and the fetcher's
//! failure rather than what the consumer made of it. A transport failure
//! travels as itself: the crypto layer's readers and writers see only a
//! plain `io::Error` saying what happened, while the [`TransportError`] is
//! kept aside and returned once they stopped ([`ReadBridge`] does the same
//! for a reader outside a pipe).

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread;

use super::RemoteError;
use crate::transport::{RemoteRead, RemoteWrite, TransportError};

/// Buffers waiting in a queue (besides the one being filled and the one
/// being sent or consumed).
const DEPTH: usize = 1;

enum Msg {
    Data(Vec<u8>),
    End,
}

/// The producer's end of [`send_behind`]: gathers bytes into `piece`-byte
/// buffers and queues them for the sender thread.
pub(crate) struct QueueWriter {
    tx: SyncSender<Msg>,
    free: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    piece: usize,
}

fn stopped() -> io::Error {
    // Not BrokenPipe: the command line exits quietly on that (closed stdout).
    io::Error::other("the upload stopped")
}

impl QueueWriter {
    fn push(&mut self) -> io::Result<()> {
        let mut next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.piece));
        next.clear();
        let full = std::mem::replace(&mut self.cur, next);
        self.tx.send(Msg::Data(full)).map_err(|_| stopped())
    }

    /// Queue what is buffered and the end marker.
    fn close(&mut self) -> io::Result<()> {
        if !self.cur.is_empty() {
            self.push()?;
        }
        self.tx.send(Msg::End).map_err(|_| stopped())
    }
}

impl Write for QueueWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.piece - self.cur.len());
        self.cur.extend_from_slice(&data[..n]);
        if self.cur.len() == self.piece {
            self.push()?;
        }
        Ok(n)
    }

    /// Buffered bytes stay buffered until a piece is full or the end.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Run `produce` in this thread, writing to a queue that a second thread
/// sends to `w` in `piece`-byte writes; finish `w` only if `produce`
/// succeeded. Returns what `produce` returned.
pub(crate) fn send_behind<'a, T>(
    w: Box<dyn RemoteWrite + 'a>,
    piece: usize,
    produce: impl FnOnce(&mut QueueWriter) -> Result<T, RemoteError>,
) -> Result<T, RemoteError> {
    thread::scope(|s| {
        let (tx, rx) = sync_channel::<Msg>(DEPTH);
        let (free_tx, free_rx) = channel::<Vec<u8>>();
        let sender = s.spawn(move || send_loop(w, rx, free_tx));
        let mut qw = QueueWriter {
            tx,
            free: free_rx,
            cur: Vec::with_capacity(piece),
            piece,
        };
        let produced = produce(&mut qw).and_then(|t| {
            qw.close().map_err(RemoteError::Io)?;
            Ok(t)
        });
        drop(qw);
        let sent = sender
            .join()
            .unwrap_or_else(|_| Err(RemoteError::Io(io::Error::other("the sender panicked"))));
        match (produced, sent) {
            (Ok(t), Ok(true)) => Ok(t),
            // The sender's failure is the cause of the producer's.
            (_, Err(e)) => Err(e),
            (Err(e), Ok(_)) => Err(e),
            (Ok(_), Ok(false)) => Err(RemoteError::Io(stopped())),
        }
    })
}

/// The sender thread: `Ok(true)` if the end marker came and `w` finished,
/// `Ok(false)` if the producer gave up (then `w` is dropped unfinished).
fn send_loop(
    mut w: Box<dyn RemoteWrite + '_>,
    rx: Receiver<Msg>,
    free: Sender<Vec<u8>>,
) -> Result<bool, RemoteError> {
    for msg in rx {
        if crate::atomic::interrupted() {
            // Dropped unfinished: the backend removes what it wrote.
            return Err(RemoteError::Interrupted);
        }
        match msg {
            Msg::Data(buf) => {
                w.write_all(&buf)?;
                let _ = free.send(buf);
            }
            Msg::End => {
                w.finish()?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

type Fetched = Result<Vec<u8>, TransportError>;

/// The consumer's end of [`fetch_ahead`]: reads the fetched buffers in
/// order; a read error of the fetcher is returned once, where it happened,
/// as an `io::Error` with its message, and kept for [`fetch_ahead`].
pub(crate) struct QueueReader {
    rx: Receiver<Fetched>,
    free: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
    /// The fetcher's failure, once the consumer has met it.
    failed: Option<TransportError>,
}

/// Keep a transport failure aside; give the reader above a plain
/// `io::Error` with its message.
fn set_aside(slot: &mut Option<TransportError>, e: TransportError) -> io::Error {
    let shown = io::Error::other(e.to_string());
    *slot = Some(e);
    shown
}

impl Read for QueueReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(buf)) => {
                    let old = std::mem::replace(&mut self.cur, buf);
                    let _ = self.free.send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(set_aside(&mut self.failed, e));
                }
                // The fetcher reached the end of its reader.
                Err(_) => self.done = true,
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Run `consume` in this thread on a reader whose bytes a second thread
/// reads ahead from `r`, `piece` bytes at a time. If `consume` fails after
/// meeting a failure of the fetcher, that failure is returned (it is the
/// cause).
pub(crate) fn fetch_ahead<'a, T>(
    r: Box<dyn RemoteRead + 'a>,
    piece: usize,
    consume: impl FnOnce(&mut QueueReader) -> Result<T, RemoteError>,
) -> Result<T, RemoteError> {
    thread::scope(|s| {
        let (tx, rx) = sync_channel::<Fetched>(DEPTH);
        let (free_tx, free_rx) = channel::<Vec<u8>>();
        s.spawn(move || fetch_loop(r, piece, tx, free_rx));
        let mut qr = QueueReader {
            rx,
            free: free_tx,
            cur: Vec::new(),
            pos: 0,
            done: false,
            failed: None,
        };
        // Dropping the reader (on return) stops the fetcher at its next send.
        match (consume(&mut qr), qr.failed.take()) {
            (Err(_), Some(e)) => Err(RemoteError::Transport(e)),
            (r, _) => r,
        }
    })
}

fn fetch_loop(
    mut r: Box<dyn RemoteRead + '_>,
    piece: usize,
    tx: SyncSender<Fetched>,
    free: Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = free.try_recv().unwrap_or_default();
        buf.resize(piece, 0);
        let mut len = 0;
        while len < piece {
            match r.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) => {
                    if len > 0 {
                        buf.truncate(len);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        let end = len < piece;
        buf.truncate(len);
        if len > 0 && tx.send(Ok(buf)).is_err() {
            return;
        }
        if end {
            return;
        }
    }
}

/// `io::Read` over a transport reader, for a crypto reader outside a pipe
/// (re-sealing a payload that is read from the server): a failure of the
/// transport is kept here, as itself, and the reader above sees a plain
/// `io::Error` with its message; [`ReadBridge::take_error`] gives it back.
pub(crate) struct ReadBridge<'a> {
    inner: Box<dyn RemoteRead + 'a>,
    failed: Option<TransportError>,
}

impl<'a> ReadBridge<'a> {
    pub(crate) fn new(inner: Box<dyn RemoteRead + 'a>) -> Self {
        ReadBridge {
            inner,
            failed: None,
        }
    }

    /// The transport's failure, if reading failed in the transport.
    pub(crate) fn take_error(&mut self) -> Option<TransportError> {
        self.failed.take()
    }
}

impl Read for ReadBridge<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| set_aside(&mut self.failed, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{LocalTransport, PutMode, RemoteRead, Transport, TransportError};

    #[test]
    fn queued_bytes_arrive_in_order_and_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = LocalTransport::new(dir.path(), None).unwrap();
        let data: Vec<u8> = (0..1_000_007u32).map(|i| (i % 251) as u8).collect();
        for piece in [7, 4096, 1 << 20] {
            let name = format!("f{piece}");
            let w = t.put(&name, PutMode::New).unwrap();
            send_behind(w, piece, |q| {
                for c in data.chunks(65_536 + 16) {
                    q.write_all(c).map_err(RemoteError::Io)?;
                }
                Ok(())
            })
            .unwrap();
            let r = t.read(&name).unwrap();
            let mut back = Vec::new();
            fetch_ahead(r, piece.max(3), |q| {
                q.read_to_end(&mut back).map_err(RemoteError::Io)
            })
            .unwrap();
            assert!(back == data, "piece {piece}");
        }
    }

    #[test]
    fn a_failed_producer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = LocalTransport::new(dir.path(), None).unwrap();
        let w = t.put("x", PutMode::New).unwrap();
        let r: Result<(), _> = send_behind(w, 10, |q| {
            q.write_all(&[1u8; 100]).map_err(RemoteError::Io)?;
            Err(RemoteError::Io(io::Error::other("input broke")))
        });
        assert!(r.unwrap_err().to_string().contains("input broke"));
        assert!(t.stat("x").unwrap().is_none());
        assert!(t.list("tmp").unwrap().is_empty(), "nothing staged is left");
    }

    /// Fails with a typed error after `good` bytes.
    struct Breaks {
        good: usize,
    }

    impl RemoteRead for Breaks {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
            if self.good == 0 {
                return Err(TransportError::ConnectionLost {
                    host: "h".into(),
                    detail: "gone".into(),
                });
            }
            let n = buf.len().min(self.good);
            buf[..n].fill(7);
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_fetch_failure_arrives_as_itself() {
        let r = fetch_ahead(Box::new(Breaks { good: 10_000 }), 4096, |q| {
            let mut all = Vec::new();
            q.read_to_end(&mut all).map_err(RemoteError::Io)?;
            Ok(all.len())
        });
        match r {
            Err(RemoteError::Transport(TransportError::ConnectionLost { detail, .. })) => {
                assert_eq!(detail, "gone");
            }
            other => panic!("{other:?}"),
        }
        // A consumer that stops before the failure is not blamed for it.
        let r = fetch_ahead(Box::new(Breaks { good: 10_000 }), 4096, |q| {
            let mut first = [0u8; 100];
            q.read_exact(&mut first).map_err(RemoteError::Io)?;
            Err::<(), _>(RemoteError::BadObject("mine".into()))
        });
        assert!(matches!(r, Err(RemoteError::BadObject(_))), "{r:?}");
        // Outside a pipe, the bridge keeps it.
        let mut b = ReadBridge::new(Box::new(Breaks { good: 10 }));
        let mut all = Vec::new();
        assert!(b.read_to_end(&mut all).is_err());
        assert!(matches!(
            b.take_error(),
            Some(TransportError::ConnectionLost { .. })
        ));
    }
}
