//! SSH keys as recipients and identities: `ssh-ed25519` and `ssh-rsa`, as
//! age defines them (age's `agessh`), in age files and in vault files.
//!
//! Key files and lines are parsed by the `ssh-key` crate (OpenSSH public
//! keys, `authorized_keys` lines, OpenSSH private keys, passphrase-protected
//! ones too) and RSA-OAEP is the `rsa` crate's; the stanzas are ours:
//!
//! ```text
//! tag        = SHA-256(SSH wire encoding of the public key)[..4]
//! ssh-ed25519, for the key's Montgomery form R and a fresh ephemeral (e, E):
//!   tweak    = HKDF-SHA256[salt = wire key, info = label]("")
//!   shared   = X25519(tweak, X25519(e, R))
//!   wrap key = HKDF-SHA256[salt = E || R, info = label](shared)
//!   age:   -> ssh-ed25519 base64(tag) base64(E)    body = ChaCha20-Poly1305[wrap key](file key)
//!   vault: kind 03, body = tag || E || ChaCha20-Poly1305[wrap key](file key)      (84 bytes)
//! ssh-rsa (at least 2048 bits):
//!   age:   -> ssh-rsa base64(tag)                   body = RSA-OAEP-SHA256[label](file key)
//!   vault: kind 04, body = tag || RSA-OAEP-SHA256[label](file key)               (4 + modulus)
//! labels: age-encryption.org/v1/ssh-ed25519, age-encryption.org/v1/ssh-rsa (age);
//!         vault/v1 ssh-ed25519, vault/v1 ssh-rsa (vault)
//! ```
//!
//! The tag makes these stanzas linkable: anyone holding the public key can
//! tell that a file is sealed to it (SECURITY.md). An identity looks at a
//! stanza only when the tag is its own, so a passphrase-protected key is
//! unlocked (its passphrase asked for) only for a file that has a stanza for
//! it, as age does.

use std::cell::OnceCell;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use curve25519_dalek::edwards::CompressedEdwardsY;
use rand_core::CryptoRng;
use rsa::Oaep;
use sha2::{Digest, Sha256, Sha512};
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::age::header::{Stanza as AgeStanza, decode_base64_array, encode_base64};
use super::error::CryptoError;
use super::header::{KIND_SSH_ED25519, KIND_SSH_RSA, Stanza};
use super::keys::FileKey;
use super::passphrase::Passphrase;
use super::primitives::{TAG_LEN, hkdf_sha256, unwrap_key, wrap_key};
use super::recipient::{Identity, Recipient};

/// age's stanza type and HKDF label for Ed25519 keys.
pub const AGE_ED25519: &str = "ssh-ed25519";
/// age's stanza type for RSA keys.
pub const AGE_RSA: &str = "ssh-rsa";
const AGE_ED25519_LABEL: &[u8] = b"age-encryption.org/v1/ssh-ed25519";
const AGE_RSA_LABEL: &[u8] = b"age-encryption.org/v1/ssh-rsa";
const VAULT_ED25519_LABEL: &[u8] = b"vault/v1 ssh-ed25519";
const VAULT_RSA_LABEL: &[u8] = b"vault/v1 ssh-rsa";
/// Length of the key tag.
pub const TAG: usize = 4;
/// Body length of vault's ssh-ed25519 stanza.
pub const ED25519_BODY_LEN: usize = TAG + 32 + 32 + TAG_LEN;
/// Smallest RSA modulus accepted, in bits (as age).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (the `rsa` crate's limit).
pub const MAX_RSA_BITS: usize = 8192;

/// The SSH key types that can be recipients.
pub const SUPPORTED: &str = "ssh-ed25519, ssh-rsa";

fn bad(why: &'static str) -> CryptoError {
    CryptoError::InvalidHeader(why)
}

fn invalid(why: impl Into<String>) -> CryptoError {
    CryptoError::InvalidKey(why.into())
}

#[derive(Clone)]
enum PublicKind {
    /// The key's Montgomery form.
    Ed25519([u8; 32]),
    Rsa(Box<rsa::PublicKey>),
}

/// An SSH public key as a recipient (`ssh-ed25519 AAAA...`, `ssh-rsa AAAA...`).
#[derive(Clone)]
pub struct SshRecipient {
    /// The SSH wire encoding of the key.
    wire: Vec<u8>,
    kind: PublicKind,
}

