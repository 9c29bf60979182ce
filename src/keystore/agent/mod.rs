//! The vault agent: your unlocked identity, kept by a small process for a
//! while, so that one passphrase serves many commands.
//!
//! Like `ssh-agent`, the agent never hands out a secret key. A command
//! sends it a recipient stanza and gets back the file key if one of the
//! held identities opens it ([`client::AgentIdentity`] is an
//! [`crate::crypto::Identity`] like any other, so every open path takes it
//! unchanged). The one other thing it answers with is each key's cache
//! secret, a one-way derivation of the key
//! ([`crate::crypto::primitives::cache_secret_of`]), which keys the local
//! remote cache.
//!
//! What protects it (the threat model is in SECURITY.md):
//! - the socket is `$XDG_RUNTIME_DIR/vault/agent-<keystore id>.sock` (or,
//!   without `XDG_RUNTIME_DIR`, in the keystore folder), in a folder of mode
//!   0700 that the user owns, with mode 0600; the agent also checks each
//!   peer's uid (`SO_PEERCRED`) and the client checks the socket's owner;
//! - the identity file's decrypted text is held in one buffer locked into
//!   RAM (`mlock`, never swapped) and wiped on exit; keys are parsed from it
//!   for each request and wiped after;
//! - the process is not dumpable (no core file, no same-user ptrace or
//!   `/proc/PID/mem`), as every vault process;
//! - it stops, wiping the buffer, when its time is up, on `vault lock`, or
//!   when its socket is removed or replaced;
//! - a client uses an agent only if it holds the keys the keystore's
//!   `identity.pub` lists, in order; an agent holding other keys (the
//!   identity was rotated) is told to stop.
//!
//! Layering: part of the keystore layer; spawning the agent process is the
//! command line's job (`src/cli/agent.rs`), serving is [`server`].

pub mod client;
pub mod locked;
pub mod protocol;
pub mod server;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Keystore;

/// Errors of the agent, on either side of the socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// An I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The peer sent something that is not a message of this protocol.
    #[error("the vault agent's socket carried an unexpected message ({0})")]
    Protocol(&'static str),
    /// A folder or socket others could use.
    #[error("{} is not safe for the agent's socket: {why}", path.display())]
    Unsafe {
        /// The folder or socket.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// `vault agent` when one is running already.
    #[error("an agent is already running on {}", .0.display())]
    AlreadyRunning(PathBuf),
    /// The keystore holds identities the agent cannot keep.
    #[error("the agent keeps only X25519 and post-quantum keys; the keystore holds another kind")]
    UnsupportedIdentity,
}

impl AgentError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentError {
        let context = context.into();
        move |source| AgentError::Io { context, source }
    }
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

/// The folder the socket lives in: `$XDG_RUNTIME_DIR/vault` (a per-user
/// tmpfs, gone at logout), else the keystore folder itself.
fn socket_dir(ks: &Keystore) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(run) => PathBuf::from(run).join("vault"),
        None => ks.dir().to_path_buf(),
    }
}

/// The agent's socket for the keystore `ks`: one agent per keystore, named
/// after its folder's absolute path.
pub fn socket_path(ks: &Keystore) -> PathBuf {
    let dir = std::fs::canonicalize(ks.dir())
        .or_else(|_| std::path::absolute(ks.dir()))
        .unwrap_or_else(|_| ks.dir().to_path_buf());
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    socket_dir(ks).join(format!("agent-{id}.sock"))
}

/// Make (if needed) and check the socket's folder: owned by us, mode 0700
/// or stricter.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), AgentError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(AgentError::io(format!("creating {}", dir.display())))?;
    check_private(dir, true)
}

/// Refuse a folder or socket that is not ours alone.
pub(crate) fn check_private(path: &Path, is_dir: bool) -> Result<(), AgentError> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(AgentError::io(format!("checking {}", path.display())))?;
    let unsafe_because = |why: String| AgentError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    if meta.uid() != euid() {
        return Err(unsafe_because(format!("it belongs to uid {}", meta.uid())));
    }
    if is_dir && !meta.is_dir() {
        return Err(unsafe_because("it is not a folder".into()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_because(format!(
            "others have access (mode {mode:04o})"
        )));
    }
    Ok(())
}

/// The keystore's identities as the running agent holds them, if an agent
/// holds exactly the keys `identity.pub` lists; `None` if no agent runs.
/// An agent holding other keys is told to stop, and `None` returned.
pub fn identities(
    ks: &Keystore,
) -> Result<Option<Vec<Box<dyn crate::crypto::Identity>>>, super::KeystoreError> {
    let Some(agent) = client::Agent::connect(ks)? else {
        return Ok(None);
    };
    let wanted = ks.public_keys()?;
    if agent.public_keys() != wanted {
        let _ = agent.lock();
        return Ok(None);
    }
    Ok(Some(agent.identities()))
}
