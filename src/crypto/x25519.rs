//! The X25519 recipient type: age's `age1...` public keys and
//! `AGE-SECRET-KEY-1...` identities, and the stanza that wraps a file key to
//! one of them.
//!
//! Public keys are Bech32 (BIP 173) strings with the human-readable part
//! `age`, secret keys upper-case Bech32 with `AGE-SECRET-KEY-`, exactly as age
//! encodes its X25519 keys, so one key pair serves both tools.
//!
//! For each file and recipient a fresh ephemeral key pair `(e, E)` is made:
//!
//! ```text
//! shared   = X25519(e, R)                       (refused if all zero)
//! wrap key = HKDF-SHA256[salt = E || R, info = label](shared)
//! body     = E || ChaCha20-Poly1305[wrap key](nonce = 0, file key)
//! ```
//!
//! Binding both public keys into the salt ties the wrap key to this
//! recipient and this ephemeral key. The same construction, with age's label
//! and 16-byte file keys, is age's X25519 recipient: [`wrap`] and [`unwrap`]
//! take the label so both formats share this code.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRng;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::age::header::{
    self as age_header, Stanza as AgeStanza, decode_base64_array, encode_base64,
};
use super::error::CryptoError;
use super::header::{KIND_X25519, Stanza, X25519_BODY_LEN};
use super::keys::{FileKey, decode_key, encode_lower, encode_upper_secret};
use super::primitives::{TAG_LEN, hkdf_sha256, unwrap_key, wrap_key};
use super::recipient::{Identity, Recipient};

const PUBLIC_HRP: &str = "age";
const SECRET_HRP: &str = "age-secret-key-";

/// Someone a file can be sealed to: an X25519 public key (`age1...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519Recipient(PublicKey);

impl X25519Recipient {
    /// The raw 32-byte public key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// A recipient from raw public-key bytes.
    pub fn from_bytes(b: [u8; 32]) -> X25519Recipient {
        X25519Recipient(PublicKey::from(b))
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

impl fmt::Display for X25519Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_lower(PUBLIC_HRP, self.0.as_bytes())?)
    }
}

impl fmt::Debug for X25519Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

impl FromStr for X25519Recipient {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_key(s, PUBLIC_HRP).ok_or_else(|| {
            CryptoError::InvalidKey(
                "not a valid X25519 public key (those are `age1` and 58 more letters and digits)"
                    .into(),
            )
        })?;
        if s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(CryptoError::InvalidKey(
                "public keys are written in lower case".into(),
            ));
        }
        if let Some(why) = non_canonical(&bytes) {
            return Err(CryptoError::InvalidKey(format!(
                "this X25519 public key is not canonical ({why}); no key pair has it"
            )));
        }
        Ok(X25519Recipient(PublicKey::from(*bytes)))
    }
}

/// Why a 32-byte u-coordinate is not the canonical public key of any key
/// pair: bit 255 set (X25519 ignores it, the HKDF salt does not, so the
/// owner could not open what is sealed to it), u >= p (another encoding of
/// u - p), or a point of small order (every shared secret is zero).
pub fn non_canonical(u: &[u8; 32]) -> Option<&'static str> {
    if u[31] & 0x80 != 0 {
        return Some("bit 255 is set");
    }
    // p = 2^255 - 19, little-endian: ED FF .. FF 7F.
    if u[31] == 0x7f && u[1..31].iter().all(|&b| b == 0xff) && u[0] >= 0xed {
        return Some("it is not below the field prime");
    }
    // A clamped scalar is a multiple of 8, the largest cofactor (curve and
    // twist), so it maps exactly the small-order points to zero.
    if x25519_dalek::x25519([0x42; 32], *u) == [0; 32] {
        return Some("it is a point of small order");
    }
    None
}

/// One's own X25519 key pair: opens files sealed to its [`X25519Recipient`].
pub struct X25519Identity {
    secret: StaticSecret,
    public: PublicKey,
}

