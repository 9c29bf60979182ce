//! Which keys a command uses: the recipients it seals to (`-r`, `-R`, and
//! yourself) and the identities it opens with.
//!
//! [`keyring`] is the one answer to "which of my keys can open this": every
//! identity of the keystore (the current one and every older one it keeps),
//! the age identity files given, and SSH private keys given or opted into
//! (`VAULT_SSH_IDENTITY`), as `Box<dyn Identity>` of any type. `open` uses it
//! with its `-i` files replacing the keystore; the remote commands add their
//! `--identity-file` files to the keystore's ([`remote_identities`]).

use std::path::{Path, PathBuf};

use super::error::{CliError, KeySource};
use vault::crypto::{AnyRecipient, Identity};
use vault::keystore::{Keystore, KeystoreError, identity_file, recipients_file};

/// Environment variable naming SSH private keys (`:`-separated) to try as
/// identities in the remote commands, e.g. `~/.ssh/id_ed25519`: opting in,
/// since vault never reads `~/.ssh` keys on its own.
pub const ENV_SSH_IDENTITY: &str = "VAULT_SSH_IDENTITY";

/// Who to seal to, as given on the command line.
pub struct RecipientArgs<'a> {
    /// `-r` values: public keys or contact names.
    pub recipients: &'a [String],
    /// `-R` files.
    pub files: &'a [PathBuf],
    /// Leave your own key out.
    pub no_self: bool,
}

/// Collect the recipients: yourself unless `no_self`, then `-r`, then `-R`,
/// without repeats (by canonical form). An empty result is an error, never
/// a silent default. Lines of `-R` files holding SSH keys of other types
/// are skipped with one warning each.
pub fn gather_recipients(
    args: &RecipientArgs<'_>,
) -> Result<Vec<vault::crypto::AnyRecipient>, CliError> {
    let mut list: Vec<vault::crypto::AnyRecipient> = Vec::new();
    let ks = Keystore::locate()?;
    if !args.no_self {
        match ks.public_key() {
            Ok(me) => push_unique(&mut list, me),
            Err(KeystoreError::NoIdentity(_)) => return Err(CliError::NoSelf),
            Err(e) => return Err(e.into()),
        }
    }
    for r in args.recipients {
        push_unique(&mut list, ks.resolve_recipient(r)?);
    }
    for f in args.files {
        for r in read_recipients_file(f)? {
            push_unique(&mut list, r);
        }
    }
    if list.is_empty() {
        return Err(CliError::NoRecipients);
    }
    Ok(list)
}

/// [`gather_recipients`] for the remote commands: each must be of a kind
/// whose stanza a reader can recompute (head v2 binds the stanzas to the
/// recorded recipient list), and the list must not mix post-quantum and
/// classic keys.
pub fn gather_remote_recipients(args: &RecipientArgs<'_>) -> Result<Vec<AnyRecipient>, CliError> {
    let list = gather_recipients(args)?;
    check_remote_recipients(&list)?;
    Ok(list)
}

/// The rules [`gather_remote_recipients`] applies, for lists made elsewhere
/// (`share` adds to an object's list).
pub fn check_remote_recipients(list: &[AnyRecipient]) -> Result<(), CliError> {
    if let Some(r) = list.iter().find(|r| !r.reproducible()) {
        return Err(CliError::Usage(format!(
            "{r} is a plugin recipient: a remote object records its recipients so that every \
             reader can check them, and only the plugin can make its stanza; \
             use `vault seal -r ...` and copy the file instead"
        )));
    }
    let labels = |r: &AnyRecipient| {
        let mut l = r.labels();
        l.sort();
        l
    };
    if let Some(first) = list.first()
        && list.iter().any(|r| labels(r) != labels(first))
    {
        return Err(CliError::Usage(
            "post-quantum recipients (age1pq1...) cannot share an object with other kinds of \
             keys: the others would be its weak point"
                .into(),
        ));
    }
    Ok(())
}

/// The identities `open` uses: those in the `-i` files, or else every one
/// in the keystore (asking for its passphrase if it is protected).
pub fn load_identities(files: &[PathBuf]) -> Result<(Vec<Box<dyn Identity>>, KeySource), CliError> {
    let ids = keyring(&KeyringArgs {
        identity_files: files,
        no_keystore: !files.is_empty(),
        ..KeyringArgs::default()
    })?;
    let source = if files.is_empty() {
        KeySource::Keystore
    } else {
        KeySource::IdentityFiles
    };
    Ok((ids, source))
}

/// What [`keyring`] gathers.
#[derive(Default)]
pub struct KeyringArgs<'a> {
    /// age identity files (`open -i`, `--identity-file` on remote commands).
    pub identity_files: &'a [PathBuf],
    /// SSH private keys to try as identities (a remote command's `-i`).
    pub ssh_keys: &'a [PathBuf],
    /// Leave the keystore out (`open -i` does).
    pub no_keystore: bool,
    /// Add the SSH keys named by `VAULT_SSH_IDENTITY` (remote commands).
    pub ssh_from_env: bool,
}

/// Every identity the user has for this command: the keystore's (all of
/// them, unless `no_keystore`; none if there is no keystore identity and
/// other identities were given), the identity files, the SSH keys given and
/// those in `VAULT_SSH_IDENTITY`.
pub fn keyring(args: &KeyringArgs<'_>) -> Result<Vec<Box<dyn Identity>>, CliError> {
    let mut ids: Vec<Box<dyn Identity>> = Vec::new();
    for f in args.identity_files {
        ids.extend(identity_file::read(f)?);
    }
    let opted: Vec<PathBuf> = std::env::var_os(ENV_SSH_IDENTITY)
        .filter(|_| args.ssh_from_env)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    for f in args.ssh_keys.iter().chain(&opted) {
        ids.extend(identity_file::read(f)?);
    }
    if !args.no_keystore {
        match super::agent::keystore_identities(&Keystore::locate()?) {
            Ok(mine) => {
                let extra = std::mem::take(&mut ids);
                ids = mine;
                ids.extend(extra);
            }
            Err(CliError::Keystore(KeystoreError::NoIdentity(_))) if !ids.is_empty() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(ids)
}

/// Every identity a remote command can open objects with: the keystore's
/// (every one it keeps), those in `--identity-file` files, and the SSH keys
/// named by `VAULT_SSH_IDENTITY`.
pub fn remote_identities(identity_files: &[PathBuf]) -> Result<Vec<Box<dyn Identity>>, CliError> {
    keyring(&KeyringArgs {
        identity_files,
        ssh_keys: &[],
        no_keystore: false,
        ssh_from_env: true,
    })
}

/// Read a recipients file (`-` is standard input), warning about skipped
/// lines.
fn read_recipients_file(path: &Path) -> Result<Vec<vault::crypto::AnyRecipient>, CliError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| CliError::Input(path.to_path_buf(), e))?;
    let parsed = recipients_file::parse(&text, path)?;
    for (line, t) in &parsed.skipped {
        eprintln!(
            "vault: warning: {}: line {line}: skipping an SSH key of type {}; only ssh-ed25519 and ssh-rsa keys can be recipients",
            path.display(),
            super::error::printable(t)
        );
    }
    if parsed.recipients.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no recipients in this file",
            path.display()
        )));
    }
    Ok(parsed.recipients)
}

/// Add `r` unless a recipient with the same canonical form is present,
/// keeping first-seen order.
pub fn push_unique(list: &mut Vec<vault::crypto::AnyRecipient>, r: vault::crypto::AnyRecipient) {
    let s = r.to_string();
    if !list.iter().any(|x| x.to_string() == s) {
        list.push(r);
    }
}
