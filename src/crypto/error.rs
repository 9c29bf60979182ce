//! The crypto layer's error type, one variant per failure class.
//!
//! Payload failures surface through `std::io::Read`, so they travel inside an
//! `io::Error` of kind `InvalidData`; [`CryptoError::from_io`] recovers them.

use std::io;

/// What went wrong while sealing or opening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The input does not start with the vault magic bytes.
    #[error("not a vault file")]
    NotVaultFile,
    /// The input is an age file but was handed to the vault-format parser.
    #[error("this is an age file, not a vault file")]
    AgeFile,
    /// A vault file of a format version this build does not know.
    #[error("unsupported vault format version {0}")]
    UnsupportedVersion(u8),
    /// A cipher-suite byte this build does not know.
    #[error("unknown cipher suite {0}")]
    UnknownSuite(u8),
    /// The header does not parse: a field out of range, a non-canonical
    /// encoding, or the file ends inside it.
    #[error("header is damaged or was modified ({0})")]
    InvalidHeader(&'static str),
    /// The header parsed but its MAC does not match the file key.
    #[error("header is damaged or was modified")]
    HeaderMac,
    /// No identity unwrapped any recipient stanza.
    #[error("no identity matches this file; it was sealed to other keys")]
    NoMatchingIdentity,
    /// A passphrase stanza did not unwrap with the given passphrase.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A passphrase stanza asks for more work than we are willing to do, or
    /// for none (zero passes or lanes).
    #[error("passphrase work factor is out of range ({0})")]
    WorkFactorTooHigh(String),
    /// A passphrase stanza shares the header with other stanzas.
    #[error("header is damaged or was modified (a passphrase stanza must be alone)")]
    PassphraseNotAlone,
    /// The payload ends early: a chunk is missing or cut.
    #[error("file is truncated")]
    Truncated,
    /// A payload chunk does not authenticate.
    #[error("file is damaged or was modified")]
    DecryptFailed,
    /// Bytes follow the authenticated end of the payload.
    #[error("file has unexpected data after its end")]
    TrailingData,
    /// An ASCII-armored age file breaks the armor's strict rules (C2SP
    /// age, "ASCII armor"): a wrong first or last line, a line of the wrong
    /// length, non-canonical base64, or data around the armor.
    #[error("the armor of this age file is damaged or was modified ({0})")]
    InvalidArmor(&'static str),
    /// A key string does not parse.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// No recipient was given.
    #[error("no recipients")]
    NoRecipients,
    /// Too many recipients for one header.
    #[error("too many recipients ({0}, at most {max})", max = super::header::MAX_STANZAS)]
    TooManyRecipients(usize),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(io::Error),
}

impl CryptoError {
    /// Wrap this error in an `io::Error` of kind `InvalidData` (for `Read`
    /// and `Write` implementations).
    pub fn into_io(self) -> io::Error {
        match self {
            CryptoError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }

    /// Recover a crypto error carried by an `io::Error`, or wrap a plain I/O
    /// error as [`CryptoError::Io`].
    pub fn from_io(e: io::Error) -> CryptoError {
        if e.get_ref().is_some_and(|inner| inner.is::<CryptoError>()) {
            let inner = e.into_inner().expect("checked above");
            *inner.downcast::<CryptoError>().expect("checked above")
        } else {
            CryptoError::Io(e)
        }
    }
}

impl From<io::Error> for CryptoError {
    fn from(e: io::Error) -> Self {
        CryptoError::from_io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_round_trip_keeps_the_class() {
        let e = CryptoError::Truncated.into_io();
        assert!(matches!(CryptoError::from_io(e), CryptoError::Truncated));
        let plain = io::Error::other("disk on fire");
        assert!(matches!(CryptoError::from_io(plain), CryptoError::Io(_)));
    }
}
