//! The user's own identity on disk.
//!
//! The keystore is a folder: `$VAULT_HOME`, else `$XDG_CONFIG_HOME/vault`,
//! else `~/.config/vault`, mode 0700. It holds
//! - `identity`: the secret key, either sealed to a passphrase (a vault file
//!   whose plaintext is an age key file; Argon2id + ChaCha20-Poly1305) or,
//!   with `keygen --no-passphrase`, a plain age key file; mode 0600;
//! - `identity.pub`: the public key, so that `vault id` and sealing to
//!   oneself need no passphrase;
//! - `contacts`: names for other people's public keys ([`contacts`]).
//!
//! Like OpenSSH with private keys, the keystore refuses to use an identity
//! file that others can read, or a folder others can write, and says how to
//! fix it.
//!
//! Layering: above [`crate::crypto`] (key types, sealing the identity file)
//! and [`crate::atomic`] (writing files whole); it never touches a transport
//! or a remote vault, and reports [`KeystoreError`].

pub mod contacts;
pub mod identity_file;
pub mod passphrase;
pub mod recipients_file;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::atomic::{self, Mode};
use crate::crypto::{CryptoError, Passphrase, Suite, X25519Identity, X25519Recipient};

/// Errors of the keystore layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// No identity has been created.
    #[error("no identity in the keystore at {0}")]
    NoIdentity(PathBuf),
    /// `keygen` would overwrite an identity.
    #[error("an identity already exists at {0}")]
    Exists(PathBuf),
    /// No home folder to put the keystore in.
    #[error("cannot find the keystore: set VAULT_HOME or HOME")]
    NoHome,
    /// A key file or folder has permissions that let others in.
    #[error("{path} is accessible by others (mode {mode:04o})")]
    InsecurePermissions {
        /// The file or folder.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// No terminal and no passphrase variable.
    #[error("a passphrase is needed but there is no terminal to ask on")]
    NoPassphrase,
    /// An empty passphrase was given.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The two passphrases typed differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// A passphrase variable failed.
    #[error("{0}")]
    PassphraseSource(String),
    /// An identity file does not parse (line 0: the whole file).
    #[error("{} is not a valid identity file{}", path.display(), line_suffix(*line))]
    MalformedIdentityFile {
        /// The file.
        path: PathBuf,
        /// The bad line, 1-based; 0 if the whole file is wrong.
        line: usize,
    },
    /// An age file given as an identity file is sealed to keys, not to a
    /// passphrase, so it cannot be opened to get at the keys inside.
    #[error("{} is an age file sealed to keys; only passphrase-encrypted identity files can be used", .0.display())]
    SealedToKeys(PathBuf),
    /// A line of a recipients file (`-R`) that is not a public key.
    #[error("{}: line {line}: {msg}", path.display())]
    MalformedRecipientsFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A contact name that is not allowed.
    #[error(
        "invalid contact name {0:?}: use letters, digits, '.', '_' or '-' (at most 64), not starting with age1"
    )]
    BadContactName(String),
    /// `contacts add` with a taken name.
    #[error("a contact named {0:?} already exists")]
    ContactExists(String),
    /// A `-r` value that is neither a key nor a contact.
    #[error("unknown contact {0:?} (and not a public key)")]
    UnknownContact(String),
    /// The contacts file does not parse.
    #[error("{} is damaged (line {line})", path.display())]
    MalformedContacts {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// `identity.pub` does not match `identity`.
    #[error("the keystore's public key does not match its secret key ({0})")]
    PublicKeyMismatch(PathBuf),
    /// A crypto failure (wrong passphrase, damaged file).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// An I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

impl From<std::io::Error> for KeystoreError {
    fn from(e: std::io::Error) -> Self {
        KeystoreError::Io {
            context: "keystore".into(),
            source: e,
        }
    }
}

/// The keystore folder.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> KeystoreError {
    move |source| KeystoreError::Io { context, source }
}

