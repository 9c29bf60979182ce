//! Opening a sealed file of either format: the one path every command uses.
//!
//! [`Decryptor::new`] tells vault files from age v1 files (binary or
//! armored) by their first bytes and reads the header; the caller then asks
//! whether a passphrase is needed, unwraps the file key with identities (any
//! type implementing [`Identity`]) or a passphrase, and streams the payload
//! through [`super::pipeline`]. Everything that differs between the formats
//! (header syntax, stanza order rules, armor) stays behind this type, so a
//! command written against it opens both, and a new format or key type
//! changes nothing here but the variant list.

use std::io::{Read, Write};

use super::age::{self, Sniffed};
use super::error::CryptoError;
use super::file;
use super::keys::FileKey;
use super::passphrase::Passphrase;
use super::recipient::Identity;
use super::stream::CopyError;

/// Which format a sealed file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// vault's own binary format (`docs/FORMAT.md`).
    Vault,
    /// age v1, binary or ASCII-armored.
    Age,
}

/// A sealed file whose header has been read, waiting for a key.
pub struct Decryptor<R: Read> {
    inner: Inner<R>,
}

enum Inner<R: Read> {
    Vault(file::Decryptor<Sniffed<R>>),
    Age(age::Decryptor<R>),
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

    /// Whether the file is sealed to a passphrase rather than to keys.
    pub fn is_passphrase(&self) -> bool {
        match &self.inner {
            Inner::Vault(d) => d.is_passphrase(),
            Inner::Age(d) => d.is_passphrase(),
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

    /// Unwrap the file key with the first of `identities` that matches a
    /// stanza (in each format's order), and check the header MAC with it.
    pub fn file_key(&self, identities: &[&dyn Identity]) -> Result<FileKey, CryptoError> {
        match &self.inner {
            Inner::Vault(d) => d.file_key(identities),
            Inner::Age(d) => d.file_key(identities),
        }
    }

    /// Unwrap the file key with a passphrase and check the header MAC.
    pub fn file_key_with_passphrase(&self, pass: &Passphrase) -> Result<FileKey, CryptoError> {
        match &self.inner {
            Inner::Vault(d) => d.file_key_with_passphrase(pass),
            Inner::Age(d) => d.file_key_with_passphrase(pass),
        }
    }

    /// Open the payload into `out` with `threads` workers (see
    /// [`super::pipeline::open_payload`]): stops at the first chunk that does not
    /// authenticate, after writing the chunks before it. A broken armor is
    /// reported as [`CryptoError::InvalidArmor`], not as a read error.
    pub fn open_payload<W: Write + ?Sized>(
        self,
        file_key: &FileKey,
        out: &mut W,
        threads: usize,
    ) -> Result<u64, CopyError> {
        match self.inner {
            Inner::Vault(d) => d.open_payload(file_key, out, threads),
            Inner::Age(d) => d.open_payload(file_key, out, threads),
        }
    }
}
