//! Where sealed bytes are stored: the [`Transport`] trait and one
//! implementation per backend (a local folder, an SFTP server).
//!
//! This folder owns moving opaque bytes between named files under a vault
//! root, and everything a backend needs for that (locations, connecting,
//! SSH configuration and host keys, staging). It sits at the bottom of the
//! crate beside `crypto`: it imports nothing from the crate outside
//! `transport/` (not `crypto`, nor anything above), and knows nothing about
//! encryption or object layout (that lives in `crate::remote`). Every
//! backend passes the same conformance suite
//! (`tests/transport_conformance.rs`).
//!
//! - `backend.rs`: the trait, its reader and writer, [`Properties`];
//! - `error.rs`: [`TransportError`]; SSH-only failures are
//!   [`TransportError::Ssh`], defined in `sftp/error.rs`;
//! - `location.rs`, `options.rs`: what to connect to, and how;
//! - `staging.rs`: complete-or-absent files on the file-system backends;
//! - `local.rs`, `sftp/`: the backends.
//!
//! Paths given to a transport are relative to the vault root, use `/` as the
//! separator and never contain `.` or `..` segments, empty segments, a
//! leading `/`, a backslash or a NUL byte; a backend refuses anything else
//! with [`TransportError::BadPath`]. The empty path `""` names the root
//! itself and is accepted where that makes sense (`mkdir_all`, `list`,
//! `stat`).
//!
//! The trait states intents, and each backend carries them out natively:
//! [`Transport::put`] gives a writer whose file appears at its path only
//! when [`RemoteWrite::finish`] succeeds, refusing an existing file or
//! replacing it atomically ([`PutMode`]); a writer dropped unfinished leaves
//! nothing visible. Large objects are moved over several connections at
//! once, because one SFTP session is one stream on one core:
//! [`Transport::begin_upload`] starts a file that any connection of the
//! same location fills part by part ([`Transport::write_part`]) and that
//! appears with [`Transport::finish_upload`]; [`Transport::read_at`] reads
//! one byte range. [`Location::connect`] opens a backend for a location
//! string, and [`Transport::reconnect`] opens another independent
//! connection from a live one.

// The only unsafe code is in `sftp::ffi`, `sftp::ssh_cipher` (C calls into
// and out of libssh2), `sftp::connect` (`getpwuid_r`) and `sftp::proxy`
// (`poll`), which allow it where it is.
#![deny(unsafe_code)]

mod backend;
mod error;
mod local;
mod location;
mod options;
pub mod s3;
pub mod sftp;
mod staging;

pub use backend::{
    Entry, Properties, PutMode, Reader, RemoteRead, RemoteWrite, Transport, Upload, Writer,
};
pub use error::TransportError;
pub use local::LocalTransport;
pub use location::{Location, SftpTarget};
pub use options::{AgentSocket, ConnectOptions};
pub use s3::{S3Error, S3Target, S3Transport};
pub use sftp::{ConfigFiles, SftpTransport, SshError};

impl Location {
    /// Open a transport for this location. Can be called any number of
    /// times, each call opening an independent connection.
    pub fn connect(&self, opts: &ConnectOptions) -> Result<Box<dyn Transport>, TransportError> {
        match self {
            Location::Local(p) => Ok(Box::new(LocalTransport::new(p, opts.home.as_deref())?)),
            Location::Sftp(t) => Ok(Box::new(SftpTransport::connect(t, opts)?)),
            Location::S3(t) => Ok(Box::new(S3Transport::connect(t, opts)?)),
        }
    }
}