impl X25519Identity {
    /// A fresh random identity.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> X25519Identity {
        X25519Identity::from_secret(StaticSecret::random_from_rng(rng))
    }

    fn from_secret(secret: StaticSecret) -> X25519Identity {
        let public = PublicKey::from(&secret);
        X25519Identity { secret, public }
    }

    /// An identity from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> X25519Identity {
        X25519Identity::from_secret(StaticSecret::from(*bytes))
    }

    /// The public key to hand out.
    pub fn recipient(&self) -> X25519Recipient {
        X25519Recipient(self.public)
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// The secret key as `AGE-SECRET-KEY-1...`, in a zeroizing string.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        encode_upper_secret(SECRET_HRP, self.secret.as_bytes())
    }
}

impl fmt::Debug for X25519Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}, secret: ..)", self.recipient())
    }
}

impl FromStr for X25519Identity {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_key(s, SECRET_HRP).ok_or_else(|| {
            CryptoError::InvalidKey("not a secret key (AGE-SECRET-KEY-1...)".into())
        })?;
        Ok(X25519Identity::from_bytes(&bytes))
    }
}

/// The HKDF label of vault's X25519 stanza.
pub const LABEL: &[u8] = b"vault/v1 x25519";
/// The HKDF label of age's X25519 stanza.
pub const AGE_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// Body length of vault's X25519 stanza: ephemeral share and wrapped key.
pub const BODY_LEN: usize = X25519_BODY_LEN;

/// Wrap `file_key` to `recipient`: returns the ephemeral public key and the
/// wrapped key (`file key || tag`).
pub fn wrap<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &X25519Recipient,
    file_key: &FileKey,
    label: &[u8],
) -> Result<([u8; 32], Vec<u8>), CryptoError> {
    let ephemeral = EphemeralSecret::random_from_rng(rng);
    let epk = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(recipient.public_key());
    if !shared.was_contributory() {
        return Err(CryptoError::InvalidKey(format!(
            "{recipient} is a low-order point and cannot be a recipient"
        )));
    }
    let key = wrap_key_for(shared.as_bytes(), &epk, recipient.public_key(), label);
    let mut wrapped = vec![0u8; file_key.as_bytes().len() + TAG_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut wrapped);
    Ok((epk.to_bytes(), wrapped))
}

/// Try to unwrap a file key of `key_len` bytes with `identity`.
///
/// `Ok(None)` means the stanza is not for this identity. An ephemeral share
/// that gives an all-zero shared secret is an error: no honest sender makes
/// one.
pub fn unwrap(
    identity: &X25519Identity,
    epk: &[u8; 32],
    wrapped: &[u8],
    key_len: usize,
    label: &[u8],
) -> Result<Option<FileKey>, CryptoError> {
    let epk = PublicKey::from(*epk);
    let shared = identity.secret().diffie_hellman(&epk);
    if !shared.was_contributory() {
        return Err(CryptoError::InvalidHeader(
            "an X25519 stanza has a low-order ephemeral key",
        ));
    }
    let key = wrap_key_for(
        shared.as_bytes(),
        &epk,
        identity.recipient().public_key(),
        label,
    );
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    let out = &mut out[..key_len];
    if !unwrap_key(&key, wrapped, out) {
        return Ok(None);
    }
    Ok(FileKey::from_bytes(out))
}

fn wrap_key_for(
    shared: &[u8; 32],
    epk: &PublicKey,
    recipient: &PublicKey,
    label: &[u8],
) -> zeroize::Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    hkdf_sha256(&salt, shared, label)
}

/// Vault's X25519 stanza for `recipient`.
pub fn stanza<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &X25519Recipient,
    file_key: &FileKey,
) -> Result<Stanza, CryptoError> {
    let (epk, wrapped) = wrap(rng, recipient, file_key, LABEL)?;
    let mut body = Vec::with_capacity(BODY_LEN);
    body.extend_from_slice(&epk);
    body.extend_from_slice(&wrapped);
    Ok(Stanza {
        kind: KIND_X25519,
        body,
    })
}

