//! Where passphrases come from.
//!
//! In order: the file named by `VAULT_PASSPHRASE_FILE`, the output of the
//! command in `VAULT_PASSPHRASE_COMMAND` (run with `sh -c`), or the
//! terminal, read from `/dev/tty` without echo (so it works when stdin and
//! stdout carry data). The environment conventions follow restic
//! (`RESTIC_PASSWORD_FILE`, `RESTIC_PASSWORD_COMMAND`) and borg. One trailing
//! newline is stripped from file and command output. There is deliberately
//! no variable holding the passphrase itself: environments leak into process
//! listings and crash reports.

use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::KeystoreError;
use crate::crypto::Passphrase;

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

/// Whether a passphrase would come from the environment rather than a prompt.
pub fn from_environment() -> bool {
    std::env::var_os(ENV_FILE).is_some() || std::env::var_os(ENV_COMMAND).is_some()
}

fn read_env() -> Result<Option<Zeroizing<String>>, KeystoreError> {
    if let Some(path) = std::env::var_os(ENV_FILE) {
        let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| KeystoreError::Io {
            context: format!("reading {ENV_FILE} ({})", path.to_string_lossy()),
            source: e,
        })?);
        let s = std::str::from_utf8(&bytes)
            .map_err(|_| KeystoreError::PassphraseSource(format!("{ENV_FILE} is not UTF-8")))?;
        return Ok(Some(strip_newline(Zeroizing::new(s.to_owned()))));
    }
    if let Some(cmd) = std::env::var_os(ENV_COMMAND) {
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
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|_| KeystoreError::NoPassphrase)
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

/// Read a new passphrase; on a terminal, ask twice.
pub fn read_new(prompt_text: &str) -> Result<Passphrase, KeystoreError> {
    let s = match read_env()? {
        Some(s) => s,
        None => {
            let first = prompt(prompt_text)?;
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
    Ok(Passphrase::from(s))
}
