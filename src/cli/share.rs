//! `vault contacts`, `vault share` and `vault unshare`.
//!
//! Sharing rewrites an object's small head only, so re-sharing a 1 GiB
//! object sends a few kilobytes. Unsharing removes a stanza, which stops
//! future pulls with this head but cannot take back a copy or a file key
//! someone already has: the command says so every time, and `--rekey`
//! re-seals the object under a new key for real revocation.

use std::io::Write;

use clap::{Args, Subcommand};

use super::error::CliError;
use super::keyring::{as_x25519, remote_identities};
use super::remote::{RemoteOpts, connect, list};
use vault::crypto::{X25519Recipient, os_rng};
use vault::keystore::Keystore;
use vault::remote::RemoteError;

/// `vault contacts ...`.
#[derive(Subcommand, Debug)]
pub enum ContactsCommand {
    /// Add a contact: a name for someone's public key (the output of their `vault id`)
    Add {
        /// Name to use with -r
        name: String,
        /// Their public key: age1..., age1pq1..., "ssh-ed25519 AAAA..." or
        /// "ssh-rsa AAAA..." (quoted, or as separate words), age1NAME1...
        #[arg(required = true, num_args = 1..)]
        key: Vec<String>,
    },
    /// List contacts
    List,
    /// Remove a contact
    Rm {
        /// The contact's name
        name: String,
    },
}

/// `vault share`.
#[derive(Args, Debug)]
pub struct ShareArgs {
    /// Give this contact or public key access; repeatable
    #[arg(
        short = 'r',
        long = "recipient",
        value_name = "RECIPIENT",
        required = true
    )]
    pub recipients: Vec<String>,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// The object to share
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `vault unshare`.
#[derive(Args, Debug)]
pub struct UnshareArgs {
    /// Remove this contact's or public key's access; repeatable
    #[arg(
        short = 'r',
        long = "recipient",
        value_name = "RECIPIENT",
        required = true
    )]
    pub recipients: Vec<String>,
    /// Re-seal the object under a new file key (a full re-upload), so the
    /// removed recipients cannot open the new version even with a key they kept
    #[arg(long)]
    pub rekey: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// The object
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `vault contacts ...`.
pub fn contacts(cmd: &ContactsCommand) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    match cmd {
        ContactsCommand::Add { name, key } => {
            let key = key.join(" ");
            if key.ends_with("...") {
                // Pasted from the README, where `age1...` stands for a key.
                return Err(CliError::Usage(format!(
                    "{key:?} is a placeholder, not a key: use the whole key that `vault id` \
                     prints on {name}'s side (or their SSH .pub file)"
                )));
            }
            let key = vault::crypto::parse_recipient(&key)?;
            if let Some(other) = ks.name_of(&key.to_string()) {
                eprintln!("vault: note: this key is also saved as {other:?}");
            }
            ks.add_contact(name, &*key)?;
        }
        ContactsCommand::List => {
            let mut out = std::io::stdout().lock();
            for c in ks.contacts()? {
                writeln!(out, "{}\t{}", c.name, c.key)
                    .map_err(|e| CliError::Output("<stdout>".into(), e))?;
            }
        }
        ContactsCommand::Rm { name } => ks.remove_contact(name)?,
    }
    Ok(())
}

/// A recipient as the user knows it: contact name, else the key.
fn label(ks: &Keystore, r: &X25519Recipient) -> String {
    ks.name_of(&r.to_string()).unwrap_or_else(|| r.to_string())
}

fn resolve(ks: &Keystore, values: &[String]) -> Result<Vec<X25519Recipient>, CliError> {
    values
        .iter()
        .map(|v| as_x25519(&*ks.resolve_recipient(v)?))
        .collect()
}

/// `vault share`.
pub fn share(a: &ShareArgs) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let recipients = resolve(&ks, &a.recipients)?;
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    let listing = list(&mut vault, &ids)?;
    let obj = listing
        .find(&a.name)
        .ok_or_else(|| RemoteError::NoSuchName(a.name.clone()))?;
    let (added, written) = vault.share(&mut os_rng(), obj, &recipients)?;
    if added.is_empty() {
        eprintln!("vault: {:?} is already shared with them", a.name);
        return Ok(());
    }
    let who: Vec<String> = added.iter().map(|r| label(&ks, r)).collect();
    eprintln!(
        "vault: shared {:?} with {} (rewrote its {written}-byte head; the {}-byte payload was not sent again)",
        a.name,
        who.join(", "),
        obj.stored_size
    );
    Ok(())
}

/// `vault unshare`.
pub fn unshare(a: &UnshareArgs) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let remove = resolve(&ks, &a.recipients)?;
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    let listing = list(&mut vault, &ids)?;
    let obj = listing
        .find(&a.name)
        .ok_or_else(|| RemoteError::NoSuchName(a.name.clone()))?;
    for r in &remove {
        if !obj.meta.recipients.contains(r) {
            return Err(CliError::Usage(format!(
                "{} is not a recipient of {:?}",
                label(&ks, r),
                a.name
            )));
        }
    }
    let who: Vec<String> = remove.iter().map(|r| label(&ks, r)).collect();
    if a.rekey {
        let keep: Vec<X25519Recipient> = obj
            .meta
            .recipients
            .iter()
            .filter(|r| !remove.contains(r))
            .copied()
            .collect();
        if keep.is_empty() {
            return Err(CliError::Usage(
                "that would leave nobody able to open it; use `vault rm`".into(),
            ));
        }
        vault.rekey(&mut os_rng(), obj, &keep)?;
        eprintln!(
            "vault: re-sealed {:?} under a new key without {}; copies they already downloaded stay readable to them",
            a.name,
            who.join(", ")
        );
    } else {
        vault.unshare(&mut os_rng(), obj, &remove)?;
        eprintln!(
            "vault: removed {} from {:?}. This does not revoke access: a copy or the file key they already have still opens this object's payload; run again with --rekey to re-seal it under a new key",
            who.join(", "),
            a.name
        );
    }
    Ok(())
}
