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
    /// The header parsed and a stanza unwrapped with one of the given
    /// identities, but the MAC does not match that file key: the file is
    /// for these identities, and its header was changed.
    #[error(
        "header is damaged or was modified (a stanza opens for you, but the header MAC does not match)"
    )]
    HeaderMac,
    /// No identity unwrapped any recipient stanza. A stanza damaged in its
    /// body (rather than in its kind or length) looks the same: only its
    /// recipient could tell, and it does not open for them either.
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
    /// The payload ends early, and certainly so: at a chunk boundary
    /// before the final chunk, or with less than a tag where a chunk must
    /// be (or, for a remote object, before the size its metadata gives).
    #[error("file is truncated (it ends before its last chunk)")]
    Truncated,
    /// A full-size payload chunk does not authenticate (at its index, with
    /// either "last" flag), or an empty final chunk follows others: the
    /// payload was changed, not cut.
    #[error("file is damaged or was modified")]
    DecryptFailed,
    /// The input ends in a chunk shorter than a full one that does not
    /// authenticate as the last chunk. STREAM cannot tell the two causes
    /// apart: a cut inside a chunk leaves exactly such a stub, and so does
    /// a damaged (short) last chunk.
    #[error("file is truncated, or damaged or was modified (its last chunk does not authenticate)")]
    CutOrDamaged,
    /// Bytes follow the authenticated end of the payload.
    #[error("file has unexpected data after its end")]
    TrailingData,
    /// An ASCII-armored age file breaks the armor's strict rules (C2SP
    /// age, "ASCII armor"): a wrong first or last line, a line of the wrong
    /// length, non-canonical base64, or data around the armor.
    #[error("the armor of this age file is damaged or was modified ({0})")]
    InvalidArmor(&'static str),
    /// A key string does not parse. The text never contains the key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A recipient string of no form vault knows (it is not repeated: it
    /// could be a secret).
    #[error(
        "not a recipient vault understands; give age1... (X25519), age1pq1... (post-quantum), \
         ssh-ed25519 AAAA... or ssh-rsa AAAA... (SSH), or age1NAME1... (plugin)"
    )]
    UnknownRecipient,
    /// A secret key was given where a public key belongs.
    #[error("this is a secret key; give the public key (`vault id` prints yours)")]
    SecretKeyAsRecipient,
    /// An SSH key of a type that cannot be a recipient.
    #[error("SSH keys of type {0} cannot be recipients (only ssh-ed25519 and ssh-rsa)")]
    UnsupportedSshKey(String),
    /// A passphrase-protected SSH key whose passphrase could not be asked.
    #[error("{0} is protected by a passphrase, and none could be asked for")]
    SshKeyLocked(String),
    /// Post-quantum and classic recipients in one file.
    #[error(
        "post-quantum recipients (age1pq1...) cannot be mixed with classic ones in one file: \
         the classic stanza would undo the post-quantum protection"
    )]
    MixedPostQuantum,
    /// Recipients whose stanzas carry different labels (as age says it).
    #[error("these recipients cannot share a file (their plugins' labels differ)")]
    IncompatibleRecipients,
    /// An age plugin failed.
    #[error("plugin age-plugin-{plugin}: {error}")]
    Plugin {
        /// The plugin's name (`NAME` of `age-plugin-NAME`).
        plugin: String,
        /// What went wrong.
        error: super::plugin::PluginError,
    },
    /// An identity held by another process (the vault agent) could not
    /// answer: it stopped, or refused the stanza.
    #[error("{0}")]
    IdentityHolder(String),
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
