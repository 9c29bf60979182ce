//! Fuzzing harnesses: one function per parser that sees untrusted bytes.
//!
//! Each `pub fn target(data: &[u8])` feeds `data` to one parser and asserts
//! its invariants: it never panics, accepted input re-encodes to the same
//! bytes where the format is canonical, two ways of reading agree, errors
//! stay in their class. A broken invariant is a panic, which libFuzzer
//! reports as a crash.
//!
//! The bodies live here, in the library, so that two callers share them:
//! the cargo-fuzz targets in `fuzz/fuzz_targets/` (one line each, built with
//! `--cfg fuzzing`), and the unit tests of `regressions`, which replay every
//! seed and every crash ever found (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) under plain `cargo test`. Nothing here is
//! compiled into a normal build: the harnesses hold fixed test secrets.
//! [`TARGETS`] lists them by name; `scripts/fuzz` runs them. Not a stable
//! API.

mod crypto;
mod keys;
#[cfg(test)]
mod regressions;
mod remote;
pub mod seeds;
mod text;

pub use crypto::{age_armor, age_header, payload_open, payload_roundtrip, vault_header};
pub use keys::{plugin_message, ssh_private_key, ssh_public_key};
pub use remote::{remote_head, remote_metadata, remote_name};
pub use text::{contacts, identity_file, known_hosts, recipients, ssh_config};

use crate::crypto::{CryptoError, FileKey, X25519Identity};

/// A harness: feeds one input to one parser, panics on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness, by the name of its cargo-fuzz target and seed folder.
pub const TARGETS: &[(&str, Harness)] = &[
    ("vault_header", vault_header),
    ("payload_open", payload_open),
    ("payload_roundtrip", payload_roundtrip),
    ("age_header", age_header),
    ("age_armor", age_armor),
    ("remote_head", remote_head),
    ("remote_metadata", remote_metadata),
    ("remote_name", remote_name),
    ("identity_file", identity_file),
    ("contacts", contacts),
    ("recipients", recipients),
    ("ssh_config", ssh_config),
    ("known_hosts", known_hosts),
    ("ssh_public_key", ssh_public_key),
    ("ssh_private_key", ssh_private_key),
    ("plugin_message", plugin_message),
];

/// The harness named `name`.
pub fn target(name: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The secret of the identity the harnesses try to open things with; seeds
/// sealed to its recipient let the fuzzer reach past key unwrapping.
pub const IDENTITY_SECRET: [u8; 32] = [0x11; 32];
/// The payload key of [`payload_open`] (seeds are sealed under it).
pub const PAYLOAD_KEY: [u8; 32] = [0x42; 32];
/// The vault file key the harnesses fall back to when no stanza unwraps.
pub const FILE_KEY: [u8; 32] = [0x24; 32];

/// The identity of [`IDENTITY_SECRET`].
pub fn identity() -> X25519Identity {
    X25519Identity::from_bytes(&IDENTITY_SECRET)
}

fn file_key() -> FileKey {
    FileKey::from_bytes(&FILE_KEY).expect("32 bytes is a file key length")
}

/// The failure class of an error (its variant), for comparing two ways of
/// reading the same input.
fn class(e: &CryptoError) -> std::mem::Discriminant<CryptoError> {
    std::mem::discriminant(e)
}

/// A reader that hands out at most `step` bytes a call, to exercise the
/// short-read paths of parsers that read from streams.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.step).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
