//! Packs: many heads in one file, so that a client without a cache (a new
//! machine, a new user) reads a few files instead of one per object.
//!
//! ```text
//! pack   = magic "VLTPACK\x01" (8) || entry*
//! entry  = id (16) || rev (u64) || whole (u32) || len (u32) || bytes (len)
//! ```
//!
//! `bytes` is head revision `rev` of object `id` as the head file holds it:
//! all of it (`len == whole`), or only its header and sealed record when
//! the head is large (an inline payload over [`WHOLE_MAX`] bytes); `whole`
//! is the head file's size. A pack has no MAC and is only a hint: a reader
//! uses an entry only for an (id, rev) its own listing of `objects/` shows
//! with that size, and only once the entry opens as that head (the head's
//! sealed id and revision included, see [`super::head::open`]). Anything
//! else (an unknown, stale, forged or damaged entry, a cut pack) costs at
//! most a read of the head file itself.

use std::io::{self, Read};

use super::MAX_HEAD;

/// The first bytes of a pack.
pub const MAGIC: [u8; 8] = *b"VLTPACK\x01";
/// Heads up to this size are copied whole into packs; larger ones by
/// their header and record only.
pub const WHOLE_MAX: usize = 16 << 10;
/// Bytes of an entry before its head bytes.
const ENTRY_HEAD: usize = 16 + 8 + 4 + 4;

/// One entry of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The object id (hex).
    pub id: String,
    /// The head revision.
    pub rev: u64,
    /// The head file's size.
    pub whole: u64,
    /// The head's bytes, or its start.
    pub bytes: Vec<u8>,
}

/// The encoding of one entry (append to [`MAGIC`] and other entries).
/// `head` is the whole head file; `prefix` its header-and-record length
/// ([`super::head::prefix_len`]), used when the head is large.
pub fn entry(id: &str, rev: u64, head: &[u8], prefix: usize) -> Vec<u8> {
    let keep = if head.len() <= WHOLE_MAX {
        head.len()
    } else {
        prefix.min(head.len())
    };
    raw_entry(id, rev, head.len() as u64, &head[..keep])
}

/// The encoding of an entry of `bytes` (all of a head file of `whole`
/// bytes, or its start), as another pack held it.
pub fn raw_entry(id: &str, rev: u64, whole: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENTRY_HEAD + bytes.len());
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).expect("an object id"))
        .collect();
    out.extend_from_slice(&raw);
    out.extend_from_slice(&rev.to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(whole)
            .expect("heads are bounded")
            .to_be_bytes(),
    );
    out.extend_from_slice(
        &u32::try_from(bytes.len())
            .expect("heads are bounded")
            .to_be_bytes(),
    );
    out.extend_from_slice(bytes);
    out
}

/// Reads a pack's entries one at a time, holding one entry in memory.
pub struct Reader<R> {
    inner: R,
    started: bool,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// A reader of the pack `inner`.
    pub fn new(inner: R) -> Self {
        Reader {
            inner,
            started: false,
            done: false,
        }
    }

    /// Fill `buf` completely; `Ok(false)` on a clean end before any byte.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The next entry; `None` at the end. An error (bad magic, a length out
    /// of bounds, a cut entry, a failed read) ends the pack: entries after
    /// it are not read.
    pub fn next_entry(&mut self) -> Option<io::Result<Entry>> {
        if self.done {
            return None;
        }
        let r = self.read_one();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }

    fn read_one(&mut self) -> Option<io::Result<Entry>> {
        let bad = |why: &str| Some(Err(io::Error::new(io::ErrorKind::InvalidData, why)));
        if !self.started {
            self.started = true;
            let mut m = [0u8; 8];
            match self.fill(&mut m) {
                Ok(true) if m == MAGIC => {}
                Ok(_) => return bad("not a pack"),
                Err(e) => return Some(Err(e)),
            }
        }
        let mut h = [0u8; ENTRY_HEAD];
        match self.fill(&mut h) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => return Some(Err(e)),
        }
        let id: String = h[..16].iter().map(|x| format!("{x:02x}")).collect();
        let rev = u64::from_be_bytes(h[16..24].try_into().expect("8 bytes"));
        let whole = u64::from(u32::from_be_bytes(h[24..28].try_into().expect("4 bytes")));
        let len = u32::from_be_bytes(h[28..32].try_into().expect("4 bytes")) as usize;
        if whole > MAX_HEAD || len as u64 > whole || len == 0 {
            return bad("a pack entry has a length out of bounds");
        }
        let mut bytes = vec![0u8; len];
        match self.fill(&mut bytes) {
            Ok(true) => Some(Ok(Entry {
                id,
                rev,
                whole,
                bytes,
            })),
            Ok(false) => Some(Err(io::ErrorKind::UnexpectedEof.into())),
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_cut_packs_stop_cleanly() {
        let id = "00112233445566778899aabbccddeeff";
        let small = vec![7u8; 300];
        let big = vec![8u8; WHOLE_MAX + 10];
        let mut pack = MAGIC.to_vec();
        pack.extend(entry(id, 1, &small, 100));
        pack.extend(entry(id, 2, &big, 200));
        let mut r = Reader::new(&pack[..]);
        let a = r.next_entry().unwrap().unwrap();
        assert_eq!((a.rev, a.whole, a.bytes.len()), (1, 300, 300));
        assert_eq!(a.id, id);
        let b = r.next_entry().unwrap().unwrap();
        assert_eq!((b.rev, b.whole, b.bytes.len()), (2, big.len() as u64, 200));
        assert!(r.next_entry().is_none());
        // Cut inside the second entry: the first still reads, then an error, then nothing.
        let cut = &pack[..pack.len() - 5];
        let mut r = Reader::new(cut);
        assert!(r.next_entry().unwrap().is_ok());
        assert!(r.next_entry().unwrap().is_err());
        assert!(r.next_entry().is_none());
        // Not a pack.
        let mut r = Reader::new(&b"VLTPACK\x02"[..]);
        assert!(r.next_entry().unwrap().is_err());
        let mut r = Reader::new(&MAGIC[..]);
        assert!(r.next_entry().is_none(), "an empty pack");
    }
}
