//! What carries a connection's SSH bytes when it does not go straight over
//! TCP: a `ProxyCommand`'s standard input and output, or a `direct-tcpip`
//! channel through a `ProxyJump` host (as `ssh -J` does).
//!
//! libssh2 reads and writes its socket with `send`/`recv`, so it needs a
//! socket, not a pipe: each proxied connection gets a Unix socket pair.
//! - `ProxyCommand`: the command runs under `/bin/sh -c 'exec ...'` (as
//!   ssh does) with one end as its standard input and output and vault's
//!   standard error as its own; libssh2 talks on the other end.
//! - `ProxyJump`: vault connects to the jump host itself (full host-key
//!   check and authentication, by that host's own config), opens a
//!   `direct-tcpip` channel to the target's `HostName`:`Port` (resolved by
//!   the jump host, as with `ssh -J`), and a thread copies bytes between
//!   the channel and one end of the pair, in libssh2's non-blocking mode,
//!   waiting in `poll(2)` on both sockets and sending the jump host's
//!   keepalives. Chains nest: each hop is reached through the one before.
//!
//! The [`ProxyGuard`] keeps the command or the thread alive as long as the
//! session it carries; dropping it (after the session) ends them.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, Channel, Session};

use super::error::SshError;
use crate::transport::error::TransportError;

/// The socket a session runs on.
pub(crate) enum Carrier {
    Tcp(TcpStream),
    Local(UnixStream),
}

impl AsRawFd for Carrier {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Carrier::Tcp(s) => s.as_raw_fd(),
            Carrier::Local(s) => s.as_raw_fd(),
        }
    }
}

/// What keeps a proxied connection's other end alive.
pub(crate) enum ProxyGuard {
    None,
    Command(Child),
    Jump(Option<JoinHandle<()>>),
}

impl Drop for ProxyGuard {
    fn drop(&mut self) {
        match self {
            ProxyGuard::None => {}
            ProxyGuard::Command(child) => {
                // The session is gone, so the command has seen the end of
                // its input; give it a moment, then stop it.
                let deadline = Instant::now() + Duration::from_millis(500);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            ProxyGuard::Jump(handle) => {
                // The thread ends once the session's socket is closed.
                if let Some(h) = handle.take() {
                    let _ = h.join();
                }
            }
        }
    }
}

/// Start `ProxyCommand` `command` for `host`.
pub(crate) fn command(host: &str, command: &str) -> Result<(Carrier, ProxyGuard), TransportError> {
    let fail = |reason: String| SshError::Proxy {
        host: host.to_owned(),
        reason,
    };
    let (ours, theirs) = UnixStream::pair().map_err(|e| fail(format!("socketpair: {e}")))?;
    let theirs = OwnedFd::from(theirs);
    let input = theirs
        .try_clone()
        .map_err(|e| fail(format!("socketpair: {e}")))?;
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::from(input))
        .stdout(Stdio::from(theirs))
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| fail(format!("cannot run ProxyCommand {command:?}: {e}")))?;
    Ok((Carrier::Local(ours), ProxyGuard::Command(child)))
}

/// Open a `direct-tcpip` channel from the authenticated jump session
/// `sess` (named `jump`) to `host`:`port`, and serve it on a local socket.
/// `jump_guard` (what carries the jump session itself) lives as long as
/// the thread.
pub(crate) fn through_jump(
    sess: Session,
    jump_fd: RawFd,
    jump_guard: ProxyGuard,
    jump: &str,
    host: &str,
    port: u16,
    keepalive: u32,
) -> Result<(Carrier, ProxyGuard), TransportError> {
    let channel = sess
        .channel_direct_tcpip(host, port, None)
        .map_err(|e| SshError::Proxy {
            host: host.to_owned(),
            reason: format!(
                "the jump host {jump} did not open a connection to {host} port {port} ({}); \
                 does it allow TCP forwarding, and can it reach that address?",
                e.message()
            ),
        })?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| SshError::Proxy {
        host: host.to_owned(),
        reason: format!("socketpair: {e}"),
    })?;
    let handle = std::thread::Builder::new()
        .name(format!("vault-jump-{jump}"))
        .spawn(move || {
            let _guard = jump_guard;
            pump(&sess, channel, theirs, jump_fd, keepalive);
            sess.set_blocking(true);
            sess.set_timeout(2000);
            let _ = sess.disconnect(None, "closed by vault", None);
        })
        .map_err(|e| SshError::Proxy {
            host: host.to_owned(),
            reason: format!("cannot start a thread: {e}"),
        })?;
    Ok((Carrier::Local(ours), ProxyGuard::Jump(Some(handle))))
}

