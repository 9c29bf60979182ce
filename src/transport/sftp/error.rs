//! What only an SSH connection can report: an unusable ssh_config line, a
//! host key that is unknown, changed or revoked, refused authentication,
//! and SSH protocol failures. Carried as
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
    /// The SSH protocol failed (key exchange, no common algorithm, ...).
    #[error("ssh protocol error with {host}: {detail}")]
    Protocol {
        /// The host as configured.
        host: String,
        /// What libssh2 reported.
        detail: String,
    },
    /// The host is not in any known_hosts file and accepting new hosts was
    /// not asked for.
    #[error(
        "the authenticity of host {host} cannot be established: {key_type} key fingerprint is \
         {fingerprint}; if this is the right key, run again with --accept-new, or connect \
         once with `ssh {}{user_host}` and accept it there",
        if *.port == 22 { String::new() } else { format!("-p {} ", .port) }
    )]
    HostKeyUnknown {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

    #[test]
    fn messages_are_one_line() {
        let e = SshError::HostKeyUnknown {
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
