//! Identity files: age's key-file format (plain or passphrase-sealed) and
//! OpenSSH private keys.
//!
//! A plain identity file holds `AGE-SECRET-KEY-1...`,
//! `AGE-SECRET-KEY-PQ-1...` and `AGE-PLUGIN-NAME-1...` lines; blank lines
//! and lines starting with `#` are ignored. A protected one is a vault file
//! sealed to a passphrase whose plaintext is a plain identity file, or the
//! same as an age file sealed to a passphrase (`age -p keys.txt`), which
//! `age -d -i` accepts too. A file starting `-----BEGIN OPENSSH PRIVATE
//! KEY-----` is an SSH key (`ssh-ed25519` or `ssh-rsa`); a protected one
//! asks for its passphrase (three tries) only when a file has a stanza for
//! it. Parse errors name the line number but never echo the line: it may be
//! a secret. Decrypted text lives in buffers sized up front and zeroized.

use std::path::Path;

use zeroize::Zeroizing;

use super::KeystoreError;
use super::passphrase;
use crate::crypto::header::MAGIC;
use crate::crypto::{
    CopyError, CryptoError, Decryptor, Identity, PqIdentity, SealedFile, SshIdentity,
    X25519Identity, age, parse_identity, ssh,
};

/// Largest identity file read (age's limit for SSH keys is 16 KiB; key
/// files of many keys are larger).
const MAX_FILE: u64 = 1 << 20;

/// The key lines of a plain identity file: (1-based line, text).
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn malformed(origin: &Path, line: usize) -> KeystoreError {
    KeystoreError::MalformedIdentityFile {
        path: origin.to_path_buf(),
        line,
    }
}

/// Parse the text of a plain identity file (any identity type).
pub fn parse(text: &str, origin: &Path) -> Result<Vec<Box<dyn Identity>>, KeystoreError> {
    let mut ids = Vec::new();
    for (n, line) in key_lines(text) {
        if line.starts_with("age1") || line.starts_with("ssh-") {
            return Err(KeystoreError::PublicKeyAsIdentity {
                path: origin.to_path_buf(),
                line: n,
            });
        }
        ids.push(parse_identity(line).map_err(|_| malformed(origin, n))?);
    }
    if ids.is_empty() {
        return Err(malformed(origin, 0));
    }
    Ok(ids)
}

/// The X25519 identities of a plain identity file (what the remote layer
/// takes until it takes any [`Identity`]); other lines are checked, then
/// left out.
pub fn parse_x25519(text: &str, origin: &Path) -> Result<Vec<X25519Identity>, KeystoreError> {
    parse(text, origin)?;
    Ok(key_lines(text)
        .filter_map(|(_, l)| l.parse::<X25519Identity>().ok())
        .collect())
}

/// One key in a key file written by vault.
pub struct KeyEntry {
    /// Its public key, written in a comment.
    pub public: String,
    /// Its secret key line.
    pub secret: Zeroizing<String>,
    /// A note (`created ...`, `retired ...`), written in a comment.
    pub note: String,
}

impl KeyEntry {
    /// An entry for an X25519 identity.
    pub fn x25519(id: &X25519Identity, note: String) -> KeyEntry {
        KeyEntry {
            public: id.recipient().to_string(),
            secret: id.to_secret_string(),
            note,
        }
    }

    /// An entry for a post-quantum identity.
    pub fn pq(id: &PqIdentity, note: String) -> KeyEntry {
        KeyEntry {
            public: id.recipient().to_string(),
            secret: id.to_secret_string(),
            note,
        }
    }
}

/// The text of a plain identity file holding `entries`, in order.
pub fn format_entries(entries: &[KeyEntry]) -> Zeroizing<String> {
    let len: usize = entries
        .iter()
        .map(|e| e.public.len() + e.secret.len() + e.note.len() + 32)
        .sum();
    let mut s = Zeroizing::new(String::with_capacity(len));
    for e in entries {
        s.push_str(&format!("# {}\n", e.note));
        s.push_str(&format!("# public key: {}\n", e.public));
        s.push_str(&e.secret);
        s.push('\n');
    }
    s
}

/// The text of a plain identity file for `id`.
pub fn format(id: &X25519Identity) -> Zeroizing<String> {
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    format_entries(&[KeyEntry::x25519(id, format!("created: {created}"))])
}

