//! The host-key check of a new connection, as OpenSSH does it.
//!
//! - The host-key algorithms asked for are those of `HostKeyAlgorithms`
//!   (OpenSSH's `+`, `-`, `^` forms over libssh2's list), with the types
//!   already known for the host first; certificate types
//!   (`*-cert-v01@openssh.com`) are never asked for, since libssh2 does not
//!   verify the certificate it would then receive.
//! - A known key passes; a changed or revoked one is always refused.
//! - An unknown one: refused if an `@cert-authority` line covers the host
//!   (vault cannot check certificates, and will not fall back to trusting
//!   the host on first use); otherwise, by `StrictHostKeyChecking` (or
//!   `--accept-new`): `yes` refuses, `accept-new` records it, and `ask`
//!   (the default) asks on the terminal with OpenSSH's question, answered
//!   `yes`, `no` or the fingerprint, or refuses when there is no terminal
//!   to ask on or `BatchMode` is set. A recorded key goes to the first user
//!   known_hosts file, hashed if `HashKnownHosts yes`, with a notice on
//!   stderr.
//! - An RSA key shorter than `RequiredRSASize` (default 1024 bits) is
//!   refused, known or not.
//!
//! The known_hosts files themselves are read in `known_hosts.rs`.

use std::path::PathBuf;

use ssh2::{MethodType, Session};

use super::config::Strict;
use super::connect::{Params, algorithm_list};
use super::error::{HostCertificate, SshError};
use super::known_hosts::{self, ServerKey, Verdict};
use crate::transport::error::TransportError;

/// Set the host-key algorithms to ask for (see the module documentation).
pub(crate) fn set_host_key_algorithms(
    sess: &Session,
    p: &Params,
    files: &[PathBuf],
    name: &str,
) -> Result<(), TransportError> {
    let supported: Vec<&str> = sess
        .supported_algs(MethodType::HostKey)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.ends_with("-cert-v01@openssh.com"))
        .collect();
    let known = known_hosts::known_key_algorithms(files, name);
    let mut default: Vec<&str> = known
        .iter()
        .map(String::as_str)
        .filter(|a| supported.contains(a))
        .collect();
    for a in &supported {
        if !default.contains(a) {
            default.push(a);
        }
    }
    let list = algorithm_list(p.cfg.host_key_algorithms.as_deref(), &default, &supported);
    if list.is_empty() {
        return Err(SshError::Protocol {
            host: p.cfg.alias.clone(),
            detail: format!(
                "none of the configured HostKeyAlgorithms is supported (supported: {})",
                supported.join(",")
            ),
        }
        .into());
    }
    let _ = sess.method_pref(MethodType::HostKey, &list.join(","));
    Ok(())
}

/// The size in bits of an `ssh-rsa` key blob's modulus.
fn rsa_bits(blob: &[u8]) -> Option<u32> {
    let mut rest = blob;
    let mut field = || -> Option<&[u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let f = rest.get(4..4usize.checked_add(len)?)?;
        rest = &rest[4 + len..];
        Some(f)
    };
    let _type = field()?;
    let _e = field()?;
    let n = field()?;
    let n: Vec<u8> = n.iter().copied().skip_while(|&b| b == 0).collect();
    let first = *n.first()?;
    Some(u32::try_from(n.len()).ok()? * 8 - first.leading_zeros())
}

