//! The one place where errors become messages.
//!
//! Every layer has its own error enum; the CLI wraps them in [`CliError`]
//! and adds its own misuse cases. [`CliError::report`] prints one line
//! `vault: error: ...` and, where there is something to do about it, one
//! line `vault: hint: ...`, both on stderr.

use std::io;
use std::path::PathBuf;

use vault::crypto::CryptoError;
use vault::keystore::KeystoreError;
use vault::remote::RemoteError;
use vault::transport::TransportError;

/// Where the keys for an `open` came from; changes the wording of a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The keystore.
    Keystore,
    /// `-i` identity files.
    IdentityFiles,
}

/// The details of [`CliError::NoVaultAtThisReading`].
#[derive(Debug)]
pub struct OtherReading {
    /// The error at the path as written.
    pub error: RemoteError,
    /// The other reading of the path.
    pub other: vault::transport::SftpTarget,
    /// Whether a vault is there.
    pub exists: bool,
}

impl std::fmt::Display for OtherReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.exists {
            write!(f, "{}; but there is a vault at {}", self.error, self.other)
        } else {
            write!(f, "{}; there is none at {} either", self.error, self.other)
        }
    }
}

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// From the crypto layer.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// From the keystore.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// From a transport.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// From the remote-vault layer.
    #[error("{}", remote_message(.0))]
    Remote(RemoteError),
    /// No vault at an SFTP path as written, and what the other reading of
    /// the path (absolute / in the login folder) holds.
    #[error("{0}")]
    NoVaultAtThisReading(Box<OtherReading>),
    /// No identity matched, with the source of the identities tried.
    #[error("{}", no_match_message(*.0))]
    NoMatchingIdentity(KeySource),
    /// The output exists and `--force` was not given.
    #[error("{} already exists", .0.display())]
    OutputExists(PathBuf),
    /// Input and output are the same file.
    #[error("input and output are the same file ({})", .0.display())]
    SameFile(PathBuf),
    /// Sealed bytes would go to a terminal.
    #[error("refusing to write sealed bytes to a terminal")]
    TerminalOutput,
    /// `open FILE` where FILE does not end in `.vault` or `.age`.
    #[error("cannot tell the output name for {}: it does not end in .vault or .age", .0.display())]
    CannotInferOutput(PathBuf),
    /// Sealing with no keystore identity and no `--no-self`.
    #[error("no identity in the keystore to seal to yourself")]
    NoSelf,
    /// No recipients at all.
    #[error("no recipients: give -r KEY, -R FILE, or create your identity")]
    NoRecipients,
    /// A bad combination of arguments.
    #[error("{0}")]
    Usage(String),
    /// Reading the input failed.
    #[error("reading {}: {}", .0.display(), io_text(.1))]
    Input(PathBuf, io::Error),
    /// Writing the output failed.
    #[error("writing {}: {}", .0.display(), io_text(.1))]
    Output(PathBuf, io::Error),
}

fn remote_message(e: &RemoteError) -> String {
    e.to_string()
}

/// Remote errors that wrap another layer's error become that layer's
/// variant, so they get the same message and hint.
impl From<RemoteError> for CliError {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Transport(t) => CliError::Transport(t),
            RemoteError::Crypto(c) => CliError::Crypto(c),
            other => CliError::Remote(other),
        }
    }
}

fn no_match_message(src: KeySource) -> &'static str {
    match src {
        KeySource::Keystore => {
            "no identity in the keystore matches this file; it was sealed to other keys"
        }
        KeySource::IdentityFiles => {
            "no identity in the given identity files matches this file; it was sealed to other keys"
        }
    }
}

/// An I/O error's text without Rust's "(os error N)" suffix.
fn io_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s,
    }
}

