//! `vault`: end-to-end encrypted files.
//!
//! Seal a file so that only chosen recipients can open it, and ship the
//! sealed bytes to a storage server so that it only ever holds opaque
//! blobs. The `vault` binary (`src/main.rs`, `src/cli/`) is a thin command
//! line over this library.
//!
//! The crate is organised by layer, each with its own error type; a layer
//! imports only from the layers below it:
//! - [`crypto`] (bottom): the sealed-file formats (vault's and age's),
//!   recipient types, the STREAM payload;
//! - [`transport`] (bottom): moving opaque bytes to a local folder or an
//!   SFTP server; knows nothing of encryption;
//! - [`keystore`] (above crypto): the user's own identity on disk, contacts,
//!   passphrases;
//! - [`remote`] (above crypto and transport): a vault of sealed objects on a
//!   transport (push, pull, ls, share);
//! - [`atomic`]: local files that appear whole or not at all (used by the
//!   keystore and the command line);
//! - [`tty`]: prompts on the terminal that leave it as they found it (used
//!   by the keystore and the SSH transport).
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod atomic;
pub mod crypto;
/// Fuzzing harnesses (with fixed test secrets): compiled only for the
/// library's own tests and for the cargo-fuzz targets (`--cfg fuzzing`).
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
pub mod keystore;
pub mod remote;
pub mod transport;
pub mod tty;
