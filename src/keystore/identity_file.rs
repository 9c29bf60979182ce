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
use crate::crypto::{Decryptor, Identity, age, pipeline};

/// Parse the text of a plain identity file.
pub fn parse(text: &str, origin: &Path) -> Result<Vec<Identity>, KeystoreError> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = line
            .parse::<Identity>()
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
pub fn format(id: &Identity) -> Zeroizing<String> {
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

/// The plaintext of an age file sealed to a passphrase, asking for it.
fn open_age(bytes: &[u8], origin: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let d = age::Decryptor::new(bytes)?;
    if !d.is_passphrase() {
        return Err(KeystoreError::SealedToKeys(origin.to_path_buf()));
    }
    d.passphrase_work_factor()?;
    let pass = passphrase::read(&format!("Passphrase for {}: ", origin.display()))?;
    let key = d.file_key_with_passphrase(&pass)?;
    let (key, payload) = d.into_payload(&key);
    let mut plain = Zeroizing::new(Vec::new());
    pipeline::open_payload(key, payload, &mut *plain, 1).map_err(std::io::Error::from)?;
    Ok(plain)
}

/// Decode identity-file bytes, asking for a passphrase if they are sealed.
pub fn decode(bytes: &[u8], origin: &Path) -> Result<Vec<Identity>, KeystoreError> {
    if age::looks_like_age(bytes) {
        let plain = open_age(bytes, origin)?;
        let text =
            std::str::from_utf8(&plain).map_err(|_| KeystoreError::MalformedIdentityFile {
                path: origin.to_path_buf(),
                line: 0,
            })?;
        return parse(text, origin);
    }
    if is_protected(bytes) {
        let d = Decryptor::new(bytes)?;
        let prompt = format!("Passphrase for {}: ", origin.display());
        let pass = passphrase::read(&prompt)?;
        let key = d.file_key_with_passphrase(&pass)?;
        let mut plain = Zeroizing::new(Vec::new());
        std::io::Read::read_to_end(&mut d.into_reader(&key), &mut plain)?;
        let text =
            std::str::from_utf8(&plain).map_err(|_| KeystoreError::MalformedIdentityFile {
                path: origin.to_path_buf(),
                line: 0,
            })?;
        return parse(text, origin);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| KeystoreError::MalformedIdentityFile {
        path: origin.to_path_buf(),
        line: 0,
    })?;
    parse(text, origin)
}

/// Read an identity file given with `-i`.
pub fn read(path: &Path) -> Result<Vec<Identity>, KeystoreError> {
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
        let id = Identity::generate(&mut os_rng());
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
