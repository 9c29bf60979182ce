//! `STREAM[key](plaintext)`: the chunked payload (Hoang, Reyhanitabar, Rogaway,
//! Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
//! Misuse-Resistance", CRYPTO 2015), as age uses it.
//!
//! Plaintext is cut into 64 KiB chunks; chunk `i` is sealed under the nonce
//! `i || last` (see [`chunk_nonce`](super::suite::chunk_nonce)). Every chunk
//! but the last is full; the last may be short, and may be empty only when it
//! is the only chunk. So truncation, reordering, extension and dropping the
//! end all fail authentication, and swapping chunks between files fails
//! because each file has its own payload key.
//!
//! [`StreamWriter`] holds back the final chunk until [`StreamWriter::finish`]
//! is called: a writer dropped without `finish` leaves a file that does not
//! open. [`StreamReader`] decides which chunk is last by looking one byte
//! ahead, refuses trailing bytes and empty final chunks, reports every
//! authentication failure as one opaque class, and keeps failing once it
//! has failed. Both work on one buffer allocated up front.
//!
//! The reader releases exactly the chunks that authenticate at their index,
//! as age's reference reader does (the C2SP CCTV vectors check this): a
//! full chunk that authenticates only with the other "last" flag is
//! released before the reader reports the cut (`Truncated`) or the extra
//! bytes (`TrailingData`). Both formats share this one reader, and the
//! parallel pipeline ([`super::pipeline`]) applies the same per-chunk rule
//! (`stream::open_sealed_chunk`) so that it releases the same bytes.

use std::io::{self, Read, Write};

use super::error::CryptoError;
use super::primitives::TAG_LEN;
use super::suite::PayloadKey;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Sealed bytes per full chunk.
pub const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;

/// The sealed length of a payload of `plaintext_len` bytes (saturating at
/// `u64::MAX`, which no stored payload can have: sizes may come from
/// metadata written by someone else).
pub fn sealed_len(plaintext_len: u64) -> u64 {
    let chunks = chunk_count(plaintext_len);
    plaintext_len.saturating_add(chunks.saturating_mul(TAG_LEN as u64))
}

/// How many chunks a payload of `plaintext_len` bytes has: at least one
/// (an empty payload is one empty final chunk).
pub fn chunk_count(plaintext_len: u64) -> u64 {
    plaintext_len.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// Where chunk `i` starts in the plaintext.
pub fn plain_offset(i: u64) -> u64 {
    i * CHUNK_SIZE as u64
}

/// Where chunk `i` starts in the sealed payload.
pub fn sealed_offset(i: u64) -> u64 {
    i * SEALED_CHUNK_SIZE as u64
}

/// Plaintext bytes in chunk `i` of a payload of `plaintext_len` bytes.
pub fn chunk_plain_len(plaintext_len: u64, i: u64) -> usize {
    (plaintext_len - plain_offset(i)).min(CHUNK_SIZE as u64) as usize
}

/// A failure while copying between a stream and another reader or writer:
/// which side failed, or that the payload itself did not authenticate.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
    /// The payload is cut, damaged or extended ([`CryptoError::Truncated`],
    /// [`CryptoError::DecryptFailed`], [`CryptoError::CutOrDamaged`],
    /// [`CryptoError::TrailingData`]), or,
    /// for an armored age file, its armor is ([`CryptoError::InvalidArmor`]).
    Crypto(CryptoError),
}

impl From<CopyError> for CryptoError {
    /// The crypto layer's class of a copy's failure, for callers that do
    /// not tell which side failed: a read or a write error is
    /// [`CryptoError::Io`].
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Crypto(e) => e,
            CopyError::Read(e) | CopyError::Write(e) => CryptoError::Io(e),
        }
    }
}

/// Writes `STREAM[key](plaintext)` to an inner writer.
///
/// Call [`finish`](StreamWriter::finish) when done: it seals the last chunk.
/// Dropping the writer without it produces an unopenable (truncated) file.
pub struct StreamWriter<W: Write> {
    key: PayloadKey,
    inner: W,
    /// Plaintext waits here: wiped on drop (it may be a key file).
    buf: zeroize::Zeroizing<Box<[u8]>>,
    len: usize,
    index: u64,
}

