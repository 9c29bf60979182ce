//! Whole-payload sealing and opening: the one entry point every format and
//! command uses to run `STREAM` over a reader and a writer.
//!
//! Both vault files and age files (and remote objects) go through
//! [`seal_payload`] and [`open_payload`], so that there is one payload path
//! to make fast and to test. `threads` is the number of worker threads the
//! caller allows; 1 is the serial path through [`StreamWriter`] and
//! [`StreamReader`], unchanged.
//!
//! # Why and how it runs in parallel
//!
//! STREAM chunks are independent AEAD calls (each has its own nonce,
//! `index || last`), so on more than one core the AEAD, which is nearly all
//! the work, can run on several chunks at once. The only sequential
//! decisions are which chunk is the last (known only by reading one byte
//! past it) and the order of the output; both stay on the calling thread:
//!
//! ```text
//! calling thread: read batch k ──► worker k mod N ──► (in order) write batch k
//!                  (look-ahead)     seal/open in place    recycle the buffer
//! ```
//!
//! - The calling thread reads [`BATCH_CHUNKS`] chunks at a time into a
//!   batch buffer, deciding the last chunk exactly as the serial writer and
//!   reader do (a one-byte look-ahead carried into the next chunk), then
//!   hands the batch to worker `k mod N` over a bounded channel.
//! - Workers seal or open the chunks in place with the same per-chunk code
//!   as the serial path ([`PayloadKey::seal_chunk`] and
//!   `open_sealed_chunk`), so the bytes and the error classes cannot
//!   differ. A worker stops at the first chunk of a batch that fails.
//! - Batches are dealt round-robin and each worker answers on its own
//!   channel, so the calling thread gets them back in order by reading the
//!   workers' channels round-robin: no reordering buffer.
//! - At most `max_batches` buffers (about 1 MiB each) exist, allocated on
//!   first need and reused, so memory is bounded whatever the input size,
//!   and nothing is allocated per chunk. The reader and the writer are the
//!   same thread, so neither `R` nor `W` needs to be `Send`.
//!
//! Opening releases exactly what [`StreamReader`] releases: the chunks
//! before the first failure, in order, plus the authenticated plaintext of
//! a chunk that proves a cut or extra bytes; a read error is reported only
//! after every chunk read before it has been written (or a failure among
//! them reported instead), as the serial reader would. Sealing output is
//! byte for byte the serial output.
//!
//! Inputs that fit in one batch are handled on the calling thread without
//! starting any thread: starting workers costs more than a single small
//! batch takes to seal.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::stream::{
    CHUNK_SIZE, CopyError, FailKind, SEALED_CHUNK_SIZE, StreamReader, StreamWriter,
    open_sealed_chunk,
};
use super::suite::PayloadKey;

/// Chunks per unit of work handed to a worker (1 MiB of plaintext): large
/// enough that channel traffic is negligible next to the AEAD, small enough
/// that a few per worker keep memory low.
pub const BATCH_CHUNKS: usize = 16;

/// Upper bound on batch buffers, whatever the thread count (~33 MiB).
pub const MAX_BATCHES: usize = 32;

/// How the parallel path cuts its work; [`Tuning::for_threads`] is what
/// [`seal_payload`] and [`open_payload`] use. Tests use small batches to
/// exercise batch edges on small inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Worker threads; 1 means the serial path.
    pub threads: usize,
    /// Chunks per batch, at least 1.
    pub batch_chunks: usize,
    /// Batch buffers in flight at most, at least 1.
    pub max_batches: usize,
}

impl Tuning {
    /// Defaults for `threads` workers: two batches queued per worker plus
    /// one being read and one being written keeps every worker busy.
    pub fn for_threads(threads: usize) -> Tuning {
        Tuning {
            threads: threads.max(1),
            batch_chunks: BATCH_CHUNKS,
            max_batches: (2 * threads + 4).min(MAX_BATCHES),
        }
    }
}

/// Seal everything `input` yields to `output` under `key`, finishing the
/// stream. Returns the plaintext bytes read.
pub fn seal_payload<R: Read + ?Sized, W: Write>(
    key: PayloadKey,
    input: &mut R,
    output: W,
    threads: usize,
) -> Result<(u64, W), CopyError> {
    seal_payload_tuned(key, input, output, Tuning::for_threads(threads))
}

/// Open the payload in `input` under `key` into `output`, stopping at the
/// first chunk that does not authenticate (after writing the chunks before
/// it). Returns the plaintext bytes written.
pub fn open_payload<R: Read, W: Write + ?Sized>(
    key: PayloadKey,
    input: R,
    output: &mut W,
    threads: usize,
) -> Result<u64, CopyError> {
    open_payload_tuned(key, input, output, Tuning::for_threads(threads))
}

