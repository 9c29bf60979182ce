//! The agent process's side: bind the socket, answer stanzas, stop on
//! time, on `vault lock`, or when the socket is taken away.
//!
//! One thread per connection (a long `push` keeps its connection open
//! while other commands come and go); the identity text sits behind one
//! mutex, and each request parses the keys it needs from it and drops
//! them (wiping) before answering.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::locked::LockedText;
use super::protocol::{self, KeyInfo, Request, Response, Status};
use super::{AgentError, check_private, euid, prepare_dir, socket_path};
use crate::crypto::{CryptoError, FileKey, Identity, age, header};
use crate::keystore::{Keystore, identity_file, public_of};

/// How often the agent checks its time and its socket.
const TICK: Duration = Duration::from_millis(250);

struct Shared {
    text: Mutex<Option<LockedText>>,
    origin: PathBuf,
    publics: Vec<String>,
    cache_secrets: Vec<Zeroizing<Vec<u8>>>,
    memory_locked: bool,
    deadline: Instant,
    socket: PathBuf,
    inode: (u64, u64),
}

impl Shared {
    /// Wipe the keys, take the socket away (if it is still ours) and end
    /// the process.
    fn stop(&self) -> ! {
        *self.text.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if socket_inode(&self.socket) == Some(self.inode) {
            let _ = std::fs::remove_file(&self.socket);
        }
        std::process::exit(0)
    }

    fn with_ids(
        &self,
        key: u32,
        f: impl FnOnce(&dyn Identity) -> Result<Option<FileKey>, CryptoError>,
    ) -> Response {
        let guard = self.text.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = guard.as_ref() else {
            return Response::Refused("the agent is stopping".into());
        };
        let ids = match identity_file::parse(text.as_str(), &self.origin) {
            Ok(ids) => ids,
            Err(_) => return Response::Refused("the held identity does not parse".into()),
        };
        let Some(id) = ids.get(key as usize) else {
            return Response::Refused(format!("no key number {key}"));
        };
        match f(id.as_ref()) {
            Ok(k) => Response::FileKey(k.map(|k| Zeroizing::new(k.as_bytes().to_vec()))),
            Err(e) => Response::Refused(e.to_string()),
        }
    }

    fn status(&self) -> Status {
        Status {
            version: protocol::VERSION,
            pid: std::process::id(),
            keys: self
                .publics
                .iter()
                .zip(&self.cache_secrets)
                .map(|(p, s)| KeyInfo {
                    public: p.clone(),
                    cache_secret: s.clone(),
                })
                .collect(),
            seconds_left: self
                .deadline
                .saturating_duration_since(Instant::now())
                .as_secs(),
            memory_locked: self.memory_locked,
        }
    }
}

fn socket_inode(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// The uid of the process at the other end of `s` (`SO_PEERCRED`).
fn peer_uid(s: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given, and
    // the descriptor is the open socket `s` owns.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Hold `text` (the identity file's decrypted text) for the keystore `ks`
/// for `ttl`: bind the socket, call `ready` once others can connect, then
/// serve until stopped. Returns only on an error before `ready`.
pub fn serve(
    ks: &Keystore,
    text: LockedText,
    ttl: Duration,
    ready: impl FnOnce(&Path),
) -> Result<(), AgentError> {
    let origin = ks.identity_path();
    let ids = identity_file::parse(text.as_str(), &origin)
        .map_err(|_| AgentError::Protocol("the identity text does not parse"))?;
    let mut cache_secrets = Vec::new();
    for id in &ids {
        cache_secrets.push(id.cache_secret().ok_or(AgentError::UnsupportedIdentity)?);
    }
    drop(ids);
    let publics: Vec<String> = text
        .as_str()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| public_of(l).ok_or(AgentError::UnsupportedIdentity))
        .collect::<Result<_, _>>()?;

    let socket = socket_path(ks);
    let dir = socket.parent().expect("a socket path has a folder");
    prepare_dir(dir)?;
    if socket_inode(&socket).is_some() {
        if UnixStream::connect(&socket).is_ok() {
            return Err(AgentError::AlreadyRunning(socket));
        }
        // A socket left by an agent that was killed.
        std::fs::remove_file(&socket)
            .map_err(AgentError::io(format!("removing {}", socket.display())))?;
    }
    let listener = UnixListener::bind(&socket)
        .map_err(AgentError::io(format!("binding {}", socket.display())))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(AgentError::io(format!("protecting {}", socket.display())))?;
    check_private(&socket, false)?;
    let inode = socket_inode(&socket).ok_or(AgentError::Protocol("the socket vanished"))?;

    let shared = Arc::new(Shared {
        memory_locked: text.locked(),
        text: Mutex::new(Some(text)),
        origin,
        publics,
        cache_secrets,
        deadline: Instant::now() + ttl,
        socket: socket.clone(),
        inode,
    });
    {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(TICK);
                if Instant::now() >= shared.deadline || socket_inode(&shared.socket) != Some(inode)
                {
                    shared.stop();
                }
            }
        });
    }
    ready(&socket);
    let me = euid();
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        if peer_uid(&conn).ok() != Some(me) {
            continue;
        }
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || handle(conn, &shared));
    }
    shared.stop()
}

/// Answer one client until it hangs up.
fn handle(mut conn: UnixStream, shared: &Shared) {
    loop {
        let req = match protocol::read_msg::<Request>(&mut conn) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        let resp = match req {
            Request::Hello => Response::Hello(shared.status()),
            Request::UnwrapVault { key, kind, body } => {
                let stanza = header::Stanza { kind, body };
                shared.with_ids(key, |id| id.unwrap_vault(&stanza))
            }
            Request::UnwrapAge { key, stanzas } => {
                let stanzas: Vec<age::Stanza> = stanzas
                    .into_iter()
                    .map(|(args, body)| age::Stanza { args, body })
                    .collect();
                shared.with_ids(key, |id| id.unwrap_age_all(&stanzas))
            }
            Request::Lock => {
                let _ = protocol::write_msg(&mut conn, &Response::Locked);
                shared.stop();
            }
        };
        if protocol::write_msg(&mut conn, &resp).is_err() {
            return;
        }
    }
}
