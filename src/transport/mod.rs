//! Where sealed bytes are stored: a small `Transport` trait with one
//! implementation per backend (a local folder, an SFTP server).
//!
//! The trait is deliberately dumb: it moves opaque bytes between named files
//! under a vault root and knows nothing about encryption or object layout
//! (that lives in `crate::remote`). Every backend passes the same
//! conformance suite (`tests/transport_conformance.rs`).
//!
//! Paths given to a transport are relative to the vault root, use `/` as the
//! separator and never contain `..`, empty segments or a leading `/`; a
//! backend refuses anything else with [`TransportError::BadPath`].

use std::io::{Read, Write};

/// One entry returned by [`Transport::list`] or [`Transport::stat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's file name (for `list`) or the path asked for (for `stat`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch, if the backend knows it.
    pub mtime: Option<u64>,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// A file being written on a transport. Dropping it without calling
/// [`RemoteWrite::finish`] leaves an incomplete file that the caller must
/// remove; `finish` flushes, syncs where the backend can, and closes.
pub trait RemoteWrite: Write {
    /// Flush, sync to stable storage where supported, and close.
    fn finish(self: Box<Self>) -> Result<(), TransportError>;
}

/// Errors from a transport, by failure class.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A path that is not a clean relative path.
    #[error("invalid remote path {0:?}")]
    BadPath(String),
    /// The file or folder does not exist.
    #[error("{0}: not found")]
    NotFound(String),
    /// The target of an exclusive create or a no-replace rename exists.
    #[error("{0}: already exists")]
    AlreadyExists(String),
    /// The server or file system refused access.
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    /// No space left on the device.
    #[error("no space left on the remote device")]
    NoSpace,
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The operations a vault needs from a storage backend.
pub trait Transport {
    /// A human-readable location for messages (`sftp://user@host:22/path`).
    fn describe(&self) -> String;
    /// Create a folder and its parents; succeed if it exists.
    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError>;
    /// List a folder's entries (not `.` or `..`), in no particular order.
    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError>;
    /// Metadata of one path, `None` if it does not exist.
    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError>;
    /// Open a file for reading from its start.
    fn read(&mut self, path: &str) -> Result<Box<dyn Read + '_>, TransportError>;
    /// Create a new file exclusively (fail with `AlreadyExists` if it exists).
    fn create(&mut self, path: &str) -> Result<Box<dyn RemoteWrite + '_>, TransportError>;
    /// Rename `from` to `to`. With `replace`, an existing `to` is replaced
    /// atomically; without, the rename fails with `AlreadyExists`.
    fn rename(&mut self, from: &str, to: &str, replace: bool) -> Result<(), TransportError>;
    /// Remove a file.
    fn remove(&mut self, path: &str) -> Result<(), TransportError>;
}
