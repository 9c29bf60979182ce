//! age's ASCII armor: strict PEM (RFC 7468, figure 3) with the label
//! `AGE ENCRYPTED FILE`.
//!
//! ```text
//! -----BEGIN AGE ENCRYPTED FILE-----
//! <padded base64, exactly 64 columns a line>
//! <last line: 4 to 64 columns, may end in = padding>
//! -----END AGE ENCRYPTED FILE-----
//! ```
//!
//! Armored files are only as non-malleable as their parser is strict, so
//! [`ArmoredReader`] accepts exactly one encoding of each file, as age's own
//! reader does: whitespace-only lines before the armor and whitespace after
//! it (each at most 1024 bytes), LF or CR LF line ends, and nothing else; no
//! PEM headers, no checksum lines, no lines of other lengths, no
//! non-canonical base64. Every deviation is one error class,
//! [`CryptoError::InvalidArmor`], and the reader keeps failing once it has
//! failed. [`ArmoredWriter`] writes that one encoding (LF line ends).

use std::io::{self, BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::error::CryptoError;

/// The armor's first line.
pub const BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// The armor's last line.
pub const END: &[u8] = b"-----END AGE ENCRYPTED FILE-----";
/// Base64 columns of a full line.
const COLUMNS: usize = 64;
/// Bytes a full line encodes.
const LINE_BYTES: usize = 48;
/// Most whitespace accepted before and after the armor.
const MAX_WHITESPACE: usize = 1024;
/// Longest raw line read (whitespace lines included).
const MAX_RAW_LINE: usize = MAX_WHITESPACE + 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    Body,
    Done,
    Failed(&'static str),
}

/// What `read` returns for a broken armor: the class's message (the class
/// itself is [`ArmoredReader::failure`]).
fn armor_error(why: &'static str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        CryptoError::InvalidArmor(why).to_string(),
    )
}

/// Decodes an armored age file into the binary age file.
pub struct ArmoredReader<R: BufRead> {
    inner: R,
    state: State,
    line: Vec<u8>,
    buf: [u8; LINE_BYTES],
    pos: usize,
    end: usize,
}

impl<R: BufRead> ArmoredReader<R> {
    /// Decode the armored input `inner`.
    pub fn new(inner: R) -> Self {
        ArmoredReader {
            inner,
            state: State::Start,
            line: Vec::with_capacity(COLUMNS + 2),
            buf: [0; LINE_BYTES],
            pos: 0,
            end: 0,
        }
    }

    /// Why the armor was refused, once `read` has failed on it.
    pub fn failure(&self) -> Option<CryptoError> {
        match self.state {
            State::Failed(why) => Some(CryptoError::InvalidArmor(why)),
            _ => None,
        }
    }

