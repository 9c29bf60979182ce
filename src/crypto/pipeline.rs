//! Whole-payload sealing and opening: the one entry point every format and
//! command uses to run `STREAM` over a reader and a writer.
//!
//! Both vault files and age files (and remote objects) go through
//! [`seal_payload`] and [`open_payload`], so that there is one payload path
//! to make fast and to test. `threads` is the number of worker threads the
//! caller allows; 1 is the serial path through [`StreamWriter`] and
//! [`StreamReader`].

use std::io::{Read, Write};

use super::stream::{CopyError, StreamReader, StreamWriter};
use super::suite::PayloadKey;

/// Seal everything `input` yields to `output` under `key`, finishing the
/// stream. Returns the plaintext bytes read.
pub fn seal_payload<R: Read + ?Sized, W: Write>(
    key: PayloadKey,
    input: &mut R,
    output: W,
    threads: usize,
) -> Result<(u64, W), CopyError> {
    let _ = threads;
    let mut w = StreamWriter::new(key, output);
    let n = w.copy_from(input)?;
    let out = w.finish().map_err(CopyError::Write)?;
    Ok((n, out))
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
    let _ = threads;
    StreamReader::new(key, input).copy_to(output)
}
