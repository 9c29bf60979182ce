//! `vault seal` and `vault open`.

use std::path::{Path, PathBuf};

use super::error::{CliError, KeySource};
use super::io::{Input, Target};
use super::recipients::{parse_recipient, push_unique, read_recipients_file};
use crate::crypto::{
    CopyError, CryptoError, Decryptor, Identity, Recipient, Suite, file, os_rng, pipeline,
};
use crate::keystore::{Keystore, identity_file, passphrase};

/// The file-name extension of sealed files.
pub const EXTENSION: &str = "vault";

/// What to seal to.
pub struct SealOptions {
    /// `-r` values.
    pub recipients: Vec<String>,
    /// `-R` files.
    pub recipient_files: Vec<PathBuf>,
    /// Leave the keystore identity out.
    pub no_self: bool,
    /// Seal to a passphrase instead.
    pub passphrase: bool,
    /// Payload suite.
    pub suite: Suite,
    /// Worker threads for the payload.
    pub threads: usize,
}

/// Collect the recipients of a seal: `-r`, `-R`, and oneself unless
/// `no_self`. An empty result is an error, never a silent default.
pub fn gather_recipients(opts: &SealOptions) -> Result<Vec<Recipient>, CliError> {
    let mut list = Vec::new();
    if !opts.no_self {
        let ks = Keystore::locate()?;
        match ks.public_key() {
            Ok(me) => push_unique(&mut list, me),
            Err(crate::keystore::KeystoreError::NoIdentity(_)) => return Err(CliError::NoSelf),
            Err(e) => return Err(e.into()),
        }
    }
    for r in &opts.recipients {
        push_unique(&mut list, parse_recipient(r)?);
    }
    for f in &opts.recipient_files {
        for r in read_recipients_file(f)? {
            push_unique(&mut list, r);
        }
    }
    if list.is_empty() {
        return Err(CliError::NoRecipients);
    }
    Ok(list)
}

fn is_stdio(p: Option<&Path>) -> bool {
    p.is_none_or(|p| p == Path::new("-"))
}

/// `vault seal`.
pub fn seal(
    opts: &SealOptions,
    input: Option<&Path>,
    output: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    let threads = opts.threads;
    if opts.passphrase && (!opts.recipients.is_empty() || !opts.recipient_files.is_empty()) {
        return Err(CliError::Usage(
            "--passphrase seals to a passphrase only; it cannot be combined with -r or -R".into(),
        ));
    }
    let recipients = if opts.passphrase {
        Vec::new()
    } else {
        gather_recipients(opts)?
    };
    let mut src = Input::open(input)?;
    let default_out = (!is_stdio(input)).then(|| {
        let mut name = input.expect("checked").as_os_str().to_owned();
        name.push(format!(".{EXTENSION}"));
        PathBuf::from(name)
    });
    let target = Target::resolve(output.or(default_out.as_deref()), force, Some(&src))?;
    if target.is_terminal() {
        return Err(CliError::TerminalOutput);
    }
    let pass = if opts.passphrase {
        Some(passphrase::read_new("Passphrase to seal with: ")?)
    } else {
        None
    };
    let mut rng = os_rng();
    let (header, key) = match &pass {
        Some(p) => file::seal_header_with_passphrase(&mut rng, opts.suite, p),
        None => file::seal_header(&mut rng, opts.suite, &recipients),
    }?;
    let mut out = target.create(force)?;
    header
        .write_to(&mut out)
        .map_err(|e| CliError::Output(target.name(), e))?;
    let (_, out) = pipeline::seal_payload(key, &mut src, out, threads).map_err(|e| match e {
        CopyError::Read(e) => CliError::Input(src.name(), e),
        CopyError::Write(e) => CliError::Output(target.name(), e),
    })?;
    out.commit().map_err(|e| CliError::Output(target.name(), e))
}

/// The default output of `open FILE`: FILE without `.vault`.
fn opened_name(input: &Path) -> Result<PathBuf, CliError> {
    match input.extension() {
        Some(ext) if ext == EXTENSION && input.file_stem().is_some_and(|s| !s.is_empty()) => {
            Ok(input.with_extension(""))
        }
        _ => Err(CliError::CannotInferOutput(input.to_path_buf())),
    }
}

/// Load identities from `-i` files, or else the keystore.
pub fn load_identities(files: &[PathBuf]) -> Result<(Vec<Identity>, KeySource), CliError> {
    if files.is_empty() {
        let ks = Keystore::locate()?;
        return Ok((vec![ks.unlock()?], KeySource::Keystore));
    }
    let mut ids = Vec::new();
    for f in files {
        ids.extend(identity_file::read(f)?);
    }
    Ok((ids, KeySource::IdentityFiles))
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
        let pass = passphrase::read("Passphrase: ")?;
        dec.file_key_with_passphrase(&pass)?
    } else {
        let (ids, source) = load_identities(identity_files)?;
        dec.file_key(&ids).map_err(|e| match e {
            CryptoError::NoMatchingIdentity => CliError::NoMatchingIdentity(source),
            other => CliError::Crypto(other),
        })?
    };
    let (key, payload) = dec.into_payload(&key);
    let mut out = target.create(force)?;
    pipeline::open_payload(key, payload, &mut out, threads).map_err(|e| match e {
        CopyError::Read(e) => match CryptoError::from_io(e) {
            CryptoError::Io(e) => CliError::Input(src_name.clone(), e),
            other => CliError::Crypto(other),
        },
        CopyError::Write(e) => CliError::Output(target.name(), e),
    })?;
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
        assert!(opened_name(Path::new("b.txt")).is_err());
        assert!(opened_name(Path::new(".vault")).is_err());
    }
}