/// [`seal_payload`] with explicit [`Tuning`].
pub fn seal_payload_tuned<R: Read + ?Sized, W: Write>(
    key: PayloadKey,
    input: &mut R,
    mut output: W,
    tuning: Tuning,
) -> Result<(u64, W), CopyError> {
    if tuning.threads <= 1 {
        let mut w = StreamWriter::new(key, output);
        let n = w.copy_from(input)?;
        let out = w.finish().map_err(CopyError::Write)?;
        return Ok((n, out));
    }
    let mut run = Run::new(&key, Mode::Seal, tuning);
    run.go(input, &mut output)?;
    output.flush().map_err(CopyError::Write)?;
    Ok((run.total, output))
}

/// [`open_payload`] with explicit [`Tuning`].
pub fn open_payload_tuned<R: Read, W: Write + ?Sized>(
    key: PayloadKey,
    mut input: R,
    output: &mut W,
    tuning: Tuning,
) -> Result<u64, CopyError> {
    if tuning.threads <= 1 {
        return StreamReader::new(key, input).copy_to(output);
    }
    let mut run = Run::new(&key, Mode::Open, tuning);
    run.go(&mut input, output)?;
    Ok(run.total)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Seal,
    Open,
}

impl Mode {
    /// Bytes of input per chunk.
    fn unit(self) -> usize {
        match self {
            Mode::Seal => CHUNK_SIZE,
            Mode::Open => SEALED_CHUNK_SIZE,
        }
    }
}

/// Up to `batch_chunks` consecutive chunks, each in its own
/// `SEALED_CHUNK_SIZE` slot of `buf` (room for the tag when sealing).
struct Batch {
    /// Plaintext passes through it: wiped when the batch is dropped.
    buf: zeroize::Zeroizing<Box<[u8]>>,
    /// Index of the first chunk.
    first: u64,
    /// Input length of each chunk; after the work, the output length of
    /// each of the first `done` chunks.
    lens: Vec<usize>,
    /// The stream's final chunk is this batch's last one.
    last: bool,
    /// Chunks processed successfully.
    done: usize,
    /// Opening: why chunk `done` failed, and the plaintext it may release.
    fail: Option<(FailKind, usize)>,
}

impl Batch {
    fn new(chunks: usize) -> Batch {
        Batch {
            buf: zeroize::Zeroizing::new(vec![0u8; chunks * SEALED_CHUNK_SIZE].into_boxed_slice()),
            first: 0,
            lens: Vec::with_capacity(chunks),
            last: false,
            done: 0,
            fail: None,
        }
    }

    fn slot(&mut self, j: usize) -> &mut [u8] {
        &mut self.buf[j * SEALED_CHUNK_SIZE..(j + 1) * SEALED_CHUNK_SIZE]
    }

    /// Seal or open every chunk in place; opening stops at the first
    /// failure. The same calls, per chunk, as the serial writer and reader.
    fn work(&mut self, key: &PayloadKey, mode: Mode) {
        let n = self.lens.len();
        self.done = 0;
        self.fail = None;
        for j in 0..n {
            let index = self.first + j as u64;
            let last = self.last && j + 1 == n;
            let len = self.lens[j];
            match mode {
                Mode::Seal => {
                    self.lens[j] = key.seal_chunk(index, last, self.slot(j), len);
                }
                Mode::Open => match open_sealed_chunk(key, index, &mut self.slot(j)[..len], last) {
                    Ok(plain) => self.lens[j] = plain,
                    Err(fail) => {
                        self.fail = Some(fail);
                        return;
                    }
                },
            }
            self.done += 1;
        }
    }

    /// Write the processed chunks in order. Sealed chunks but the stream's
    /// last are full, so they are contiguous and go out in one call.
    fn write_out<W: Write + ?Sized>(&self, out: &mut W, mode: Mode) -> Result<u64, CopyError> {
        let mut total = 0u64;
        match mode {
            Mode::Seal => {
                if let Some(&tail) = self.lens[..self.done].last() {
                    let end = (self.done - 1) * SEALED_CHUNK_SIZE + tail;
                    out.write_all(&self.buf[..end]).map_err(CopyError::Write)?;
                }
            }
            Mode::Open => {
                for (j, &len) in self.lens[..self.done].iter().enumerate() {
                    let at = j * SEALED_CHUNK_SIZE;
                    out.write_all(&self.buf[at..at + len])
                        .map_err(CopyError::Write)?;
                    total += len as u64;
                }
                if let Some((kind, released)) = self.fail {
                    let at = self.done * SEALED_CHUNK_SIZE;
                    out.write_all(&self.buf[at..at + released])
                        .map_err(CopyError::Write)?;
                    return Err(CopyError::Crypto(kind.class()));
                }
            }
        }
        Ok(total)
    }
}

