//! The crypto layer's error type, one variant per failure class.
//!
//! The crypto layer's own entry points return it as itself: the payload
//! copies ([`super::stream::CopyError::Crypto`]) and the header parsers. The
//! `std::io::Read` adapters ([`super::stream::StreamReader`],
//! [`super::age::ArmoredReader`]) can only return an `io::Error`; they return
//! one of kind `InvalidData` with the class's message, and keep the class
//! itself for their `failure()` method, so no caller ever has to recover it
//! from an `io::Error`.

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
    #[error("too many recipients ({count}, at most {max})")]
    TooManyRecipients {
        /// How many were given.
        count: usize,
        /// The most one header holds.
        max: usize,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(io::Error),
}