    /// The next line without its LF (or CR LF), and its raw length; `None`
    /// at the end of the input.
    fn next_line(&mut self) -> Result<Option<usize>, &'static str> {
        self.line.clear();
        let n = (&mut self.inner)
            .take(MAX_RAW_LINE as u64)
            .read_until(b'\n', &mut self.line)
            .map_err(|_| "reading the armor failed")?;
        if n == 0 {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        } else if n == MAX_RAW_LINE {
            return Err("a line is too long");
        }
        Ok(Some(n))
    }

    /// After the last line: only whitespace may follow, and not too much.
    fn drain_trailing(&mut self) -> Result<(), &'static str> {
        let mut rest = Vec::new();
        (&mut self.inner)
            .take(MAX_WHITESPACE as u64 + 1)
            .read_to_end(&mut rest)
            .map_err(|_| "reading the armor failed")?;
        if !rest.iter().all(u8::is_ascii_whitespace) {
            return Err("data follows the armor");
        }
        if rest.len() > MAX_WHITESPACE {
            return Err("too much whitespace after the armor");
        }
        Ok(())
    }

    /// The end line is due: check it and what follows.
    fn expect_end(&mut self) -> Result<(), &'static str> {
        match self.next_line()? {
            Some(_) if self.line == END => self.drain_trailing(),
            Some(_) => Err("a short line is not followed by the end line"),
            None => Err("the armor has no end line"),
        }
    }

    /// Decode the next line into `buf[..end]`, moving through the states.
    fn advance(&mut self) -> Result<(), &'static str> {
        if self.state == State::Start {
            let mut skipped = 0;
            loop {
                let n = self.next_line()?.ok_or("the armor has no begin line")?;
                if self.line.iter().all(u8::is_ascii_whitespace) {
                    skipped += n;
                    if skipped > MAX_WHITESPACE {
                        return Err("too much whitespace before the armor");
                    }
                    continue;
                }
                if self.line != BEGIN {
                    return Err("the first line is not -----BEGIN AGE ENCRYPTED FILE-----");
                }
                self.state = State::Body;
                break;
            }
        }
        if self.next_line()?.is_none() {
            return Err("the armor has no end line");
        }
        if self.line == END {
            self.drain_trailing()?;
            self.state = State::Done;
            return Ok(());
        }
        if self.line.len() > COLUMNS {
            return Err("a line is longer than 64 columns");
        }
        if self.line.is_empty() {
            // A full last line is followed directly by the end line; an
            // empty line would be a second encoding of the same data.
            return Err("an empty line inside the armor");
        }
        let n = STANDARD
            .decode_slice(&self.line, &mut self.buf)
            .map_err(|_| "a line is not canonical base64")?;
        (self.pos, self.end) = (0, n);
        if n < LINE_BYTES {
            self.expect_end()?;
            self.state = State::Done;
        }
        Ok(())
    }
}

impl<R: BufRead> Read for ArmoredReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        loop {
            let k = (out.len() - n).min(self.end - self.pos);
            out[n..n + k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            n += k;
            if n == out.len() {
                return Ok(n);
            }
            match self.state {
                State::Done => return Ok(n),
                State::Failed(why) if n == 0 => return Err(armor_error(why)),
                State::Failed(_) => return Ok(n),
                State::Start | State::Body => {
                    if let Err(why) = self.advance() {
                        // Bytes of lines before the bad one may still be
                        // handed out; the failure follows them.
                        self.state = State::Failed(why);
                        (self.pos, self.end) = (0, 0);
                    }
                }
            }
        }
    }
}

/// Encodes a binary age file as armor. Call [`ArmoredWriter::finish`] at the
/// end: it writes the last line and the end line.
pub struct ArmoredWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
    text: Vec<u8>,
}

/// Input bytes encoded per batch written to the inner writer.
const BATCH: usize = 1024 * LINE_BYTES;

impl<W: Write> ArmoredWriter<W> {
    /// Start an armored file on `inner` (the begin line is written with the
    /// first batch).
    pub fn new(inner: W) -> Self {
        let mut text = Vec::with_capacity(BATCH / LINE_BYTES * (COLUMNS + 1) + 64);
        text.extend_from_slice(BEGIN);
        text.push(b'\n');
        ArmoredWriter {
            inner,
            pending: Vec::with_capacity(BATCH),
            text,
        }
    }

    /// Encode the whole lines in `pending` into `text` and write it out.
    fn flush_lines(&mut self) -> io::Result<()> {
        let whole = self.pending.len() / LINE_BYTES * LINE_BYTES;
        let mut line = [0u8; COLUMNS];
        for chunk in self.pending[..whole].chunks_exact(LINE_BYTES) {
            STANDARD
                .encode_slice(chunk, &mut line)
                .expect("48 bytes encode to 64 columns");
            self.text.extend_from_slice(&line);
            self.text.push(b'\n');
        }
        self.pending.drain(..whole);
        self.inner.write_all(&self.text)?;
        self.text.clear();
        Ok(())
    }