impl Keystore {
    /// The keystore named by the environment (see the module docs).
    pub fn locate() -> Result<Keystore, KeystoreError> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("VAULT_HOME")
            .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("vault")))
            .or_else(|| env("HOME").map(|h| h.join(".config").join("vault")))
            .ok_or(KeystoreError::NoHome)?;
        Ok(Keystore { dir })
    }

    /// A keystore in an explicit folder.
    pub fn at(dir: impl Into<PathBuf>) -> Keystore {
        Keystore { dir: dir.into() }
    }

    /// The keystore folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The secret identity file.
    pub fn identity_path(&self) -> PathBuf {
        self.dir.join("identity")
    }

    /// The public key file.
    pub fn public_path(&self) -> PathBuf {
        self.dir.join("identity.pub")
    }

    /// Whether an identity exists.
    pub fn has_identity(&self) -> bool {
        self.identity_path().exists()
    }

    /// Create the folder (0700) if needed and check its permissions.
    pub fn ensure_dir(&self) -> Result<(), KeystoreError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_err(format!("creating {}", self.dir.display())))?;
        self.check_dir()
    }

    fn check_dir(&self) -> Result<(), KeystoreError> {
        let meta = fs::metadata(&self.dir).map_err(io_err(format!("{}", self.dir.display())))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(KeystoreError::InsecurePermissions {
                path: self.dir.clone(),
                mode,
            });
        }
        Ok(())
    }

    /// Refuse a keystore file that others could have replaced: vault seals
    /// to the key in `identity.pub` and to the keys in `contacts`, so
    /// whoever can write them can read what you seal. Missing files pass.
    pub(crate) fn check_trusted_file(&self, path: &Path) -> Result<(), KeystoreError> {
        let Ok(meta) = fs::metadata(path) else {
            return Ok(());
        };
        self.check_dir()?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(KeystoreError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        Ok(())
    }

    /// The public key, from `identity.pub`.
    pub fn public_key(&self) -> Result<X25519Recipient, KeystoreError> {
        let path = self.public_path();
        self.check_trusted_file(&path)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeystoreError::NoIdentity(self.dir.clone()));
            }
            Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
        };
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        Ok(line.parse::<X25519Recipient>()?)
    }

    /// Store a new identity, protected by `passphrase` (or in the clear if
    /// `None`). With `force`, an existing identity is moved aside to
    /// `identity.replaced-<unix time>` and that path is returned.
    pub fn create(
        &self,
        identity: &X25519Identity,
        passphrase: Option<&Passphrase>,
        force: bool,
    ) -> Result<Option<PathBuf>, KeystoreError> {
        self.ensure_dir()?;
        let path = self.identity_path();
        let mut backup = None;
        if path.exists() {
            if !force {
                return Err(KeystoreError::Exists(path));
            }
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let aside = self.dir.join(format!("identity.replaced-{secs}"));
            fs::rename(&path, &aside).map_err(io_err(format!("moving {}", path.display())))?;
            backup = Some(aside);
        }
        let text = identity_file::format(identity);
        let bytes = match passphrase {
            None => zeroize::Zeroizing::new(text.as_bytes().to_vec()),
            Some(p) => {
                let mut w = crate::crypto::seal_with_passphrase(
                    &mut crate::crypto::os_rng(),
                    Suite::ChaCha20Poly1305,
                    p,
                    Vec::new(),
                )?;
                std::io::Write::write_all(&mut w, text.as_bytes())?;
                zeroize::Zeroizing::new(w.finish()?)
            }
        };
        atomic::write_file(&path, &bytes, false, Mode::Private)
            .map_err(io_err(format!("writing {}", path.display())))?;
        let public = format!("{}\n", identity.recipient());
        atomic::write_file(&self.public_path(), public.as_bytes(), true, Mode::Public)
            .map_err(io_err(format!("writing {}", self.public_path().display())))?;
        Ok(backup)
    }

    /// Whether the stored identity is passphrase-protected.
    pub fn is_protected(&self) -> Result<bool, KeystoreError> {
        Ok(identity_file::is_protected(&self.read_identity_bytes()?))
    }

    fn read_identity_bytes(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, KeystoreError> {
        let path = self.identity_path();
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeystoreError::NoIdentity(self.dir.clone()));
            }
            Err(e) => return Err(io_err(format!("{}", path.display()))(e)),
        };
        self.check_dir()?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeystoreError::InsecurePermissions { path, mode });
        }
        Ok(zeroize::Zeroizing::new(
            fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?,
        ))
    }

    /// Load the secret identity, asking for its passphrase if protected.
    pub fn unlock(&self) -> Result<X25519Identity, KeystoreError> {
        let path = self.identity_path();
        let bytes = self.read_identity_bytes()?;
        let mut ids = identity_file::decode(&bytes, &path)?;
        let id = ids.swap_remove(0);
        if let Ok(public) = self.public_key()
            && public != id.recipient()
        {
            return Err(KeystoreError::PublicKeyMismatch(self.public_path()));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn create_unlock_refuse_overwrite_and_bad_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::at(dir.path().join("ks"));
        assert!(matches!(ks.public_key(), Err(KeystoreError::NoIdentity(_))));
        let id = X25519Identity::generate(&mut os_rng());
        ks.create(&id, None, false).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ks.identity_path()), 0o600);
        assert_eq!(mode(ks.dir()), 0o700);
        assert_eq!(ks.public_key().unwrap(), id.recipient());
        assert_eq!(ks.unlock().unwrap().recipient(), id.recipient());
        assert!(matches!(
            ks.create(&id, None, false),
            Err(KeystoreError::Exists(_))
        ));
        let other = X25519Identity::generate(&mut os_rng());
        let aside = ks.create(&other, None, true).unwrap().unwrap();
        assert!(aside.exists());
        assert_eq!(ks.unlock().unwrap().recipient(), other.recipient());

        fs::set_permissions(ks.identity_path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            ks.unlock(),
            Err(KeystoreError::InsecurePermissions { .. })
        ));
    }
}