impl PartialEq for SshRecipient {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}
impl Eq for SshRecipient {}

impl SshRecipient {
    /// A recipient from a parsed SSH public key; other key types, RSA keys
    /// under 2048 bits and Ed25519 keys that are not canonical points of
    /// large order are refused.
    pub fn from_public_key(key: &ssh_key::PublicKey) -> Result<SshRecipient, CryptoError> {
        let wire = key
            .to_bytes()
            .map_err(|_| invalid("the SSH public key does not encode"))?;
        let kind = match key.key_data() {
            ssh_key::public::KeyData::Ed25519(pk) => {
                let compressed = CompressedEdwardsY(pk.0);
                let point = compressed
                    .decompress()
                    .filter(|p| p.compress() == compressed && !p.is_small_order())
                    .ok_or_else(|| invalid("the ssh-ed25519 key is not a valid Ed25519 point"))?;
                PublicKind::Ed25519(point.to_montgomery().to_bytes())
            }
            ssh_key::public::KeyData::Rsa(pk) => {
                let pk = rsa::PublicKey::try_from(pk)
                    .map_err(|_| invalid("the ssh-rsa key is not a valid RSA key"))?;
                let bits = rsa::traits::PublicKeyParts::n(&pk).bit_width() as usize;
                if bits < MIN_RSA_BITS {
                    return Err(invalid(format!(
                        "the ssh-rsa key has {bits} bits; at least {MIN_RSA_BITS} are needed"
                    )));
                }
                PublicKind::Rsa(Box::new(pk))
            }
            other => {
                return Err(CryptoError::UnsupportedSshKey(
                    other.algorithm().as_str().to_owned(),
                ));
            }
        };
        Ok(SshRecipient { wire, kind })
    }

    /// Parse `TYPE BASE64 [COMMENT]`, one line of a `.pub` or
    /// `authorized_keys` file without options.
    pub fn parse(line: &str) -> Result<SshRecipient, CryptoError> {
        if let Some(t) = ssh_key_type(line)
            && t != AGE_ED25519
            && t != AGE_RSA
        {
            return Err(CryptoError::UnsupportedSshKey(t));
        }
        let key = ssh_key::PublicKey::from_openssh(line.trim())
            .map_err(|_| invalid("not a valid SSH public key line (TYPE BASE64 [COMMENT])"))?;
        SshRecipient::from_public_key(&key)
    }

    /// The 4-byte key tag.
    pub fn tag(&self) -> [u8; TAG] {
        let h = Sha256::digest(&self.wire);
        [h[0], h[1], h[2], h[3]]
    }

    /// The SSH key type, `ssh-ed25519` or `ssh-rsa`.
    pub fn key_type(&self) -> &'static str {
        match self.kind {
            PublicKind::Ed25519(_) => AGE_ED25519,
            PublicKind::Rsa(_) => AGE_RSA,
        }
    }
}

/// The key type an `authorized_keys`-style line names, if its first field
/// is a type and its second field base64 of an SSH key of that type (the
/// check age uses to skip keys of other types with a warning).
pub fn ssh_key_type(line: &str) -> Option<String> {
    let mut fields = line.split_ascii_whitespace();
    let (t, b64) = (fields.next()?, fields.next()?);
    let blob = STANDARD.decode(b64).ok()?;
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let inner = blob.get(4..4 + len)?;
    (inner == t.as_bytes()).then(|| t.to_owned())
}

impl fmt::Display for SshRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key_type(), STANDARD.encode(&self.wire))
    }
}

impl fmt::Debug for SshRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshRecipient({self})")
    }
}

/// The X25519 wrap key of an ssh-ed25519 stanza from the DH output.
fn ed25519_wrap_key(
    dh: &[u8; 32],
    wire: &[u8],
    share: &[u8; 32],
    recipient: &[u8; 32],
    label: &[u8],
) -> Zeroizing<[u8; 32]> {
    let tweak = hkdf_sha256(wire, &[], label);
    let shared = Zeroizing::new(x25519_dalek::x25519(*tweak, *dh));
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share);
    salt[32..].copy_from_slice(recipient);
    hkdf_sha256(&salt, &shared[..], label)
}

