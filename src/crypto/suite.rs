//! Cipher suites for the payload, and the per-chunk seal/open primitive.
//!
//! A [`PayloadKey`] is the keyed AEAD instance for one file's payload. It
//! seals and opens single chunks in place on a caller-owned buffer (the
//! RustCrypto `AeadInOut` detached API), so the serial stream and the
//! parallel pipeline share one code path and neither allocates per chunk.

use std::fmt;
use std::str::FromStr;

use aes_gcm::Aes256Gcm;
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};

use super::primitives::TAG_LEN;

/// A payload cipher suite. The numeric value is the suite byte in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// ChaCha20-Poly1305 (RFC 8439): the default, fast everywhere.
    ChaCha20Poly1305 = 1,
    /// AES-256-GCM (NIST SP 800-38D): fastest where the CPU has AES and
    /// carry-less multiply instructions.
    Aes256Gcm = 2,
}

impl Suite {
    /// Every suite, in suite-byte order.
    pub const ALL: [Suite; 2] = [Suite::ChaCha20Poly1305, Suite::Aes256Gcm];

    /// The suite byte written in the header.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The suite for a header byte, if known.
    pub fn from_id(id: u8) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The name used on the command line and in docs.
    pub fn name(self) -> &'static str {
        match self {
            Suite::ChaCha20Poly1305 => "chacha20poly1305",
            Suite::Aes256Gcm => "aes256gcm",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.name() == s)
            .ok_or_else(|| format!("unknown cipher {s:?}; use chacha20poly1305 or aes256gcm"))
    }
}

enum Cipher {
    ChaCha(ChaCha20Poly1305),
    // Boxed: the AES key schedule is large and the enum is moved around.
    Aes(Box<Aes256Gcm>),
}

/// The keyed payload AEAD of one file. Its key material is zeroized on drop
/// by the cipher crates (their `zeroize` feature).
pub struct PayloadKey {
    cipher: Cipher,
}

impl fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadKey(..)")
    }
}

/// The STREAM nonce for chunk `index`: an 11-byte big-endian counter followed
/// by a byte that is 1 for the last chunk and 0 otherwise.
pub fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

impl PayloadKey {
    /// Key the suite's AEAD with a 32-byte payload key.
    pub fn new(suite: Suite, key: &[u8; 32]) -> PayloadKey {
        let cipher = match suite {
            Suite::ChaCha20Poly1305 => Cipher::ChaCha(ChaCha20Poly1305::new(&(*key).into())),
            Suite::Aes256Gcm => Cipher::Aes(Box::new(Aes256Gcm::new(&(*key).into()))),
        };
        PayloadKey { cipher }
    }

    /// `STREAM[key]` for one chunk: encrypt `buf[..len]` in place and write
    /// the tag to `buf[len..len + 16]`. Returns the sealed length.
    pub fn seal_chunk(&self, index: u64, last: bool, buf: &mut [u8], len: usize) -> usize {
        let nonce = chunk_nonce(index, last);
        let (body, rest) = buf.split_at_mut(len);
        let tag = match &self.cipher {
            Cipher::ChaCha(c) => c.encrypt_inout_detached(&nonce.into(), &[], body.into()),
            Cipher::Aes(c) => c.encrypt_inout_detached(&nonce.into(), &[], body.into()),
        }
        .expect("a 64 KiB chunk is far below the AEAD length limit");
        rest[..TAG_LEN].copy_from_slice(&tag);
        len + TAG_LEN
    }

    /// Authenticate and decrypt one sealed chunk (`ciphertext || tag`) in
    /// place. Returns the plaintext length, or `None` if it does not
    /// authenticate, in which case the buffer is left unchanged: both crates
    /// check the tag before decrypting (`failed_open_leaves_buffer_intact`
    /// guards this, because the stream reader relies on it).
    pub fn open_chunk(&self, index: u64, last: bool, buf: &mut [u8]) -> Option<usize> {
        let len = buf.len().checked_sub(TAG_LEN)?;
        let nonce = chunk_nonce(index, last);
        let (body, tag) = buf.split_at_mut(len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().ok()?;
        let ok = match &self.cipher {
            Cipher::ChaCha(c) => {
                c.decrypt_inout_detached(&nonce.into(), &[], body.into(), tag.into())
            }
            Cipher::Aes(c) => c.decrypt_inout_detached(&nonce.into(), &[], body.into(), tag.into()),
        };
        ok.ok().map(|()| len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_open_leaves_buffer_intact() {
        for suite in Suite::ALL {
            let key = PayloadKey::new(suite, &[2u8; 32]);
            let mut buf = vec![0x55u8; 1000 + TAG_LEN];
            key.seal_chunk(0, false, &mut buf, 1000);
            let sealed = buf.clone();
            assert_eq!(key.open_chunk(0, true, &mut buf), None);
            assert_eq!(buf, sealed, "{suite}");
        }
    }

    #[test]
    fn suite_ids_and_names_round_trip() {
        for s in Suite::ALL {
            assert_eq!(Suite::from_id(s.id()), Some(s));
            assert_eq!(s.name().parse::<Suite>().unwrap(), s);
        }
        assert_eq!(Suite::from_id(0), None);
        assert!("aes128".parse::<Suite>().is_err());
    }

    #[test]
    fn nonce_layout() {
        let n = chunk_nonce(0x0102, true);
        assert_eq!(n, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1]);
    }

    #[test]
    fn chunk_binds_index_and_last_flag() {
        for suite in Suite::ALL {
            let key = PayloadKey::new(suite, &[1u8; 32]);
            let mut buf = vec![0u8; 100 + TAG_LEN];
            buf[..100].fill(0xaa);
            let n = key.seal_chunk(5, false, &mut buf, 100);
            assert_eq!(n, 116);
            for (i, last) in [(4, false), (5, true), (6, false)] {
                let mut c = buf.clone();
                assert_eq!(key.open_chunk(i, last, &mut c), None, "{suite} {i} {last}");
            }
            let mut c = buf.clone();
            assert_eq!(key.open_chunk(5, false, &mut c), Some(100));
            assert_eq!(&c[..100], &[0xaa; 100][..]);
        }
    }
}