impl CliError {
    /// Whether this is a broken pipe on output (the reader went away).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(_, e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// What the user can do about it, if anything.
    pub fn hint(&self) -> Option<String> {
        use CryptoError as C;
        use KeystoreError as K;
        Some(match self {
            CliError::Crypto(C::NotVaultFile) => {
                "vault opens files made by `vault seal` (and age files)".into()
            }
            CliError::Crypto(C::Truncated) => {
                "the file was cut short, e.g. by an interrupted copy; fetch it again".into()
            }
            CliError::Crypto(C::CutOrDamaged) => {
                "if a copy was interrupted, fetch the file again; otherwise it was changed after it was sealed".into()
            }
            CliError::Crypto(C::HeaderMac) => {
                "the file is sealed to you but was changed after it was sealed; get a good copy from the sender".into()
            }
            CliError::Crypto(
                C::DecryptFailed | C::TrailingData | C::InvalidHeader(_) | C::InvalidArmor(_),
            ) => {
                "the file was changed after it was sealed; nothing was written for it".into()
            }
            CliError::Crypto(C::WorkFactorTooHigh(_)) => {
                "the file asks for more passphrase work than vault allows; it was not made by vault or age with their defaults".into()
            }
            CliError::Crypto(C::PassphraseNotAlone) => {
                "a passphrase-sealed file must have no other recipients; the file was changed".into()
            }
            CliError::Crypto(C::UnsupportedVersion(_) | C::UnknownSuite(_)) => {
                "this file was made by a newer vault; upgrade vault to open it".into()
            }
            CliError::Crypto(C::WrongPassphrase) => "check the passphrase and try again".into(),
            CliError::Crypto(C::InvalidKey(_) | C::UnknownRecipient)
            | CliError::Keystore(K::Crypto(C::InvalidKey(_) | C::UnknownRecipient)) => {
                "ask the recipient for the output of `vault id` (or their SSH .pub file); `vault seal --help` lists the forms".into()
            }
            CliError::Crypto(C::SecretKeyAsRecipient)
            | CliError::Keystore(K::Crypto(C::SecretKeyAsRecipient)) => {
                "a secret key must stay with its owner; if it was shared by mistake, make a new one (`vault keygen --force`)".into()
            }
            CliError::Crypto(C::UnsupportedSshKey(_))
            | CliError::Keystore(K::Crypto(C::UnsupportedSshKey(_))) => {
                "ask for an ssh-ed25519 key (`ssh-keygen -t ed25519`) or their age key".into()
            }
            CliError::Crypto(C::MixedPostQuantum) => {
                "seal to post-quantum recipients only (each can make one with `vault keygen --pq` or `age-keygen -pq`), or leave them out".into()
            }
            CliError::Crypto(C::Plugin { plugin, .. }) => format!(
                "age-plugin-{plugin} must be installed on PATH and working; VAULT_PLUGIN_TIMEOUT sets how long it may take (seconds)"
            ),
            CliError::Crypto(C::SshKeyLocked(_)) => {
                "run in a terminal to type the key's passphrase".into()
            }
            CliError::Keystore(K::OldSshKeyFormat(p)) => format!(
                "convert it with `ssh-keygen -p -f {}` (this rewrites it in OpenSSH's format)",
                p.display()
            ),
            CliError::NoMatchingIdentity(KeySource::Keystore) => {
                "ask the sender to seal it to your key (`vault id` prints it), or pass -i with the right identity file (if it was sealed to you, its header was damaged: get a good copy)".into()
            }
            CliError::NoMatchingIdentity(KeySource::IdentityFiles) => {
                "check that the identity file holds the key the file was sealed to (if it does, the file's header was damaged: get a good copy)".into()
            }
            CliError::Keystore(K::NoIdentity(_)) | CliError::NoSelf => {
                "run `vault keygen` to create your identity (or pass --no-self to seal to others only)"
                    .into()
            }
            CliError::Keystore(K::Exists(_)) => {
                "use --force to replace it; files sealed to the old key will need the old key (it is kept beside the new one)".into()
            }
            CliError::Keystore(K::InsecurePermissions { path, .. }) => {
                format!("run `chmod go-rwx {}`", path.display())
            }
            CliError::Keystore(K::NoPassphrase) => format!(
                "run in a terminal, or set {} or {}",
                vault::keystore::passphrase::ENV_FILE,
                vault::keystore::passphrase::ENV_COMMAND
            ),
            CliError::Keystore(K::SealedToKeys(_)) => {
                "give the plain key file with -i, or an age file of it sealed with `age -p` or `vault seal --age -p`".into()
            }
            CliError::Keystore(K::EmptyPassphrase) => {
                "for an unprotected key use `vault keygen --no-passphrase`".into()
            }
            CliError::Keystore(K::Crypto(C::WrongPassphrase)) => {
                "check the passphrase and try again".into()
            }
            CliError::OutputExists(_) => {
                "use --force to replace it, or -o to write somewhere else".into()
            }
            CliError::TerminalOutput => "redirect the output or use -o FILE".into(),
            CliError::CannotInferOutput(_) => "use -o FILE to name the output".into(),
            CliError::NoRecipients => "`vault id` prints your public key".into(),
            CliError::Keystore(K::UnknownContact(_) | K::UnknownRecipient(_)) => {
                "`vault contacts list` shows your contacts; `vault contacts add NAME KEY` adds one".into()
            }
            CliError::Keystore(K::ContactExists(_)) => {
                "choose another name, or `vault contacts rm NAME` first".into()
            }
            CliError::Remote(RemoteError::NameExists(_)) => {
                "use --force to replace it, or choose another name (with push: --name NAME)".into()
            }
            CliError::Remote(RemoteError::NoSuchName(_)) => {
                "`vault ls REMOTE` lists the objects you can open".into()
            }
            CliError::NoVaultAtThisReading(r) => {
                let OtherReading { other, exists, .. } = &**r;
                let forms = "`sftp://host/path` is an absolute path, while `host:path` and \
                             `sftp://host/~/path` are in your login folder on the server";
                if *exists {
                    format!("{forms}; did you mean {other}?")
                } else {
                    format!("{forms}; the first `vault push FILE REMOTE` creates the vault")
                }
            }
            CliError::Remote(RemoteError::NoVault(_)) => {
                "check the path; the first `vault push FILE REMOTE` creates the vault".into()
            }
            CliError::Remote(RemoteError::NotAVault(_) | RemoteError::NotEmpty(_)) => {
                "check the path; vault creates a vault only in a new or empty folder".into()
            }
            CliError::Remote(RemoteError::BadObject(_)) => {
                "the server's copy was changed or damaged; push it again from a good copy".into()
            }
            _ => return None,
        })
    }

