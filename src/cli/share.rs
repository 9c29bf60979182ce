//! `vault contacts`, `vault share` and `vault unshare`.
//!
//! Sharing writes the next revision of an object's small head only, so
//! sharing a 1 GiB object sends a few kilobytes. Unsharing re-keys by
//! default: the object is sealed again under a new file key (a full
//! re-upload) without the removed recipients, so the key they may have
//! kept opens nothing new and cannot be used to write a revision others
//! would accept. `--keep-key` only drops their stanza, with a warning that
//! says what they can still do. Removing the last of your own keys is
//! refused unless `--force` (you could neither open nor re-share it).

use std::io::Write;

use clap::{Args, Subcommand};

use super::error::CliError;
use super::keyring::check_remote_recipients;
use super::remote::{Target, human, short};
use vault::crypto::{AnyRecipient, Recipient, os_rng, parse_recipient};
use vault::keystore::Keystore;
use vault::remote::{Change, Object, Opened, RemoteError, RemoteVault};

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

/// `-r RECIPIENT`, at least once: whom `share` and `unshare` are about.
/// Each command gives the argument its own help.
#[derive(Args, Debug)]
pub struct RecipientArgs {
    #[arg(
        short = 'r',
        long = "recipient",
        value_name = "RECIPIENT",
        required = true
    )]
    pub recipients: Vec<String>,
}

