//! One SSH session, up to authentication, over whatever carries it: a TCP
//! connection, a `ProxyCommand`, or a channel through the `ProxyJump`
//! host before it (itself opened here first, recursively).
//!
//! Each host on the way is handled alike, by its own settings: algorithm
//! orders, host-key check (`host_key.rs`), authentication (`auth.rs`).

use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

use ssh2::Session;

use super::auth::{self, Credential};
use super::config::Proxy;
use super::connect::{DEFAULT_KEEPALIVE_SECS, Params, millis, set_methods, tcp_connect};
use super::error::SshError;
use super::host_key::{set_host_key_algorithms, verify_host_key};
use super::known_hosts;
use super::proxy::{self, Carrier, ProxyGuard};
use super::status::{handshake_error, session_error};
use crate::transport::error::TransportError;

/// What authenticated each host of a connection, to reuse on the next
/// connection to the same place without asking again.
pub(crate) struct Credentials {
    pub this: Credential,
    /// The `ProxyJump` host's, and so on down the chain.
    pub via: Option<Box<Credentials>>,
}

/// An authenticated session with what keeps it carried.
pub(crate) struct Connected {
    pub sess: Session,
    /// The socket the session runs on (owned by the session).
    pub fd: RawFd,
    pub guard: ProxyGuard,
    pub creds: Credentials,
}

/// The name `p`'s host is filed under in known_hosts, and the files.
fn known_hosts_of(p: &Params) -> (String, Vec<PathBuf>) {
    let name = match &p.cfg.host_key_alias {
        Some(a) => a.to_ascii_lowercase(),
        None => known_hosts::lookup_name(&p.cfg.host_name, p.cfg.port),
    };
    let files = p
        .cfg
        .user_known_hosts
        .iter()
        .chain(p.cfg.global_known_hosts.iter())
        .cloned()
        .collect();
    (name, files)
}

/// Connect to `p`'s host and authenticate, trying `hint` first.
pub(crate) fn connect(p: &Params, hint: Option<&Credentials>) -> Result<Connected, TransportError> {
    let host = p.cfg.alias.as_str();
    let (carrier, mut guard, via) = match (&p.via, &p.cfg.proxy) {
        (Some(jump), _) => {
            let j = connect(jump, hint.and_then(|h| h.via.as_deref()))?;
            let keepalive = jump
                .cfg
                .server_alive_interval
                .filter(|&s| s > 0)
                .unwrap_or(DEFAULT_KEEPALIVE_SECS);
            let (c, g) = proxy::through_jump(
                j.sess,
                j.fd,
                j.guard,
                &jump.cfg.alias,
                &p.cfg.host_name,
                p.cfg.port,
                keepalive,
            )?;
            (c, g, Some(Box::new(j.creds)))
        }
        (None, Proxy::Command(cmd)) => {
            let (c, g) = proxy::command(host, cmd)?;
            (c, g, None)
        }
        (None, _) => (Carrier::Tcp(tcp_connect(p)?), ProxyGuard::None, None),
    };
    let fd = carrier.as_raw_fd();
    let mut sess = Session::new().map_err(|e| session_error(host, &e, "starting"))?;
    sess.set_tcp_stream(carrier);
    sess.set_blocking(true);
    sess.set_timeout(millis(p.connect_timeout));
    set_methods(&sess, p)?;
    let (kh_name, kh_files) = known_hosts_of(p);
    set_host_key_algorithms(&sess, p, &kh_files, &kh_name)?;
    if let Err(e) = sess.handshake() {
        if let (ProxyGuard::Command(child), Proxy::Command(cmd)) = (&mut guard, &p.cfg.proxy)
            && let Some(status) = exited(child)
        {
            return Err(SshError::Proxy {
                host: host.to_owned(),
                reason: format!(
                    "ProxyCommand {cmd:?} ended ({status}) before the SSH greeting; \
                     its own messages, if any, are above"
                ),
            }
            .into());
        }
        return Err(handshake_error(host, &e));
    }
    verify_host_key(&sess, p, &kh_files, &kh_name)?;
    let this = auth::authenticate(&sess, p, hint.map(|h| &h.this))?;
    Ok(Connected {
        sess,
        fd,
        guard,
        creds: Credentials { this, via },
    })
}

/// The exit status of a proxy command whose connection just ended, if it
/// ended (waiting a moment: its socket closes just before it is reaped).
fn exited(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => return None,
        }
    }
}
