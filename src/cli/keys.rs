//! `vault keygen` and `vault id`.

use std::io::Write;

use super::error::CliError;
use vault::crypto::{X25519Identity, os_rng};
use vault::keystore::{Keystore, KeystoreError, passphrase};

/// Create the identity. Prints the public key on stdout.
pub fn keygen(no_passphrase: bool, force: bool) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    if ks.has_identity() && !force {
        return Err(KeystoreError::Exists(ks.identity_path()).into());
    }
    let id = X25519Identity::generate(&mut os_rng());
    let pass = if no_passphrase {
        None
    } else {
        Some(passphrase::read_new(
            "Passphrase to protect your new identity: ",
        )?)
    };
    let replaced = ks.create(&id, pass.as_ref(), force)?;
    if let Some(old) = replaced {
        eprintln!(
            "vault: the previous identity was moved to {}",
            old.display()
        );
    }
    if no_passphrase {
        eprintln!(
            "vault: warning: the secret key is stored unencrypted in {} (mode 0600); anyone who can read it can open your files",
            ks.identity_path().display()
        );
    }
    eprintln!("vault: created identity {}", ks.identity_path().display());
    println!("{}", id.recipient());
    Ok(())
}

/// Print the public key alone on stdout.
pub fn id() -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    let public = ks.public_key()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{public}").map_err(|e| CliError::Output("<stdout>".into(), e))?;
    Ok(())
}