fn ed25519_wrap(
    rng: &mut dyn CryptoRng,
    r: &SshRecipient,
    theirs: &[u8; 32],
    file_key: &FileKey,
    label: &[u8],
) -> Result<([u8; 32], Vec<u8>), CryptoError> {
    let e = EphemeralSecret::random_from_rng(rng);
    let share = PublicKey::from(&e).to_bytes();
    let dh = e.diffie_hellman(&PublicKey::from(*theirs));
    if !dh.was_contributory() {
        return Err(invalid("the ssh-ed25519 key is a low-order point"));
    }
    let key = ed25519_wrap_key(dh.as_bytes(), &r.wire, &share, theirs, label);
    let mut wrapped = vec![0u8; file_key.as_bytes().len() + TAG_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut wrapped);
    Ok((share, wrapped))
}

fn rsa_wrap(
    rng: &mut dyn CryptoRng,
    pk: &rsa::PublicKey,
    file_key: &FileKey,
    label: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut rng = rng;
    pk.encrypt(
        &mut rng,
        Oaep::<Sha256>::new_with_label(label),
        file_key.as_bytes(),
    )
    .map_err(|_| invalid("RSA-OAEP encryption failed"))
}

impl Recipient for SshRecipient {
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<Stanza, CryptoError> {
        let mut body = self.tag().to_vec();
        let kind = match &self.kind {
            PublicKind::Ed25519(theirs) => {
                let (share, wrapped) =
                    ed25519_wrap(rng, self, theirs, file_key, VAULT_ED25519_LABEL)?;
                body.extend_from_slice(&share);
                body.extend_from_slice(&wrapped);
                KIND_SSH_ED25519
            }
            PublicKind::Rsa(pk) => {
                body.extend_from_slice(&rsa_wrap(rng, pk, file_key, VAULT_RSA_LABEL)?);
                KIND_SSH_RSA
            }
        };
        Ok(Stanza { kind, body })
    }

    fn age_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<AgeStanza, CryptoError> {
        let tag = encode_base64(&self.tag());
        Ok(match &self.kind {
            PublicKind::Ed25519(theirs) => {
                let (share, body) = ed25519_wrap(rng, self, theirs, file_key, AGE_ED25519_LABEL)?;
                AgeStanza {
                    args: vec![AGE_ED25519.into(), tag, encode_base64(&share)],
                    body,
                }
            }
            PublicKind::Rsa(pk) => AgeStanza {
                args: vec![AGE_RSA.into(), tag],
                body: rsa_wrap(rng, pk, file_key, AGE_RSA_LABEL)?,
            },
        })
    }
}

/// The secret half of an SSH key, once decrypted.
enum Secret {
    /// The X25519 scalar SHA-512(seed)[..32] and the key's Montgomery form.
    Ed25519(StaticSecret, [u8; 32]),
    Rsa(Box<rsa::PrivateKey>),
}

/// Asks for the passphrase of a protected SSH key: called with the attempt
/// number (1, 2, 3); `None` when no passphrase can be had (no terminal, the
/// user gave up, or a passphrase from the environment already failed).
pub type AskPassphrase = Box<dyn Fn(u32) -> Option<Passphrase>>;

/// How many passphrases are tried for a protected key, as ssh does.
pub const PASSPHRASE_TRIES: u32 = 3;

/// An SSH private key as an identity. A passphrase-protected key is
/// decrypted the first time a stanza carries its tag.
pub struct SshIdentity {
    public: SshRecipient,
    /// Where the key came from, for messages.
    origin: String,
    encrypted: Option<ssh_key::PrivateKey>,
    ask: Option<AskPassphrase>,
    secret: OnceCell<Secret>,
}

impl fmt::Debug for SshIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshIdentity({}, secret: ..)", self.public)
    }
}

fn secret_of(key: &ssh_key::PrivateKey) -> Result<Secret, CryptoError> {
    match key.key_data() {
        ssh_key::private::KeypairData::Ed25519(kp) => {
            let h = Zeroizing::new(Sha512::digest(kp.private.as_ref()));
            let mut scalar = Zeroizing::new([0u8; 32]);
            scalar.copy_from_slice(&h[..32]);
            let secret = StaticSecret::from(*scalar);
            let ours = PublicKey::from(&secret).to_bytes();
            Ok(Secret::Ed25519(secret, ours))
        }
        ssh_key::private::KeypairData::Rsa(kp) => {
            let k = rsa::PrivateKey::try_from(kp)
                .map_err(|_| invalid("the ssh-rsa private key is not valid"))?;
            Ok(Secret::Rsa(Box::new(k)))
        }
        other => Err(CryptoError::UnsupportedSshKey(
            other
                .algorithm()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_else(|_| "unknown".into()),
        )),
    }
}

