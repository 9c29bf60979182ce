//! The host-key check of a new connection, as OpenSSH does it: host-key
//! types already known for the host are asked for first; a known key
//! passes, a changed or revoked one is always refused, and an unknown one
//! is refused unless accepting new hosts was asked for (then it is recorded
//! in the first user known_hosts file, with a notice on stderr). The
//! known_hosts files themselves are read in `known_hosts.rs`.

use std::path::PathBuf;

use ssh2::{MethodType, Session};

use super::config::Strict;
use super::connect::Params;
use super::error::SshError;
use super::known_hosts::{self, ServerKey, Verdict};
use crate::transport::error::TransportError;

/// Ask first for host-key algorithms whose keys are already known.
pub(crate) fn prefer_known_host_key_types(sess: &Session, files: &[PathBuf], name: &str) {
    let known = known_hosts::known_key_algorithms(sess, files, name);
    if known.is_empty() {
        return;
    }
    let Ok(supported) = sess.supported_algs(MethodType::HostKey) else {
        return;
    };
    let mut order: Vec<&str> = known
        .iter()
        .map(String::as_str)
        .filter(|a| supported.contains(a))
        .collect();
    for a in &supported {
        if !order.contains(a) {
            order.push(a);
        }
    }
    let _ = sess.method_pref(MethodType::HostKey, &order.join(","));
}

pub(crate) fn verify_host_key(
    sess: &Session,
    p: &Params,
    files: &[PathBuf],
    name: &str,
) -> Result<(), TransportError> {
    let key = sess
        .host_key()
        .and_then(|(blob, _)| ServerKey::new(blob))
        .ok_or_else(|| SshError::Protocol {
            host: p.cfg.alias.clone(),
            detail: "the server sent no usable host key".into(),
        })?;
    let unknown = || SshError::HostKeyUnknown {
        host: name.to_owned(),
        user_host: format!("{}@{}", p.cfg.user, p.cfg.alias),
        port: p.cfg.port,
        key_type: key.display_type(),
        fingerprint: key.fingerprint(),
    };
    match known_hosts::check(sess, files, name, &key) {
        Verdict::Known => Ok(()),
        Verdict::Changed { file, line } => Err(SshError::HostKeyChanged {
            host: name.to_owned(),
            key_type: key.display_type(),
            fingerprint: key.fingerprint(),
            file,
            line,
        }
        .into()),
        Verdict::Revoked { file, line } => Err(SshError::HostKeyRevoked {
            host: name.to_owned(),
            fingerprint: key.fingerprint(),
            file,
            line,
        }
        .into()),
        Verdict::Unknown => match p.strict {
            Strict::Yes => Err(unknown().into()),
            Strict::AcceptNew => {
                let Some(file) = p.cfg.user_known_hosts.first() else {
                    return Err(unknown().into());
                };
                known_hosts::append(file, name, &key)?;
                eprintln!(
                    "vault: warning: permanently added {name} ({} key {}) to {}",
                    key.display_type(),
                    key.fingerprint(),
                    file.display()
                );
                Ok(())
            }
        },
    }
}
