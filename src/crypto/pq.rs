//! The post-quantum hybrid key type `mlkem768x25519` (age v1.3):
//! `age1pq1...` recipients, `AGE-SECRET-KEY-PQ-1...` identities.
//!
//! The key is an HPKE key of the X-Wing KEM (ML-KEM-768 combined with
//! X25519, HPKE KEM id 0x647a): the public key is 1,216 bytes, the secret
//! key its 32-byte seed. Both are written in Bech32 without BIP 173's
//! length limit, as age writes them. A file key is sealed with HPKE in base
//! mode (KDF HKDF-SHA256, AEAD ChaCha20-Poly1305), all by the `hpke` crate:
//!
//! ```text
//! (enc, ct) = HPKE-Seal[pk, info = label, aad = ""](file key)     enc: 1,120 bytes
//! age:   -> mlkem768x25519 base64(enc)       body = ct (32 bytes)
//! vault: kind 05, body = enc || ct          (1,120 + 48 bytes)
//! label: age-encryption.org/mlkem768x25519 (age), vault/v1 mlkem768x25519 (vault)
//! ```
//!
//! The file stays confidential as long as either ML-KEM-768 or X25519
//! holds. That is worth something only if every recipient of the file is
//! post-quantum: a classic stanza beside it can be broken by whoever breaks
//! X25519, and the file key with it. So, as age does, the header builders
//! refuse to mix this type with others (its stanzas carry the label
//! `postquantum`, see [`super::recipient::Recipient::labels`]).

use std::fmt;
use std::str::FromStr;

use hpke::aead::{AeadTag, ChaCha20Poly1305};
use hpke::kdf::HkdfSha256;
use hpke::kem::XWing;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::age::header::{Stanza as AgeStanza, decode_base64, encode_base64};
use super::error::CryptoError;
use super::header::{KIND_MLKEM768X25519, Stanza};
use super::keys::{FileKey, decode_long, encode_long_lower, encode_long_upper_secret};
use super::primitives::TAG_LEN;
use super::recipient::{Identity, Recipient};

/// age's stanza type.
pub const AGE_TYPE: &str = "mlkem768x25519";
const AGE_LABEL: &[u8] = b"age-encryption.org/mlkem768x25519";
const VAULT_LABEL: &[u8] = b"vault/v1 mlkem768x25519";
const PUBLIC_HRP: &str = "age1pq";
const SECRET_HRP: &str = "age-secret-key-pq-";
/// The label every post-quantum stanza carries; a header's recipients must
/// all carry it or none.
pub const POSTQUANTUM: &str = "postquantum";
/// Length of the public key.
pub const PUBLIC_LEN: usize = 1216;
/// Length of the HPKE encapsulated key.
pub const ENC_LEN: usize = 1120;
/// Body length of vault's stanza: `enc` and the sealed 32-byte file key.
pub const BODY_LEN: usize = ENC_LEN + 32 + TAG_LEN;

type PublicKey = <XWing as Kem>::PublicKey;
type PrivateKey = <XWing as Kem>::PrivateKey;
type EncappedKey = <XWing as Kem>::EncappedKey;

/// A post-quantum hybrid recipient (`age1pq1...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PqRecipient(PublicKey);

impl fmt::Display for PqRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_long_lower(PUBLIC_HRP, &self.0.to_bytes())?)
    }
}

impl fmt::Debug for PqRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.to_string();
        write!(f, "PqRecipient({}...)", &s[..20])
    }
}

impl FromStr for PqRecipient {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || CryptoError::InvalidKey("not a valid post-quantum public key (age1pq1...)".into());
        if s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(CryptoError::InvalidKey(
                "public keys are written in lower case".into(),
            ));
        }
        let bytes = decode_long(s, PUBLIC_HRP, PUBLIC_LEN).ok_or_else(bad)?;
        PublicKey::from_bytes(&bytes)
            .map(PqRecipient)
            .map_err(|_| bad())
    }
}

fn seal(
    rng: &mut dyn CryptoRng,
    pk: &PublicKey,
    file_key: &FileKey,
    label: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let mut rng = rng;
    let mut body = file_key.as_bytes().to_vec();
    let (enc, tag) =
        hpke::single_shot_seal_inout_detached_with_rng::<ChaCha20Poly1305, HkdfSha256, XWing>(
            &OpModeS::Base,
            pk,
            label,
            body.as_mut_slice().into(),
            &[],
            &mut rng,
        )
        .map_err(|_| CryptoError::InvalidKey("HPKE sealing failed".into()))?;
    body.extend_from_slice(&tag.to_bytes());
    Ok((enc.to_bytes().to_vec(), body))
}

impl Recipient for PqRecipient {
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<Stanza, CryptoError> {
        let (mut enc, ct) = seal(rng, &self.0, file_key, VAULT_LABEL)?;
        enc.extend_from_slice(&ct);
        Ok(Stanza {
            kind: KIND_MLKEM768X25519,
            body: enc,
        })
    }

    fn age_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<AgeStanza, CryptoError> {
        let (enc, body) = seal(rng, &self.0, file_key, AGE_LABEL)?;
        Ok(AgeStanza {
            args: vec![AGE_TYPE.into(), encode_base64(&enc)],
            body,
        })
    }