    /// Print the error (and hint) to stderr, one line each, with control
    /// characters escaped (names may come from a hostile server).
    pub fn report(&self) {
        eprintln!("vault: error: {}", printable(&self.to_string()));
        if let Some(h) = self.hint() {
            eprintln!("vault: hint: {}", printable(&h));
        }
    }
}

/// `s` with every control character (newlines, escape sequences) and
/// every invisible formatting character (bidirectional overrides, zero-width
/// characters, line separators) escaped as `\u{..}`, so that it prints on one
/// line, cannot drive the terminal, and cannot disguise a name (a
/// right-to-left override turns `invoice\u{202e}fdp.exe` into
/// "invoiceexe.pdf" on screen).
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_invisible_format(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode format characters that change how the text around them is shown.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        // Not U+200D (zero-width joiner): emoji sequences need it.
        '\u{200b}'..='\u{200c}'
            | '\u{200e}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{061c}'
    )
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn printable_escapes_controls_and_bidi_overrides() {
        assert_eq!(printable("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(printable("x\u{202e}fdp.exe"), "x\\u{202e}fdp.exe");
        assert_eq!(printable("a\u{2028}b\u{9b}"), "a\\u{2028}b\\u{9b}");
        assert_eq!(printable("ünïcødé ✓ name"), "ünïcødé ✓ name");
    }
}