    /// Write the last line and the end line, flush, and return the inner
    /// writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_lines()?;
        if !self.pending.is_empty() {
            self.text
                .extend_from_slice(STANDARD.encode(&self.pending).as_bytes());
            self.text.push(b'\n');
        }
        self.text.extend_from_slice(END);
        self.text.push(b'\n');
        self.inner.write_all(&self.text)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ArmoredWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BATCH - self.pending.len());
        self.pending.extend_from_slice(&data[..n]);
        if self.pending.len() == BATCH {
            self.flush_lines()?;
        }
        Ok(n)
    }

    /// Flushes the inner writer; the last partial line stays buffered until
    /// [`ArmoredWriter::finish`].
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armor(data: &[u8], step: usize) -> Vec<u8> {
        let mut w = ArmoredWriter::new(Vec::new());
        for piece in data.chunks(step.max(1)) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn dearmor(text: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        let mut r = ArmoredReader::new(text);
        match r.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(r.failure().unwrap_or(CryptoError::Io(e))),
        }
    }

    #[test]
    fn round_trips_at_line_and_batch_edges() {
        for len in [
            1,
            2,
            3,
            47,
            48,
            49,
            96,
            1000,
            BATCH - 1,
            BATCH,
            BATCH + 1,
            3 * BATCH + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            for step in [1, 7, 4096, len] {
                if step == 1 && len > 5000 {
                    continue;
                }
                let text = armor(&data, step);
                assert!(text.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\n"));
                assert!(text.ends_with(b"\n-----END AGE ENCRYPTED FILE-----\n"));
                let lines: Vec<&[u8]> = text.split(|&c| c == b'\n').collect();
                let body = &lines[1..lines.len() - 2];
                assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
                assert!((1..=64).contains(&body[body.len() - 1].len()));
                assert_eq!(dearmor(&text).unwrap(), data, "len {len} step {step}");
                let crlf: Vec<u8> = text
                    .iter()
                    .flat_map(|&c| {
                        if c == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![c]
                        }
                    })
                    .collect();
                assert_eq!(dearmor(&crlf).unwrap(), data);
            }
        }
    }

    #[test]
    fn strict_rules() {
        let text = String::from_utf8(armor(&[7u8; 100], 100)).unwrap();
        let ok = [
            format!(" \t\n\r\n{text}\n  \n"),
            text.trim_end().to_string(),
        ];
        for t in ok {
            assert_eq!(dearmor(t.as_bytes()).unwrap(), vec![7u8; 100], "{t:?}");
        }
        let bad = [
            String::new(),
            "   \n".into(),
            text.replace("BEGIN AGE", "BEGIN age"),
            format!(" {text}"),
            text.replacen('\n', "\n\n", 1),
            text.replace("\n-----END", "\n\n-----END"),
            format!("{text}garbage\n"),
            format!("{text}{}", " ".repeat(MAX_WHITESPACE + 1)),
            format!("{}{text}", "\n".repeat(MAX_WHITESPACE + 1)),
            text.replacen("Bw", "B*", 1),
            text.replace("\n-----END AGE ENCRYPTED FILE-----\n", "\n"),
            text.replacen("BwcH\n", "BwcH \n", 1),
            text.replace("Bw==", "Bx=="),
            text.replace("Bw==", "Bw"),
        ];
        // Regression (found by tests/age_prop.rs): data that fills its last
        // line exactly must be followed by the end line, not an empty line.
        let full = String::from_utf8(armor(&[7u8; 96], 96)).unwrap();
        assert!(dearmor(full.as_bytes()).is_ok());
        let bad: Vec<String> = bad
            .into_iter()
            .chain([full.replace("\n-----END", "\n\n-----END")])
            .collect();
        for t in bad {
            let err = dearmor(t.as_bytes()).unwrap_err();
            assert!(matches!(err, CryptoError::InvalidArmor(_)), "{t:?}: {err}");
        }
    }

    #[test]
    fn a_failed_reader_keeps_failing() {
        let mut r = ArmoredReader::new(&b"-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n"[..]);
        let mut buf = [0u8; 10];
        assert!(r.read(&mut buf).is_err());
        assert!(r.read(&mut buf).is_err());
    }
}
