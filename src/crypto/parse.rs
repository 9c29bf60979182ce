//! Any key string to its type: the one place that knows every recipient
//! and identity form, so that the command line, the keystore and the remote
//! layer (which records recipients as these strings) agree.
//!
//! | form | type |
//! | --- | --- |
//! | `age1...` | [`X25519Recipient`] |
//! | `age1pq1...` | [`PqRecipient`] (post-quantum hybrid) |
//! | `ssh-ed25519 AAAA... [comment]`, `ssh-rsa AAAA... [comment]` | [`SshRecipient`] |
//! | `age1NAME1...` | [`plugin::PluginRecipient`] |
//! | `AGE-SECRET-KEY-1...` | [`X25519Identity`] |
//! | `AGE-SECRET-KEY-PQ-1...` | [`PqIdentity`] |
//! | `AGE-PLUGIN-NAME-1...` | [`plugin::PluginIdentity`] |
//!
//! Errors never repeat the input: a string that is not a public key may be
//! a secret one. A secret key given as a recipient, in any case and of any
//! type, is recognised and named as such.

use super::error::CryptoError;
use super::plugin;
use super::pq::{PqIdentity, PqRecipient};
use super::recipient::Identity;
use super::ssh::{SshRecipient, ssh_key_type};
use super::x25519::{X25519Identity, X25519Recipient};

/// Whether `s` looks like secret key material of any type (any case).
pub fn looks_secret(s: &str) -> bool {
    let t = s.trim_start().to_ascii_lowercase();
    t.starts_with("age-secret-key-")
        || t.starts_with("age-plugin-")
        || (t.starts_with("-----begin") && t.contains("private key"))
}

/// Parse any public recipient string (see the module table). The result's
/// `Display` is its canonical form (an SSH key without its comment).
pub fn parse_recipient(s: &str) -> Result<super::recipient::AnyRecipient, CryptoError> {
    let s = s.trim();
    if looks_secret(s) {
        return Err(CryptoError::SecretKeyAsRecipient);
    }
    if s.starts_with("age1pq1") {
        return Ok(Box::new(s.parse::<PqRecipient>()?));
    }
    if s.starts_with("age1") && s[4..].contains('1') {
        return Ok(Box::new(plugin::PluginRecipient::parse(s)?));
    }
    if s.starts_with("age1") {
        return Ok(Box::new(s.parse::<X25519Recipient>()?));
    }
    if s.starts_with("ssh-") {
        return Ok(Box::new(SshRecipient::parse(s)?));
    }
    if let Some(t) = ssh_key_type(s) {
        return Err(CryptoError::UnsupportedSshKey(t));
    }
    Err(CryptoError::UnknownRecipient)
}

/// Parse one line of an identity file (see the module table; SSH private
/// keys are whole files, [`super::ssh::SshIdentity::from_openssh`]).
pub fn parse_identity(s: &str) -> Result<Box<dyn Identity>, CryptoError> {
    let s = s.trim();
    let upper = s.to_ascii_uppercase();
    if upper.starts_with("AGE-SECRET-KEY-PQ-1") {
        return Ok(Box::new(s.parse::<PqIdentity>()?));
    }
    if upper.starts_with("AGE-SECRET-KEY-1") {
        return Ok(Box::new(s.parse::<X25519Identity>()?));
    }
    if upper.starts_with("AGE-PLUGIN-") {
        return Ok(Box::new(plugin::PluginIdentity::parse(s)?));
    }
    Err(CryptoError::InvalidKey(
        "not an identity (AGE-SECRET-KEY-1..., AGE-SECRET-KEY-PQ-1... or AGE-PLUGIN-...)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::os_rng;

    #[test]
    fn secret_keys_are_named_and_never_echoed() {
        let id = X25519Identity::generate(&mut os_rng());
        let secret = id.to_secret_string();
        for s in [
            secret.to_string(),
            secret.to_lowercase(),
            format!("  {}", &*secret),
            PqIdentity::generate(&mut os_rng())
                .to_secret_string()
                .to_string(),
            "AGE-PLUGIN-YUBIKEY-1QQQQ".into(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn".into(),
        ] {
            let e = parse_recipient(&s).err().expect("refused");
            assert!(matches!(e, CryptoError::SecretKeyAsRecipient), "{e}");
            assert!(!e.to_string().contains(&s[8..14]));
        }
    }

    #[test]
    fn every_form_parses_to_its_canonical_string() {
        let mut rng = os_rng();
        let x = X25519Identity::generate(&mut rng).recipient().to_string();
        assert_eq!(parse_recipient(&x).unwrap().to_string(), x);
        let pq = PqIdentity::generate(&mut rng).recipient().to_string();
        assert_eq!(parse_recipient(&pq).unwrap().to_string(), pq);
        let e = parse_recipient("hello").err().unwrap();
        assert!(matches!(e, CryptoError::UnknownRecipient));
        assert!(!e.to_string().contains("hello"));
    }
}
