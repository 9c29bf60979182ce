//! Where sealed bytes are stored: a small `Transport` trait with one
//! implementation per backend (a local folder, an SFTP server).
//!
//! The trait is deliberately dumb: it moves opaque bytes between named files
//! under a vault root and knows nothing about encryption or object layout
//! (that lives in `crate::remote`). Every backend passes the same
//! conformance suite (`tests/transport_conformance.rs`).
//!
//! Paths given to a transport are relative to the vault root, use `/` as the
//! separator and never contain `.` or `..` segments, empty segments, a
//! leading `/`, a backslash or a NUL byte; a backend refuses anything else
//! with [`TransportError::BadPath`]. The empty path `""` names the root
//! itself and is accepted where that makes sense (`mkdir_all`, `list`,
//! `stat`).
//!
//! A location string (`sftp://user@host:port/path`, `user@host:path`, a local
//! path or `file:///path`) is parsed by [`Location::parse`], and
//! [`Location::connect`] opens a backend for it. `connect` can be called as
//! often as wanted, and [`Transport::reconnect`] opens another independent
//! connection from a live one, so that large objects can later be moved over
//! several connections in parallel.
//!
//! Writing a complete file is a protocol the caller follows: create a
//! temporary name exclusively, write, [`RemoteWrite::finish`], then
//! [`Transport::rename`] it into place. A writer dropped without `finish`
//! removes its partial file (best effort), so an interrupted upload never
//! looks complete.
//!
//! Large objects are moved over several connections at once, because one
//! SFTP session is one stream on one core: [`Transport::write_at`] opens an
//! existing (temporary) file for writing at an offset, so that each
//! connection fills its own byte range of one file, and
//! [`Transport::read_at`] reads one byte range. The caller still owns the
//! temporary name: a range writer dropped without `finish` leaves the file
//! alone (the other ranges are someone else's), and the caller removes the
//! temporary if any range fails.

// The only unsafe code is in `sftp::ffi` and `sftp::ssh_cipher` (C calls
// into and out of libssh2), which allow it explicitly.
#![deny(unsafe_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

mod local;
mod location;
pub mod sftp;

pub use local::LocalTransport;
pub use location::{Location, SftpTarget};
pub use sftp::SftpTransport;

/// One entry returned by [`Transport::list`] or [`Transport::stat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's file name (for `list`) or the path asked for (for `stat`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch, if the backend knows it.
    pub mtime: Option<u64>,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// A file being written on a transport.
///
/// Calling [`RemoteWrite::finish`] is mandatory: it flushes the buffered
/// bytes, syncs them to stable storage where the backend can, checks the
/// size and closes. Dropping the writer without `finish` discards the file:
/// the backend removes it on a best-effort basis (the connection may be
/// gone, in which case a partial file stays behind under its temporary
/// name).
pub trait RemoteWrite: Write + Send {
    /// Flush, sync to stable storage where supported, check the size, close.
    fn finish(self: Box<Self>) -> Result<(), TransportError>;
}