/// Try each identity on a vault X25519 stanza.
pub fn open_stanza(
    identities: &[X25519Identity],
    stanza: &Stanza,
) -> Result<Option<FileKey>, CryptoError> {
    debug_assert_eq!(stanza.kind, KIND_X25519);
    let (epk, wrapped) = stanza.body.split_at(32);
    let epk: &[u8; 32] = epk.try_into().expect("length checked by the parser");
    for id in identities {
        if let Some(k) = unwrap(id, epk, wrapped, 32, LABEL)? {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

impl Recipient for X25519Recipient {
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<Stanza, CryptoError> {
        stanza(rng, self, file_key)
    }

    fn age_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<AgeStanza, CryptoError> {
        age_stanza(rng, self, file_key)
    }
}

impl Identity for X25519Identity {
    fn cache_secret(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(super::primitives::cache_secret_of(&self.to_secret_string()))
    }
    fn unwrap_vault(&self, s: &Stanza) -> Result<Option<FileKey>, CryptoError> {
        if s.kind != KIND_X25519 {
            return Ok(None);
        }
        open_stanza(std::slice::from_ref(self), s)
    }

    fn unwrap_age(&self, s: &AgeStanza) -> Result<Option<FileKey>, CryptoError> {
        age_unwrap(self, s)
    }
}

fn age_bad(why: &'static str) -> CryptoError {
    CryptoError::InvalidHeader(why)
}

/// age's `X25519` stanza wrapping `file_key` to `recipient`.
pub fn age_stanza<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &X25519Recipient,
    file_key: &FileKey,
) -> Result<AgeStanza, CryptoError> {
    let (share, wrapped) = wrap(rng, recipient, file_key, AGE_LABEL)?;
    Ok(AgeStanza {
        args: vec![age_header::X25519.into(), encode_base64(&share)],
        body: wrapped,
    })
}

/// Try `identity` on one stanza: `Ok(None)` if the stanza is of another
/// type or for another key, an error if it is a malformed `X25519` stanza.
pub fn age_unwrap(
    identity: &X25519Identity,
    s: &AgeStanza,
) -> Result<Option<FileKey>, CryptoError> {
    if s.kind() != age_header::X25519 {
        return Ok(None);
    }
    if s.args.len() != 2 {
        return Err(age_bad("an X25519 stanza must have exactly one argument"));
    }
    let share: [u8; 32] = decode_base64_array(
        &s.args[1],
        "an X25519 share is not canonical base64 of 32 bytes",
    )?;
    if s.body.len() != age_header::BODY_LEN {
        return Err(age_bad("an X25519 stanza body is not 32 bytes"));
    }
    unwrap(
        identity,
        &share,
        &s.body,
        age_header::FILE_KEY_LEN,
        AGE_LABEL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;

    #[test]
    fn wraps_to_the_recipient_only() {
        let mut rng = os_rng();
        let alice = X25519Identity::generate(&mut rng);
        let bob = X25519Identity::generate(&mut rng);
        let fk = FileKey::generate(&mut rng, 32);
        let s = stanza(&mut rng, &alice.recipient(), &fk).unwrap();
        assert_eq!(s.body.len(), BODY_LEN);
        let got = open_stanza(&[bob], &s).unwrap();
        assert!(got.is_none());
        let got = open_stanza(std::slice::from_ref(&alice), &s)
            .unwrap()
            .unwrap();
        assert_eq!(got.as_bytes(), fk.as_bytes());
    }

    #[test]
    fn low_order_points_are_refused() {
        let mut rng = os_rng();
        let fk = FileKey::generate(&mut rng, 32);
        let zero = X25519Recipient::from_bytes([0; 32]);
        assert!(stanza(&mut rng, &zero, &fk).is_err());
        let id = X25519Identity::generate(&mut rng);
        let s = Stanza {
            kind: KIND_X25519,
            body: vec![0; BODY_LEN],
        };
        assert!(open_stanza(&[id], &s).is_err());
    }

    // A key pair made by age-keygen 1.1.1 (not used anywhere else).
    const AGE_SECRET: &str =
        "AGE-SECRET-KEY-17RWWH9VSH90CPH6K3DDWYQJXLZ2S6Z4WT3EPCX8N20HWXCQ6EDYSELG8DK";
    const AGE_PUBLIC: &str = "age1lantjreqq0g3htedcjjc90xv9zusrvn3y44d2ct2pcsp7a5vh5nqlvq8z3";

    #[test]
    fn known_key_pair_matches_age() {
        let id: X25519Identity = AGE_SECRET.parse().unwrap();
        assert_eq!(id.recipient().to_string(), AGE_PUBLIC);
        assert_eq!(id.to_secret_string().as_str(), AGE_SECRET);
        let r: X25519Recipient = AGE_PUBLIC.parse().unwrap();
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
            assert!(s.parse::<X25519Recipient>().is_err(), "{s}");
        }
        assert!(AGE_PUBLIC.parse::<X25519Identity>().is_err());
        assert!(AGE_SECRET[..40].parse::<X25519Identity>().is_err());
    }

    #[test]
    fn non_canonical_public_keys_are_refused() {
        let good = *AGE_PUBLIC.parse::<X25519Recipient>().unwrap().0.as_bytes();
        let mut high = good;
        high[31] |= 0x80;
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut p_plus_1 = p;
        p_plus_1[0] = 0xee;
        let mut one = [0u8; 32];
        one[0] = 1;
        // An order-8 point (u = 325606...).
        let eight = [
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f,
            0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16,
            0x5f, 0x49, 0xb8, 0x00,
        ];
        for bad in [high, p, p_plus_1, [0; 32], one, eight] {
            let s = encode_lower(PUBLIC_HRP, &bad).unwrap();
            assert!(s.parse::<X25519Recipient>().is_err(), "{s}");
            assert!(non_canonical(&bad).is_some());
        }
        // p and p + 1 are also small-order points (0 and 1), so they do not
        // show the u >= p check on its own: p + 2 (another encoding of
        // u = 2, not of small order) only that check refuses.
        let mut p_plus_2 = p;
        p_plus_2[0] = 0xef;
        let s = encode_lower(PUBLIC_HRP, &p_plus_2).unwrap();
        assert!(s.parse::<X25519Recipient>().is_err(), "{s}");
        assert_eq!(
            non_canonical(&p_plus_2),
            Some("it is not below the field prime")
        );
        assert!(non_canonical(&good).is_none());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let id: X25519Identity = AGE_SECRET.parse().unwrap();
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("SECRET"));
        assert!(!dbg.contains(&AGE_SECRET[16..30]));
    }

    #[test]
    fn age_stanzas_wrap_to_the_recipient_only() {
        let mut rng = os_rng();
        let alice = X25519Identity::generate(&mut rng);
        let bob = X25519Identity::generate(&mut rng);
        let fk = FileKey::generate(&mut rng, age_header::FILE_KEY_LEN);
        let s = age_stanza(&mut rng, &alice.recipient(), &fk).unwrap();
        assert_eq!(s.args[0], "X25519");
        assert_eq!(s.args[1].len(), 43);
        assert_eq!(s.body.len(), 32);
        assert!(age_unwrap(&bob, &s).unwrap().is_none());
        let got = age_unwrap(&alice, &s).unwrap().unwrap();
        assert_eq!(got.as_bytes(), fk.as_bytes());
        let mut other = s.clone();
        other.args[0] = "x25519".into();
        assert!(
            age_unwrap(&alice, &other).unwrap().is_none(),
            "types are case-sensitive"
        );
        let mut extra = s.clone();
        extra.args.push("x".into());
        assert!(age_unwrap(&alice, &extra).is_err());
        let mut long = s;
        long.body.push(0);
        assert!(age_unwrap(&alice, &long).is_err());
    }
}
