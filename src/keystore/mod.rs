//! The user's own identity on disk.
//!
//! The keystore is a folder: `$VAULT_HOME`, else `$XDG_CONFIG_HOME/vault`,
//! else `~/.config/vault`, mode 0700. It holds
//! - `identity`: the secret keys, either sealed to a passphrase (a vault file
//!   whose plaintext is an age key file; Argon2id + ChaCha20-Poly1305) or,
//!   with `keygen --no-passphrase`, a plain age key file; mode 0600. The
//!   first key is the current one (X25519, or post-quantum with `--pq`);
//!   the others are the older keys a rotation carried over, so that old
//!   files still open;
//! - `identity.pub`: the public keys in the same order, so that `vault id`
//!   and sealing to oneself need no passphrase;
//! - `identity.old-N`, `identity.old-N.pub`: the files as they were before
//!   each rotation (a key file is never replaced);
//! - `contacts`: names for other people's public keys ([`contacts`]).
//!
//! [`agent`] keeps the unlocked identity in a separate process for a while,
//! so that one passphrase serves many commands.
//!
//! Like OpenSSH with private keys, the keystore refuses to use an identity
//! file that others can read, or a folder others can write, and says how to
//! fix it.
//!
//! Layering: above [`crate::crypto`] (key types, sealing the identity file)
//! and [`crate::atomic`] (writing files whole); it never touches a transport
//! or a remote vault, and reports [`KeystoreError`].

pub mod agent;
pub mod contacts;
pub mod identity_file;
pub mod passphrase;
pub mod recipients_file;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::atomic::{self, Mode};
use crate::crypto::{
    CryptoError, Identity, Passphrase, Suite, X25519Identity, X25519Recipient, parse_recipient,
};
pub use identity_file::KeyEntry;

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
    #[error(
        "the passphrase is empty (an empty passphrase would protect nothing, so none is accepted)"
    )]
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
    /// A public key where an identity file's secret keys belong.
    #[error("{}: line {line} is a public key, not a secret key (give the identity file, not the .pub)", path.display())]
    PublicKeyAsIdentity {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// An SSH private key in a format older than OpenSSH's own.
    #[error("{} is an SSH private key in the old PEM format; vault reads OpenSSH's format", .0.display())]
    OldSshKeyFormat(PathBuf),
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
    /// `contacts rm` of a name that is not there.
    #[error("no contact named {0:?}")]
    UnknownContact(String),
    /// A `-r` value that is neither a contact nor a recipient.
    #[error(
        "{0:?} is neither a contact nor a recipient vault understands \
         (age1..., age1pq1..., \"ssh-ed25519 AAAA...\", \"ssh-rsa AAAA...\", age1NAME1...)"
    )]
    UnknownRecipient(String),
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
    /// The vault agent failed.
    #[error(transparent)]
    Agent(#[from] agent::AgentError),
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

    /// The public keys in `identity.pub`: the current one first, then the
    /// older ones still kept (see [`Keystore::create`]).
    pub fn public_keys(&self) -> Result<Vec<String>, KeystoreError> {
        let path = self.public_path();
        self.check_trusted_file(&path)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeystoreError::NoIdentity(self.dir.clone()));
            }
            Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
        };
        let keys: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        for k in &keys {
            parse_recipient(k)?;
        }
        if keys.is_empty() {
            return Err(KeystoreError::NoIdentity(self.dir.clone()));
        }
        Ok(keys)
    }

    /// The current public key, from `identity.pub`.
    pub fn public_key(&self) -> Result<crate::crypto::AnyRecipient, KeystoreError> {
        Ok(parse_recipient(&self.public_keys()?[0])?)
    }

    /// The current public key if it is an X25519 one (what the remote layer
    /// takes for now).
    pub fn public_x25519(&self) -> Result<X25519Recipient, KeystoreError> {
        Ok(self.public_keys()?[0].parse::<X25519Recipient>()?)
    }

    /// Store identities, the first being the current one, protected by
    /// `passphrase` (or in the clear if `None`), and their public keys in
    /// `identity.pub`, in the same order. A key file is never replaced:
    /// with `force`, the files of the identity there are first kept under
    /// `identity.old-N` and `identity.old-N.pub` (the first free N, taken
    /// with a hard link, which never replaces), and that path is returned.
    /// The caller carries the old keys into `entries` so that old files
    /// still open with the one passphrase.
    pub fn create(
        &self,
        entries: &[KeyEntry],
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
            backup = Some(self.keep_old()?);
        }
        let text = identity_file::format_entries(entries);
        let bytes = match passphrase {
            None => zeroize::Zeroizing::new(text.as_bytes().to_vec()),
            Some(p) => {
                let mut w = crate::crypto::seal_with_passphrase(
                    &mut crate::crypto::os_rng(),
                    Suite::ChaCha20Poly1305,
                    p,
                    Vec::with_capacity(text.len() + 1024),
                )?;
                std::io::Write::write_all(&mut w, text.as_bytes())?;
                zeroize::Zeroizing::new(w.finish()?)
            }
        };
        atomic::write_file(&path, &bytes, true, Mode::Private)
            .map_err(io_err(format!("writing {}", path.display())))?;
        let mut public = String::new();
        for (i, e) in entries.iter().enumerate() {
            if i == 1 {
                public.push_str("# older keys, still used to open\n");
            }
            public.push_str(&e.public);
            public.push('\n');
        }
        atomic::write_file(&self.public_path(), public.as_bytes(), true, Mode::Public)
            .map_err(io_err(format!("writing {}", self.public_path().display())))?;
        Ok(backup)
    }

    /// Link the current identity files to the first free `identity.old-N`.
    fn keep_old(&self) -> Result<PathBuf, KeystoreError> {
        let path = self.identity_path();
        for n in 1..10_000u32 {
            let aside = self.dir.join(format!("identity.old-{n}"));
            match fs::hard_link(&path, &aside) {
                Ok(()) => {
                    let pub_aside = self.dir.join(format!("identity.old-{n}.pub"));
                    if self.public_path().exists() {
                        let _ = fs::remove_file(&pub_aside);
                        fs::hard_link(self.public_path(), &pub_aside)
                            .map_err(io_err(format!("keeping {}", pub_aside.display())))?;
                    }
                    return Ok(aside);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(format!("keeping {}", path.display()))(e)),
            }
        }
        Err(KeystoreError::Exists(path))
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
        // Sized up front: reading never leaves a reallocated copy behind.
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
        std::io::Read::read_to_end(
            &mut fs::File::open(&path).map_err(io_err(format!("reading {}", path.display())))?,
            &mut bytes,
        )
        .map_err(io_err(format!("reading {}", path.display())))?;
        Ok(bytes)
    }

    /// The text of the identity file (every key, current first), asking
    /// for its passphrase if protected. Checks that its first key is the
    /// one in `identity.pub`.
    pub fn unlock_text(&self) -> Result<zeroize::Zeroizing<String>, KeystoreError> {
        let path = self.identity_path();
        let bytes = self.read_identity_bytes()?;
        let text = identity_file::decode_text(&bytes, &path)?;
        identity_file::parse(&text, &path)?;
        if let Ok(keys) = self.public_keys() {
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .and_then(public_of);
            if first.as_deref() != Some(keys[0].as_str()) {
                return Err(KeystoreError::PublicKeyMismatch(self.public_path()));
            }
        }
        Ok(text)
    }

    /// Every identity in the keystore, current first.
    pub fn unlock_all(&self) -> Result<Vec<Box<dyn Identity>>, KeystoreError> {
        identity_file::parse(&self.unlock_text()?, &self.identity_path())
    }

    /// The keystore's X25519 identities, current first (what the remote
    /// layer takes for now).
    pub fn unlock(&self) -> Result<Vec<X25519Identity>, KeystoreError> {
        identity_file::parse_x25519(&self.unlock_text()?, &self.identity_path())
    }
}