impl<W: Write> StreamWriter<W> {
    /// Start a payload under `key`; the caller has already written the header.
    pub fn new(key: PayloadKey, inner: W) -> Self {
        StreamWriter {
            key,
            inner,
            buf: zeroize::Zeroizing::new(vec![0u8; SEALED_CHUNK_SIZE].into_boxed_slice()),
            len: 0,
            index: 0,
        }
    }

    fn seal_full_chunk(&mut self) -> io::Result<()> {
        self.seal_full_chunk_tagged().map_err(|e| match e {
            CopyError::Read(e) | CopyError::Write(e) => e,
            CopyError::Crypto(e) => io::Error::other(e.to_string()),
        })
    }

    fn seal_full_chunk_tagged(&mut self) -> Result<(), CopyError> {
        debug_assert_eq!(self.len, CHUNK_SIZE);
        let n = self
            .key
            .seal_chunk(self.index, false, &mut self.buf, CHUNK_SIZE);
        self.inner
            .write_all(&self.buf[..n])
            .map_err(CopyError::Write)?;
        self.index = self.index.checked_add(1).ok_or_else(|| {
            CopyError::Write(io::Error::other("payload exceeds the STREAM chunk counter"))
        })?;
        self.len = 0;
        Ok(())
    }

    /// Read `reader` to its end straight into the chunk buffer (no copy
    /// through an intermediate buffer). Returns the bytes read.
    pub fn copy_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> Result<u64, CopyError> {
        let mut total = 0u64;
        loop {
            if self.len == CHUNK_SIZE {
                // Only seal a full chunk once we know more data follows, so
                // that `finish` can mark it last otherwise.
                let mut probe = [0u8; 1];
                match reader.read(&mut probe) {
                    Ok(0) => return Ok(total),
                    Ok(_) => {
                        self.seal_full_chunk_tagged()?;
                        self.buf[0] = probe[0];
                        self.len = 1;
                        total += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(CopyError::Read(e)),
                }
                continue;
            }
            match reader.read(&mut self.buf[self.len..CHUNK_SIZE]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    self.len += n;
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CopyError::Read(e)),
            }
        }
    }

    /// Seal the final chunk, flush, and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let n = self
            .key
            .seal_chunk(self.index, true, &mut self.buf, self.len);
        self.inner.write_all(&self.buf[..n])?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for StreamWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.len == CHUNK_SIZE {
            self.seal_full_chunk()?;
        }
        let n = data.len().min(CHUNK_SIZE - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    /// Flushes the inner writer. Buffered plaintext stays buffered: a chunk
    /// can only be sealed once it is known whether it is the last.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    Reading,
    Done,
    Failed(FailKind),
}

/// Why a payload failed to open: the three classes a reader reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailKind {
    Truncated,
    Damaged,
    CutOrDamaged,
    Trailing,
}

impl FailKind {
    /// The crypto layer's class for this failure.
    pub(crate) fn class(self) -> CryptoError {
        match self {
            FailKind::Truncated => CryptoError::Truncated,
            FailKind::Damaged => CryptoError::DecryptFailed,
            FailKind::CutOrDamaged => CryptoError::CutOrDamaged,
            FailKind::Trailing => CryptoError::TrailingData,
        }
    }

    /// What the `Read` adapter returns: the class's message, as
    /// `InvalidData` (the class itself stays with the reader).
    fn io_error(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self.class().to_string())
    }
}

/// Reads and authenticates `STREAM[key](plaintext)` from an inner reader.
///
/// `read` returns `Ok(0)` only after the last chunk has authenticated and
/// the input has ended; plaintext handed out before that is authenticated
/// chunk by chunk, but the stream as a whole is only known complete at the
/// end.
pub struct StreamReader<R: Read> {
    key: PayloadKey,
    inner: R,
    // One sealed chunk plus one byte of look-ahead; opened plaintext is
    // here, so it is wiped on drop (a decrypted identity file, say).
    buf: zeroize::Zeroizing<Box<[u8]>>,
    pos: usize,
    end: usize,
    index: u64,
    peeked: Option<u8>,
    state: ReadState,
}

