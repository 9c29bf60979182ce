//! What only an SSH connection can report: an unusable ssh_config line or
//! option, a host key that is unknown, rejected, changed, revoked or vouched
//! for by a certificate authority vault cannot check, refused
//! authentication, a proxy that failed, and SSH protocol failures. Carried as
//! [`TransportError::Ssh`](crate::transport::TransportError::Ssh); every
//! message is one line and says what to do next.

use std::path::PathBuf;

/// Errors only the SSH backend has.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// A line of the ssh configuration that cannot be used.
    #[error("{}:{line}: {message}", .file.display())]
    Config {
        /// The configuration file.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An ssh_config option in effect for the host that vault cannot carry
    /// out, and that would change where or how it connects if ignored.
    #[error(
        "{}:{line}: vault cannot honour `{option}`: {reason}; ignoring it could change where or \
         how vault connects, so remove it for the hosts you reach with vault",
        .file.display()
    )]
    Unsupported {
        /// The configuration file.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// The option and its value as written.
        option: String,
        /// Why vault cannot carry it out.
        reason: String,
    },
    /// The SSH protocol failed (key exchange, no common algorithm, ...).
    #[error("ssh protocol error with {host}: {detail}")]
    Protocol {
        /// The host as configured.
        host: String,
        /// What libssh2 reported.
        detail: String,
    },
    /// The host is not in any known_hosts file, and neither the options
    /// nor a question on the terminal accepted it.
    #[error(
        "the authenticity of host {host} cannot be established ({why}): {key_type} key \
         fingerprint is {fingerprint}; if this is the right key, run again with --accept-new, \
         or connect once with `ssh {}{user_host}` and accept it there",
        if *.port == 22 { String::new() } else { format!("-p {} ", .port) }
    )]
    HostKeyUnknown {
        /// Why nobody was asked: no terminal, `StrictHostKeyChecking yes`
        /// (and where), `BatchMode yes`. (Boxed to keep the error small.)
        why: Box<str>,
        /// The name looked up in known_hosts (`host` or `[host]:port`).
        host: String,
        /// `user@hostname` for the suggested `ssh` command.
        user_host: String,
        /// The port connected to.
        port: u16,
        /// The key type as OpenSSH shows it (`ED25519`, `ECDSA`, `RSA`).
        key_type: String,
        /// `SHA256:` and the unpadded base64 of the key's SHA-256.
        fingerprint: String,
    },
    /// The user answered "no" when asked whether to trust the host key.
    #[error(
        "host key verification failed: the {key_type} key {fingerprint} of {host} was not accepted"
    )]
    HostKeyRejected {
        /// The name looked up in known_hosts.
        host: String,
        /// The key type as OpenSSH shows it.
        key_type: String,
        /// The offered key's SHA256 fingerprint.
        fingerprint: String,
    },
    /// known_hosts trusts a certificate authority for this host, which
    /// vault cannot check (libssh2 does not verify host certificates), and
    /// the host's own key is not pinned: refused rather than trusted on
    /// first use, whatever the options.
    #[error("{0}")]
    HostCertificateUnsupported(Box<HostCertificate>),
    /// `ProxyCommand` could not be started, or `ProxyJump` is unusable.
    #[error("cannot reach {host} through its proxy: {reason}")]
    Proxy {
        /// The host as configured.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The host is known with a different key: refused whatever the options.
    #[error(
        "WARNING: REMOTE HOST KEY HAS CHANGED for {host}: the server offers {key_type} key \
         {fingerprint} but {} line {line} holds a different key; someone may be intercepting \
         the connection; if the host key was legitimately replaced, delete line {line} of that \
         file (or run `ssh-keygen -R '{host}'`) and connect again",
        .file.display()
    )]
    HostKeyChanged {
        /// The name looked up in known_hosts.
        host: String,
        /// The offered key's type as OpenSSH shows it.
        key_type: String,
        /// The offered key's SHA256 fingerprint.
        fingerprint: String,
        /// The known_hosts file holding the other key.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
    /// The offered key is marked `@revoked` in a known_hosts file.
    #[error(
        "the host key of {host} ({fingerprint}) is marked @revoked in {} line {line}; refusing to connect",
        .file.display()
    )]
    HostKeyRevoked {
        /// The name looked up in known_hosts.
        host: String,
        /// The offered key's SHA256 fingerprint.
        fingerprint: String,
        /// The known_hosts file.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
    /// Every authentication method was refused or unavailable.
    #[error(
        "authentication refused for {user}@{host} (tried: {}); add one of your public keys to the \
         server's ~/.ssh/authorized_keys, load a key into ssh-agent, or pass -i KEY",
        if .tried.is_empty() { "nothing".to_owned() } else { .tried.join(", ") }
    )]
    AuthFailed {
        /// The user name sent.
        user: String,
        /// The host as configured.
        host: String,
        /// What was tried, each with why it failed.
        tried: Vec<String>,
    },
}

/// The details of [`SshError::HostCertificateUnsupported`].
#[derive(Debug)]
pub struct HostCertificate {
    /// The name looked up in known_hosts.
    pub host: String,
    /// The offered key's type as OpenSSH shows it.
    pub key_type: String,
    /// The offered key's SHA256 fingerprint.
    pub fingerprint: String,
    /// The known_hosts file with the `@cert-authority` line.
    pub ca_file: PathBuf,
    /// Its 1-based line number.
    pub ca_line: usize,
    /// Where to pin the key (the first user known_hosts file).
    pub known_hosts: PathBuf,
    /// The known_hosts line that pins the offered key.
    pub pin: String,
    /// `ssh-keyscan` arguments for the host (`-p PORT HOST`).
    pub scan: String,
}

impl std::fmt::Display for HostCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is vouched for by an SSH certificate authority ({} line {}), but vault cannot \
             check host certificates (libssh2 does not verify them) and will not trust the host \
             on first use instead; check that its {} key {} is the right one (for instance that \
             `ssh-keyscan -c {}` shows a certificate from your CA for it), then pin the key by \
             adding this line to {}: {}",
            self.host,
            self.ca_file.display(),
            self.ca_line,
            self.key_type,
            self.fingerprint,
            self.scan,
            self.known_hosts.display(),
            self.pin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

    #[test]
    fn messages_are_one_line() {
        let e = SshError::HostKeyUnknown {
            why: "no terminal to ask on".into(),
            host: "[h]:2222".into(),
            user_host: "u@h".into(),
            port: 2222,
            key_type: "ED25519".into(),
            fingerprint: "SHA256:abc".into(),
        };
        let m = e.to_string();
        assert!(!m.contains('\n'));
        assert!(m.contains("ssh -p 2222 u@h"), "{m}");
        assert!(m.contains("--accept-new"), "{m}");
        let e = SshError::AuthFailed {
            user: "u".into(),
            host: "h".into(),
            tried: vec!["a".into(), "b".into()],
        };
        assert!(e.to_string().contains("(tried: a, b)"));
        // Carried in the transport's error with the same message.
        let t = TransportError::from(e);
        assert!(
            t.to_string()
                .starts_with("authentication refused for u@h (tried: a, b)")
        );
    }
}
