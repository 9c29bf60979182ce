//! The command's side: find the agent, check it, and use its keys as
//! [`Identity`] values.

use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zeroize::Zeroizing;

use super::protocol::{self, Request, Response, Status};
use super::{AgentError, check_private, socket_path};
use crate::crypto::{CryptoError, FileKey, Identity, age, header};
use crate::keystore::Keystore;

/// How long a command waits for one answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// A connection to a running agent.
pub struct Agent {
    conn: Arc<Mutex<UnixStream>>,
    status: Status,
}

impl Agent {
    /// Connect to the agent of `ks` and read its hello; `None` if no agent
    /// runs (no socket, or nobody listening on it).
    pub fn connect(ks: &Keystore) -> Result<Option<Agent>, AgentError> {
        let path = socket_path(ks);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        check_private(path.parent().expect("a socket path has a folder"), true)?;
        check_private(&path, false)?;
        let mut conn = match UnixStream::connect(&path) {
            Ok(c) => c,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(AgentError::io(format!("connecting to {}", path.display()))(
                    e,
                ));
            }
        };
        conn.set_read_timeout(Some(ANSWER_WITHIN))
            .map_err(AgentError::io("setting a timeout on the agent's socket"))?;
        protocol::write_msg(&mut conn, &Request::Hello)?;
        let status = match protocol::read_msg::<Response>(&mut conn)? {
            Some(Response::Hello(s)) if s.version == protocol::VERSION => s,
            // The agent stopped between connect and hello.
            None => return Ok(None),
            Some(_) => return Err(AgentError::Protocol("no hello")),
        };
        Ok(Some(Agent {
            conn: Arc::new(Mutex::new(conn)),
            status,
        }))
    }

    /// The public keys the agent holds, in order.
    pub fn public_keys(&self) -> Vec<String> {
        self.status.keys.iter().map(|k| k.public.clone()).collect()
    }

    /// Seconds until it forgets them.
    pub fn seconds_left(&self) -> u64 {
        self.status.seconds_left
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.status.pid
    }

    /// Whether it holds the keys in locked memory.
    pub fn memory_locked(&self) -> bool {
        self.status.memory_locked
    }

    /// One identity for each key held.
    pub fn identities(&self) -> Vec<Box<dyn Identity>> {
        self.status
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Box::new(AgentIdentity {
                    conn: Arc::clone(&self.conn),
                    key: i as u32,
                    cache_secret: k.cache_secret.clone(),
                }) as Box<dyn Identity>
            })
            .collect()
    }

    /// Tell the agent to forget its keys and stop.
    pub fn lock(self) -> Result<(), AgentError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        protocol::write_msg(&mut *conn, &Request::Lock)?;
        match protocol::read_msg::<Response>(&mut *conn)? {
            Some(Response::Locked) | None => Ok(()),
            Some(_) => Err(AgentError::Protocol("no answer to lock")),
        }
    }
}

/// One key held by the agent.
struct AgentIdentity {
    conn: Arc<Mutex<UnixStream>>,
    key: u32,
    cache_secret: Zeroizing<Vec<u8>>,
}

impl AgentIdentity {
    fn ask(&self, req: &Request) -> Result<Option<FileKey>, CryptoError> {
        let stopped = |e: AgentError| {
            CryptoError::IdentityHolder(format!(
                "the vault agent stopped answering ({e}); run the command again"
            ))
        };
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        protocol::write_msg(&mut *conn, req).map_err(stopped)?;
        match protocol::read_msg::<Response>(&mut *conn).map_err(stopped)? {
            Some(Response::FileKey(None)) => Ok(None),
            Some(Response::FileKey(Some(k))) => {
                FileKey::from_bytes(&k).map(Some).ok_or_else(|| {
                    CryptoError::IdentityHolder("the vault agent sent a bad key".into())
                })
            }
            Some(Response::Refused(why)) => Err(CryptoError::IdentityHolder(format!(
                "the vault agent refused a stanza: {why}"
            ))),
            Some(_) => Err(stopped(AgentError::Protocol("unexpected answer"))),
            None => Err(stopped(AgentError::Protocol("it hung up"))),
        }
    }
}

impl Identity for AgentIdentity {
    fn unwrap_vault(&self, s: &header::Stanza) -> Result<Option<FileKey>, CryptoError> {
        self.ask(&Request::UnwrapVault {
            key: self.key,
            kind: s.kind,
            body: s.body.clone(),
        })
    }

    fn unwrap_age(&self, s: &age::Stanza) -> Result<Option<FileKey>, CryptoError> {
        self.unwrap_age_all(std::slice::from_ref(s))
    }

    fn unwrap_age_all(&self, stanzas: &[age::Stanza]) -> Result<Option<FileKey>, CryptoError> {
        self.ask(&Request::UnwrapAge {
            key: self.key,
            stanzas: stanzas
                .iter()
                .map(|s| (s.args.clone(), s.body.clone()))
                .collect(),
        })
    }

    fn cache_secret(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(self.cache_secret.clone())
    }
}
