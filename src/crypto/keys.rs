//! Keys: the per-file key, and X25519 identities and recipients in age's
//! encoding.
//!
//! Public keys are Bech32 (BIP 173) strings with the human-readable part
//! `age` and secret keys are upper-case Bech32 with `AGE-SECRET-KEY-`, exactly
//! as age encodes its X25519 keys, so one key pair serves both tools. Secret
//! material lives in zeroizing types and never appears in `Debug` output.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::CryptoError;

const PUBLIC_HRP: &str = "age";
const SECRET_HRP: &str = "age-secret-key-";

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

/// Someone a file can be sealed to: an X25519 public key (`age1...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient(PublicKey);

impl Recipient {
    /// The raw 32-byte public key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// A recipient from raw public-key bytes.
    pub fn from_bytes(b: [u8; 32]) -> Recipient {
        Recipient(PublicKey::from(b))
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(PUBLIC_HRP);
        let s = bech32::encode_lower::<Bech32>(hrp, self.0.as_bytes()).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

impl FromStr for Recipient {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_key(s, PUBLIC_HRP).ok_or_else(|| {
            CryptoError::InvalidKey(format!("{s:?} is not a public key (age1...)"))
        })?;
        if s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(CryptoError::InvalidKey(format!(
                "{s:?}: public keys are written in lower case"
            )));
        }
        Ok(Recipient(PublicKey::from(*bytes)))
    }
}

/// Decode a Bech32 string with the given HRP to exactly 32 bytes, refusing
/// Bech32m, mixed case, bad padding and any other length.
fn decode_key(s: &str, hrp: &str) -> Option<Zeroizing<[u8; 32]>> {
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

/// One's own X25519 key pair: opens files sealed to its [`Recipient`].
pub struct Identity {
    secret: StaticSecret,
    public: PublicKey,
}

impl Identity {
    /// A fresh random identity.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Identity {
        Identity::from_secret(StaticSecret::random_from_rng(rng))
    }

    fn from_secret(secret: StaticSecret) -> Identity {
        let public = PublicKey::from(&secret);
        Identity { secret, public }
    }

    /// An identity from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Identity {
        Identity::from_secret(StaticSecret::from(*bytes))
    }

    /// The public key to hand out.
    pub fn recipient(&self) -> Recipient {
        Recipient(self.public)
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// The secret key as `AGE-SECRET-KEY-1...`, in a zeroizing string.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let hrp = Hrp::parse_unchecked(SECRET_HRP);
        let mut s = Zeroizing::new(String::with_capacity(80));
        bech32::encode_upper_to_fmt::<Bech32, String>(&mut s, hrp, self.secret.as_bytes())
            .expect("a 32-byte key fits in a Bech32 string");
        s
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}, secret: ..)", self.recipient())
    }
}

impl FromStr for Identity {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_key(s, SECRET_HRP).ok_or_else(|| {
            CryptoError::InvalidKey("not a secret key (AGE-SECRET-KEY-1...)".into())
        })?;
        Ok(Identity::from_bytes(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A key pair made by age-keygen 1.1.1 (not used anywhere else).
    const AGE_SECRET: &str =
        "AGE-SECRET-KEY-17RWWH9VSH90CPH6K3DDWYQJXLZ2S6Z4WT3EPCX8N20HWXCQ6EDYSELG8DK";
    const AGE_PUBLIC: &str = "age1lantjreqq0g3htedcjjc90xv9zusrvn3y44d2ct2pcsp7a5vh5nqlvq8z3";

    #[test]
    fn known_key_pair_matches_age() {
        let id: Identity = AGE_SECRET.parse().unwrap();
        assert_eq!(id.recipient().to_string(), AGE_PUBLIC);
        assert_eq!(id.to_secret_string().as_str(), AGE_SECRET);
        let r: Recipient = AGE_PUBLIC.parse().unwrap();
        assert_eq!(r, id.recipient());
    }

    #[test]
    fn malformed_keys_are_refused() {
        let mut bad_checksum = AGE_PUBLIC.to_string();
        bad_checksum.pop();
        bad_checksum.push('q');
        for s in [
            "",
            "age1",
            &bad_checksum,
            &AGE_PUBLIC.to_uppercase(),
            AGE_SECRET,
            "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        ] {
            assert!(s.parse::<Recipient>().is_err(), "{s}");
        }
        assert!(AGE_PUBLIC.parse::<Identity>().is_err());
        assert!(AGE_SECRET[..40].parse::<Identity>().is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let id: Identity = AGE_SECRET.parse().unwrap();
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("SECRET"));
        assert!(!dbg.contains(&AGE_SECRET[16..30]));
        let fk = FileKey::from_bytes(&[0xab; 32]).unwrap();
        assert_eq!(format!("{fk:?}"), "FileKey(..)");
    }
}