/// Read one whole slot's worth (`buf.len()` bytes) unless the input ends
/// first; returns the bytes read.
pub(crate) fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// One byte of look-ahead: `None` at the end of the input.
fn probe<R: Read + ?Sized>(input: &mut R) -> io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    loop {
        match input.read(&mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The state of one parallel seal or open on the calling thread.
struct Run<'k> {
    key: &'k PayloadKey,
    mode: Mode,
    tuning: Tuning,
    /// Index of the next chunk to read.
    next_index: u64,
    /// The look-ahead byte: the first byte of the next chunk.
    carry: Option<u8>,
    /// The input has ended (or failed).
    eof: bool,
    /// Seal: plaintext bytes read; open: plaintext bytes written.
    total: u64,
}

impl<'k> Run<'k> {
    fn new(key: &'k PayloadKey, mode: Mode, tuning: Tuning) -> Self {
        Run {
            key,
            mode,
            tuning,
            next_index: 0,
            carry: None,
            eof: false,
            total: 0,
        }
    }

    /// Fill `b` with the next chunks. Every chunk but the stream's last is
    /// full, and a chunk is known to be the last only when the input ends
    /// right after it: the serial writer's and reader's rule. On a read
    /// error, `b` holds the complete chunks known not to be last, and the
    /// error is returned beside it.
    fn fill<R: Read + ?Sized>(&mut self, input: &mut R, b: &mut Batch) -> io::Result<()> {
        let unit = self.mode.unit();
        let slots = self.tuning.batch_chunks;
        b.lens.clear();
        b.last = false;
        b.first = self.next_index;
        let mut result = Ok(());
        for j in 0..slots {
            let slot = &mut b.slot(j)[..unit];
            let mut len = 0;
            if let Some(c) = self.carry.take() {
                slot[0] = c;
                len = 1;
            }
            match read_full(input, &mut slot[len..]) {
                Ok(n) => len += n,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            if len < unit {
                b.lens.push(len);
                b.last = true;
                break;
            }
            match probe(input) {
                Ok(None) => {
                    b.lens.push(len);
                    b.last = true;
                    break;
                }
                Ok(Some(c)) => {
                    self.carry = Some(c);
                    b.lens.push(len);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_err() || b.last {
            self.eof = true;
        }
        if self.mode == Mode::Seal {
            self.total += b.lens.iter().map(|&l| l as u64).sum::<u64>();
        }
        self.next_index = self
            .next_index
            .checked_add(b.lens.len() as u64)
            .ok_or_else(|| io::Error::other("payload exceeds the STREAM chunk counter"))?;
        result
    }

    fn emit<W: Write + ?Sized>(&mut self, b: &Batch, out: &mut W) -> Result<(), CopyError> {
        self.total += b.write_out(out, self.mode)?;
        Ok(())
    }

    fn go<R: Read + ?Sized, W: Write + ?Sized>(
        &mut self,
        input: &mut R,
        out: &mut W,
    ) -> Result<(), CopyError> {
        let mut first = Batch::new(self.tuning.batch_chunks);
        let read = match (self.fill(input, &mut first), self.mode) {
            (Err(e), Mode::Seal) => return Err(CopyError::Read(e)),
            (read, _) => read,
        };
        if self.eof {
            // Small input: one batch, no threads.
            first.work(self.key, self.mode);
            self.emit(&first, out)?;
            return read.map_err(CopyError::Read);
        }
        let workers = self.tuning.threads;
        let cap = self.tuning.max_batches.max(1);
        let key = self.key;
        let mode = self.mode;
        std::thread::scope(|s| {
            let mut to_workers: Vec<SyncSender<Batch>> = Vec::with_capacity(workers);
            let mut from_workers: Vec<Receiver<Batch>> = Vec::with_capacity(workers);
            for _ in 0..workers {
                // Never full: at most `cap` batches exist.
                let (tx, rx) = sync_channel::<Batch>(cap);
                let (back_tx, back_rx) = sync_channel::<Batch>(cap);
                s.spawn(move || {
                    for mut b in rx {
                        b.work(key, mode);
                        if back_tx.send(b).is_err() {
                            break;
                        }
                    }
                });
                to_workers.push(tx);
                from_workers.push(back_rx);
            }
            // Returning drops the channels, which ends the workers.
            self.drive(input, out, first, &to_workers, &from_workers)
        })
    }

    /// The calling thread's loop: keep the workers fed, write results in
    /// order as soon as they are ready.
    fn drive<R: Read + ?Sized, W: Write + ?Sized>(
        &mut self,
        input: &mut R,
        out: &mut W,
        first: Batch,
        to_workers: &[SyncSender<Batch>],
        from_workers: &[Receiver<Batch>],
    ) -> Result<(), CopyError> {
        let workers = to_workers.len();
        let cap = self.tuning.max_batches.max(1);
        let gone = || CopyError::Read(io::Error::other("a payload worker stopped"));
        let mut free: Vec<Batch> = Vec::with_capacity(cap);
        let mut allocated = 1;
        let (mut sent, mut received) = (0usize, 0usize);
        let mut read_error: Option<io::Error> = None;
        to_workers[0].send(first).map_err(|_| gone())?;
        sent += 1;
        loop {
            if received < sent {
                // Write whatever is ready, in order, before reading more.
                match from_workers[received % workers].try_recv() {
                    Ok(b) => {
                        received += 1;
                        self.emit(&b, out)?;
                        free.push(b);
                        continue;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => {}
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(gone()),
                }
            }
            if !self.eof && sent - received < cap {
                let mut b = match free.pop() {
                    Some(b) => b,
                    None if allocated < cap => {
                        allocated += 1;
                        Batch::new(self.tuning.batch_chunks)
                    }
                    None => unreachable!("fewer than `cap` batches in flight"),
                };
                if let Err(e) = self.fill(input, &mut b) {
                    if self.mode == Mode::Seal {
                        return Err(CopyError::Read(e));
                    }
                    // Open: what was read before the error is still
                    // released (or fails) first, as in the serial reader.
                    read_error = Some(e);
                }
                if b.lens.is_empty() {
                    free.push(b);
                } else {
                    to_workers[sent % workers].send(b).map_err(|_| gone())?;
                    sent += 1;
                }
                continue;
            }
            if received == sent {
                break;
            }
            let b = from_workers[received % workers]
                .recv()
                .map_err(|_| gone())?;
            received += 1;
            self.emit(&b, out)?;
            free.push(b);
        }
        match read_error {
            Some(e) => Err(CopyError::Read(e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::suite::Suite;

    fn key() -> PayloadKey {
        PayloadKey::new(Suite::ChaCha20Poly1305, &[9u8; 32])
    }

    /// Yields its data, then fails instead of ending.
    struct FailsAfter<'a>(&'a [u8]);

    impl Read for FailsAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn tuning(threads: usize) -> Tuning {
        Tuning {
            threads,
            batch_chunks: 2,
            max_batches: 3,
        }
    }

    #[test]
    fn a_read_error_comes_after_the_chunks_read_before_it() {
        let data = vec![5u8; 7 * CHUNK_SIZE + 3];
        let (_, sealed) = seal_payload(key(), &mut &data[..], Vec::new(), 1).unwrap();
        let cut = &sealed[..5 * SEALED_CHUNK_SIZE + 100];
        for threads in [1, 2, 3] {
            let mut out = Vec::new();
            let err = open_payload_tuned(key(), FailsAfter(cut), &mut out, tuning(threads));
            match err {
                Err(CopyError::Read(e)) => assert_eq!(e.to_string(), "disk on fire"),
                other => panic!("{threads}: {other:?}"),
            }
            assert_eq!(out, &data[..5 * CHUNK_SIZE], "threads {threads}");
        }
    }

    #[test]
    fn a_read_error_while_sealing_is_a_read_error() {
        let data = vec![5u8; 7 * CHUNK_SIZE];
        for threads in [1, 2] {
            let r = seal_payload_tuned(key(), &mut FailsAfter(&data), Vec::new(), tuning(threads));
            assert!(matches!(r, Err(CopyError::Read(_))), "{threads}");
        }
    }

    /// Accepts `limit` bytes, then fails.
    struct FullDisk(usize);

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_both_directions() {
        let data = vec![5u8; 9 * CHUNK_SIZE];
        let (_, sealed) = seal_payload(key(), &mut &data[..], Vec::new(), 1).unwrap();
        let r = seal_payload_tuned(key(), &mut &data[..], FullDisk(CHUNK_SIZE), tuning(2));
        assert!(matches!(r, Err(CopyError::Write(_))));
        let r = open_payload_tuned(key(), &sealed[..], &mut FullDisk(CHUNK_SIZE), tuning(2));
        assert!(matches!(r, Err(CopyError::Write(_))));
    }
}
