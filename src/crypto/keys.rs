//! The per-file key, the random number generator, and the Bech32 encoding
//! that age's key strings use (BIP 173, not Bech32m).
//!
//! Key types themselves live with their stanzas ([`super::x25519`]): what a
//! key is and how it wraps a file key are one concern. Secret material lives
//! in zeroizing types and never appears in `Debug` output.

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Checksum, Hrp};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// The operating system's random number generator.
pub fn os_rng() -> impl CryptoRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The symmetric key that encrypts one file's payload and authenticates its
/// header. 32 bytes in vault's format (16 in age's).
pub struct FileKey {
    bytes: Zeroizing<[u8; 32]>,
    len: usize,
}

impl FileKey {
    /// A fresh random file key of `len` bytes (16 or 32).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> FileKey {
        assert!(len == 16 || len == 32, "file keys are 16 or 32 bytes");
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut bytes[..len]);
        FileKey { bytes, len }
    }

    /// A file key from its bytes (16 or 32 of them).
    pub fn from_bytes(b: &[u8]) -> Option<FileKey> {
        if b.len() != 16 && b.len() != 32 {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes[..b.len()].copy_from_slice(b);
        Some(FileKey {
            bytes,
            len: b.len(),
        })
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// Decode a Bech32 string with the given HRP to exactly 32 bytes, refusing
/// Bech32m, mixed case, bad padding and any other length.
pub(crate) fn decode_key(s: &str, hrp: &str) -> Option<Zeroizing<[u8; 32]>> {
    let checked = CheckedHrpstring::new::<Bech32>(s).ok()?;
    if checked.hrp().to_lowercase() != hrp {
        return None;
    }
    checked.validate_segwit_padding().ok()?;
    let mut out = Zeroizing::new([0u8; 32]);
    let mut n = 0;
    for b in checked.byte_iter() {
        *out.get_mut(n)? = b;
        n += 1;
    }
    (n == 32).then_some(out)
}

/// BIP 173's Bech32 checksum without its 90-character limit: age encodes
/// post-quantum keys (1,216 bytes) this way, as its own Bech32 code does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LongBech32 {}

impl Checksum for LongBech32 {
    type MidstateRepr = u32;
    const CODE_LENGTH: usize = usize::MAX;
    const CHECKSUM_LENGTH: usize = <Bech32 as Checksum>::CHECKSUM_LENGTH;
    const GENERATOR_SH: [u32; 5] = <Bech32 as Checksum>::GENERATOR_SH;
    const TARGET_RESIDUE: u32 = <Bech32 as Checksum>::TARGET_RESIDUE;
}

/// Decode a long Bech32 string with the given HRP (compared without case)
/// to exactly `len` bytes, refusing mixed case and bad padding.
pub(crate) fn decode_long(s: &str, hrp: &str, len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let checked = CheckedHrpstring::new::<LongBech32>(s).ok()?;
    if checked.hrp().to_lowercase() != hrp {
        return None;
    }
    checked.validate_segwit_padding().ok()?;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for b in checked.byte_iter() {
        if out.len() == len {
            return None;
        }
        out.push(b);
    }
    (out.len() == len).then_some(out)
}

/// `bytes` as long Bech32 with `hrp`, lower case.
pub(crate) fn encode_long_lower(hrp: &str, bytes: &[u8]) -> Result<String, fmt::Error> {
    bech32::encode_lower::<LongBech32>(Hrp::parse_unchecked(hrp), bytes).map_err(|_| fmt::Error)
}

/// `bytes` as long Bech32 with `hrp`, upper case, in a zeroizing string.
pub(crate) fn encode_long_upper_secret(hrp: &str, bytes: &[u8]) -> Zeroizing<String> {
    upper_secret::<LongBech32>(hrp, bytes)
}

/// `bytes` in Bech32 with the human-readable part `hrp`, in lower case.
pub(crate) fn encode_lower(hrp: &str, bytes: &[u8]) -> Result<String, fmt::Error> {
    bech32::encode_lower::<Bech32>(Hrp::parse_unchecked(hrp), bytes).map_err(|_| fmt::Error)
}

/// `bytes` in Bech32 with the human-readable part `hrp`, in upper case, in
/// a zeroizing string (for secret keys).
pub(crate) fn encode_upper_secret(hrp: &str, bytes: &[u8]) -> Zeroizing<String> {
    upper_secret::<Bech32>(hrp, bytes)
}

/// Upper-case encoding written straight into a zeroizing string, so that no
/// unwiped copy of a secret key's text is left behind.
fn upper_secret<Ck: Checksum>(hrp: &str, bytes: &[u8]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(16 + 2 * bytes.len()));
    bech32::encode_upper_to_fmt::<Ck, String>(&mut s, Hrp::parse_unchecked(hrp), bytes)
        .expect("the key fits in the checksum's length limit");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_key_debug_hides_the_key() {
        let fk = FileKey::from_bytes(&[0xab; 32]).unwrap();
        assert_eq!(format!("{fk:?}"), "FileKey(..)");
    }
}
