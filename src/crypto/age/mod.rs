//! age v1 files (C2SP age, `age-encryption.org/v1`), binary or armored.
//!
//! age is the format vault's own was modelled on, so most of the machinery
//! is shared rather than copied:
//!
//! ```text
//! file key    = 16 random bytes                         (vault: 32)
//! header      = text header, see [`header`]             (vault: binary)
//! stanzas     = X25519 via crypto::x25519::{wrap, unwrap}, scrypt
//! header MAC  = HMAC-SHA256[HKDF-SHA256["", "header"](file key)]
//! payload key = HKDF-SHA256[nonce, "payload"](file key)
//! file        = header || nonce (16) || STREAM[payload key](plaintext)
//! ```
//!
//! The payload is vault's STREAM with the ChaCha20-Poly1305 suite: the same
//! [`PayloadKey`], [`crate::crypto::stream`] and
//! [`crate::crypto::pipeline`], so age files get every property (and every
//! speed-up) of vault's payload path. What age cannot express is refused by
//! the callers: a payload suite other than ChaCha20-Poly1305 has no place in
//! an age header.
//!
//! Failures map onto [`CryptoError`]'s classes; `vectors/age/README.md`
//! lists which class each C2SP CCTV expectation corresponds to.

pub mod armor;
pub mod header;
pub mod scrypt;

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use rand_core::CryptoRng;

pub use armor::{ArmoredReader, ArmoredWriter};
pub use header::{Header, Stanza};

use super::error::CryptoError;
use super::keys::FileKey;
use super::open::SealedFile;
use super::passphrase::Passphrase;
use super::primitives::hkdf_sha256;
use super::recipient::{Identity, Recipient, check_labels, distinct};
use super::suite::{PayloadKey, Suite};

/// Length of the payload nonce that follows the header.
pub const NONCE_LEN: usize = 16;

/// `HKDF-SHA256[salt = nonce, info = "payload"](file key)`, keying
/// ChaCha20-Poly1305 (age's only payload cipher).
pub fn payload_key(file_key: &FileKey, nonce: &[u8; NONCE_LEN]) -> PayloadKey {
    PayloadKey::new(
        Suite::ChaCha20Poly1305,
        &hkdf_sha256(nonce, file_key.as_bytes(), b"payload"),
    )
}

/// The start of an input, read ahead so the format can be told, followed by
/// the rest of the input.
pub type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

/// Bytes read ahead past leading whitespace: enough for the armor's begin
/// line and age's version line.
const SNIFF_LEN: usize = 40;
/// Most leading whitespace read ahead (age's armor allows 1024 bytes).
const SNIFF_MAX_WHITESPACE: usize = 1024 + 2;

/// Read the start of `input` (past any leading ASCII whitespace, up to a
/// bound) without losing it: the returned reader yields every byte of
/// `input`. See [`sniffed_prefix`] and [`looks_like_age`].
pub fn sniff<R: Read>(mut input: R) -> io::Result<Sniffed<R>> {
    let mut prefix = Vec::with_capacity(64);
    let mut chunk = [0u8; 64];
    loop {
        let text = prefix.trim_ascii_start();
        let ws = prefix.len() - text.len();
        if text.len() >= SNIFF_LEN || ws > SNIFF_MAX_WHITESPACE {
            break;
        }
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => prefix.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Cursor::new(prefix).chain(input))
}

/// The bytes [`sniff`] read ahead.
pub fn sniffed_prefix<R>(s: &Sniffed<R>) -> &[u8] {
    s.get_ref().0.get_ref()
}

/// Whether input starting with `prefix` is an age file, binary or armored
/// (see [`crate::crypto::header::looks_like_age`]).
pub fn looks_like_age(prefix: &[u8]) -> bool {
    super::header::looks_like_age(prefix)
}

/// Whether an age file starting with `prefix` is armored: its first
/// non-whitespace byte is `-`, as in `-----BEGIN`. A binary age file starts
/// with `age-encryption.org/`.
pub fn is_armored(prefix: &[u8]) -> bool {
    prefix.trim_ascii_start().starts_with(b"-")
}

/// The input of an age file after its header: binary, or decoded armor.
pub enum Payload<R: Read> {
    /// A binary age file.
    Binary(BufReader<R>),
    /// An armored age file, decoded on the fly.
    Armored(BufReader<ArmoredReader<BufReader<R>>>),
}

impl<R: Read> Read for Payload<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Payload::Binary(r) => r.read(buf),
            Payload::Armored(r) => r.read(buf),
        }
    }
}

impl<R: Read> Payload<R> {
    /// Why the armor was refused, if it was (an I/O error from the armored
    /// input is really this).
    pub fn armor_failure(&self) -> Option<CryptoError> {
        match self {
            Payload::Binary(_) => None,
            Payload::Armored(r) => r.get_ref().failure(),
        }
    }