impl SshIdentity {
    /// An identity from the text of an OpenSSH private key file. A
    /// protected key keeps its ciphertext; `ask` gives its passphrase when a
    /// file first needs it (without `ask`, such a key can never be opened).
    pub fn from_openssh(
        text: &[u8],
        origin: &str,
        ask: Option<AskPassphrase>,
    ) -> Result<SshIdentity, CryptoError> {
        let key = ssh_key::PrivateKey::from_openssh(text)
            .map_err(|_| invalid(format!("{origin} is not an OpenSSH private key file")))?;
        let public = SshRecipient::from_public_key(key.public_key())?;
        let secret = OnceCell::new();
        let encrypted = if key.is_encrypted() {
            Some(key)
        } else {
            let _ = secret.set(secret_of(&key)?);
            None
        };
        Ok(SshIdentity {
            public,
            origin: origin.to_owned(),
            encrypted,
            ask,
            secret,
        })
    }

    /// The public key.
    pub fn recipient(&self) -> &SshRecipient {
        &self.public
    }

    /// Whether the key is still locked behind its passphrase.
    pub fn is_locked(&self) -> bool {
        self.secret.get().is_none()
    }

    fn secret(&self) -> Result<&Secret, CryptoError> {
        if let Some(s) = self.secret.get() {
            return Ok(s);
        }
        let (Some(enc), Some(ask)) = (&self.encrypted, &self.ask) else {
            return Err(CryptoError::SshKeyLocked(self.origin.clone()));
        };
        for attempt in 1..=PASSPHRASE_TRIES {
            let Some(pass) = ask(attempt) else {
                // Nothing to ask with at all, or no more tries to give.
                return Err(if attempt == 1 {
                    CryptoError::SshKeyLocked(self.origin.clone())
                } else {
                    CryptoError::WrongPassphrase
                });
            };
            if let Ok(key) = enc.decrypt(pass.expose().as_bytes()) {
                let s = secret_of(&key)?;
                return Ok(self.secret.get_or_init(|| s));
            }
        }
        Err(CryptoError::WrongPassphrase)
    }

    fn unwrap_ed25519(
        &self,
        share: &[u8; 32],
        wrapped: &[u8],
        key_len: usize,
        label: &[u8],
    ) -> Result<Option<FileKey>, CryptoError> {
        let Secret::Ed25519(secret, ours) = self.secret()? else {
            return Ok(None);
        };
        let dh = secret.diffie_hellman(&PublicKey::from(*share));
        if !dh.was_contributory() {
            return Err(bad("an ssh-ed25519 stanza has a low-order ephemeral share"));
        }
        let key = ed25519_wrap_key(dh.as_bytes(), &self.public.wire, share, ours, label);
        let mut out = Zeroizing::new([0u8; 32]);
        if !unwrap_key(&key, wrapped, &mut out[..key_len]) {
            return Err(bad("an ssh-ed25519 stanza for this key does not decrypt"));
        }
        Ok(FileKey::from_bytes(&out[..key_len]))
    }

    fn unwrap_rsa(
        &self,
        ciphertext: &[u8],
        key_len: usize,
        label: &[u8],
    ) -> Result<Option<FileKey>, CryptoError> {
        let Secret::Rsa(k) = self.secret()? else {
            return Ok(None);
        };
        let mut rng = super::keys::os_rng();
        let plain = k
            .decrypt_blinded(&mut rng, Oaep::<Sha256>::new_with_label(label), ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| bad("an ssh-rsa stanza for this key does not decrypt"))?;
        if plain.len() != key_len {
            return Err(bad(
                "an ssh-rsa stanza wraps a file key of the wrong length",
            ));
        }
        Ok(FileKey::from_bytes(&plain))
    }
}

