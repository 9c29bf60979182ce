//! `vault open`: one path for vault files and age v1 files (binary or
//! armored), through [`vault::crypto::Decryptor`].
//!
//! Where the passphrase comes from: a command needs at most one. A file
//! sealed to a passphrase (vault or age) never involves the keystore, so the
//! passphrase from `VAULT_PASSPHRASE_FILE`, `VAULT_PASSPHRASE_COMMAND` or the
//! terminal is that file's; for a file sealed to keys it unlocks the
//! keystore (or a passphrase-protected `-i` identity file).

use std::path::{Path, PathBuf};

use super::error::CliError;
use super::io::{Input, Target};
use super::keyring::load_identities;
use super::seal::{AGE_EXTENSION, EXTENSION};
use vault::crypto::{CopyError, CryptoError, Decryptor, SealedFile, as_identities};
use vault::keystore::passphrase;

fn is_stdio(p: Option<&Path>) -> bool {
    p.is_none_or(|p| p == Path::new("-"))
}

/// The default output of `open FILE`: FILE without `.vault` or `.age`.
fn opened_name(input: &Path) -> Result<PathBuf, CliError> {
    match input.extension() {
        Some(ext)
            if (ext == EXTENSION || ext == AGE_EXTENSION)
                && input.file_stem().is_some_and(|s| !s.is_empty()) =>
        {
            Ok(input.with_extension(""))
        }
        _ => Err(CliError::CannotInferOutput(input.to_path_buf())),
    }
}

/// A failed payload copy while opening: a crypto class, or the failing side.
pub fn open_error(e: CopyError, src_name: &Path, target: &Target) -> CliError {
    match e {
        CopyError::Read(e) => CliError::Input(src_name.to_path_buf(), e),
        CopyError::Write(e) => CliError::Output(target.name(), e),
        CopyError::Crypto(e) => CliError::Crypto(e),
    }
}

/// `vault open`.
pub fn open(
    identity_files: &[PathBuf],
    input: Option<&Path>,
    output: Option<&Path>,
    force: bool,
    threads: usize,
) -> Result<(), CliError> {
    let mut src = Input::open(input)?;
    let default_out = match (output, input) {
        (None, Some(p)) if !is_stdio(Some(p)) => Some(opened_name(p)?),
        _ => None,
    };
    let target = Target::resolve(output.or(default_out.as_deref()), force, Some(&src))?;
    let src_name = src.name();
    let dec = Decryptor::new(&mut src).map_err(|e| match e {
        CryptoError::Io(e) => CliError::Input(src_name.clone(), e),
        other => CliError::Crypto(other),
    })?;
    let key = if dec.is_passphrase() {
        // Refuse a bad or too costly stanza before asking for anything.
        dec.check_passphrase_stanza()?;
        passphrase::with_retries("Passphrase: ", |pass| dec.file_key_with_passphrase(pass))?
    } else {
        let (ids, source) = load_identities(identity_files)?;
        dec.file_key(&as_identities(&ids)).map_err(|e| match e {
            CryptoError::NoMatchingIdentity => CliError::NoMatchingIdentity(source),
            other => CliError::Crypto(other),
        })?
    };
    let mut out = target.create(force)?;
    dec.open_payload(&key, &mut out, threads)
        .map_err(|e| open_error(e, &src_name, &target))?;
    out.commit().map_err(|e| CliError::Output(target.name(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names() {
        assert_eq!(
            opened_name(Path::new("a/b.txt.vault")).unwrap(),
            PathBuf::from("a/b.txt")
        );
        assert_eq!(
            opened_name(Path::new("b.txt.age")).unwrap(),
            PathBuf::from("b.txt")
        );
        assert!(opened_name(Path::new("b.txt")).is_err());
        assert!(opened_name(Path::new(".age")).is_err());
        assert!(opened_name(Path::new(".vault")).is_err());
    }
}
