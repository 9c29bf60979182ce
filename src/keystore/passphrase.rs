//! Where passphrases come from.
//!
//! In order: the file named by `VAULT_PASSPHRASE_FILE`, the output of the
//! command in `VAULT_PASSPHRASE_COMMAND` (run with `sh -c`), or the
//! terminal, read from `/dev/tty` without echo (so it works when stdin and
//! stdout carry data; [`crate::tty`] puts the terminal back on every path). The environment conventions follow restic
//! (`RESTIC_PASSWORD_FILE`, `RESTIC_PASSWORD_COMMAND`) and borg. One trailing
//! newline is stripped from file and command output. There is deliberately
//! no variable holding the passphrase itself: environments leak into process
//! listings and crash reports.

use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::KeystoreError;
use crate::crypto::{CryptoError, Passphrase};

/// Environment variable naming a file that holds the passphrase.
pub const ENV_FILE: &str = "VAULT_PASSPHRASE_FILE";
/// Environment variable holding a command that prints the passphrase.
pub const ENV_COMMAND: &str = "VAULT_PASSPHRASE_COMMAND";

fn strip_newline(mut s: Zeroizing<String>) -> Zeroizing<String> {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

/// How many passphrases a terminal user may type for one secret.
pub const TRIES: u32 = 3;
/// New passphrases shorter than this (in characters) get a warning.
pub const SHORT: usize = 12;

/// A variable's value, with an empty one treated as unset.
fn env_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Whether a passphrase would come from the environment rather than a prompt.
pub fn from_environment() -> bool {
    env_var(ENV_FILE).is_some() || env_var(ENV_COMMAND).is_some()
}

fn read_env() -> Result<Option<Zeroizing<String>>, KeystoreError> {
    if let Some(path) = env_var(ENV_FILE) {
        let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| KeystoreError::Io {
            context: format!("reading {ENV_FILE} ({})", path.to_string_lossy()),
            source: e,
        })?);
        let s = std::str::from_utf8(&bytes)
            .map_err(|_| KeystoreError::PassphraseSource(format!("{ENV_FILE} is not UTF-8")))?;
        return Ok(Some(strip_newline(Zeroizing::new(s.to_owned()))));
    }
    if let Some(cmd) = env_var(ENV_COMMAND) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| KeystoreError::Io {
                context: format!("running {ENV_COMMAND}"),
                source: e,
            })?;
        let stdout = Zeroizing::new(out.stdout);
        if !out.status.success() {
            return Err(KeystoreError::PassphraseSource(format!(
                "{ENV_COMMAND} failed ({})",
                out.status
            )));
        }
        let s = std::str::from_utf8(&stdout).map_err(|_| {
            KeystoreError::PassphraseSource(format!("{ENV_COMMAND} printed non-UTF-8"))
        })?;
        return Ok(Some(strip_newline(Zeroizing::new(s.to_owned()))));
    }
    Ok(None)
}

fn prompt(text: &str) -> Result<Zeroizing<String>, KeystoreError> {
    crate::tty::prompt_hidden(text).map_err(|_| KeystoreError::NoPassphrase)
}

/// Read a passphrase to unlock something.
pub fn read(prompt_text: &str) -> Result<Passphrase, KeystoreError> {
    let s = match read_env()? {
        Some(s) => s,
        None => prompt(prompt_text)?,
    };
    if s.is_empty() {
        return Err(KeystoreError::EmptyPassphrase);
    }
    Ok(Passphrase::from(s))
}

/// [`read`], for a caller that counts its own tries.
pub fn read_once(prompt_text: &str) -> Result<Passphrase, KeystoreError> {
    read(prompt_text)
}

/// Ask for a passphrase and give it to `unlock`; on a terminal, a wrong one
/// ([`CryptoError::WrongPassphrase`]) may be typed again, [`TRIES`] in all.
pub fn with_retries<T>(
    prompt_text: &str,
    mut unlock: impl FnMut(&Passphrase) -> Result<T, CryptoError>,
) -> Result<T, KeystoreError> {
    let tries = if from_environment() { 1 } else { TRIES };
    for attempt in 1..=tries {
        let pass = read(prompt_text)?;
        match unlock(&pass) {
            Err(CryptoError::WrongPassphrase) if attempt < tries => {
                eprintln!("vault: wrong passphrase, try again");
            }
            other => return other.map_err(KeystoreError::from),
        }
    }
    unreachable!("the last try returns")
}

/// Read a new passphrase; on a terminal, ask twice (not when the first
/// entry is empty: an empty passphrase is refused straight away). Warns
/// when it is short.
pub fn read_new(prompt_text: &str) -> Result<Passphrase, KeystoreError> {
    let s = match read_env()? {
        Some(s) => s,
        None => {
            let first = prompt(prompt_text)?;
            if first.is_empty() {
                return Err(KeystoreError::EmptyPassphrase);
            }
            let again = prompt("Confirm passphrase: ")?;
            if *first != *again {
                return Err(KeystoreError::PassphraseMismatch);
            }
            first
        }
    };
    if s.is_empty() {
        return Err(KeystoreError::EmptyPassphrase);
    }
    if s.chars().count() < SHORT {
        eprintln!(
            "vault: warning: this passphrase is short ({} characters); anyone who gets the file can try guesses offline, so several words are safer",
            s.chars().count()
        );
    }
    Ok(Passphrase::from(s))
}