/// Whether file bytes are a passphrase-protected identity (a vault file).
pub fn is_protected(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The plaintext of a vault or age file sealed to a passphrase, asking for
/// the passphrase (three tries on a terminal). The buffer is sized up front
/// (the plaintext is never longer than the file) and zeroized, so no copy of
/// the keys is left behind by a reallocation.
fn open_sealed(bytes: &[u8], origin: &Path) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let d = Decryptor::new(bytes)?;
    if !d.is_passphrase() {
        return Err(KeystoreError::SealedToKeys(origin.to_path_buf()));
    }
    d.check_passphrase_stanza()?;
    let prompt = format!("Passphrase for {}: ", origin.display());
    let key = passphrase::with_retries(&prompt, |pass| d.file_key_with_passphrase(pass))?;
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

/// The plain text of identity-file bytes, asking for a passphrase if they
/// are sealed (by vault or by `age -p`).
pub fn decode_text(bytes: &[u8], origin: &Path) -> Result<Zeroizing<String>, KeystoreError> {
    let plain;
    let text = if is_protected(bytes) || age::looks_like_age(bytes) {
        plain = open_sealed(bytes, origin)?;
        &plain[..]
    } else {
        bytes
    };
    let text = std::str::from_utf8(text).map_err(|_| malformed(origin, 0))?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(text);
    Ok(out)
}

/// Decode identity-file bytes (see the module docs).
pub fn decode(bytes: &[u8], origin: &Path) -> Result<Vec<Box<dyn Identity>>, KeystoreError> {
    if ssh::looks_like_private_key(bytes) {
        return Ok(vec![ssh_identity(bytes, origin)?]);
    }
    parse(&decode_text(bytes, origin)?, origin)
}

/// An OpenSSH private key file as an identity; a protected one asks for its
/// passphrase when first needed.
fn ssh_identity(bytes: &[u8], origin: &Path) -> Result<Box<dyn Identity>, KeystoreError> {
    let text = String::from_utf8_lossy(bytes);
    if !text
        .trim_start()
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
    {
        return Err(KeystoreError::OldSshKeyFormat(origin.to_path_buf()));
    }
    let shown = origin.display().to_string();
    let prompt = format!("Passphrase for {shown}: ");
    let ask: ssh::AskPassphrase = Box::new(move |attempt| {
        if attempt > 1 {
            // A passphrase from the environment is tried once.
            if passphrase::from_environment() {
                return None;
            }
            eprintln!("vault: wrong passphrase, try again");
        }
        passphrase::read_once(&prompt).ok()
    });
    match SshIdentity::from_openssh(bytes, &shown, Some(ask)) {
        Ok(id) => Ok(Box::new(id)),
        Err(CryptoError::UnsupportedSshKey(t)) => {
            Err(KeystoreError::Crypto(CryptoError::UnsupportedSshKey(t)))
        }
        Err(_) => Err(malformed(origin, 0)),
    }
}

/// Read an identity file given with `-i` (`-` is standard input).
pub fn read(path: &Path) -> Result<Vec<Box<dyn Identity>>, KeystoreError> {
    use std::io::Read;
    let ctx = || format!("reading identity file {}", path.display());
    let mut bytes = Zeroizing::new(Vec::with_capacity(16 * 1024));
    let result = if path == Path::new("-") {
        std::io::stdin().take(MAX_FILE).read_to_end(&mut bytes)
    } else {
        let f = std::fs::File::open(path).map_err(|e| KeystoreError::Io {
            context: ctx(),
            source: e,
        })?;
        // Sized up front, so that reading never reallocates key material.
        let len = f.metadata().map(|m| m.len()).unwrap_or(0).min(MAX_FILE);
        bytes.reserve_exact(len as usize + 1);
        f.take(MAX_FILE).read_to_end(&mut bytes)
    };
    result.map_err(|e| KeystoreError::Io {
        context: ctx(),
        source: e,
    })?;
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
        let back = parse_x25519(&text, Path::new("x")).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].recipient(), id.recipient());
        let pq = PqIdentity::generate(&mut os_rng());
        let text = format_entries(&[
            KeyEntry::pq(&pq, "n".into()),
            KeyEntry::x25519(&id, "o".into()),
        ]);
        assert_eq!(parse(&text, Path::new("x")).unwrap().len(), 2);
        assert_eq!(parse_x25519(&text, Path::new("x")).unwrap().len(), 1);
    }

    #[test]
    fn errors_name_the_line_not_its_content() {
        let text = "# comment\n\nAGE-SECRET-KEY-1NOTAKEY\n";
        let err = parse(text, Path::new("keys.txt"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("NOTAKEY"), "{err}");
        assert!(parse("# only comments\n", Path::new("k")).is_err());
        let public = X25519Identity::generate(&mut os_rng())
            .recipient()
            .to_string();
        let err = parse(&public, Path::new("k")).err().unwrap().to_string();
        assert!(err.contains("public key"), "{err}");
    }

    #[test]
    fn ssh_private_keys_are_identities() {
        let k = ssh_key::PrivateKey::random(&mut os_rng(), ssh_key::Algorithm::Ed25519).unwrap();
        let text = k.to_openssh(ssh_key::LineEnding::LF).unwrap();
        assert_eq!(decode(text.as_bytes(), Path::new("id")).unwrap().len(), 1);
        let pem = b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            decode(pem, Path::new("id_rsa")),
            Err(KeystoreError::OldSshKeyFormat(_))
        ));
    }
}
