//! A buffer of secret text locked into RAM and wiped when dropped.
//!
//! `mlock` keeps the pages out of swap (and so out of a swap partition or a
//! hibernation image). It can fail when `RLIMIT_MEMLOCK` is too small; the
//! buffer then still works and is still wiped, and [`LockedText::locked`]
//! says so, so the agent can warn.

use std::io::Read;

use zeroize::Zeroize;

/// Secret UTF-8 text in locked, wiped memory.
pub struct LockedText {
    buf: Box<[u8]>,
    len: usize,
    locked: bool,
}

impl LockedText {
    /// Read exactly `len` bytes of UTF-8 text from `r` into a new locked
    /// buffer (allocated once, before the secret arrives, so no copy of it
    /// is left in memory that was given back).
    pub fn read_from(r: &mut dyn Read, len: usize) -> std::io::Result<LockedText> {
        let cap = len.max(1).next_multiple_of(4096);
        let mut t = LockedText {
            buf: vec![0u8; cap].into_boxed_slice(),
            len: 0,
            locked: false,
        };
        // SAFETY: the pointer and length describe the boxed slice, which
        // lives (at this address) until `drop` unlocks it.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::mlock(t.buf.as_ptr().cast(), t.buf.len()) };
        t.locked = rc == 0;
        r.read_exact(&mut t.buf[..len])?;
        t.len = len;
        if std::str::from_utf8(&t.buf[..len]).is_err() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the identity text is not UTF-8",
            ));
        }
        Ok(t)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("checked when read")
    }

    /// Whether the pages are locked in RAM.
    pub fn locked(&self) -> bool {
        self.locked
    }
}

impl Drop for LockedText {
    fn drop(&mut self) {
        self.buf.zeroize();
        if self.locked {
            // SAFETY: the same pointer and length that were locked.
            #[allow(unsafe_code)]
            unsafe {
                libc::munlock(self.buf.as_ptr().cast(), self.buf.len());
            }
        }
    }
}

impl std::fmt::Debug for LockedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockedText(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exactly_and_refuses_non_utf8() {
        let t = LockedText::read_from(&mut &b"AGE-SECRET-KEY-1X\nrest"[..], 17).unwrap();
        assert_eq!(t.as_str(), "AGE-SECRET-KEY-1X");
        assert!(!format!("{t:?}").contains("AGE"));
        assert!(LockedText::read_from(&mut &b"\xff\xfe"[..], 2).is_err());
        assert!(LockedText::read_from(&mut &b"ab"[..], 3).is_err());
    }
}