    fn labels(&self) -> Vec<String> {
        vec![POSTQUANTUM.into()]
    }
}

/// One's own post-quantum hybrid key (`AGE-SECRET-KEY-PQ-1...`).
pub struct PqIdentity {
    secret: PrivateKey,
    public: PublicKey,
}

impl fmt::Debug for PqIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PqIdentity(secret: ..)")
    }
}

impl PqIdentity {
    /// A fresh random identity.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> PqIdentity {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut seed[..]);
        PqIdentity::from_seed(&seed)
    }

    fn from_seed(seed: &[u8; 32]) -> PqIdentity {
        let secret = PrivateKey::from_bytes(seed).expect("any 32 bytes are an X-Wing seed");
        let public = XWing::sk_to_pk(&secret);
        PqIdentity { secret, public }
    }

    /// The public key to hand out.
    pub fn recipient(&self) -> PqRecipient {
        PqRecipient(self.public.clone())
    }

    /// The secret key as `AGE-SECRET-KEY-PQ-1...`, in a zeroizing string.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.secret.to_bytes());
        encode_long_upper_secret(SECRET_HRP, &seed)
    }

    fn open(
        &self,
        enc: &[u8],
        ct: &[u8],
        key_len: usize,
        label: &[u8],
    ) -> Result<Option<FileKey>, CryptoError> {
        let enc = EncappedKey::from_bytes(enc)
            .map_err(|_| CryptoError::InvalidHeader("an mlkem768x25519 share is not 1120 bytes"))?;
        let (sealed, tag) = ct.split_at(key_len);
        let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(tag).map_err(|_| {
            CryptoError::InvalidHeader("an mlkem768x25519 body has the wrong length")
        })?;
        let mut out = Zeroizing::new([0u8; 32]);
        out[..key_len].copy_from_slice(sealed);
        // ML-KEM rejects implicitly: a stanza for another key decapsulates
        // to a random secret, and only the AEAD tag tells.
        match hpke::single_shot_open_inout_detached::<ChaCha20Poly1305, HkdfSha256, XWing>(
            &OpModeR::Base,
            &self.secret,
            &enc,
            label,
            (&mut out[..key_len]).into(),
            &[],
            &tag,
        ) {
            Ok(()) => Ok(FileKey::from_bytes(&out[..key_len])),
            Err(_) => Ok(None),
        }
    }
}

impl FromStr for PqIdentity {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let seed = decode_long(s, SECRET_HRP, 32).ok_or_else(|| {
            CryptoError::InvalidKey("not a post-quantum secret key (AGE-SECRET-KEY-PQ-1...)".into())
        })?;
        let mut arr = Zeroizing::new([0u8; 32]);
        arr.copy_from_slice(&seed);
        Ok(PqIdentity::from_seed(&arr))
    }
}

impl Identity for PqIdentity {
    fn cache_secret(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(super::primitives::cache_secret_of(&self.to_secret_string()))
    }
    fn unwrap_vault(&self, s: &Stanza) -> Result<Option<FileKey>, CryptoError> {
        if s.kind != KIND_MLKEM768X25519 {
            return Ok(None);
        }
        let (enc, ct) = s.body.split_at(ENC_LEN);
        self.open(enc, ct, 32, VAULT_LABEL)
    }

    fn unwrap_age(&self, s: &AgeStanza) -> Result<Option<FileKey>, CryptoError> {
        if s.kind() != AGE_TYPE {
            return Ok(None);
        }
        if s.args.len() != 2 {
            return Err(CryptoError::InvalidHeader(
                "an mlkem768x25519 stanza must have exactly one argument",
            ));
        }
        let enc = decode_base64(s.args[1].as_bytes())
            .filter(|e| e.len() == ENC_LEN)
            .ok_or(CryptoError::InvalidHeader(
                "an mlkem768x25519 share is not canonical base64 of 1120 bytes",
            ))?;
        if s.body.len() != 16 + TAG_LEN {
            return Err(CryptoError::InvalidHeader(
                "an mlkem768x25519 stanza body is not 32 bytes",
            ));
        }
        self.open(&enc, &s.body, 16, AGE_LABEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;
    use crate::crypto::testing::stanzas_open_for_their_key_only;

    // From the C2SP CCTV vector `hybrid`.
    const CCTV_SECRET: &str =
        "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG";

    #[test]
    fn keys_round_trip_and_stanzas_open_for_their_key_only() {
        let id: PqIdentity = CCTV_SECRET.parse().unwrap();
        assert_eq!(id.to_secret_string().as_str(), CCTV_SECRET);
        let r = id.recipient();
        let text = r.to_string();
        assert!(text.starts_with("age1pq1"), "{text}");
        assert_eq!(text.parse::<PqRecipient>().unwrap(), r);
        assert!(text.to_uppercase().parse::<PqRecipient>().is_err());
        let mut rng = os_rng();
        let other = PqIdentity::generate(&mut rng);
        let (s, _) = stanzas_open_for_their_key_only(&r, &id, &other);
        assert_eq!(s.body.len(), BODY_LEN);
        assert_eq!(r.labels(), vec![POSTQUANTUM.to_string()]);
    }
}