impl Identity for SshIdentity {
    fn cache_label(&self) -> Option<Zeroizing<String>> {
        Some(Zeroizing::new(self.public.to_string()))
    }
    fn unwrap_vault(&self, s: &Stanza) -> Result<Option<FileKey>, CryptoError> {
        let want = match self.public.kind {
            PublicKind::Ed25519(_) => KIND_SSH_ED25519,
            PublicKind::Rsa(_) => KIND_SSH_RSA,
        };
        if s.kind != want || s.body.len() < TAG || s.body[..TAG] != self.public.tag() {
            return Ok(None);
        }
        let rest = &s.body[TAG..];
        match s.kind {
            KIND_SSH_ED25519 => {
                let (share, wrapped) = rest.split_at(32);
                let share: &[u8; 32] = share.try_into().expect("length checked by the parser");
                self.unwrap_ed25519(share, wrapped, 32, VAULT_ED25519_LABEL)
            }
            _ => self.unwrap_rsa(rest, 32, VAULT_RSA_LABEL),
        }
    }

    fn unwrap_age(&self, s: &AgeStanza) -> Result<Option<FileKey>, CryptoError> {
        let kind = s.kind();
        if kind != AGE_ED25519 && kind != AGE_RSA {
            return Ok(None);
        }
        let ours = encode_base64(&self.public.tag());
        if kind == AGE_ED25519 {
            if s.args.len() != 3 {
                return Err(bad("an ssh-ed25519 stanza must have exactly two arguments"));
            }
            let share: [u8; 32] = decode_base64_array(
                &s.args[2],
                "an ssh-ed25519 share is not canonical base64 of 32 bytes",
            )?;
            if s.args[1] != ours || !matches!(self.public.kind, PublicKind::Ed25519(_)) {
                return Ok(None);
            }
            if s.body.len() != 16 + TAG_LEN {
                return Err(bad("an ssh-ed25519 stanza body is not 32 bytes"));
            }
            self.unwrap_ed25519(&share, &s.body, 16, AGE_ED25519_LABEL)
        } else {
            if s.args.len() != 2 {
                return Err(bad("an ssh-rsa stanza must have exactly one argument"));
            }
            if s.args[1] != ours || !matches!(self.public.kind, PublicKind::Rsa(_)) {
                return Ok(None);
            }
            self.unwrap_rsa(&s.body, 16, AGE_RSA_LABEL)
        }
    }
}

/// Whether file bytes look like an SSH private key (OpenSSH's format, or
/// the older PEM ones, which are refused with advice).
pub fn looks_like_private_key(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN ")
        && !bytes.trim_ascii_start().starts_with(b"-----BEGIN AGE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;
    use crate::crypto::testing::stanzas_open_for_their_key_only;

    pub(crate) fn ed25519_key() -> ssh_key::PrivateKey {
        ssh_key::PrivateKey::random(&mut os_rng(), ssh_key::Algorithm::Ed25519).unwrap()
    }

    #[test]
    fn ed25519_round_trips_in_both_formats_and_tags_pick_the_key() {
        let k = ed25519_key();
        let text = k.to_openssh(ssh_key::LineEnding::LF).unwrap();
        let id = SshIdentity::from_openssh(text.as_bytes(), "k", None).unwrap();
        let other = SshIdentity::from_openssh(
            ed25519_key()
                .to_openssh(ssh_key::LineEnding::LF)
                .unwrap()
                .as_bytes(),
            "o",
            None,
        )
        .unwrap();
        let line = k.public_key().to_openssh().unwrap();
        let r = SshRecipient::parse(&line).unwrap();
        assert_eq!(r, *id.recipient());
        assert!(line.starts_with(&r.to_string()));
        let (s, a) = stanzas_open_for_their_key_only(&r, &id, &other);
        assert_eq!(s.body.len(), ED25519_BODY_LEN);
        assert_eq!(a.args[0], "ssh-ed25519");
        let mut flipped = a.clone();
        flipped.body[0] ^= 1;
        assert!(id.unwrap_age(&flipped).is_err());
    }

    #[test]
    fn key_types_and_lines() {
        assert_eq!(
            ssh_key_type("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB== x").as_deref(),
            None
        );
        let k = ed25519_key();
        let line = k.public_key().to_openssh().unwrap();
        assert_eq!(ssh_key_type(&line).as_deref(), Some("ssh-ed25519"));
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= x@y";
        assert!(matches!(
            SshRecipient::parse(ecdsa),
            Err(CryptoError::UnsupportedSshKey(t)) if t == "ecdsa-sha2-nistp256"
        ));
        assert!(SshRecipient::parse("ssh-ed25519 AAAA").is_err());
    }
}
