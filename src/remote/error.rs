//! The remote layer's error type. Transport and crypto failures are carried
//! as themselves ([`RemoteError::Transport`], [`RemoteError::Crypto`]); the
//! rest are the remote layer's own classes.

use crate::crypto::CryptoError;
use crate::transport::TransportError;

/// Errors of the remote-vault layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// From the transport.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// From the crypto layer.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The folder exists but holds no vault marker.
    #[error("{0} is not a vault (no {MARKER} marker)", MARKER = super::codec::MARKER)]
    NotAVault(String),
    /// The folder does not exist (nothing was pushed there yet).
    #[error("no vault at {0}: the folder does not exist")]
    NoVault(String),
    /// The folder holds other files, so no vault is created there.
    #[error("{0} is not empty and is not a vault")]
    NotEmpty(String),
    /// A name is already used.
    #[error("{0:?} already exists in the vault")]
    NameExists(String),
    /// No object you can open has this name.
    #[error("no object named {0:?} that you can open")]
    NoSuchName(String),
    /// A name is not allowed.
    #[error("invalid name {0:?}: {1}")]
    BadName(String, String),
    /// An object is inconsistent (damaged or tampered with).
    #[error("{0}")]
    BadObject(String),
    /// A head ends early: being written right now (small heads are created
    /// in place), or left so by a push that was cut off.
    #[error("the object's head is incomplete (being written, or cut off)")]
    IncompleteHead,
    /// More than one object you can open has this name; the command needs
    /// `--id` to know which.
    #[error("{} objects you can open are named {name:?} (listed above; two pushes of one name, or a push by someone else); add --id ID to choose one, or remove the one you do not want with `vault rm REMOTE NAME --id ID`", .objects.len())]
    Ambiguous {
        /// The name.
        name: String,
        /// The objects that have it, newest first.
        objects: Vec<super::Object>,
    },
    /// No object you can open has this id.
    #[error("no object with id {0} that you can open")]
    NoSuchId(String),
    /// Another client changed the object between this command's reading it
    /// and writing it; nothing was lost, and running again acts on the
    /// current version.
    #[error(
        "{0:?} was changed by another client at the same time; nothing was lost; run the command again"
    )]
    Conflict(String),
    /// `unshare` of someone who is not a recipient of the object.
    #[error("{who} is not a recipient of {name:?}")]
    NotARecipient {
        /// Who (a contact name or key).
        who: String,
        /// The object's name.
        name: String,
    },
    /// `unshare` would leave the object without a key able to open it, or
    /// without any of the user's own keys.
    #[error("{0}")]
    LastKey(String),
    /// A signal asked the command to stop; what it was writing on the
    /// server was removed (best effort).
    #[error("interrupted; partial output removed")]
    Interrupted,
    /// Local or payload I/O outside the transport.
    #[error("{0}")]
    Io(std::io::Error),
}