    /// `e`, an error from reading this input, as its real class.
    pub fn classify(&self, e: CryptoError) -> CryptoError {
        match (e, self.armor_failure()) {
            (CryptoError::Io(_), Some(armor)) => armor,
            (e, _) => e,
        }
    }
}

impl<R: Read> BufRead for Payload<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Payload::Binary(r) => r.fill_buf(),
            Payload::Armored(r) => r.fill_buf(),
        }
    }
    fn consume(&mut self, n: usize) {
        match self {
            Payload::Binary(r) => r.consume(n),
            Payload::Armored(r) => r.consume(n),
        }
    }
}

/// An age file whose header and payload nonce have been read, waiting for a
/// key.
pub struct Decryptor<R: Read> {
    header: Header,
    nonce: [u8; NONCE_LEN],
    input: Payload<Sniffed<R>>,
}

impl<R: Read> Decryptor<R> {
    /// Read the header and nonce of the age file in `input`, decoding the
    /// armor if the file is armored.
    pub fn new(input: R) -> Result<Self, CryptoError> {
        Self::from_sniffed(sniff(input).map_err(CryptoError::Io)?)
    }

    /// [`Decryptor::new`] on an input whose start [`sniff`] has read.
    pub fn from_sniffed(sniffed: Sniffed<R>) -> Result<Self, CryptoError> {
        let mut input = if is_armored(sniffed_prefix(&sniffed)) {
            Payload::Armored(BufReader::new(ArmoredReader::new(BufReader::new(sniffed))))
        } else {
            Payload::Binary(BufReader::new(sniffed))
        };
        let header = Header::read_from(&mut input).map_err(|e| input.classify(e))?;
        let mut nonce = [0u8; NONCE_LEN];
        header::read_header_bytes(&mut input, &mut nonce).map_err(|e| input.classify(e))?;
        Ok(Decryptor {
            header,
            nonce,
            input,
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The passphrase stanza's log2 work factor, checked against the limit,
    /// so that a caller can refuse a file before asking for a passphrase.
    pub fn passphrase_work_factor(&self) -> Result<u8, CryptoError> {
        let s = self.scrypt_stanza()?;
        scrypt::scrypt_params(s).map(|(_, log_n)| log_n)
    }

    fn scrypt_stanza(&self) -> Result<&Stanza, CryptoError> {
        self.header
            .stanzas
            .iter()
            .find(|s| s.kind() == scrypt::SCRYPT)
            .ok_or(CryptoError::NoMatchingIdentity)
    }

    fn checked(&self, key: FileKey) -> Result<FileKey, CryptoError> {
        if !self.header.verify_mac(&key) {
            return Err(CryptoError::HeaderMac);
        }
        Ok(key)
    }
}

impl<R: Read> SealedFile for Decryptor<R> {
    type Payload = Payload<Sniffed<R>>;

    /// Whether the file is sealed to a passphrase (an `scrypt` stanza,
    /// which is then the only one).
    fn is_passphrase(&self) -> bool {
        self.header
            .stanzas
            .iter()
            .any(|s| s.kind() == scrypt::SCRYPT)
    }

    /// Unwrap the file key with `identities`, as age does: each identity in
    /// turn tries every stanza in file order; a malformed `X25519` stanza
    /// stops the search. Then check the header MAC with the key.
    fn file_key(&self, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError> {
        for id in identities {
            if let Some(key) = id.unwrap_age_all(&self.header.stanzas)? {
                return self.checked(key);
            }
        }
        Err(CryptoError::NoMatchingIdentity)
    }

    fn file_key_with_passphrase(&self, pass: &Passphrase) -> Result<FileKey, CryptoError> {
        let key = scrypt::scrypt_unwrap(pass, self.scrypt_stanza()?)?;
        self.checked(key)
    }

    fn into_payload(self, file_key: &FileKey) -> (PayloadKey, Payload<Sniffed<R>>) {
        (payload_key(file_key, &self.nonce), self.input)
    }

    /// A broken armor is [`CryptoError::InvalidArmor`], not a read error.
    fn payload_failure(payload: &Payload<Sniffed<R>>) -> Option<CryptoError> {
        payload.armor_failure()
    }
}

/// A fresh age header and nonce (the bytes to write before the payload)
/// for `recipients`, duplicates removed, and the payload key.
pub fn seal_header<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[&dyn Recipient],
) -> Result<(Vec<u8>, PayloadKey), CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let file_key = FileKey::generate(rng, header::FILE_KEY_LEN);
    let mut stanzas = Vec::with_capacity(recipients.len());
    let mut dyn_rng = &mut *rng;
    let recipients = distinct(recipients);
    for r in &recipients {
        stanzas.push(r.age_stanza(&mut dyn_rng, &file_key)?);
    }
    check_labels(&recipients)?;
    finish_header(rng, stanzas, &file_key)
}

/// A fresh age header and nonce sealed to a passphrase with scrypt work
/// factor `2^log_n` ([`scrypt::SCRYPT_LOG_N`] is what age writes), and the
/// payload key.
pub fn seal_header_with_passphrase<R: CryptoRng + ?Sized>(
    rng: &mut R,
    passphrase: &Passphrase,
    log_n: u8,
) -> Result<(Vec<u8>, PayloadKey), CryptoError> {
    let file_key = FileKey::generate(rng, header::FILE_KEY_LEN);
    let s = scrypt::scrypt_stanza(rng, passphrase, &file_key, log_n)?;
    finish_header(rng, vec![s], &file_key)
}

fn finish_header<R: CryptoRng + ?Sized>(
    rng: &mut R,
    stanzas: Vec<Stanza>,
    file_key: &FileKey,
) -> Result<(Vec<u8>, PayloadKey), CryptoError> {
    let mut header = Header {
        stanzas,
        mac: [0; 32],
    };
    header.seal_mac(file_key)?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut bytes = header.to_bytes();
    bytes.extend_from_slice(&nonce);
    Ok((bytes, payload_key(file_key, &nonce)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::crypto::keys::os_rng;
    use crate::crypto::stream::CHUNK_SIZE;
    use crate::crypto::{X25519Identity, X25519Recipient, as_identities, as_recipients, pipeline};

    fn seal_to(recipients: &[X25519Recipient], data: &[u8], armored: bool) -> Vec<u8> {
        let (head, key) = seal_header(&mut os_rng(), &as_recipients(recipients)).unwrap();
        if armored {
            let mut w = ArmoredWriter::new(Vec::new());
            w.write_all(&head).unwrap();
            let (_, w) = pipeline::seal_payload(key, &mut &data[..], w, 1).unwrap();
            w.finish().unwrap()
        } else {
            let (_, out) = pipeline::seal_payload(key, &mut &data[..], head, 1).unwrap();
            out
        }
    }

    fn open(ids: &[X25519Identity], file: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let d = Decryptor::new(file)?;
        let key = d.file_key(&as_identities(ids))?;
        let (key, payload) = d.into_payload(&key);
        let mut out = Vec::new();
        pipeline::open_payload(key, payload, &mut out, 1)?;
        Ok(out)
    }

    #[test]
    fn round_trips_binary_and_armored_to_several_recipients() {
        let (ids, recips) = crate::crypto::testing::two_of_three();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            2 * CHUNK_SIZE + 500,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
            for armored in [false, true] {
                let file = seal_to(&recips, &data, armored);
                assert_eq!(
                    file.starts_with(b"age-encryption.org/v1\n-> X25519 "),
                    !armored
                );
                for id in &ids[..2] {
                    assert_eq!(open(std::slice::from_ref(id), &file).unwrap(), data);
                }
                let err = open(&ids[2..], &file).unwrap_err();
                assert!(matches!(err, CryptoError::NoMatchingIdentity), "{err}");
            }
        }
    }

    #[test]
    fn passphrase_files_open_with_the_passphrase_only() {
        let mut rng = os_rng();
        let pass = Passphrase::new("hunter2 hunter2".into());
        let (head, key) = seal_header_with_passphrase(&mut rng, &pass, 4).unwrap();
        let (_, file) = pipeline::seal_payload(key, &mut &b"pw"[..], head, 1).unwrap();
        let d = Decryptor::new(&file[..]).unwrap();
        assert!(d.is_passphrase());
        assert_eq!(d.passphrase_work_factor().unwrap(), 4);
        assert!(matches!(
            d.file_key(&[&X25519Identity::generate(&mut rng) as &dyn Identity]),
            Err(CryptoError::NoMatchingIdentity)
        ));
        let wrong = Passphrase::new("nope".into());
        assert!(matches!(
            d.file_key_with_passphrase(&wrong),
            Err(CryptoError::WrongPassphrase)
        ));
        let key = d.file_key_with_passphrase(&pass).unwrap();
        let mut out = Vec::new();
        d.into_reader(&key).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"pw");
    }

    #[test]
    fn sniffing_keeps_every_byte() {
        for input in [
            &b""[..],
            b"a",
            b"age-encryption.org/v1\nrest",
            &[b' '; 3000],
        ] {
            let mut s = sniff(input).unwrap();
            assert!(sniffed_prefix(&s).len() <= input.len());
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            assert_eq!(all, input);
        }
        let s = sniff(&b"\n\n  -----BEGIN AGE ENCRYPTED FILE-----\nx"[..]).unwrap();
        assert!(looks_like_age(sniffed_prefix(&s)) && is_armored(sniffed_prefix(&s)));
    }

    #[test]
    fn a_damaged_header_or_payload_fails_and_every_bit_matters() {
        let id = X25519Identity::generate(&mut os_rng());
        let file = seal_to(&[id.recipient()], b"hello", false);
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert!(open(std::slice::from_ref(&id), &bad).is_err(), "byte {i}");
        }
    }
}
