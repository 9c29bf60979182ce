//! `vault seal`: a vault file, or with `--age` a standard age v1 file
//! (binary, or ASCII-armored with `--armor`), to recipients or to a
//! passphrase.
//!
//! Both formats share everything here but the header: recipients, output
//! rules, passphrase sources and the payload path ([`pipeline`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::CliError;
use super::io::{Input, Output, Target};
use super::keyring::{RecipientArgs, gather_recipients};
use vault::crypto::age::{self, ArmoredWriter, scrypt};
use vault::crypto::suite::PayloadKey;
use vault::crypto::{CopyError, Suite, as_recipients, file, os_rng, pipeline};
use vault::keystore::passphrase;

/// The file-name extension of vault files.
pub const EXTENSION: &str = "vault";
/// The file-name extension of age files.
pub const AGE_EXTENSION: &str = "age";

/// What to seal to, and how.
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
        CopyError::Crypto(e) => CliError::Crypto(e),
    }
}

/// `FILE` with `.ext` appended.
fn with_extension(input: &Path, ext: &str) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(format!(".{ext}"));
    PathBuf::from(name)
}

/// `vault seal`.
pub fn seal(
    opts: &SealOptions,
    input: Option<&Path>,
    output: Option<&Path>,
    force: bool,
) -> Result<(), CliError> {
    check_options(opts)?;
    let recipients = if opts.passphrase {
        Vec::new()
    } else {
        gather_recipients(&RecipientArgs {
            recipients: &opts.recipients,
            files: &opts.recipient_files,
            no_self: opts.no_self,
        })?
    };
    let recipients = as_recipients(&recipients);
    let mut src = Input::open(input)?;
    let ext = if opts.age { AGE_EXTENSION } else { EXTENSION };
    let default_out = input
        .filter(|_| !is_stdio(input))
        .map(|p| with_extension(p, ext));
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
    let (header, key) = match (&pass, opts.age) {
        (Some(p), false) => file::seal_header_with_passphrase(&mut rng, opts.suite, p)
            .map(|(h, k)| (h.to_bytes(), k)),
        (None, false) => {
            file::seal_header(&mut rng, opts.suite, &recipients).map(|(h, k)| (h.to_bytes(), k))
        }
        (Some(p), true) => age::seal_header_with_passphrase(&mut rng, p, scrypt::SCRYPT_LOG_N),
        (None, true) => age::seal_header(&mut rng, &recipients),
    }?;
    let out = target.create(force)?;
    let written = |e| CliError::Output(target.name(), e);
    let out = if opts.armor {
        let mut armored = ArmoredWriter::new(out);
        armored.write_all(&header).map_err(written)?;
        let (_, armored) = pipeline::seal_payload(key, &mut src, armored, opts.threads)
            .map_err(|e| seal_error(e, &src, &target))?;
        armored.finish().map_err(written)?
    } else {
        write_plain(out, &header, key, &mut src, &target, opts.threads)?
    };
    out.commit().map_err(written)
}

/// Write `header` then the sealed payload of `src` to `out`.
fn write_plain(
    mut out: Output,
    header: &[u8],
    key: PayloadKey,
    src: &mut Input,
    target: &Target,
    threads: usize,
) -> Result<Output, CliError> {
    out.write_all(header)
        .map_err(|e| CliError::Output(target.name(), e))?;
    let (_, out) =
        pipeline::seal_payload(key, src, out, threads).map_err(|e| seal_error(e, src, target))?;
    Ok(out)
}
