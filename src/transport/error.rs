//! The transport layer's error type: failure classes every backend
//! shares (bad path, not found, no space, connection lost, ...). What only
//! the SSH backend can report is one variant, [`TransportError::Ssh`], so
//! that a second network backend adds its own variant the same way instead
//! of inheriting SSH's.

use super::sftp::error::SshError;

/// Errors from a transport, by failure class. Every message is one line and
/// says what to do next where there is something to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A path that is not a clean relative path.
    #[error("invalid remote path {0:?}")]
    BadPath(String),
    /// A location string that cannot be parsed.
    #[error("invalid location {input:?}: {reason}")]
    BadLocation {
        /// The string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file or folder does not exist.
    #[error("{0}: not found")]
    NotFound(String),
    /// The target of an exclusive create or a no-replace rename exists.
    #[error("{0}: already exists")]
    AlreadyExists(String),
    /// The server or file system refused access.
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    /// No space left on the device (or the quota is exhausted).
    #[error("{0}: no space left on the device or quota exceeded; free some space and try again")]
    NoSpace(String),
    /// The SFTP server answered with its generic failure status. OpenSSH
    /// reports most errors this way (a full disk included), and libssh2 does
    /// not pass on the server's message text.
    #[error("{context}: the server reported a failure ({detail})")]
    ServerFailure {
        /// What was being done.
        context: String,
        /// What the server said and what it probably means.
        detail: String,
    },
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The host name does not resolve, or the network cannot reach it.
    #[error("cannot reach {host} ({addr}): {reason}; check the host name and your network")]
    Unreachable {
        /// The host as configured.
        host: String,
        /// The address tried, or the name that did not resolve.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Nothing listens on the SSH port.
    #[error("connection to {host} ({addr}) refused; is the SSH server running on that port?")]
    ConnectionRefused {
        /// The host as configured.
        host: String,
        /// The address and port tried.
        addr: String,
    },
    /// The server did not answer in time.
    #[error("{host}: timed out {what}; check the network or raise ConnectTimeout")]
    Timeout {
        /// The host as configured.
        host: String,
        /// What was being done (`connecting`, `waiting for the server`).
        what: String,
    },
    /// The connection broke during an operation.
    #[error("connection to {host} lost: {detail}; try again")]
    ConnectionLost {
        /// The host as configured.
        host: String,
        /// What libssh2 reported.
        detail: String,
    },
    /// What only an SSH connection can report (configuration, host key,
    /// authentication, protocol), kept apart so that other network
    /// backends do not inherit it.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// What only an S3-compatible store reports.
    #[error(transparent)]
    S3(#[from] super::S3Error),
}
