//! Opening a sealed file of either format: the one path every command uses.
//!
//! [`Decryptor::new`] tells vault files from age v1 files (binary or
//! armored) by their first bytes and reads the header; the caller then asks
//! whether a passphrase is needed, unwraps the file key with identities (any
//! type implementing [`Identity`]) or a passphrase, and streams the payload
//! through [`super::pipeline`] ([`SealedFile`], which each format's own
//! decryptor implements as well). Everything that differs between the formats
//! (header syntax, stanza order rules, armor) stays behind this type, so a
//! command written against it opens both, and a new format or key type
//! changes nothing here but the variant list.

use std::io::{self, Read, Write};

use super::age::{self, Sniffed};
use super::error::CryptoError;
use super::file;
use super::keys::FileKey;
use super::passphrase::Passphrase;
use super::recipient::Identity;
use super::stream::{CopyError, StreamReader};
use super::suite::PayloadKey;

/// Which format a sealed file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// vault's own binary format (`docs/FORMAT.md`).
    Vault,
    /// age v1, binary or ASCII-armored.
    Age,
}

/// What a sealed file offers once its header has been read, whatever its
/// format: [`Decryptor`] (either format) and the two formats' own
/// decryptors ([`file::Decryptor`], [`age::Decryptor`]) implement it, so
/// that unwrapping the file key and opening the payload is written once
/// here and each format only says how its header answers.
pub trait SealedFile: Sized {
    /// The input after the header: the payload, as the format reads it.
    type Payload: Read;

    /// Whether the file is sealed to a passphrase rather than to keys.
    fn is_passphrase(&self) -> bool;

    /// Unwrap the file key with the first of `identities` that matches a
    /// stanza (in the format's order), and check the header MAC with it.
    fn file_key(&self, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError>;

    /// Unwrap the file key with a passphrase and check the header MAC.
    fn file_key_with_passphrase(&self, pass: &Passphrase) -> Result<FileKey, CryptoError>;

    /// The payload key and the unread input, for [`super::pipeline`].
    fn into_payload(self, file_key: &FileKey) -> (PayloadKey, Self::Payload);

    /// Why reading `payload` failed, where the format knows better than the
    /// read error (an age file's broken armor); none by default.
    fn payload_failure(_payload: &Self::Payload) -> Option<CryptoError> {
        None
    }

    /// The payload reader, given a file key from [`SealedFile::file_key`].
    fn into_reader(self, file_key: &FileKey) -> StreamReader<Self::Payload> {
        let (key, input) = self.into_payload(file_key);
        StreamReader::new(key, input)
    }

    /// Open the payload into `out` with `threads` workers (see
    /// [`super::pipeline::open_payload`]): stops at the first chunk that does
    /// not authenticate, after writing the chunks before it. A broken armor
    /// is reported as [`CryptoError::InvalidArmor`], not as a read error.
    fn open_payload<W: Write + ?Sized>(
        self,
        file_key: &FileKey,
        out: &mut W,
        threads: usize,
    ) -> Result<u64, CopyError> {
        let (key, mut input) = self.into_payload(file_key);
        let result = super::pipeline::open_payload(key, &mut input, out, threads);
        match (result, Self::payload_failure(&input)) {
            (Err(CopyError::Read(_)), Some(failure)) => Err(CopyError::Crypto(failure)),
            (result, _) => result,
        }
    }
}

/// A sealed file whose header has been read, waiting for a key.
pub struct Decryptor<R: Read> {
    inner: Inner<R>,
}

enum Inner<R: Read> {
    Vault(file::Decryptor<Sniffed<R>>),
    Age(age::Decryptor<R>),
}

/// The same call on either format's decryptor.
macro_rules! either {
    ($inner:expr, $d:ident => $call:expr) => {
        match $inner {
            Inner::Vault($d) => $call,
            Inner::Age($d) => $call,
        }
    };
}

/// The payload of a [`Decryptor`]: either format's.
pub enum Payload<R: Read> {
    /// A vault file's payload.
    Vault(Sniffed<R>),
    /// An age file's payload (binary, or decoded armor).
    Age(age::Payload<Sniffed<R>>),
}

impl<R: Read> Read for Payload<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Payload::Vault(r) => r.read(buf),
            Payload::Age(r) => r.read(buf),
        }
    }
}

impl<R: Read> Decryptor<R> {
    /// Read the header of the sealed file in `input`, of either format.
    pub fn new(input: R) -> Result<Self, CryptoError> {
        let sniffed = age::sniff(input).map_err(CryptoError::Io)?;
        let inner = if age::looks_like_age(age::sniffed_prefix(&sniffed)) {
            Inner::Age(age::Decryptor::from_sniffed(sniffed)?)
        } else {
            Inner::Vault(file::Decryptor::new(sniffed)?)
        };
        Ok(Decryptor { inner })
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Vault(_) => Format::Vault,
            Inner::Age(_) => Format::Age,
        }
    }

    /// Refuse a passphrase stanza that is malformed or asks for more work
    /// than allowed, before anyone is asked to type the passphrase. (vault's
    /// Argon2id costs are checked when the stanza is tried; they cost nothing
    /// to check first either way.)
    pub fn check_passphrase_stanza(&self) -> Result<(), CryptoError> {
        match &self.inner {
            Inner::Vault(_) => Ok(()),
            Inner::Age(d) => d.passphrase_work_factor().map(|_| ()),
        }
    }
}

impl<R: Read> SealedFile for Decryptor<R> {
    type Payload = Payload<R>;

    fn is_passphrase(&self) -> bool {
        either!(&self.inner, d => d.is_passphrase())
    }

    fn file_key(&self, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError> {
        either!(&self.inner, d => d.file_key(identities))
    }

    fn file_key_with_passphrase(&self, pass: &Passphrase) -> Result<FileKey, CryptoError> {
        either!(&self.inner, d => d.file_key_with_passphrase(pass))
    }

    fn into_payload(self, file_key: &FileKey) -> (PayloadKey, Payload<R>) {
        match self.inner {
            Inner::Vault(d) => {
                let (key, input) = d.into_payload(file_key);
                (key, Payload::Vault(input))
            }
            Inner::Age(d) => {
                let (key, input) = d.into_payload(file_key);
                (key, Payload::Age(input))
            }
        }
    }

    fn payload_failure(payload: &Payload<R>) -> Option<CryptoError> {
        match payload {
            Payload::Vault(p) => file::Decryptor::payload_failure(p),
            Payload::Age(p) => age::Decryptor::<R>::payload_failure(p),
        }
    }
}
