//! `vault seal` and `vault open`.
//!
//! Both formats share everything here but the header: recipients, output
//! rules, passphrase sources and the payload path. `seal --age` and age
//! input to `open` hand over to [`super::age`] once those are settled.

use std::path::{Path, PathBuf};

use super::age;
use super::error::{CliError, KeySource};
use super::io::{Input, Target};
use super::recipients::{push_unique, read_recipients_file};
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
    /// Write an age v1 file instead of a vault file.
    pub age: bool,
    /// With `age`: ASCII armor.
    pub armor: bool,
    /// Worker threads for the payload.
    pub threads: usize,
}

/// Collect the recipients of a seal: `-r`, `-R`, and oneself unless
/// `no_self`. An empty result is an error, never a silent default.
pub fn gather_recipients(opts: &SealOptions) -> Result<Vec<Recipient>, CliError> {
    let mut list = Vec::new();
    let ks = Keystore::locate()?;
    if !opts.no_self {
        match ks.public_key() {
            Ok(me) => push_unique(&mut list, me),
            Err(crate::keystore::KeystoreError::NoIdentity(_)) => return Err(CliError::NoSelf),
            Err(e) => return Err(e.into()),
        }
    }
    for r in &opts.recipients {
        push_unique(&mut list, ks.resolve_recipient(r)?);
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

/// Refuse option combinations a format cannot express.
fn check_options(opts: &SealOptions) -> Result<(), CliError> {
    if opts.passphrase && (!opts.recipients.is_empty() || !opts.recipient_files.is_empty()) {
        return Err(CliError::Usage(
            "--passphrase seals to a passphrase only; it cannot be combined with -r or -R".into(),
        ));
    }
    if opts.armor && !opts.age {
        return Err(CliError::Usage(
            "--armor writes an ASCII-armored age file; it needs --age".into(),
        ));
    }
    if opts.age && opts.suite != Suite::ChaCha20Poly1305 {
        return Err(CliError::Usage(format!(
            "age files are always ChaCha20-Poly1305; --cipher {} cannot be used with --age",
            opts.suite
        )));
    }
    Ok(())
}

/// A failed payload copy while sealing, named by its side.
pub fn seal_error(e: CopyError, src: &Input, target: &Target) -> CliError {
    match e {
        CopyError::Read(e) => CliError::Input(src.name(), e),
        CopyError::Write(e) => CliError::Output(target.name(), e),
    }
}

/// A failed payload copy while opening: a crypto class, or the failing side.
pub fn open_error(e: CopyError, src_name: &Path, target: &Target) -> CliError {
    match e {
        CopyError::Read(e) => match CryptoError::from_io(e) {
            CryptoError::Io(e) => CliError::Input(src_name.to_path_buf(), e),
            other => CliError::Crypto(other),
        },
        CopyError::Write(e) => CliError::Output(target.name(), e),
    }
}

/// Most worker threads `--threads` or `VAULT_THREADS` may ask for.
pub const MAX_THREADS: usize = 1024;

/// The payload's worker threads: `--threads`, else `VAULT_THREADS`, else
/// every core the process may use. 1 is the serial path. A value that is
/// not a whole number from 1 to [`MAX_THREADS`] is a usage error, never
/// silently replaced by the default.
pub fn threads(flag: Option<&str>) -> Result<usize, CliError> {
    let (source, value) = match flag {
        Some(v) => ("--threads", v.to_owned()),
        None => match std::env::var_os("VAULT_THREADS") {
            Some(v) => ("VAULT_THREADS", v.to_string_lossy().into_owned()),
            None => return Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        },
    };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(CliError::Usage(format!(
            "{source} must be a whole number from 1 to {MAX_THREADS}, not {value:?}"
        ))),
    }
}

/// `vault seal`.
pub fn seal(
    opts: &SealOptions,
    input: Option<&Path>,
    output: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    let threads = opts.threads;
    check_options(opts)?;
    let recipients = if opts.passphrase {
        Vec::new()
    } else {
        gather_recipients(opts)?
    };
    let mut src = Input::open(input)?;
    let default_out = (!is_stdio(input)).then(|| {
        let input = input.expect("checked");
        if opts.age {
            return age::sealed_name(input);
        }
        let mut name = input.as_os_str().to_owned();
        name.push(format!(".{EXTENSION}"));
        PathBuf::from(name)
    });
    let target = Target::resolve(output.or(default_out.as_deref()), force, Some(&src))?;
    // Armor is text and may be shown; binary output may not.
    if target.is_terminal() && !opts.armor {
        return Err(CliError::TerminalOutput);
    }
    let pass = if opts.passphrase {
        Some(passphrase::read_new("Passphrase to seal with: ")?)
    } else {
        None
    };
    let mut rng = os_rng();
    if opts.age {
        let out = target.create(force)?;
        let pass = pass.as_ref();
        return age::seal(
            &mut rng,
            &recipients,
            pass,
            opts.armor,
            &mut src,
            out,
            &target,
            threads,
        );
    }
    let (header, key) = match &pass {
        Some(p) => file::seal_header_with_passphrase(&mut rng, opts.suite, p),
        None => file::seal_header(&mut rng, opts.suite, &recipients),
    }?;
    let mut out = target.create(force)?;
    header
        .write_to(&mut out)
        .map_err(|e| CliError::Output(target.name(), e))?;
    let (_, out) = pipeline::seal_payload(key, &mut src, out, threads)
        .map_err(|e| seal_error(e, &src, &target))?;
    out.commit().map_err(|e| CliError::Output(target.name(), e))
}

/// The default output of `open FILE`: FILE without `.vault` or `.age`.
fn opened_name(input: &Path) -> Result<PathBuf, CliError> {
    match input.extension() {
        Some(ext)
            if (ext == EXTENSION || ext == age::EXTENSION)
                && input.file_stem().is_some_and(|s| !s.is_empty()) =>
        {
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
    let mut src =
        crate::crypto::age::sniff(&mut src).map_err(|e| CliError::Input(src_name.clone(), e))?;
    if crate::crypto::age::looks_like_age(crate::crypto::age::sniffed_prefix(&src)) {
        return age::open(src, src_name, identity_files, &target, force, threads);
    }
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
    pipeline::open_payload(key, payload, &mut out, threads)
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