/// `vault share`.
#[derive(Args, Debug)]
#[command(mut_arg("recipients", |a| a.help("Give this contact or public key access; repeatable")))]
pub struct ShareArgs {
    #[command(flatten)]
    pub who: RecipientArgs,
    #[command(flatten)]
    pub target: Target,
    /// The object to share
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `vault unshare`.
#[derive(Args, Debug)]
#[command(mut_arg("recipients", |a| a.help("Remove this contact's or public key's access; repeatable")))]
pub struct UnshareArgs {
    #[command(flatten)]
    pub who: RecipientArgs,
    /// Only drop their stanza, keeping the file key (no re-upload); they
    /// can still open the object, and write revisions of it, with a key
    /// they kept (by default the object is re-sealed under a new key)
    #[arg(long)]
    pub keep_key: bool,
    /// Allow removing the last of your own keys from the object
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub target: Target,
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
fn label(ks: &Keystore, r: &str) -> String {
    ks.name_of(r).unwrap_or_else(|| r.to_owned())
}

fn resolve(ks: &Keystore, values: &[String]) -> Result<Vec<AnyRecipient>, CliError> {
    values
        .iter()
        .map(|v| Ok(ks.resolve_recipient(v)?))
        .collect()
}

/// An object's recipient list (canonical strings) as recipients, checked
/// against the rules for remote objects.
fn parse_list(list: &[String]) -> Result<Vec<AnyRecipient>, CliError> {
    let parsed = list
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    check_remote_recipients(&parsed)?;
    Ok(parsed)
}

/// Rewrite only the head of `opened` (under `name`, same file key) for
/// `recipients`: what share does, and unshare with --keep-key.
fn rewrite_for(
    vault: &mut RemoteVault,
    opened: &Opened,
    name: &str,
    recipients: &[String],
) -> Result<Object, CliError> {
    let change = Change { name, recipients };
    Ok(vault.rewrite(&mut os_rng(), opened, &change)?)
}

/// `vault share`.
pub fn share(a: &ShareArgs) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let recipients = resolve(&ks, &a.who.recipients)?;
    let (mut s, obj) = a.target.open(&a.name)?;
    let (vault, ids) = s.vault_ids()?;
    let opened = vault.open_object(&obj, ids)?;
    let mut list = opened.obj.meta.recipients.clone();
    let mut added = Vec::new();
    for r in &recipients {
        let t = r.to_string();
        if !list.contains(&t) {
            list.push(t.clone());
            added.push(t);
        }
    }
    if !added.is_empty() {
        parse_list(&list)?;
    }
    if added.is_empty() {
        s.say(&format!(
            "{} (id {}) is already shared with them; nothing changed",
            a.name,
            short(&obj.id)
        ));
        s.done();
        return Ok(());
    }
    let written = rewrite_for(&mut s.vault, &opened, &obj.meta.name, &list)?;
    let who: Vec<String> = added.iter().map(|r| label(&ks, r)).collect();
    s.say(&format!(
        "shared {} (id {}) with {}; wrote a {}-byte head, the {} payload was not sent again",
        a.name,
        short(&obj.id),
        who.join(", "),
        written.head_size,
        human(obj.meta.size)
    ));
    s.done();
    Ok(())
}

/// `vault unshare`.
pub fn unshare(a: &UnshareArgs) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let remove: Vec<String> = resolve(&ks, &a.who.recipients)?
        .iter()
        .map(|r| r.to_string())
        .collect();
    let (mut s, obj) = a.target.open(&a.name)?;
    for r in &remove {
        if !obj.meta.recipients.contains(r) {
            return Err(RemoteError::NotARecipient {
                who: label(&ks, r),
                name: a.name.clone(),
            }
            .into());
        }
    }
    let (vault, ids) = s.vault_ids()?;
    let opened = vault.open_object(&obj, ids)?;
    // Your entries: those whose (bound) stanza one of your identities opens.
    let mine: Vec<String> = opened
        .obj
        .meta
        .recipients
        .iter()
        .zip(&opened.header.stanzas)
        .filter(|(_, st)| {
            ids.iter()
                .any(|i| matches!(i.unwrap_vault(st), Ok(Some(_))))
        })
        .map(|(r, _)| r.clone())
        .collect();
    let keep: Vec<String> = obj
        .meta
        .recipients
        .iter()
        .filter(|r| !remove.contains(r))
        .cloned()
        .collect();
    if keep.is_empty() {
        return Err(RemoteError::LastKey(format!(
            "that would leave nobody able to open {:?}; use `vault rm`",
            a.name
        ))
        .into());
    }
    let removing_mine = remove.iter().any(|r| mine.contains(r));
    if removing_mine && !keep.iter().any(|r| mine.contains(r)) && !a.force {
        return Err(RemoteError::LastKey(format!(
            "that removes the last of your keys from {:?}: you could no longer open, share or \
             remove it; add --force if that is what you want",
            a.name
        ))
        .into());
    }
    if removing_mine {
        eprintln!(
            "vault: warning: removing one of your own keys from {:?}",
            a.name
        );
    }
    let who: Vec<String> = remove.iter().map(|r| label(&ks, r)).collect();
    if a.keep_key {
        let written = rewrite_for(&mut s.vault, &opened, &obj.meta.name, &keep)?;
        eprintln!(
            "vault: warning: --keep-key: {} no longer get(s) the file key from this object's head, \
             but the file key is unchanged: with a copy of it, kept from an earlier pull, they can \
             still open the payload as stored, and, given write access to the server, write a \
             revision of the object that current recipients would accept as genuine. Run \
             `vault unshare` without --keep-key to re-seal it under a new key.",
            who.join(", ")
        );
        s.say(&format!(
            "removed {} from {} (id {}), file key kept",
            who.join(", "),
            a.name,
            short(&written.id)
        ));
    } else {
        let parsed = parse_list(&keep)?;
        let rs: Vec<&(dyn Recipient + Sync)> = parsed.iter().map(|r| &**r as _).collect();
        let written = s.vault.rekey(&mut os_rng(), &opened, &rs)?;
        s.say(&format!(
            "re-sealed {} under a new file key without {} (new id {}, {} sent again); \
             copies they downloaded before stay readable to them",
            a.name,
            who.join(", "),
            short(&written.id),
            human(written.meta.size)
        ));
    }
    s.done();
    Ok(())
}
