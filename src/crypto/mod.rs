//! Cryptography and the sealed-file format.
//!
//! Layers, bottom up, so that each can be read (and reviewed) alone:
//! - [`primitives`]: typed calls into RustCrypto (HKDF, HMAC, key wrapping);
//! - [`suite`]: payload cipher suites and the in-place per-chunk AEAD;
//! - [`stream`]: the STREAM construction as `Read`/`Write` adapters;
//! - [`keys`]: file keys, the random generator, Bech32;
//! - [`recipient`]: the [`Recipient`] and [`Identity`] traits every key type
//!   implements, for both formats;
//! - [`x25519`]: the X25519 key type (keys and stanzas, vault's and age's);
//!   [`ssh`]: SSH keys (`ssh-ed25519`, `ssh-rsa`) as age uses them;
//!   [`pq`]: the post-quantum hybrid `mlkem768x25519`; [`plugin`]: age
//!   plugins (`age1NAME1...`), run as child processes;
//!   [`parse`]: any public key string or secret key line to its type;
//!   [`passphrase`]: vault's Argon2id passphrase stanza;
//! - [`header`]: the header's canonical encoding and MAC;
//! - [`record`]: small records sealed under a file key, bound to a header;
//! - [`bound`]: stanzas a holder of the file key can recompute and check
//!   against a recipient list;
//! - [`file`](mod@file): vault files: building and reading headers;
//! - [`age`]: age v1 files, on the same primitives, stanzas and payload path;
//! - [`open`]: the one way to open a file of either format;
//! - [`pipeline`]: the one payload path every format and command uses.
//!
//! The format is specified in `docs/FORMAT.md` (age compatibility there too).
//!
//! This is a bottom layer: it imports nothing else of the crate (no
//! transport, keystore, remote or command line), does no I/O of its own
//! beyond the `Read`/`Write` it is handed, and reports [`CryptoError`].

pub mod age;
pub mod bound;
pub mod error;
pub mod file;
pub mod header;
pub mod keys;
pub mod open;
pub mod parse;
pub mod passphrase;
pub mod pipeline;
pub mod plugin;
pub mod pq;
pub mod primitives;
pub mod recipient;
pub mod record;
pub mod ssh;
pub mod stream;
pub mod suite;
#[cfg(test)]
mod testing;
pub mod x25519;

pub use error::CryptoError;
pub use file::{seal, seal_with_passphrase};
pub use header::Header;
pub use keys::{FileKey, os_rng};
pub use open::{Decryptor, Format, SealedFile};
pub use parse::{parse_identity, parse_recipient};
pub use passphrase::Passphrase;
pub use pq::{PqIdentity, PqRecipient};
pub use recipient::{AnyRecipient, Identity, Recipient, as_identities, as_recipients};
pub use ssh::{SshIdentity, SshRecipient};
pub use stream::{CHUNK_SIZE, CopyError, StreamReader, StreamWriter};
pub use suite::Suite;
pub use x25519::{X25519Identity, X25519Recipient};
