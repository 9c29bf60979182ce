//! `vault keygen` and `vault id`.
//!
//! Rotation never loses a key: `keygen --force` unlocks the current
//! identity, writes a new file holding the new key first and every older
//! key after it (under the new passphrase, so one passphrase opens
//! everything), and keeps the previous files as `identity.old-N` (see
//! [`Keystore::create`]). `vault id --all` lists every public key kept;
//! `vault id --secret` prints the secret keys for `age -d -i`.

use std::io::{BufRead, IsTerminal, Write};

use super::error::CliError;
use vault::crypto::{PqIdentity, X25519Identity, os_rng};
use vault::keystore::{KeyEntry, Keystore, KeystoreError, passphrase, public_of};

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The keys of the current identity file, to carry into a new one.
fn carried_keys(ks: &Keystore) -> Result<Vec<KeyEntry>, CliError> {
    eprintln!("vault: unlocking your current identity, to keep its keys beside the new one");
    let text = ks.unlock_text()?;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let public = public_of(line).unwrap_or_else(|| "(plugin identity)".into());
        let mut secret = zeroize::Zeroizing::new(String::with_capacity(line.len()));
        secret.push_str(line);
        out.push(KeyEntry {
            public,
            secret,
            note: format!("kept at rotation: {}", now()),
        });
    }
    Ok(out)
}

/// Create the identity (X25519, or with `pq` post-quantum hybrid). Prints
/// the public key on stdout.
pub fn keygen(no_passphrase: bool, force: bool, pq: bool) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let exists = ks.has_identity();
    if exists && !force {
        return Err(KeystoreError::Exists(ks.identity_path()).into());
    }
    let old = if exists {
        carried_keys(&ks)?
    } else {
        Vec::new()
    };
    let note = format!("created: {}", now());
    let new = if pq {
        KeyEntry::pq(&PqIdentity::generate(&mut os_rng()), note)
    } else {
        KeyEntry::x25519(&X25519Identity::generate(&mut os_rng()), note)
    };
    let public = new.public.clone();
    let pass = if no_passphrase {
        None
    } else {
        Some(passphrase::read_new(
            "Passphrase to protect your new identity: ",
        )?)
    };
    let mut entries = vec![new];
    entries.extend(old);
    let kept = entries.len() - 1;
    if let Some(aside) = ks.create(&entries, pass.as_ref(), force)? {
        eprintln!(
            "vault: the previous identity files are kept as {}; the new identity holds the {kept} older key{} too, so old files still open",
            aside.display(),
            if kept == 1 { "" } else { "s" }
        );
    }
    if no_passphrase {
        eprintln!(
            "vault: warning: the secret key is stored unencrypted in {} (mode 0600); anyone who can read it can open your files",
            ks.identity_path().display()
        );
    }
    if pq {
        eprintln!(
            "vault: this is a post-quantum key: files sealed to it can have only post-quantum recipients"
        );
    }
    eprintln!("vault: created identity {}", ks.identity_path().display());
    println!("{public}");
    Ok(())
}

/// `vault id`: the public key alone on stdout; with `all`, every public key
/// kept, current first; with `secret`, the secret keys as an age identity
/// file (for `age -d -i`).
pub fn id(all: bool, secret: bool) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let w = |e| CliError::Output("<stdout>".into(), e);
    if secret {
        return print_secret(&ks);
    }
    let keys = ks.public_keys()?;
    let mut out = std::io::stdout().lock();
    for k in keys.iter().take(if all { usize::MAX } else { 1 }) {
        writeln!(out, "{k}").map_err(w)?;
    }
    Ok(())
}

fn print_secret(ks: &Keystore) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        let confirmed = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .and_then(|mut tty| {
                tty.write_all(b"This prints your secret keys on the screen. Type yes to go on: ")?;
                let mut line = String::new();
                std::io::BufReader::new(tty).read_line(&mut line)?;
                Ok(line.trim() == "yes")
            })
            .unwrap_or(false);
        if !confirmed {
            return Err(CliError::Usage(
                "refusing to print secret keys on a terminal; redirect the output (`vault id --secret > key.txt`)".into(),
            ));
        }
    }
    let text = ks.unlock_text()?;
    eprintln!(
        "vault: warning: these are your secret keys, unprotected; anyone who gets them can open your files. Keep the output private (mode 0600), or give it to age directly: `age -d -i <(vault id --secret) FILE.age`"
    );
    let mut out = stdout.lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Output("<stdout>".into(), e))
}
