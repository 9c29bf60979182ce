//! `vault`: end-to-end encrypted files.
//!
//! Seal a file so that only chosen X25519 recipients can open it, and ship the
//! sealed bytes to any SFTP host so that the server only holds opaque blobs.
//!
//! The crate is organised by layer, each with its own error type:
//! - [`crypto`]: the sealed-file format (header, recipient stanzas, STREAM payload);
//! - [`keystore`]: the user's own identity on disk, passphrase protection;
//! - [`remote`]: a vault of sealed objects on a transport (push, pull, ls);
//! - [`transport`]: moving opaque bytes to a local folder or an SFTP server;
//! - [`atomic`]: local files that appear whole or not at all;
//! - [`cli`]: the command line, which converts every error once into a message.
#![deny(missing_docs)]

pub mod atomic;
pub mod cli;
pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
pub mod keystore;
pub mod remote;
pub mod transport;