/// Errors from a transport, by failure class. Every message is one line and
/// says what to do next where there is something to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A path that is not a clean relative path.
    #[error("invalid remote path {0:?}")]
    BadPath(String),
    /// A location string that cannot be parsed.
    #[error("invalid location {input:?}: {reason}")]
    BadLocation {
        /// The string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file or folder does not exist.
    #[error("{0}: not found")]
    NotFound(String),
    /// The target of an exclusive create or a no-replace rename exists.
    #[error("{0}: already exists")]
    AlreadyExists(String),
    /// The server or file system refused access.
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    /// No space left on the device (or the quota is exhausted).
    #[error("{0}: no space left on the device or quota exceeded; free some space and try again")]
    NoSpace(String),
    /// The SFTP server answered with its generic failure status. OpenSSH
    /// reports most errors this way (a full disk included), and libssh2 does
    /// not pass on the server's message text.
    #[error("{context}: the server reported a failure ({detail})")]
    ServerFailure {
        /// What was being done.
        context: String,
        /// What the server said and what it probably means.
        detail: String,
    },
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of the ssh configuration that cannot be used.
    #[error("{}:{line}: {message}", .file.display())]
    SshConfig {
        /// The configuration file.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The host name does not resolve, or the network cannot reach it.
    #[error("cannot reach {host} ({addr}): {reason}; check the host name and your network")]
    Unreachable {
        /// The host as configured.
        host: String,
        /// The address tried, or the name that did not resolve.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Nothing listens on the SSH port.
    #[error("connection to {host} ({addr}) refused; is the SSH server running on that port?")]
    ConnectionRefused {
        /// The host as configured.
        host: String,
        /// The address and port tried.
        addr: String,
    },
    /// The server did not answer in time.
    #[error("{host}: timed out {what}; check the network or raise ConnectTimeout")]
    Timeout {
        /// The host as configured.
        host: String,
        /// What was being done (`connecting`, `waiting for the server`).
        what: String,
    },
    /// The connection broke during an operation.
    #[error("connection to {host} lost: {detail}; try again")]
    ConnectionLost {
        /// The host as configured.
        host: String,
        /// What libssh2 reported.
        detail: String,
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

/// The operations a vault needs from a storage backend.
///
/// A transport is one connection; it is `Send` so that several of them
/// (see [`Transport::reconnect`]) can work in parallel threads.
pub trait Transport: Send {
    /// A human-readable location for messages (`sftp://user@host:22/path`).
    fn describe(&self) -> String;
    /// Open another, independent connection to the same location (same
    /// resolved host, user and credentials, without asking again where the
    /// backend can avoid it).
    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError>;
    /// Create a folder and its parents; succeed if it exists. `""` is the root.
    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError>;
    /// List a folder's entries (not `.` or `..`), in no particular order.
    /// Entries whose names are not UTF-8 are skipped.
    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError>;
    /// Metadata of one path, `None` if it does not exist.
    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError>;
    /// Open a file for reading from its start.
    fn read(&mut self, path: &str) -> Result<Box<dyn Read + Send + '_>, TransportError>;
    /// Create a new file exclusively (fail with `AlreadyExists` if it exists).
    /// Files are created with mode 0600.
    fn create(&mut self, path: &str) -> Result<Box<dyn RemoteWrite + '_>, TransportError>;
    /// Open the existing file `path` for writing from byte `offset`,
    /// without truncating it or touching bytes outside the range written
    /// (writing past the end extends the file, leaving a hole if needed).
    /// `finish` flushes, syncs where supported and checks that the file is
    /// at least `offset` plus the bytes written long. Dropping the writer
    /// without `finish` does not remove the file.
    fn write_at(
        &mut self,
        path: &str,
        offset: u64,
    ) -> Result<Box<dyn RemoteWrite + '_>, TransportError>;
    /// Read at most `len` bytes of `path` from byte `offset` (fewer if the
    /// file ends first: the reader then ends early, and the caller decides
    /// whether that is an error).
    fn read_at(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send + '_>, TransportError>;
    /// Rename `from` to `to`. With `replace`, an existing `to` is replaced
    /// atomically; without, the rename fails with `AlreadyExists` and both
    /// files stay as they were.
    fn rename(&mut self, from: &str, to: &str, replace: bool) -> Result<(), TransportError>;
    /// Remove a file.
    fn remove(&mut self, path: &str) -> Result<(), TransportError>;
}

/// Where ssh-agent is found, for [`ConnectOptions::agent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AgentSocket {
    /// `$SSH_AUTH_SOCK`, as OpenSSH does (the default).
    #[default]
    FromEnv,
    /// This socket.
    Path(PathBuf),
    /// Do not use an agent.
    Disabled,
}

/// How to connect: the command-line flags that matter to a transport.
///
/// `Default` gives OpenSSH's behaviour: `$HOME`, `$SSH_AUTH_SOCK`, prompts
/// only when standard input is a terminal, unknown hosts refused.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Record the key of a host not yet in known_hosts (`--accept-new`).
    /// A changed key is refused regardless.
    pub accept_new: bool,
    /// An identity file to try before any configured one (`-i`).
    pub identity: Option<PathBuf>,
    /// Whether passphrases and passwords may be asked on the terminal
    /// (`/dev/tty`, so this works even when standard input is a pipe).
    /// Without it, nothing ever prompts (and nothing hangs). Defaults to
    /// whether standard input is a terminal; `BatchMode yes` in the ssh
    /// config turns it off.
    pub interactive: bool,
    /// The home folder holding `.ssh/` (defaults to `$HOME`).
    pub home: Option<PathBuf>,
    /// Which ssh-agent to use.
    pub agent: AgentSocket,
    /// Overrides the ssh config's `ConnectTimeout` (default 20 seconds).
    pub connect_timeout: Option<Duration>,
    /// Longest a single network operation may wait once connected.
    pub io_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        use std::io::IsTerminal;
        ConnectOptions {
            accept_new: false,
            identity: None,
            interactive: std::io::stdin().is_terminal(),
            home: None,
            agent: AgentSocket::FromEnv,
            connect_timeout: None,
            io_timeout: Duration::from_secs(120),
        }
    }
}

impl Location {
    /// Open a transport for this location. Can be called any number of
    /// times, each call opening an independent connection.
    pub fn connect(&self, opts: &ConnectOptions) -> Result<Box<dyn Transport>, TransportError> {
        match self {
            Location::Local(p) => Ok(Box::new(LocalTransport::new(p, opts.home.as_deref())?)),
            Location::Sftp(t) => Ok(Box::new(SftpTransport::connect(t, opts)?)),
        }
    }
}

/// Check a transport path; `allow_root` lets `""` through.
pub(crate) fn check_path(path: &str, allow_root: bool) -> Result<(), TransportError> {
    if path.is_empty() {
        return if allow_root {
            Ok(())
        } else {
            Err(TransportError::BadPath(path.to_owned()))
        };
    }
    let bad = path.contains(['\0', '\\'])
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        Err(TransportError::BadPath(path.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_accepts_clean_relative_paths() {
        for p in ["a", "a/b", "a b/ç ü", "x.tmp", "..a", "a..", ".hidden"] {
            assert!(check_path(p, false).is_ok(), "{p:?}");
        }
        assert!(check_path("", true).is_ok());
    }

    #[test]
    fn check_path_refuses_escapes_and_odd_spellings() {
        for p in [
            "", "/a", "a/", "a//b", "..", "a/../b", ".", "./a", "a/.", "a\\b", "a\0b",
        ] {
            assert!(
                matches!(check_path(p, false), Err(TransportError::BadPath(_))),
                "{p:?}"
            );
        }
    }

    #[test]
    fn messages_are_one_line() {
        let e = TransportError::HostKeyUnknown {
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
        let e = TransportError::AuthFailed {
            user: "u".into(),
            host: "h".into(),
            tried: vec!["a".into(), "b".into()],
        };
        assert!(e.to_string().contains("(tried: a, b)"));
    }
}