/// The public key of a secret key line vault writes (X25519 or PQ).
pub fn public_of(secret: &str) -> Option<String> {
    if let Ok(id) = secret.parse::<X25519Identity>() {
        return Some(id.recipient().to_string());
    }
    secret
        .parse::<crate::crypto::PqIdentity>()
        .ok()
        .map(|id| id.recipient().to_string())
}

/// A keystore at `ks` in a fresh temporary folder, gone when the returned
/// guard drops (for the unit tests of this module and its submodules).
#[cfg(test)]
pub(crate) fn temp_keystore() -> (tempfile::TempDir, Keystore) {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::at(dir.path().join("ks"));
    (dir, ks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn create_unlock_refuse_overwrite_and_bad_permissions() {
        let (_dir, ks) = temp_keystore();
        assert!(matches!(ks.public_key(), Err(KeystoreError::NoIdentity(_))));
        let id = X25519Identity::generate(&mut os_rng());
        let entry = |id: &X25519Identity| KeyEntry::x25519(id, "created".into());
        ks.create(&[entry(&id)], None, false).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ks.identity_path()), 0o600);
        assert_eq!(mode(ks.dir()), 0o700);
        assert_eq!(ks.public_x25519().unwrap(), id.recipient());
        assert_eq!(ks.unlock().unwrap()[0].recipient(), id.recipient());
        assert!(matches!(
            ks.create(&[entry(&id)], None, false),
            Err(KeystoreError::Exists(_))
        ));
        // Two rotations in the same second keep both old files.
        let b = X25519Identity::generate(&mut os_rng());
        let c = X25519Identity::generate(&mut os_rng());
        let first = ks
            .create(&[entry(&b), entry(&id)], None, true)
            .unwrap()
            .unwrap();
        let second = ks
            .create(&[entry(&c), entry(&b), entry(&id)], None, true)
            .unwrap()
            .unwrap();
        assert_ne!(first, second);
        assert!(first.exists() && second.exists());
        let all = ks.unlock().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].recipient(), c.recipient());
        assert_eq!(ks.public_keys().unwrap().len(), 3);
        assert_eq!(ks.unlock_all().unwrap().len(), 3);

        fs::set_permissions(ks.identity_path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            ks.unlock(),
            Err(KeystoreError::InsecurePermissions { .. })
        ));
    }
}
