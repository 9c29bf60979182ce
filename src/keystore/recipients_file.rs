//! Recipients files (`-R FILE`): one public key a line, `#` comments and
//! blank lines ignored, as age reads them. Any recipient form
//! ([`crate::crypto::parse`]) may appear, so a `.pub` file, an
//! `authorized_keys` file or a saved `https://github.com/NAME.keys` works:
//! a line holding an SSH key of a type that cannot be a recipient (ECDSA,
//! security keys, ...) is skipped and reported, one warning a line, as age
//! does. An `authorized_keys` line with options before the key
//! (`no-pty,command="..." ssh-ed25519 AAAA...`) gives its key (age refuses
//! such lines). Any other bad line fails the file, by its number: the line
//! itself is never shown (it could be a secret key pasted by mistake).

use std::path::{Path, PathBuf};

use super::KeystoreError;
use crate::crypto::ssh::ssh_key_type;
use crate::crypto::{CryptoError, parse_recipient};

/// Longest line read (as sshd and age).
const MAX_LINE: usize = 8 * 1024;

/// What a recipients file held.
pub struct Recipients {
    /// The recipients, in file order.
    pub recipients: Vec<crate::crypto::AnyRecipient>,
    /// Lines skipped: (1-based line, SSH key type).
    pub skipped: Vec<(usize, String)>,
}

/// Parse the text of a recipients file read from `path` (for messages).
pub fn parse(text: &str, path: &Path) -> Result<Recipients, KeystoreError> {
    let mut out = Recipients {
        recipients: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |msg: String| KeystoreError::MalformedRecipientsFile {
            path: PathBuf::from(path),
            line: i + 1,
            msg,
        };
        if line.len() > MAX_LINE {
            return Err(bad("the line is too long".into()));
        }
        let parsed = match parse_recipient(line) {
            Err(CryptoError::UnknownRecipient) => match after_options(line) {
                Some(key) => parse_recipient(key),
                None => Err(CryptoError::UnknownRecipient),
            },
            other => other,
        };
        match parsed {
            Ok(r) => out.recipients.push(r),
            Err(CryptoError::UnsupportedSshKey(t)) => out.skipped.push((i + 1, t)),
            Err(e @ (CryptoError::SecretKeyAsRecipient | CryptoError::UnknownRecipient)) => {
                return Err(bad(e.to_string()));
            }
            Err(e) => return Err(bad(format!("not a valid recipient ({e})"))),
        }
    }
    Ok(out)
}

/// The key of an `authorized_keys` line that has options before it: the
/// rest of the line from the first field that starts an SSH key (its type,
/// then base64 of a key of that type).
fn after_options(line: &str) -> Option<&str> {
    line.char_indices()
        .filter(|(_, c)| c.is_ascii_whitespace())
        .map(|(i, _)| line[i..].trim_start())
        .find(|rest| ssh_key_type(rest).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{X25519Identity, os_rng};

    #[test]
    fn recipients_file_with_comments_and_bad_lines() {
        let id = X25519Identity::generate(&mut os_rng());
        let a = id.recipient();
        let text = format!("# team\n\n{a}\n  # indented comment\n");
        let got = parse(&text, Path::new("f")).unwrap();
        assert_eq!(got.recipients.len(), 1);
        assert_eq!(got.recipients[0].to_string(), a.to_string());
        let err = parse("age1bogus\n", Path::new("f")).err().unwrap();
        assert!(err.to_string().starts_with("f: line 1:"), "{err}");
        let secret = id.to_secret_string();
        let err = parse(&format!("{a}\n{}\n", &*secret), Path::new("f"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("secret key"),
            "{err}"
        );
        assert!(!err.contains(&secret[15..40]), "{err}");
    }

    #[test]
    fn unsupported_ssh_keys_are_skipped_with_their_line() {
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= x@y";
        let a = X25519Identity::generate(&mut os_rng()).recipient();
        let got = parse(&format!("{ecdsa}\n{a}\n"), Path::new("keys")).unwrap();
        assert_eq!(got.recipients.len(), 1);
        assert_eq!(got.skipped, vec![(1, "ecdsa-sha2-nistp256".to_string())]);
        // Options before a key, with a quoted space.
        let k = ssh_key::PrivateKey::random(&mut os_rng(), ssh_key::Algorithm::Ed25519).unwrap();
        let key = k.public_key().to_openssh().unwrap();
        let text = format!("no-pty,command=\"echo a b\" {key} me@host\nrestrict {ecdsa}\n");
        let got = parse(&text, Path::new("authorized_keys")).unwrap();
        assert_eq!(got.recipients.len(), 1);
        assert!(key.starts_with(&got.recipients[0].to_string()));
        assert_eq!(got.skipped.len(), 1);
    }
}
