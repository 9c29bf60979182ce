//! The age side of `vault seal --age` and `vault open`.
//!
//! `seal --age` writes a standard age v1 file (X25519 stanzas, or one
//! `scrypt` stanza with `--passphrase`), binary or, with `--armor`, as ASCII
//! armor. `open` comes here when the input starts like an age file, binary
//! or armored. Recipients, identities, passphrase sources, output handling
//! and the payload path ([`pipeline`]) are the same as for vault's own
//! format; only the header differs.
//!
//! Where the passphrase comes from: a command needs at most one. An age file
//! sealed to a passphrase never involves the keystore, so the passphrase
//! from `VAULT_PASSPHRASE_FILE`, `VAULT_PASSPHRASE_COMMAND` or the terminal
//! is that file's; for an X25519 age file it unlocks the keystore (or a
//! passphrase-protected `-i` identity file), exactly as for vault files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand_core::CryptoRng;

use super::error::CliError;
use super::io::{Input, Output, Target};
use super::seal::{load_identities, open_error, seal_error};
use crate::crypto::age::{self, ArmoredWriter, Decryptor, stanza};
use crate::crypto::{CryptoError, Passphrase, Recipient, pipeline};
use crate::keystore::passphrase;

/// The file-name extension of age files.
pub const EXTENSION: &str = "age";

/// Write an age file to `out`: the header for `recipients` (or for `pass`),
/// then the payload of `src`, armored if `armor`.
#[allow(clippy::too_many_arguments)]
pub fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[Recipient],
    pass: Option<&Passphrase>,
    armor: bool,
    src: &mut Input,
    mut out: Output,
    target: &Target,
    threads: usize,
) -> Result<(), CliError> {
    let (header, key) = match pass {
        Some(p) => age::seal_header_with_passphrase(rng, p, stanza::SCRYPT_LOG_N),
        None => age::seal_header(rng, recipients),
    }?;
    let written = |e| CliError::Output(target.name(), e);
    let out = if armor {
        let mut armored = ArmoredWriter::new(out);
        armored.write_all(&header).map_err(written)?;
        let (_, armored) = pipeline::seal_payload(key, src, armored, threads)
            .map_err(|e| seal_error(e, src, target))?;
        armored.finish().map_err(written)?
    } else {
        out.write_all(&header).map_err(written)?;
        pipeline::seal_payload(key, src, out, threads)
            .map_err(|e| seal_error(e, src, target))?
            .1
    };
    out.commit().map_err(written)
}

/// Open the age file in `input` (already known to start like one) into
/// `target`.
pub fn open<R: Read>(
    input: R,
    src_name: PathBuf,
    identity_files: &[PathBuf],
    target: &Target,
    force: bool,
    threads: usize,
) -> Result<(), CliError> {
    let crypto = |e| match e {
        CryptoError::Io(e) => CliError::Input(src_name.clone(), e),
        other => CliError::Crypto(other),
    };
    let dec = Decryptor::new(input).map_err(crypto)?;
    let key = if dec.is_passphrase() {
        // Refuse a bad or too costly stanza before asking for anything.
        dec.passphrase_work_factor().map_err(crypto)?;
        let pass = passphrase::read("Passphrase: ")?;
        dec.file_key_with_passphrase(&pass).map_err(crypto)?
    } else {
        let (ids, source) = load_identities(identity_files)?;
        dec.file_key(&ids).map_err(|e| match e {
            CryptoError::NoMatchingIdentity => CliError::NoMatchingIdentity(source),
            other => crypto(other),
        })?
    };
    let (key, payload) = dec.into_payload(&key);
    let mut out = target.create(force)?;
    pipeline::open_payload(key, payload, &mut out, threads)
        .map_err(|e| open_error(e, &src_name, target))?;
    out.commit().map_err(|e| CliError::Output(target.name(), e))
}

/// The default output of `seal --age FILE`: `FILE.age`.
pub fn sealed_name(input: &Path) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(format!(".{EXTENSION}"));
    PathBuf::from(name)
}
