//! Which keys a command uses: the recipients it seals to (`-r`, `-R`, and
//! yourself) and the identities it opens with (the keystore, or `-i`
//! files).

use std::path::{Path, PathBuf};

use super::error::{CliError, KeySource};
use vault::crypto::{X25519Identity, X25519Recipient};
use vault::keystore::{Keystore, KeystoreError, identity_file, recipients_file};

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
/// without repeats. An empty result is an error, never a silent default.
pub fn gather_recipients(args: &RecipientArgs<'_>) -> Result<Vec<X25519Recipient>, CliError> {
    let mut list = Vec::new();
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

/// The identities to open with: those in the `-i` files, or else the
/// keystore's (asking for its passphrase if it is protected).
pub fn load_identities(files: &[PathBuf]) -> Result<(Vec<X25519Identity>, KeySource), CliError> {
    if files.is_empty() {
        return Ok((my_identities()?, KeySource::Keystore));
    }
    let mut ids = Vec::new();
    for f in files {
        ids.extend(identity_file::read(f)?);
    }
    Ok((ids, KeySource::IdentityFiles))
}

/// The user's own identity, from the keystore.
pub fn my_identities() -> Result<Vec<X25519Identity>, CliError> {
    Ok(vec![Keystore::locate()?.unlock()?])
}

/// Read a recipients file (`-` is standard input).
fn read_recipients_file(path: &Path) -> Result<Vec<X25519Recipient>, CliError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| CliError::Input(path.to_path_buf(), e))?;
    Ok(recipients_file::parse(&text, path)?)
}

/// Add `r` unless already present, keeping first-seen order.
pub fn push_unique(list: &mut Vec<X25519Recipient>, r: X25519Recipient) {
    if !list.contains(&r) {
        list.push(r);
    }
}