impl<R: Read> StreamReader<R> {
    /// Read a payload under `key`; the caller has already consumed the header.
    pub fn new(key: PayloadKey, inner: R) -> Self {
        StreamReader {
            key,
            inner,
            buf: zeroize::Zeroizing::new(vec![0u8; SEALED_CHUNK_SIZE + 1].into_boxed_slice()),
            pos: 0,
            end: 0,
            index: 0,
            peeked: None,
            state: ReadState::Reading,
        }
    }

    /// Fill `buf` with up to one sealed chunk; return its length and
    /// whether it is the last one.
    fn read_sealed_chunk(&mut self) -> io::Result<(usize, bool)> {
        let mut len = 0;
        if let Some(b) = self.peeked.take() {
            self.buf[0] = b;
            len = 1;
        }
        while len < SEALED_CHUNK_SIZE {
            match self.inner.read(&mut self.buf[len..SEALED_CHUNK_SIZE]) {
                Ok(0) => return Ok((len, true)),
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            match self
                .inner
                .read(&mut self.buf[SEALED_CHUNK_SIZE..SEALED_CHUNK_SIZE + 1])
            {
                Ok(0) => return Ok((len, true)),
                Ok(_) => {
                    self.peeked = Some(self.buf[SEALED_CHUNK_SIZE]);
                    return Ok((len, false));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Read, authenticate and decrypt the next chunk into `buf[..end]`.
    ///
    /// A chunk that authenticated but ends the stream wrongly (see
    /// [`StreamReader::authenticate`]) is handed out before the failure.
    fn fill(&mut self) -> io::Result<()> {
        let (len, last) = self.read_sealed_chunk()?;
        match self.authenticate(len, last) {
            Ok(plain) => {
                self.pos = 0;
                self.end = plain;
                if last {
                    self.state = ReadState::Done;
                } else {
                    self.index = self.index.checked_add(1).ok_or_else(|| {
                        io::Error::other("payload exceeds the STREAM chunk counter")
                    })?;
                }
                Ok(())
            }
            Err((kind, released)) => {
                // Never hand out bytes from a chunk that did not authenticate.
                if released == 0 {
                    self.buf.iter_mut().for_each(|b| *b = 0);
                }
                self.pos = 0;
                self.end = released;
                self.state = ReadState::Failed(kind);
                if released == 0 {
                    Err(kind.io_error())
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Open the chunk in `buf[..len]`; see [`open_sealed_chunk`].
    fn authenticate(&mut self, len: usize, last: bool) -> Result<usize, (FailKind, usize)> {
        open_sealed_chunk(&self.key, self.index, &mut self.buf[..len], last)
    }

    /// Why the payload failed to open, once a read has returned an
    /// `InvalidData` error for it (`None` while it has not failed, and for
    /// failures of the inner reader, which `read` returns as they are).
    pub fn failure(&self) -> Option<CryptoError> {
        match self.state {
            ReadState::Failed(kind) => Some(kind.class()),
            _ => None,
        }
    }

    /// Write all remaining plaintext to `out` straight from the chunk buffer.
    /// Returns the bytes written; fails at the first chunk that does not
    /// authenticate, after writing the chunks before it.
    pub fn copy_to<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<u64, CopyError> {
        let mut total = 0u64;
        loop {
            if self.pos < self.end {
                out.write_all(&self.buf[self.pos..self.end])
                    .map_err(CopyError::Write)?;
                total += (self.end - self.pos) as u64;
                self.pos = self.end;
            }
            match self.state {
                ReadState::Done => return Ok(total),
                ReadState::Failed(kind) => return Err(CopyError::Crypto(kind.class())),
                ReadState::Reading => {
                    if let Err(e) = self.fill() {
                        return Err(match self.failure() {
                            Some(class) => CopyError::Crypto(class),
                            None => CopyError::Read(e),
                        });
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for StreamReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.end {
                let n = out.len().min(self.end - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.state {
                ReadState::Done => return Ok(0),
                ReadState::Failed(kind) => return Err(kind.io_error()),
                ReadState::Reading => self.fill()?,
            }
        }
    }
}

/// Open one sealed chunk (`ciphertext || tag`, all of `chunk`) in place at
/// `index`, `last` saying whether the input ends after it: its plaintext
/// length, or the failure class and how many plaintext bytes (of a chunk
/// that did authenticate) may still be handed out before the failure.
///
/// This is the whole per-chunk rule of the reader, shared by
/// [`StreamReader`] and the parallel pipeline so that both release exactly
/// the same bytes and report exactly the same class:
/// - less than a tag where a chunk must be is a cut (`Truncated`);
/// - an empty final chunk is refused unless it is the only chunk;
/// - a full chunk that opens only with the other "last" flag was followed
///   by a cut (`Truncated`) or by extra bytes (`TrailingData`), and its
///   plaintext is authentic at its index, so it is released first;
/// - a short final chunk that does not authenticate is `CutOrDamaged`: a
///   cut inside a chunk and a damaged short last chunk look the same;
/// - anything else that does not authenticate (a full chunk that opens
///   with neither flag, an empty final chunk after others) is
///   `DecryptFailed`.
pub(crate) fn open_sealed_chunk(
    key: &PayloadKey,
    index: u64,
    chunk: &mut [u8],
    last: bool,
) -> Result<usize, (FailKind, usize)> {
    let len = chunk.len();
    if len < TAG_LEN {
        // Nothing, or less than a tag, where a chunk must be.
        return Err((FailKind::Truncated, 0));
    }
    match key.open_chunk(index, last, chunk) {
        Some(0) if last && index > 0 => Err((FailKind::Damaged, 0)),
        Some(n) => Ok(n),
        // A failed open leaves the chunk as it was (see `open_chunk`),
        // so it can be tried with the other flag: a full "last" chunk
        // that opens as a middle one means the rest was cut off; a
        // middle chunk that opens as the last one means bytes were
        // appended. Either way this chunk is authentic at its index.
        None if len == SEALED_CHUNK_SIZE => match key.open_chunk(index, !last, chunk) {
            Some(n) if last => Err((FailKind::Truncated, n)),
            Some(n) => Err((FailKind::Trailing, n)),
            None => Err((FailKind::Damaged, 0)),
        },
        None if last => Err((FailKind::CutOrDamaged, 0)),
        None => Err((FailKind::Damaged, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::suite::Suite;

    #[test]
    fn chunk_arithmetic_agrees_with_the_writer() {
        for len in [
            0u64,
            1,
            CHUNK_SIZE as u64 - 1,
            CHUNK_SIZE as u64,
            CHUNK_SIZE as u64 + 1,
            2 * CHUNK_SIZE as u64 + 500,
        ] {
            let sealed = seal(Suite::ChaCha20Poly1305, &vec![0u8; len as usize], 4096);
            assert_eq!(sealed.len() as u64, sealed_len(len), "len {len}");
            let n = chunk_count(len);
            let last = n - 1;
            assert_eq!(
                sealed_offset(last) + chunk_plain_len(len, last) as u64 + TAG_LEN as u64,
                sealed_len(len)
            );
            assert_eq!(plain_offset(last) + chunk_plain_len(len, last) as u64, len);
        }
    }

    #[test]
    fn sealed_len_of_a_forged_size_saturates_instead_of_overflowing() {
        assert_eq!(sealed_len(u64::MAX), u64::MAX);
        assert_eq!(sealed_len(u64::MAX - 100), u64::MAX);
        assert_eq!(sealed_len(0), 16);
        assert_eq!(sealed_len(CHUNK_SIZE as u64 + 1), CHUNK_SIZE as u64 + 33);
    }

    fn key(suite: Suite) -> PayloadKey {
        PayloadKey::new(suite, &[0x42; 32])
    }

    fn seal(suite: Suite, data: &[u8], step: usize) -> Vec<u8> {
        let mut w = StreamWriter::new(key(suite), Vec::new());
        for piece in data.chunks(step.max(1)) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn open(suite: Suite, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut r = StreamReader::new(key(suite), sealed);
        let mut out = Vec::new();
        read_class(&mut r, &mut out)?;
        Ok(out)
    }

    /// `read_to_end` through the `Read` adapter, with the failure's class.
    fn read_class<R: Read>(r: &mut StreamReader<R>, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        match r.read_to_end(out) {
            Ok(_) => Ok(()),
            Err(e) => Err(r.failure().unwrap_or(CryptoError::Io(e))),
        }
    }

    const LENGTHS: [usize; 6] = [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE + 500,
    ];

    #[test]
    fn round_trips_at_chunk_edges_in_several_step_sizes() {
        for suite in Suite::ALL {
            for len in LENGTHS {
                let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                for step in [1000, 4096, CHUNK_SIZE, len + 1] {
                    if step == 1000 && len > CHUNK_SIZE * 2 {
                        continue;
                    }
                    let sealed = seal(suite, &data, step);
                    assert_eq!(sealed.len() as u64, sealed_len(len as u64));
                    assert_eq!(open(suite, &sealed).unwrap(), data, "{suite} {len} {step}");
                    let mut via_copy = Vec::new();
                    StreamReader::new(key(suite), &sealed[..])
                        .copy_to(&mut via_copy)
                        .unwrap();
                    assert_eq!(via_copy, data);
                }
                let mut w = StreamWriter::new(key(suite), Vec::new());
                w.copy_from(&mut &data[..]).unwrap();
                assert_eq!(w.finish().unwrap(), seal(suite, &data, 4096));
            }
        }
    }

    #[test]
    fn forgetting_finish_leaves_an_unopenable_payload() {
        for len in LENGTHS {
            let data = vec![7u8; len];
            let mut sink = Vec::new();
            {
                let mut w = StreamWriter::new(key(Suite::ChaCha20Poly1305), &mut sink);
                w.write_all(&data).unwrap();
                // dropped without finish
            }
            assert!(open(Suite::ChaCha20Poly1305, &sink).is_err(), "len {len}");
        }
    }

    #[test]
    fn truncation_at_every_chunk_boundary_is_reported_as_truncated() {
        let data = vec![1u8; 3 * CHUNK_SIZE + 10];
        let sealed = seal(Suite::Aes256Gcm, &data, CHUNK_SIZE);
        for cut in 0..=3 {
            let at = cut * SEALED_CHUNK_SIZE;
            let err = open(Suite::Aes256Gcm, &sealed[..at]).unwrap_err();
            assert!(matches!(err, CryptoError::Truncated), "cut {cut}: {err}");
        }
        // A cut inside a chunk is damage or truncation, never success.
        assert!(open(Suite::Aes256Gcm, &sealed[..sealed.len() - 1]).is_err());
    }

    #[test]
    fn a_cut_inside_a_chunk_is_told_from_a_damaged_full_chunk() {
        let suite = Suite::ChaCha20Poly1305;
        let sealed = seal(suite, &vec![4u8; 3 * CHUNK_SIZE + 10], CHUNK_SIZE);
        // Cut inside a middle chunk, or inside the (short) last one: the
        // stub cannot be told from a damaged short last chunk.
        for at in [
            SEALED_CHUNK_SIZE + TAG_LEN,
            SEALED_CHUNK_SIZE + 1000,
            2 * SEALED_CHUNK_SIZE - 1,
            sealed.len() - 1,
        ] {
            let err = open(suite, &sealed[..at]).unwrap_err();
            assert!(
                matches!(err, CryptoError::CutOrDamaged),
                "cut at {at}: {err}"
            );
        }
        let mut last = sealed.clone();
        *last.last_mut().unwrap() ^= 1;
        let err = open(suite, &last).unwrap_err();
        assert!(matches!(err, CryptoError::CutOrDamaged), "{err}");
        // A full chunk that opens with neither flag was changed, not cut.
        let mut middle = sealed.clone();
        middle[SEALED_CHUNK_SIZE + 500] ^= 1;
        let err = open(suite, &middle).unwrap_err();
        assert!(matches!(err, CryptoError::DecryptFailed), "{err}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        for len in [0, 10, CHUNK_SIZE] {
            let mut sealed = seal(Suite::ChaCha20Poly1305, &vec![3u8; len], 999);
            sealed.push(0);
            assert!(open(Suite::ChaCha20Poly1305, &sealed).is_err(), "len {len}");
        }
        let mut sealed = seal(Suite::ChaCha20Poly1305, &vec![3u8; CHUNK_SIZE], 999);
        sealed.extend_from_slice(&[0u8; 40]);
        let err = open(Suite::ChaCha20Poly1305, &sealed).unwrap_err();
        assert!(matches!(err, CryptoError::TrailingData), "{err}");
    }

    #[test]
    fn chunks_that_authenticate_are_released_before_a_cut_or_extra_bytes() {
        let suite = Suite::ChaCha20Poly1305;
        let data: Vec<u8> = (0..3 * CHUNK_SIZE).map(|i| (i % 253) as u8).collect();
        let sealed = seal(suite, &data, CHUNK_SIZE);
        let released = |bytes: &[u8]| {
            let mut out = Vec::new();
            let err = match StreamReader::new(key(suite), bytes).copy_to(&mut out) {
                Err(CopyError::Crypto(e)) => e,
                other => panic!("expected a payload failure, got {other:?}"),
            };
            (err, out)
        };
        // Cut after two full chunks: the second opens as a middle chunk.
        let (err, out) = released(&sealed[..2 * SEALED_CHUNK_SIZE]);
        assert!(matches!(err, CryptoError::Truncated), "{err}");
        assert_eq!(out, &data[..2 * CHUNK_SIZE]);
        // A full final chunk, then one more byte: the chunk opens as last.
        let mut one = seal(suite, &data[..CHUNK_SIZE], CHUNK_SIZE);
        one.push(0);
        let (err, out) = released(&one);
        assert!(matches!(err, CryptoError::TrailingData), "{err}");
        assert_eq!(out, &data[..CHUNK_SIZE]);
        // Through `Read` too: the bytes first, then the same failure, twice.
        let mut r = StreamReader::new(key(suite), &one[..]);
        let mut out = Vec::new();
        let err = read_class(&mut r, &mut out).unwrap_err();
        assert!(matches!(err, CryptoError::TrailingData), "{err}");
        assert_eq!(out.len(), CHUNK_SIZE);
        assert!(r.read(&mut [0u8; 10]).is_err(), "must keep failing");
    }

    #[test]
    fn empty_final_chunk_after_data_is_refused() {
        let k = key(Suite::ChaCha20Poly1305);
        let mut sealed = vec![0u8; SEALED_CHUNK_SIZE + TAG_LEN];
        k.seal_chunk(0, false, &mut sealed[..SEALED_CHUNK_SIZE], CHUNK_SIZE);
        k.seal_chunk(1, true, &mut sealed[SEALED_CHUNK_SIZE..], 0);
        let err = open(Suite::ChaCha20Poly1305, &sealed).unwrap_err();
        assert!(matches!(err, CryptoError::DecryptFailed), "{err}");
    }

    #[test]
    fn reordered_chunks_fail_and_the_reader_stays_failed() {
        let data = vec![9u8; 2 * CHUNK_SIZE + 1];
        let sealed = seal(Suite::ChaCha20Poly1305, &data, CHUNK_SIZE);
        let mut swapped = sealed.clone();
        let (a, b) = swapped.split_at_mut(SEALED_CHUNK_SIZE);
        a.swap_with_slice(&mut b[..SEALED_CHUNK_SIZE]);
        let mut r = StreamReader::new(key(Suite::ChaCha20Poly1305), &swapped[..]);
        let mut out = vec![0u8; 10];
        assert!(r.read(&mut out).is_err());
        assert!(r.read(&mut out).is_err(), "must keep failing");
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal(Suite::ChaCha20Poly1305, b"hello", 5);
        let mut r = StreamReader::new(
            PayloadKey::new(Suite::ChaCha20Poly1305, &[0; 32]),
            &sealed[..],
        );
        let err = read_class(&mut r, &mut Vec::new()).unwrap_err();
        // A short last chunk that fails could also be a cut one.
        assert!(matches!(err, CryptoError::CutOrDamaged), "{err}");
        let sealed = seal(Suite::ChaCha20Poly1305, &[5u8; CHUNK_SIZE + 1], 5);
        let mut r = StreamReader::new(
            PayloadKey::new(Suite::ChaCha20Poly1305, &[0; 32]),
            &sealed[..],
        );
        let err = read_class(&mut r, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, CryptoError::DecryptFailed), "{err}");
    }
}
