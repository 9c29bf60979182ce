//! The address book: names for other people's public keys.
//!
//! Stored beside the identity as `contacts`, one `NAME KEY` pair a line
//! (the key is the rest of the line, in its canonical form: an SSH key has
//! a space in it), `#` comments, mode 0600 (who you know is private). Names
//! are short and plain (`[A-Za-z0-9._-]`, at most 64, not starting with
//! `age1`) so that a `-r` value is never ambiguous between a name and a
//! key. Every key is checked before it is stored, and a name is unique.

use std::path::{Path, PathBuf};

use super::{Keystore, KeystoreError};
use crate::atomic::{self, Mode};
use crate::crypto::{CryptoError, Recipient, parse_recipient};

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The name used with `-r`.
    pub name: String,
    /// Their public key, in its canonical form (any recipient type).
    pub key: String,
}

impl Contact {
    /// The key as a recipient.
    pub fn recipient(&self) -> Result<crate::crypto::AnyRecipient, CryptoError> {
        parse_recipient(&self.key)
    }
}

/// Check a contact name; the error says what is allowed.
pub fn check_name(name: &str) -> Result<(), KeystoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && !name.starts_with("age1")
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(KeystoreError::BadContactName(name.to_owned()))
    }
}

/// Parse the contacts file text. Errors name the line.
pub fn parse(text: &str, origin: &Path) -> Result<Vec<Contact>, KeystoreError> {
    let mut out: Vec<Contact> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || KeystoreError::MalformedContacts {
            path: origin.to_path_buf(),
            line: i + 1,
        };
        let Some((name, key)) = line.split_once(char::is_whitespace) else {
            return Err(bad());
        };
        check_name(name).map_err(|_| bad())?;
        let key = parse_recipient(key.trim()).map_err(|_| bad())?.to_string();
        if out.iter().any(|c| c.name == name) {
            return Err(bad());
        }
        out.push(Contact {
            name: name.to_owned(),
            key,
        });
    }
    Ok(out)
}

/// The contacts file text (also used by `crate::fuzzing`).
pub(crate) fn format(contacts: &[Contact]) -> String {
    let mut s = String::from("# vault contacts: NAME PUBLIC-KEY (edit with `vault contacts`)\n");
    for c in contacts {
        s.push_str(&format!("{} {}\n", c.name, c.key));
    }
    s
}

impl Keystore {
    /// The contacts file.
    pub fn contacts_path(&self) -> PathBuf {
        self.dir().join("contacts")
    }

    /// All contacts (none if the file does not exist).
    pub fn contacts(&self) -> Result<Vec<Contact>, KeystoreError> {
        let path = self.contacts_path();
        self.check_trusted_file(&path)?;
        match std::fs::read_to_string(&path) {
            Ok(t) => parse(&t, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(KeystoreError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }),
        }
    }

    fn save_contacts(&self, contacts: &[Contact]) -> Result<(), KeystoreError> {
        self.ensure_dir()?;
        let path = self.contacts_path();
        atomic::write_file(&path, format(contacts).as_bytes(), true, Mode::Private).map_err(|e| {
            KeystoreError::Io {
                context: format!("writing {}", path.display()),
                source: e,
            }
        })
    }

    /// Add a contact; refuses a taken name.
    pub fn add_contact(&self, name: &str, key: &dyn Recipient) -> Result<(), KeystoreError> {
        let key = key.to_string();
        check_name(name)?;
        let mut all = self.contacts()?;
        if all.iter().any(|c| c.name == name) {
            return Err(KeystoreError::ContactExists(name.to_owned()));
        }
        all.push(Contact {
            name: name.to_owned(),
            key,
        });
        self.save_contacts(&all)
    }

    /// Remove a contact.
    pub fn remove_contact(&self, name: &str) -> Result<(), KeystoreError> {
        let mut all = self.contacts()?;
        let before = all.len();
        all.retain(|c| c.name != name);
        if all.len() == before {
            return Err(KeystoreError::UnknownContact(name.to_owned()));
        }
        self.save_contacts(&all)
    }

    /// Resolve a `-r` value: a contact name, or else a public key. A value
    /// that cannot be a name is parsed as a key, and its errors never
    /// repeat it (it may be a secret key); an unknown name is named.
    pub fn resolve_recipient(
        &self,
        value: &str,
    ) -> Result<crate::crypto::AnyRecipient, KeystoreError> {
        let value = value.trim();
        if check_name(value).is_err() {
            return Ok(parse_recipient(value)?);
        }
        self.contacts()?
            .into_iter()
            .find(|c| c.name == value)
            .ok_or_else(|| KeystoreError::UnknownRecipient(value.to_owned()))?
            .recipient()
            .map_err(KeystoreError::from)
    }

    /// The contact name of a key (its canonical string), if it has one.
    pub fn name_of(&self, key: &str) -> Option<String> {
        self.contacts()
            .ok()?
            .into_iter()
            .find(|c| c.key == key)
            .map(|c| c.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{X25519Identity, os_rng};
    use crate::keystore::temp_keystore;

    #[test]
    fn add_resolve_remove_and_refusals() {
        let (_dir, ks) = temp_keystore();
        let bob = X25519Identity::generate(&mut os_rng()).recipient();
        ks.add_contact("bob", &bob).unwrap();
        assert_eq!(
            ks.resolve_recipient("bob").unwrap().to_string(),
            bob.to_string()
        );
        assert_eq!(
            ks.resolve_recipient(&bob.to_string()).unwrap().to_string(),
            bob.to_string()
        );
        assert!(matches!(
            ks.resolve_recipient("bbo"),
            Err(KeystoreError::UnknownRecipient(n)) if n == "bbo"
        ));
        assert!(matches!(
            ks.add_contact("bob", &bob),
            Err(KeystoreError::ContactExists(_))
        ));
        for bad in ["", "age1x", "with space", "a/b", "-r", &"x".repeat(65)] {
            assert!(ks.add_contact(bad, &bob).is_err(), "{bad:?}");
        }
        assert_eq!(ks.name_of(&bob.to_string()).as_deref(), Some("bob"));
        ks.remove_contact("bob").unwrap();
        assert!(ks.remove_contact("bob").is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ks.contacts_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn ssh_contacts_keep_their_spaces() {
        let (_dir, ks) = temp_keystore();
        let k = ssh_key::PrivateKey::random(&mut os_rng(), ssh_key::Algorithm::Ed25519).unwrap();
        let line = k.public_key().to_openssh().unwrap() + " carol@laptop";
        let r = crate::crypto::parse_recipient(&line).unwrap();
        ks.add_contact("carol", &*r).unwrap();
        let c = &ks.contacts().unwrap()[0];
        assert_eq!(c.key, r.to_string());
        assert!(c.key.starts_with("ssh-ed25519 AAAA") && !c.key.contains("carol"));
        assert_eq!(ks.resolve_recipient("carol").unwrap().to_string(), c.key);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let bob = X25519Identity::generate(&mut os_rng()).recipient();
        let text = format!("# c\nbob {bob}\nbob {bob}\n");
        let err = parse(&text, Path::new("contacts")).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(parse("alice notakey\n", Path::new("c")).is_err());
    }
}