pub(crate) fn verify_host_key(
    sess: &Session,
    p: &Params,
    files: &[PathBuf],
    name: &str,
) -> Result<(), TransportError> {
    let host = p.cfg.alias.as_str();
    let key = sess
        .host_key()
        .and_then(|(blob, _)| ServerKey::new(blob))
        .ok_or_else(|| SshError::Protocol {
            host: host.to_owned(),
            detail: "the server sent no usable host key".into(),
        })?;
    if key.type_name == "ssh-rsa"
        && let Some(bits) = rsa_bits(&key.blob)
        && bits < p.cfg.required_rsa_size
    {
        return Err(SshError::Protocol {
            host: host.to_owned(),
            detail: format!(
                "its RSA host key has {bits} bits, fewer than RequiredRSASize {}",
                p.cfg.required_rsa_size
            ),
        }
        .into());
    }
    let unknown = |why: String| SshError::HostKeyUnknown {
        why: why.into(),
        host: name.to_owned(),
        user_host: format!("{}@{}", p.cfg.user, p.cfg.alias),
        port: p.cfg.port,
        key_type: key.display_type(),
        fingerprint: key.fingerprint(),
    };
    match known_hosts::check(files, name, &key) {
        Verdict::Known => return Ok(()),
        Verdict::Changed { file, line } => {
            return Err(SshError::HostKeyChanged {
                host: name.to_owned(),
                key_type: key.display_type(),
                fingerprint: key.fingerprint(),
                file,
                line,
            }
            .into());
        }
        Verdict::Revoked { file, line } => {
            return Err(SshError::HostKeyRevoked {
                host: name.to_owned(),
                fingerprint: key.fingerprint(),
                file,
                line,
            }
            .into());
        }
        Verdict::Unknown => {}
    }
    let record_to = p.cfg.user_known_hosts.first();
    if let Some((ca_file, ca_line)) = known_hosts::cert_authority(files, name) {
        let scan = if p.cfg.port == 22 {
            p.cfg.host_name.clone()
        } else {
            format!("-p {} {}", p.cfg.port, p.cfg.host_name)
        };
        return Err(
            SshError::HostCertificateUnsupported(Box::new(HostCertificate {
                host: name.to_owned(),
                key_type: key.display_type(),
                fingerprint: key.fingerprint(),
                ca_file,
                ca_line,
                known_hosts: record_to
                    .cloned()
                    .unwrap_or_else(|| p.home.join(".ssh/known_hosts")),
                pin: known_hosts::entry_line(name, &key),
                scan,
            }))
            .into(),
        );
    }
    let Some(file) = record_to else {
        return Err(
            unknown("UserKnownHostsFile is none, so it could not be recorded".into()).into(),
        );
    };
    match p.strict {
        Strict::Yes => {
            let why = match &p.cfg.strict_origin {
                Some((f, line)) => {
                    format!(
                        "StrictHostKeyChecking is yes in {} line {line}",
                        f.display()
                    )
                }
                None => "StrictHostKeyChecking is yes".into(),
            };
            return Err(unknown(why).into());
        }
        Strict::Ask if !p.interactive => {
            let why = if p.cfg.batch_mode {
                "BatchMode is yes, so nothing is asked"
            } else {
                "there is no terminal to ask on"
            };
            return Err(unknown(why.into()).into());
        }
        Strict::Ask => {
            if !ask(p, files, name, &key)? {
                return Err(SshError::HostKeyRejected {
                    host: name.to_owned(),
                    key_type: key.display_type(),
                    fingerprint: key.fingerprint(),
                }
                .into());
            }
        }
        Strict::AcceptNew => {}
    }
    known_hosts::append(file, name, &key, p.cfg.hash_known_hosts)?;
    eprintln!(
        "vault: warning: permanently added {name} ({} key {}) to {}",
        key.display_type(),
        key.fingerprint(),
        file.display()
    );
    Ok(())
}

/// OpenSSH's question about an unknown host, on the terminal: `yes`, or
/// the fingerprint itself, accepts; `no` or the end of input refuses;
/// anything else asks again.
fn ask(p: &Params, files: &[PathBuf], name: &str, key: &ServerKey) -> Result<bool, TransportError> {
    let tty_err = |e: std::io::Error| TransportError::Io {
        context: "asking about the host key on the terminal".into(),
        source: e,
    };
    let fp = key.fingerprint();
    let shown = if p.cfg.alias.eq_ignore_ascii_case(name) {
        name.to_owned()
    } else {
        format!("{} ({name})", p.cfg.alias)
    };
    let mut text = format!(
        "The authenticity of host '{shown}' can't be established.\n{} key fingerprint is {fp}.\n",
        key.display_type()
    );
    let others = known_hosts::other_names(files, key);
    if others.is_empty() {
        text.push_str("This key is not known by any other names.");
    } else {
        text.push_str("This host key is known by the following other names/addresses:");
        for o in others.iter().take(8) {
            text.push_str(&format!("\n    {o}"));
        }
    }
    crate::tty::say(&text).map_err(tty_err)?;
    let mut prompt = "Are you sure you want to continue connecting (yes/no/[fingerprint])? ";
    loop {
        let answer = match crate::tty::prompt_visible(prompt) {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(tty_err(e)),
        };
        let answer = answer.trim();
        if answer.eq_ignore_ascii_case("yes") || answer == fp {
            return Ok(true);
        }
        if answer.eq_ignore_ascii_case("no") {
            return Ok(false);
        }
        prompt = "Please type 'yes', 'no' or the fingerprint: ";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_modulus_sizes() {
        let blob = |n: &[u8]| {
            let mut b = Vec::new();
            for f in [&b"ssh-rsa"[..], &[1, 0, 1], n] {
                b.extend_from_slice(&(f.len() as u32).to_be_bytes());
                b.extend_from_slice(f);
            }
            b
        };
        let mut n = vec![0u8];
        n.extend(std::iter::repeat_n(0xffu8, 128));
        assert_eq!(rsa_bits(&blob(&n)), Some(1024));
        let mut n = vec![0x01u8];
        n.extend(std::iter::repeat_n(0u8, 255));
        assert_eq!(rsa_bits(&blob(&n)), Some(2041));
        assert_eq!(rsa_bits(b"\0\0\0\x07ssh-rsa"), None);
    }
}
