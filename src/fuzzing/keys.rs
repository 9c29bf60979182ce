//! Harnesses for the key parsers of issue 16: OpenSSH public key lines and
//! recipient strings, OpenSSH private key files, and age plugin protocol
//! messages (and vault's plugin stanza body, which embeds plugin stanzas).

use crate::crypto::age::header::{read_stanza, stanza_bytes};
use crate::crypto::plugin::{self, client::MAX_MESSAGE};
use crate::crypto::{CryptoError, FileKey, SshIdentity, parse_recipient};

/// Recipient strings (SSH key lines above all): what parses prints in a
/// canonical form that parses back to itself, and no error repeats a
/// line that looks like a secret.
pub fn ssh_public_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        match parse_recipient(line) {
            Ok(r) => {
                let s = r.to_string();
                let again = parse_recipient(&s).expect("the canonical form parses");
                assert_eq!(again.to_string(), s);
            }
            Err(e) => {
                let shown = e.to_string();
                let t = line.trim();
                if t.len() >= 16 {
                    assert!(!shown.contains(t), "the error echoes its input: {shown}");
                }
                if crate::crypto::parse::looks_secret(line) {
                    assert!(matches!(e, CryptoError::SecretKeyAsRecipient));
                }
            }
        }
    }
}

/// OpenSSH private key files: never a panic; a key that loads has a public
/// key whose canonical form parses back to itself.
pub fn ssh_private_key(data: &[u8]) {
    if let Ok(id) = SshIdentity::from_openssh(data, "fuzz", None) {
        let s = id.recipient().to_string();
        assert_eq!(parse_recipient(&s).expect("own public key").to_string(), s);
    }
}

/// Plugin protocol messages: a stream of stanzas, each of which re-encodes
/// to exactly the bytes it was read from, read until the first error; and
/// the same bytes as a vault plugin stanza body, which re-encodes to itself.
pub fn plugin_message(data: &[u8]) {
    let mut rest = data;
    loop {
        let before = rest;
        match read_stanza(&mut rest, MAX_MESSAGE) {
            Ok(Some(s)) => {
                let used = before.len() - rest.len();
                assert_eq!(
                    stanza_bytes(&s),
                    before[..used],
                    "a message re-encodes to itself"
                );
            }
            Ok(None) | Err(_) => break,
        }
    }
    if let Some((stanzas, wrapped)) = plugin::parse_vault_body(data) {
        let fk = FileKey::from_bytes(&[7; 32]).expect("32 bytes");
        let again = plugin::vault_body(&stanzas, &[1; 16], &fk).expect("it fitted before");
        let prefix = data.len() - wrapped.len();
        assert_eq!(again[..prefix], data[..prefix]);
    }
}