/// Copy between `channel` and `local` until either side ends.
fn pump(
    sess: &Session,
    mut channel: Channel,
    mut local: UnixStream,
    jump_fd: RawFd,
    keepalive: u32,
) {
    const BUF: usize = 64 * 1024;
    sess.set_blocking(false);
    if local.set_nonblocking(true).is_err() {
        return;
    }
    let mut to_local: Vec<u8> = Vec::with_capacity(BUF);
    let mut to_remote: Vec<u8> = Vec::with_capacity(BUF);
    let mut buf = vec![0u8; BUF];
    let (mut local_eof, mut eof_sent) = (false, false);
    let mut next_keepalive = Instant::now() + Duration::from_secs(u64::from(keepalive));
    loop {
        let mut progress = false;
        // Local -> jump host.
        if to_remote.is_empty() && !local_eof {
            match local.read(&mut buf) {
                Ok(0) => local_eof = true,
                Ok(n) => {
                    to_remote.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        if !to_remote.is_empty() {
            match channel.write(&to_remote) {
                Ok(n) => {
                    to_remote.drain(..n);
                    progress = n > 0 || progress;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        // Jump host -> local, last: the libssh2 calls above may have
        // queued channel data that poll(2) on the socket would not show.
        if to_local.is_empty() {
            match channel.read(&mut buf) {
                Ok(0) if channel.eof() => return,
                Ok(0) => {}
                Ok(n) => {
                    to_local.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        if !to_local.is_empty() {
            match local.write(&to_local) {
                Ok(n) => {
                    to_local.drain(..n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        if local_eof && to_remote.is_empty() {
            if !eof_sent {
                match channel.send_eof() {
                    Ok(()) => eof_sent = true,
                    Err(e)
                        if e.code()
                            == ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_EAGAIN) => {}
                    Err(_) => return,
                }
            }
            if eof_sent {
                // The session on the local end is gone: nothing more to carry.
                return;
            }
        }
        if Instant::now() >= next_keepalive {
            let _ = sess.keepalive_send();
            next_keepalive = Instant::now() + Duration::from_secs(u64::from(keepalive));
        }
        if !progress {
            wait(sess, &local, jump_fd, &to_local, &to_remote, local_eof);
        }
    }
}

/// Sleep in `poll(2)` until either socket can make progress (or a second
/// passes, for keepalives).
fn wait(
    sess: &Session,
    local: &UnixStream,
    jump_fd: RawFd,
    to_local: &[u8],
    to_remote: &[u8],
    local_eof: bool,
) {
    let mut local_events = 0;
    if to_remote.is_empty() && !local_eof {
        local_events |= libc::POLLIN;
    }
    if !to_local.is_empty() {
        local_events |= libc::POLLOUT;
    }
    let mut jump_events = libc::POLLIN;
    if matches!(
        sess.block_directions(),
        BlockDirections::Outbound | BlockDirections::Both
    ) {
        jump_events |= libc::POLLOUT;
    }
    let mut fds = [
        libc::pollfd {
            fd: local.as_raw_fd(),
            events: local_events,
            revents: 0,
        },
        libc::pollfd {
            fd: jump_fd,
            events: jump_events,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a valid array of two pollfd for the whole call, and
    // both descriptors stay open (owned by `local` and by the session).
    #[allow(unsafe_code)]
    unsafe {
        libc::poll(fds.as_mut_ptr(), 2, 1000);
    }
}
