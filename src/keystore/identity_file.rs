//! Identity files in age's key-file format, plain or passphrase-sealed.
//!
//! A plain identity file holds `AGE-SECRET-KEY-1...` lines; blank lines and
//! lines starting with `#` are ignored. A protected one is a vault file
//! sealed to a passphrase whose plaintext is a plain identity file, or the
//! same as an age file sealed to a passphrase (`age -p keys.txt`), which
//! `age -d -i` accepts too. Parse errors name the line number but never echo
//! the line: it may be a secret.

use std::path::Path;

use zeroize::Zeroizing;

use super::KeystoreError;
use super::passphrase;
use crate::crypto::header::MAGIC;
use crate::crypto::{CopyError, Decryptor, X25519Identity, age};

/// Parse the text of a plain identity file.
pub fn parse(text: &str, origin: &Path) -> Result<Vec<X25519Identity>, KeystoreError> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id =
            line.parse::<X25519Identity>()
                .map_err(|_| KeystoreError::MalformedIdentityFile {
                    path: origin.to_path_buf(),
                    line: n + 1,
                })?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(KeystoreError::MalformedIdentityFile {
            path: origin.to_path_buf(),
            line: 0,
        });
    }
    Ok(ids)
}

/// The text of a plain identity file for `id`.
pub fn format(id: &X25519Identity) -> Zeroizing<String> {
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut s = Zeroizing::new(String::with_capacity(200));
    s.push_str(&format!("# created: {created}\n"));
    s.push_str(&format!("# public key: {}\n", id.recipient()));
    s.push_str(&id.to_secret_string());
    s.push('\n');
    s
}

/// Whether file bytes are a passphrase-protected identity (a vault file).
pub fn is_protected(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The plaintext of a vault or age file sealed to a passphrase, asking for
/// the passphrase. The buffer is sized up front (the plaintext is never
/// longer than the file) and zeroized, so no copy of the keys is left behind
/// by a reallocation.
fn open_sealed(bytes: &[u8], origin: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let d = Decryptor::new(bytes)?;
    if !d.is_passphrase() {
        return Err(KeystoreError::SealedToKeys(origin.to_path_buf()));
    }
    d.check_passphrase_stanza()?;
    let pass = passphrase::read(&format!("Passphrase for {}: ", origin.display()))?;
    let key = d.file_key_with_passphrase(&pass)?;
    let mut plain = Zeroizing::new(Vec::with_capacity(bytes.len()));
    d.open_payload(&key, &mut *plain, 1).map_err(|e| match e {
        CopyError::Crypto(e) => KeystoreError::Crypto(e),
        CopyError::Read(e) | CopyError::Write(e) => KeystoreError::Io {
            context: format!("reading {}", origin.display()),
            source: e,
        },
    })?;
    Ok(plain)
}

/// Decode identity-file bytes, asking for a passphrase if they are sealed
/// (by vault or by `age -p`).
pub fn decode(bytes: &[u8], origin: &Path) -> Result<Vec<X25519Identity>, KeystoreError> {
    let plain;
    let text = if is_protected(bytes) || age::looks_like_age(bytes) {
        plain = open_sealed(bytes, origin)?;
        &plain[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(text).map_err(|_| KeystoreError::MalformedIdentityFile {
        path: origin.to_path_buf(),
        line: 0,
    })?;
    parse(text, origin)
}

/// Read an identity file given with `-i`.
pub fn read(path: &Path) -> Result<Vec<X25519Identity>, KeystoreError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| KeystoreError::Io {
        context: format!("reading identity file {}", path.display()),
        source: e,
    })?);
    decode(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn format_then_parse() {
        let id = X25519Identity::generate(&mut os_rng());
        let text = format(&id);
        let back = parse(&text, Path::new("x")).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].recipient(), id.recipient());
    }

    #[test]
    fn errors_name_the_line_not_its_content() {
        let text = "# comment\n\nAGE-SECRET-KEY-1NOTAKEY\n";
        let err = parse(text, Path::new("keys.txt")).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("NOTAKEY"), "{err}");
        assert!(parse("# only comments\n", Path::new("k")).is_err());
    }
}
