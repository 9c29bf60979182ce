//! Cryptography and the sealed-file format.
//!
//! Layers, bottom up, so that each can be read (and reviewed) alone:
//! - [`primitives`]: typed calls into RustCrypto (HKDF, HMAC, key wrapping);
//! - [`suite`]: payload cipher suites and the in-place per-chunk AEAD;
//! - [`stream`]: the STREAM construction as `Read`/`Write` adapters;
//! - [`keys`]: file keys and X25519 keys in age's Bech32 encoding;
//! - [`x25519`], [`passphrase`]: recipient stanzas;
//! - [`header`]: the header's canonical encoding and MAC;
//! - [`file`](mod@file): sealing and opening whole files;
//! - [`pipeline`]: the one payload path every format and command uses;
//! - [`age`]: age v1 files, on the same primitives, stanzas and payload path.
//!
//! The format is specified in `docs/FORMAT.md` (age compatibility there too).

pub mod age;
pub mod error;
pub mod file;
pub mod header;
pub mod keys;
pub mod passphrase;
pub mod pipeline;
pub mod primitives;
pub mod stream;
pub mod suite;
pub mod x25519;

pub use error::CryptoError;
pub use file::{Decryptor, seal, seal_with_passphrase};
pub use header::Header;
pub use keys::{FileKey, Identity, Recipient, os_rng};
pub use passphrase::Passphrase;
pub use stream::{CHUNK_SIZE, CopyError, StreamReader, StreamWriter};
pub use suite::Suite;
