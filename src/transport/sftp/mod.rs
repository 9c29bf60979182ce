//! The SFTP backend, over libssh2 (`ssh2` crate), behaving like OpenSSH's
//! own client where it matters for safety and usability.
//!
//! Connecting ([`SftpTransport::connect`]):
//! 1. `~/.ssh/config` is applied to the host (`config.rs`);
//! 2. TCP connect to each resolved address with a timeout (`ConnectTimeout`,
//!    default 20 s), `TCP_NODELAY`;
//! 3. SSH handshake preferring `chacha20-poly1305@openssh.com` (libssh2's
//!    AES-GCM calls OpenSSL once per 16-byte block and is about 40% slower
//!    here; its ChaCha20 and Poly1305 are replaced by RustCrypto's in
//!    `ssh_cipher.rs`), unless the config's `Ciphers` says otherwise, and asking first
//!    for host-key types already known for the host;
//! 4. host-key verification against known_hosts (`known_hosts.rs`): unknown
//!    hosts are refused unless accept-new was asked for (then recorded with
//!    a notice on stderr); changed keys are always refused;
//! 5. authentication in OpenSSH's order (`auth.rs`);
//! 6. the SFTP subsystem. The session stays blocking, with a per-call
//!    timeout (`io_timeout`, libssh2 counts it over a whole API call) and
//!    keepalives sent between operations (`ServerAliveInterval`, default
//!    15 s).
//!
//! Data path: libssh2 pipelines SFTP requests only within one call, so
//! writes are gathered into [`WRITE_CHUNK`]-byte calls and reads are made
//! [`READ_CHUNK`] bytes at a time; see those constants for the measured
//! figures. Exclusive creates use `O_EXCL`; `rename` without replace uses
//! plain SFTP `RENAME`, which OpenSSH implements with `link(2)` + `unlink(2)`
//! (atomic no-clobber); with replace it uses `posix-rename@openssh.com`
//! (`ffi.rs`), falling back to remove + rename (not atomic: for a
//! moment the target is absent) only if the server lacks the extension.
//! `finish` sends `fsync@openssh.com` where offered, checks the size, and
//! closes.
//!
//! Error classes: OpenSSH's sftp-server answers `SSH_FX_FAILURE` for most
//! errno values (EEXIST, ENOSPC, EDQUOT included), and libssh2 drops the
//! server's message text, so a failure is re-examined: a `stat` tells
//! "already exists", `statvfs@openssh.com` tells "disk full".

pub(crate) mod auth;
pub(crate) mod config;
mod ffi;
pub(crate) mod known_hosts;
mod ssh_cipher;

use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libssh2_sys as raw;
use ssh2::{ErrorCode, FileStat, MethodType, OpenFlags, OpenType, RenameFlags, Session, Sftp};

use self::auth::Credential;
use self::config::{HostConfig, Strict};
use self::ffi::{PosixRename, RenameError};
use self::known_hosts::{ServerKey, Verdict};
use super::{
    AgentSocket, ConnectOptions, Entry, RemoteWrite, SftpTarget, Transport, TransportError,
    check_path,
};

/// Bytes gathered before one SFTP write call. libssh2 sends one call as
/// 30000-byte packets without waiting for each acknowledgement, so bigger
/// calls keep the pipe full.
///
/// Measured with `benches/sftp_calls.rs` (`cargo bench --bench sftp_calls`, loopback to OpenSSH
/// 9.2 internal-sftp, chacha20-poly1305, 256 MiB, median of 3, two runs on
/// a shared 2-core machine, so noisy): 256 KiB calls 269-288 MB/s, 1 MiB
/// 312-336, 2 MiB 323-355, 4 MiB 320-390, 8 MiB 342-425. The gain flattens
/// past 2-4 MiB while memory per upload keeps growing, so 4 MiB. Through
/// this writer, fed in 64 KiB pieces: 377-424 MB/s.
pub const WRITE_CHUNK: usize = 4 << 20;

/// Bytes gathered per SFTP write call by a range writer
/// ([`Transport::write_at`]). Range writers work side by side on several
/// connections, so each needs less pipelining to keep the link busy, and
/// memory grows with connections times call size (libssh2 keeps a copy of
/// every unacknowledged byte of a call).
pub const RANGE_WRITE_CHUNK: usize = 1 << 20;

/// Bytes asked for per SFTP read call (libssh2 issues read-ahead requests
/// for the whole buffer). Measured as above: 256 KiB calls 83-86 MB/s (!),
/// 1 MiB 445-458, 4 MiB 389-392; through this reader, read in 64 KiB
/// pieces, 522-531 MB/s.
pub const READ_CHUNK: usize = 1 << 20;

/// The cipher order asked for unless `Ciphers` is configured.
const DEFAULT_CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,\
                               aes128-gcm@openssh.com,aes256-gcm@openssh.com";

/// Rename flags that never ask the server to replace the target.
const NO_OVERWRITE: RenameFlags = RenameFlags::ATOMIC.union(RenameFlags::NATIVE);

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const DEFAULT_KEEPALIVE_SECS: u32 = 15;

/// Everything needed to open (and re-open) a connection.
pub(crate) struct Params {
    pub cfg: HostConfig,
    pub home: PathBuf,
    pub identity: Option<PathBuf>,
    pub agent: AgentSocket,
    pub interactive: bool,
    pub strict: Strict,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    /// The vault root on the server: `""`, `/abs` or `rel`.
    pub root: String,
}

/// A vault on an SFTP server, over one SSH connection.
pub struct SftpTransport {
    // Field order is drop order: the private SFTP channel and the SFTP
    // subsystem go before the session they live on.
    renamer: Option<PosixRename>,
    sftp: Sftp,
    sess: Session,
    params: Arc<Params>,
    credential: Arc<Credential>,
}

impl std::fmt::Debug for SftpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpTransport")
            .field("location", &self.describe())
            .finish_non_exhaustive()
    }
}

impl SftpTransport {
    /// Connect to `target` (see the module documentation for the steps).
    pub fn connect(target: &SftpTarget, opts: &ConnectOptions) -> Result<Self, TransportError> {
        std::hint::black_box(&ssh_cipher::LINKED);
        let home = match &opts.home {
            Some(h) => h.clone(),
            None => std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| TransportError::BadLocation {
                    input: target.to_string(),
                    reason: "$HOME is not set, so ~/.ssh cannot be found".into(),
                })?,
        };
        let local_user = local_user_name();
        let cfg = config::resolve(
            &home,
            &target.host,
            target.user.as_deref(),
            target.port,
            &local_user,
        )?;
        for (what, value) in [
            ("host name", Some(cfg.host_name.as_str())),
            ("user", Some(cfg.user.as_str())),
            ("HostKeyAlias", cfg.host_key_alias.as_deref()),
        ] {
            if let Some(v) = value
                && (v.is_empty()
                    || v.starts_with('-')
                    || v.chars().any(|c| c.is_control() || c.is_whitespace()))
            {
                return Err(TransportError::BadLocation {
                    input: target.to_string(),
                    reason: format!("unusable {what} {v:?} after applying ~/.ssh/config"),
                });
            }
        }
        let strict = if opts.accept_new {
            Strict::AcceptNew
        } else {
            cfg.strict.unwrap_or(Strict::Yes)
        };
        let params = Params {
            interactive: opts.interactive && !cfg.batch_mode,
            connect_timeout: opts
                .connect_timeout
                .or(cfg.connect_timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            io_timeout: opts.io_timeout,
            identity: opts.identity.clone(),
            agent: opts.agent.clone(),
            root: target.path.clone(),
            strict,
            home,
            cfg,
        };
        Self::open(Arc::new(params), None)
    }

    fn open(params: Arc<Params>, hint: Option<&Credential>) -> Result<Self, TransportError> {
        let p = &*params;
        let host = p.cfg.alias.as_str();
        let tcp = tcp_connect(p)?;
        let mut sess = Session::new().map_err(|e| session_error(host, &e, "starting"))?;
        sess.set_tcp_stream(tcp);
        sess.set_blocking(true);
        sess.set_timeout(millis(p.connect_timeout));
        set_ciphers(&sess, p)?;

        let kh_name = match &p.cfg.host_key_alias {
            Some(a) => a.to_ascii_lowercase(),
            None => known_hosts::lookup_name(&p.cfg.host_name, p.cfg.port),
        };
        let kh_files: Vec<PathBuf> = p
            .cfg
            .user_known_hosts
            .iter()
            .chain(p.cfg.global_known_hosts.iter())
            .cloned()
            .collect();
        prefer_known_host_key_types(&sess, &kh_files, &kh_name);

        sess.handshake().map_err(|e| handshake_error(host, &e))?;
        verify_host_key(&sess, p, &kh_files, &kh_name)?;
        let credential = auth::authenticate(&sess, p, hint)?;

        sess.set_timeout(millis(p.io_timeout));
        sess.set_keepalive(
            false,
            p.cfg
                .server_alive_interval
                .filter(|&s| s > 0)
                .unwrap_or(DEFAULT_KEEPALIVE_SECS),
        );
        let sftp = sess.sftp().map_err(|e| TransportError::Protocol {
            host: host.to_owned(),
            detail: format!(
                "cannot start the SFTP subsystem ({}); is SFTP enabled on the server?",
                e.message()
            ),
        })?;
        Ok(SftpTransport {
            renamer: None,
            sftp,
            sess,
            credential: Arc::new(credential),
            params,
        })
    }

    fn host(&self) -> &str {
        &self.params.cfg.alias
    }

    /// The remote path for a vault-relative path.
    fn full(&self, rel: &str) -> String {
        join_remote(&self.params.root, rel)
    }

    /// A path as shown in messages.
    fn shown(&self, full: &str) -> String {
        let c = &self.params.cfg;
        let path = if full.starts_with('/') {
            full.to_owned()
        } else if full == "." {
            "~".to_owned()
        } else {
            format!("~/{full}")
        };
        format!("{}@{}:{}", c.user, c.alias, path)
    }

    /// Send a keepalive if one is due; errors surface in the next call.
    fn tick(&self) {
        let _ = self.sess.keepalive_send();
    }

    fn stat_full(&self, full: &str) -> Result<Option<FileStat>, TransportError> {
        match self.sftp.stat(Path::new(full)) {
            Ok(st) => Ok(Some(st)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.map_err(e, full, "reading metadata of")),
        }
    }

    /// Map an error from an SFTP call on `full`.
    fn map_err(&self, e: ssh2::Error, full: &str, what: &str) -> TransportError {
        map_sftp_error(self.host(), &e, &self.shown(full), what)
    }

    /// After a generic failure, tell "already exists" apart.
    fn failure_or_exists(&self, e: ssh2::Error, full: &str, what: &str) -> TransportError {
        if matches!(e.code(), ErrorCode::SFTP(raw::LIBSSH2_FX_FAILURE))
            && matches!(self.stat_full(full), Ok(Some(_)))
        {
            return TransportError::AlreadyExists(self.shown(full));
        }
        self.map_err(e, full, what)
    }
}

impl Drop for SftpTransport {
    fn drop(&mut self) {
        // Do not hang on a dead server while closing.
        self.sess.set_timeout(2000);
        let _ = self.sess.disconnect(None, "closed by vault", None);
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// `root` joined with a checked relative path.
fn join_remote(root: &str, rel: &str) -> String {
    match (root, rel) {
        ("", "") => ".".to_owned(),
        ("", r) => r.to_owned(),
        ("/", r) => format!("/{r}"),
        (root, "") => root.to_owned(),
        (root, r) => format!("{root}/{r}"),
    }
}

/// The local user name, for `%u` and as the default remote user:
/// `$USER`, `$LOGNAME`, then the passwd entry of this process's uid.
fn local_user_name() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Some(u) = std::env::var_os(var).and_then(|u| u.into_string().ok())
            && !u.is_empty()
        {
            return u;
        }
    }
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if let (Some(uid), Ok(passwd)) = (uid, std::fs::read_to_string("/etc/passwd")) {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid) {
                return f[0].to_owned();
            }
        }
    }
    "root".to_owned()
}

fn tcp_connect(p: &Params) -> Result<TcpStream, TransportError> {
    let host = &p.cfg.alias;
    let name = &p.cfg.host_name;
    let addrs: Vec<_> = (name.as_str(), p.cfg.port)
        .to_socket_addrs()
        .map_err(|e| TransportError::Unreachable {
            host: host.clone(),
            addr: name.clone(),
            reason: format!("cannot resolve the host name: {e}"),
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, p.connect_timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some((addr.to_string(), e)),
        }
    }
    let Some((addr, e)) = last else {
        return Err(TransportError::Unreachable {
            host: host.clone(),
            addr: name.clone(),
            reason: "the name has no address".into(),
        });
    };
    Err(connect_error(host, addr, &e))
}

/// Map a failed TCP connect to its failure class.
fn connect_error(host: &str, addr: String, e: &io::Error) -> TransportError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TransportError::ConnectionRefused {
            host: host.to_owned(),
            addr,
        },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportError::Timeout {
            host: host.to_owned(),
            what: format!("connecting to {addr}"),
        },
        _ => TransportError::Unreachable {
            host: host.to_owned(),
            addr,
            reason: e.to_string(),
        },
    }
}

/// The cipher list from a `Ciphers` value (OpenSSH's `+`, `-`, `^` forms),
/// filtered to what libssh2 supports.
fn cipher_list(config: Option<&str>, supported: &[&str]) -> Vec<String> {
    let default: Vec<String> = DEFAULT_CIPHERS.split(',').map(str::to_owned).collect();
    let list: Vec<String> = match config {
        None => default,
        Some(v) => {
            let items = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
            if let Some(extra) = v.strip_prefix('+') {
                default.into_iter().chain(items(extra)).collect()
            } else if let Some(drop) = v.strip_prefix('-') {
                let drop = items(drop);
                default
                    .into_iter()
                    .filter(|c| !drop.iter().any(|d| config::wildmatch(d, c)))
                    .collect()
            } else if let Some(head) = v.strip_prefix('^') {
                items(head).into_iter().chain(default).collect()
            } else {
                items(v)
            }
        }
    };
    let mut out: Vec<String> = Vec::new();
    for c in list {
        if supported.contains(&c.as_str()) && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn set_ciphers(sess: &Session, p: &Params) -> Result<(), TransportError> {
    let supported = sess.supported_algs(MethodType::CryptCs).unwrap_or_default();
    let list = cipher_list(p.cfg.ciphers.as_deref(), &supported);
    if list.is_empty() {
        return Err(TransportError::Protocol {
            host: p.cfg.alias.clone(),
            detail: format!(
                "none of the configured Ciphers is supported (supported: {})",
                supported.join(",")
            ),
        });
    }
    let prefs = list.join(",");
    for m in [MethodType::CryptCs, MethodType::CryptSc] {
        sess.method_pref(m, &prefs)
            .map_err(|e| session_error(&p.cfg.alias, &e, "setting ciphers"))?;
    }
    Ok(())
}

/// Ask first for host-key algorithms whose keys are already known.
fn prefer_known_host_key_types(sess: &Session, files: &[PathBuf], name: &str) {
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

fn verify_host_key(
    sess: &Session,
    p: &Params,
    files: &[PathBuf],
    name: &str,
) -> Result<(), TransportError> {
    let key = sess
        .host_key()
        .and_then(|(blob, _)| ServerKey::new(blob))
        .ok_or_else(|| TransportError::Protocol {
            host: p.cfg.alias.clone(),
            detail: "the server sent no usable host key".into(),
        })?;
    match known_hosts::check(sess, files, name, &key) {
        Verdict::Known => Ok(()),
        Verdict::Changed { file, line } => Err(TransportError::HostKeyChanged {
            host: name.to_owned(),
            key_type: key.display_type(),
            fingerprint: key.fingerprint(),
            file,
            line,
        }),
        Verdict::Revoked { file, line } => Err(TransportError::HostKeyRevoked {
            host: name.to_owned(),
            fingerprint: key.fingerprint(),
            file,
            line,
        }),
        Verdict::Unknown => match p.strict {
            Strict::Yes => Err(TransportError::HostKeyUnknown {
                host: name.to_owned(),
                user_host: format!("{}@{}", p.cfg.user, p.cfg.alias),
                port: p.cfg.port,
                key_type: key.display_type(),
                fingerprint: key.fingerprint(),
            }),
            Strict::AcceptNew => {
                let Some(file) = p.cfg.user_known_hosts.first() else {
                    return Err(TransportError::HostKeyUnknown {
                        host: name.to_owned(),
                        user_host: format!("{}@{}", p.cfg.user, p.cfg.alias),
                        port: p.cfg.port,
                        key_type: key.display_type(),
                        fingerprint: key.fingerprint(),
                    });
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

/// libssh2 session error codes that mean the connection is gone.
pub(crate) fn is_connection_error(code: i32) -> bool {
    matches!(
        code,
        raw::LIBSSH2_ERROR_SOCKET_SEND
            | raw::LIBSSH2_ERROR_SOCKET_RECV
            | raw::LIBSSH2_ERROR_SOCKET_DISCONNECT
            | raw::LIBSSH2_ERROR_SOCKET_TIMEOUT
            | raw::LIBSSH2_ERROR_BAD_SOCKET
            | raw::LIBSSH2_ERROR_CHANNEL_CLOSED
            | raw::LIBSSH2_ERROR_CHANNEL_EOF_SENT
            | raw::LIBSSH2_ERROR_TIMEOUT
    )
}

/// Map a handshake failure: a peer that hangs up before its SSH greeting
/// is most likely not an SSH server (or refuses this client).
fn handshake_error(host: &str, e: &ssh2::Error) -> TransportError {
    // libssh2 reports this as BANNER_RECV, SOCKET_RECV or
    // SOCKET_DISCONNECT depending on timing; its message names the banner.
    let no_banner = e.code() != ErrorCode::Session(raw::LIBSSH2_ERROR_TIMEOUT)
        && e.message().to_ascii_lowercase().contains("banner");
    if no_banner {
        return TransportError::Protocol {
            host: host.to_owned(),
            detail: format!(
                "no SSH greeting from the server ({}); is this port an SSH server?",
                e.message()
            ),
        };
    }
    session_error(host, e, "during the SSH handshake")
}

/// Map a session-level libssh2 error.
pub(crate) fn session_error(host: &str, e: &ssh2::Error, what: &str) -> TransportError {
    let code = match e.code() {
        ErrorCode::Session(c) => c,
        ErrorCode::SFTP(_) => 0,
    };
    if code == raw::LIBSSH2_ERROR_TIMEOUT {
        TransportError::Timeout {
            host: host.to_owned(),
            what: what.to_owned(),
        }
    } else if is_connection_error(code) {
        TransportError::ConnectionLost {
            host: host.to_owned(),
            detail: format!("{what}: {}", e.message()),
        }
    } else {
        TransportError::Protocol {
            host: host.to_owned(),
            detail: format!("{what}: {}", e.message()),
        }
    }
}

fn is_not_found(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::SFTP(raw::LIBSSH2_FX_NO_SUCH_FILE | raw::LIBSSH2_FX_NO_SUCH_PATH)
    )
}

/// Map an SFTP-level error on `shown` to its failure class.
fn map_sftp_error(host: &str, e: &ssh2::Error, shown: &str, what: &str) -> TransportError {
    match e.code() {
        ErrorCode::SFTP(code) => match code {
            raw::LIBSSH2_FX_NO_SUCH_FILE | raw::LIBSSH2_FX_NO_SUCH_PATH => {
                TransportError::NotFound(shown.to_owned())
            }
            raw::LIBSSH2_FX_PERMISSION_DENIED | raw::LIBSSH2_FX_WRITE_PROTECT => {
                TransportError::PermissionDenied(shown.to_owned())
            }
            raw::LIBSSH2_FX_FILE_ALREADY_EXISTS => TransportError::AlreadyExists(shown.to_owned()),
            raw::LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM | raw::LIBSSH2_FX_QUOTA_EXCEEDED => {
                TransportError::NoSpace(shown.to_owned())
            }
            raw::LIBSSH2_FX_NO_CONNECTION | raw::LIBSSH2_FX_CONNECTION_LOST => {
                TransportError::ConnectionLost {
                    host: host.to_owned(),
                    detail: format!("{what} {shown}"),
                }
            }
            raw::LIBSSH2_FX_FAILURE => TransportError::ServerFailure {
                context: format!("{what} {shown}"),
                detail: "SFTP status 4, a generic failure; OpenSSH reports most errors this way"
                    .into(),
            },
            _ => TransportError::ServerFailure {
                context: format!("{what} {shown}"),
                detail: format!("SFTP status {code}: {}", e.message()),
            },
        },
        ErrorCode::Session(_) => session_error(host, e, &format!("{what} {shown}")),
    }
}

fn entry(name: String, st: &FileStat) -> Entry {
    Entry {
        name,
        size: st.size.unwrap_or(0),
        mtime: st.mtime,
        is_dir: st.is_dir(),
    }
}

impl Transport for SftpTransport {
    fn describe(&self) -> String {
        let c = &self.params.cfg;
        let root = &self.params.root;
        let path = if root.starts_with('/') {
            root.clone()
        } else if root.is_empty() {
            String::new()
        } else {
            format!("/~/{root}")
        };
        let host = if c.alias.contains(':') {
            format!("[{}]", c.alias)
        } else {
            c.alias.clone()
        };
        format!("sftp://{}@{}:{}{}", c.user, host, c.port, path)
    }

    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError> {
        let t = SftpTransport::open(Arc::clone(&self.params), Some(&self.credential))?;
        Ok(Box::new(t))
    }

    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, true)?;
        self.tick();
        let full = self.full(path);
        if let Some(st) = self.stat_full(&full)? {
            return if st.is_dir() {
                Ok(())
            } else {
                Err(TransportError::AlreadyExists(self.shown(&full)))
            };
        }
        // Walk down from the top, creating what is missing.
        let absolute = full.starts_with('/');
        let mut prefix = String::new();
        for (i, part) in full
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .enumerate()
        {
            if absolute || i > 0 {
                prefix.push('/');
            }
            prefix.push_str(part);
            if let Err(e) = self.sftp.mkdir(Path::new(&prefix), 0o700) {
                match self.stat_full(&prefix)? {
                    Some(st) if st.is_dir() => {}
                    Some(_) => return Err(TransportError::AlreadyExists(self.shown(&prefix))),
                    None => return Err(self.map_err(e, &prefix, "creating folder")),
                }
            }
        }
        Ok(())
    }

    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        check_path(dir, true)?;
        self.tick();
        let full = self.full(dir);
        let items = self
            .sftp
            .readdir(Path::new(&full))
            .map_err(|e| self.map_err(e, &full, "listing"))?;
        Ok(items
            .into_iter()
            .filter_map(|(p, st)| {
                let name = p.file_name()?.to_str()?.to_owned();
                Some(entry(name, &st))
            })
            .collect())
    }

    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError> {
        check_path(path, true)?;
        self.tick();
        let full = self.full(path);
        Ok(self.stat_full(&full)?.map(|st| entry(path.to_owned(), &st)))
    }

    fn read(&mut self, path: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        check_path(path, false)?;
        self.tick();
        let full = self.full(path);
        let file = self
            .sftp
            .open(Path::new(&full))
            .map_err(|e| self.map_err(e, &full, "opening"))?;
        Ok(Box::new(SftpReader {
            inner: Box::new(BufReader::with_capacity(READ_CHUNK, file)),
            shown: self.shown(&full),
            host: self.host().to_owned(),
            sess: self.sess.clone(),
        }))
    }

    fn create(&mut self, path: &str) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
        check_path(path, false)?;
        self.tick();
        let full = self.full(path);
        let file = self
            .sftp
            .open_mode(
                Path::new(&full),
                OpenFlags::WRITE | OpenFlags::EXCLUSIVE,
                0o600,
                OpenType::File,
            )
            .map_err(|e| self.failure_or_exists(e, &full, "creating"))?;
        Ok(Box::new(SftpWriter {
            file: Some(file),
            finished: false,
            failed: None,
            buf: Vec::new(),
            written: 0,
            range_from: None,
            call: WRITE_CHUNK,
            shown: self.shown(&full),
            full,
            host: self.host().to_owned(),
            sess: self.sess.clone(),
            sftp: &self.sftp,
        }))
    }

    fn write_at(
        &mut self,
        path: &str,
        offset: u64,
    ) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
        check_path(path, false)?;
        self.tick();
        let full = self.full(path);
        // No CREAT and no TRUNC: the file must exist and other ranges stay.
        let mut file = self
            .sftp
            .open_mode(Path::new(&full), OpenFlags::WRITE, 0o600, OpenType::File)
            .map_err(|e| self.map_err(e, &full, "opening"))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| map_file_io(self.host(), e, &self.shown(&full), "seeking in", None))?;
        Ok(Box::new(SftpWriter {
            file: Some(file),
            finished: false,
            failed: None,
            buf: Vec::new(),
            written: 0,
            range_from: Some(offset),
            call: RANGE_WRITE_CHUNK,
            shown: self.shown(&full),
            full,
            host: self.host().to_owned(),
            sess: self.sess.clone(),
            sftp: &self.sftp,
        }))
    }

    fn read_at(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        check_path(path, false)?;
        self.tick();
        let full = self.full(path);
        let mut file = self
            .sftp
            .open(Path::new(&full))
            .map_err(|e| self.map_err(e, &full, "opening"))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| map_file_io(self.host(), e, &self.shown(&full), "seeking in", None))?;
        Ok(Box::new(SftpReader {
            inner: Box::new(RangeReader {
                file,
                buf: Vec::new(),
                pos: 0,
                end: 0,
                left: len,
            }),
            shown: self.shown(&full),
            host: self.host().to_owned(),
            sess: self.sess.clone(),
        }))
    }

    fn rename(&mut self, from: &str, to: &str, replace: bool) -> Result<(), TransportError> {
        check_path(from, false)?;
        check_path(to, false)?;
        self.tick();
        let (src, dst) = (self.full(from), self.full(to));
        if !replace {
            // Without OVERWRITE: SFTP v3 servers ignore flags anyway, and
            // OpenSSH refuses an existing target (link + unlink).
            return self
                .sftp
                .rename(Path::new(&src), Path::new(&dst), Some(NO_OVERWRITE))
                .map_err(|e| {
                    if matches!(self.stat_full(&src), Ok(None)) {
                        return TransportError::NotFound(self.shown(&src));
                    }
                    self.failure_or_exists(e, &dst, "renaming to")
                });
        }
        if self.renamer.is_none() {
            let r = PosixRename::open(&self.sess)
                .map_err(|e| session_error(self.host(), &e, "opening an SFTP channel"))?;
            self.renamer = Some(r);
        }
        let result = match &self.renamer {
            Some(r) => r.rename(src.as_bytes(), dst.as_bytes()),
            None => Err(RenameError::Unsupported),
        };
        match result {
            Ok(()) => Ok(()),
            Err(RenameError::Status(code)) => Err(map_sftp_error(
                self.host(),
                &ssh2::Error::from_errno(ErrorCode::SFTP(code)),
                &self.shown(&src),
                "renaming",
            )),
            Err(RenameError::Session(e)) => Err(session_error(self.host(), &e, "renaming")),
            Err(RenameError::Unsupported) => {
                // Not atomic: between these two calls `dst` does not exist.
                match self.sftp.unlink(Path::new(&dst)) {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(self.map_err(e, &dst, "removing")),
                }
                self.sftp
                    .rename(Path::new(&src), Path::new(&dst), Some(NO_OVERWRITE))
                    .map_err(|e| self.map_err(e, &src, "renaming"))
            }
        }
    }

    fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, false)?;
        self.tick();
        let full = self.full(path);
        self.sftp
            .unlink(Path::new(&full))
            .map_err(|e| self.map_err(e, &full, "removing"))
    }
}

/// Classify an `io::Error` from an `ssh2::sftp::File`. ssh2 converts its
/// error to `io::Error` keeping only the kind and message, so the SFTP
/// status is recovered from ssh2's fixed message texts, and a session
/// failure (connection lost, timeout) from the session's last error.
fn map_file_io(
    host: &str,
    e: io::Error,
    shown: &str,
    what: &str,
    sess: Option<&Session>,
) -> TransportError {
    let msg = e.to_string();
    match (e.kind(), msg.as_str()) {
        (io::ErrorKind::NotFound, _) => TransportError::NotFound(shown.to_owned()),
        (io::ErrorKind::TimedOut, _) => TransportError::Timeout {
            host: host.to_owned(),
            what: format!("{what} {shown}"),
        },
        (_, "permission denied" | "file is write protected") => {
            TransportError::PermissionDenied(shown.to_owned())
        }
        (_, "no space on filesystem" | "quota exceeded") => {
            TransportError::NoSpace(shown.to_owned())
        }
        (_, "failure") => TransportError::ServerFailure {
            context: format!("{what} {shown}"),
            detail: "SFTP status 4, a generic failure; OpenSSH reports a full disk this way".into(),
        },
        (_, "connection lost" | "no connection") => TransportError::ConnectionLost {
            host: host.to_owned(),
            detail: format!("{what} {shown}"),
        },
        _ => {
            // Not an SFTP status: the session itself may have failed.
            if let Some(last) = sess.and_then(ssh2::Error::last_session_error)
                && matches!(last.code(), ErrorCode::Session(c) if is_connection_error(c))
            {
                return session_error(host, &last, &format!("{what} {shown}"));
            }
            TransportError::Io {
                context: format!("{what} {shown}"),
                source: e,
            }
        }
    }
}

/// Reads a byte range of a remote file in calls of at most [`READ_CHUNK`]
/// bytes, never asking for bytes past the range: libssh2 sends read-ahead
/// requests for the whole buffer of a call, so a plain `BufReader` would
/// fetch up to a whole call's worth of another connection's range.
struct RangeReader {
    file: ssh2::File,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes of the range not yet asked for.
    left: u64,
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end {
            if self.left == 0 || out.is_empty() {
                return Ok(0);
            }
            let want = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            if out.len() >= want {
                // Large caller buffers go straight through.
                let n = self.file.read(&mut out[..want])?;
                self.left = if n == 0 { 0 } else { self.left - n as u64 };
                return Ok(n);
            }
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let n = self.file.read(&mut self.buf[..want])?;
            self.left = if n == 0 { 0 } else { self.left - n as u64 };
            self.pos = 0;
            self.end = n;
            if n == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads a remote file in [`READ_CHUNK`] calls. Errors are `io::Error`s
/// wrapping a [`TransportError`].
struct SftpReader {
    inner: Box<dyn Read + Send>,
    shown: String,
    host: String,
    sess: Session,
}

impl Read for SftpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            let err = map_file_io(&self.host, e, &self.shown, "reading", Some(&self.sess));
            io::Error::new(kind, err)
        })
    }
}

/// A remote file being written in [`WRITE_CHUNK`] calls; see [`RemoteWrite`].
/// Errors from `write` are `io::Error`s wrapping a [`TransportError`].
struct SftpWriter<'a> {
    file: Option<ssh2::File>,
    /// Set by `finish` on success; otherwise `drop` removes the file.
    finished: bool,
    /// The first failure; the writer refuses to go on after one.
    failed: Option<String>,
    buf: Vec<u8>,
    written: u64,
    /// `Some(offset)` for a range writer ([`Transport::write_at`]), which
    /// neither owns the file nor knows its final size.
    range_from: Option<u64>,
    /// Bytes per write call: [`WRITE_CHUNK`] or [`RANGE_WRITE_CHUNK`].
    call: usize,
    full: String,
    shown: String,
    host: String,
    sess: Session,
    sftp: &'a Sftp,
}

impl SftpWriter<'_> {
    /// Send `data` in one SFTP write call (libssh2 pipelines within it).
    fn send(&mut self, data: &[u8]) -> Result<(), TransportError> {
        if let Some(msg) = &self.failed {
            return Err(TransportError::Io {
                context: format!("writing {}", self.shown),
                source: io::Error::other(format!("an earlier write failed: {msg}")),
            });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(TransportError::Io {
                context: format!("writing {}", self.shown),
                source: io::Error::other("write after finish"),
            });
        };
        if let Err(e) = file.write_all(data) {
            let err = self.classify(e, "writing");
            self.failed = Some(err.to_string());
            return Err(err);
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), TransportError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.send(&buf);
        self.buf = buf;
        self.buf.clear();
        r
    }

    /// Whether the remote file system is out of space, per statvfs.
    fn disk_full(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.statvfs() {
            Ok(st) => st.f_bavail.saturating_mul(st.f_frsize.max(1)) < WRITE_CHUNK as u64,
            Err(_) => false,
        }
    }

    /// Classify a write-side error, telling a full disk apart from other
    /// generic failures.
    fn classify(&mut self, e: io::Error, what: &str) -> TransportError {
        let mapped = map_file_io(&self.host, e, &self.shown, what, Some(&self.sess));
        self.full_disk_or(mapped)
    }

    fn full_disk_or(&mut self, err: TransportError) -> TransportError {
        if matches!(err, TransportError::ServerFailure { .. }) && self.disk_full() {
            TransportError::NoSpace(self.shown.clone())
        } else {
            err
        }
    }

    fn finish_inner(&mut self) -> Result<(), TransportError> {
        self.flush_buf()?;
        let shown = self.shown.clone();
        let host = self.host.clone();
        let Some(file) = self.file.as_mut() else {
            return Err(TransportError::Io {
                context: format!("writing {shown}"),
                source: io::Error::other("already finished"),
            });
        };
        match file.fsync() {
            Ok(()) => {}
            // Servers without fsync@openssh.com: nothing more can be done.
            Err(e) if matches!(e.code(), ErrorCode::SFTP(raw::LIBSSH2_FX_OP_UNSUPPORTED)) => {}
            Err(e) => {
                let err = map_sftp_error(&host, &e, &shown, "syncing");
                return Err(self.full_disk_or(err));
            }
        }
        let size = file
            .stat()
            .map_err(|e| map_sftp_error(&host, &e, &shown, "checking the size of"))?
            .size;
        let expected = self.range_from.unwrap_or(0) + self.written;
        let wrong = |s: u64| match self.range_from {
            None => s != expected,
            Some(_) => s < expected,
        };
        if let Some(size) = size.filter(|&s| wrong(s)) {
            return Err(TransportError::Io {
                context: format!("writing {shown}"),
                source: io::Error::other(format!(
                    "the server holds {size} bytes after {expected} were written"
                )),
            });
        }
        file.close()
            .map_err(|e| map_sftp_error(&host, &e, &shown, "closing"))?;
        self.file = None;
        Ok(())
    }
}

impl Write for SftpWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let call = self.call;
        if self.buf.is_empty() && data.len() >= call {
            // Large caller buffers go straight through.
            self.send(data).map_err(io::Error::other)?;
            self.written += data.len() as u64;
            return Ok(data.len());
        }
        if self.buf.capacity() < call {
            self.buf.reserve_exact(call - self.buf.len());
        }
        let n = data.len().min(call - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.written += n as u64;
        if self.buf.len() == call {
            self.flush_buf().map_err(io::Error::other)?;
        }
        Ok(n)
    }

    /// Sends what is buffered (a short write call; `finish` does this too).
    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf().map_err(io::Error::other)
    }
}

impl RemoteWrite for SftpWriter<'_> {
    fn finish(mut self: Box<Self>) -> Result<(), TransportError> {
        self.finish_inner()?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for SftpWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Not finished (or failed): close, then remove, so that nothing
            // that looks complete stays behind. Best effort. A range writer
            // does not own the file: its caller removes it.
            drop(self.file.take());
            if self.range_from.is_none() {
                let _ = self.sftp.unlink(Path::new(&self.full));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_remote_paths() {
        assert_eq!(join_remote("", ""), ".");
        assert_eq!(join_remote("", "a/b"), "a/b");
        assert_eq!(join_remote("/", "a"), "/a");
        assert_eq!(join_remote("/srv/v", ""), "/srv/v");
        assert_eq!(join_remote("/srv/v", "a"), "/srv/v/a");
        assert_eq!(join_remote("rel", "a"), "rel/a");
    }

    #[test]
    fn cipher_lists_follow_openssh_syntax() {
        let sup = [
            "aes128-ctr",
            "aes256-ctr",
            "chacha20-poly1305@openssh.com",
            "aes256-gcm@openssh.com",
        ];
        assert_eq!(
            cipher_list(None, &sup)[..2],
            ["chacha20-poly1305@openssh.com", "aes128-ctr"]
        );
        assert_eq!(cipher_list(Some("aes256-ctr,nope"), &sup), ["aes256-ctr"]);
        assert_eq!(
            cipher_list(Some("^aes256-gcm@openssh.com"), &sup)[0],
            "aes256-gcm@openssh.com"
        );
        assert!(
            !cipher_list(Some("-chacha20*"), &sup)
                .iter()
                .any(|c| c.starts_with("chacha"))
        );
        assert!(cipher_list(Some("nope"), &sup).is_empty());
    }

    #[test]
    fn file_io_errors_are_classified() {
        let m = |msg: &str| map_file_io("h", io::Error::other(msg.to_owned()), "p", "w", None);
        assert!(matches!(
            m("no space on filesystem"),
            TransportError::NoSpace(_)
        ));
        assert!(matches!(m("quota exceeded"), TransportError::NoSpace(_)));
        assert!(matches!(
            m("permission denied"),
            TransportError::PermissionDenied(_)
        ));
        assert!(matches!(m("failure"), TransportError::ServerFailure { .. }));
        assert!(matches!(m("socket gone"), TransportError::Io { .. }));
    }

    #[test]
    fn connect_errors_are_classified() {
        let c = |k: io::ErrorKind| connect_error("h", "1.2.3.4:22".into(), &io::Error::from(k));
        assert!(matches!(
            c(io::ErrorKind::ConnectionRefused),
            TransportError::ConnectionRefused { .. }
        ));
        assert!(matches!(
            c(io::ErrorKind::TimedOut),
            TransportError::Timeout { .. }
        ));
        for k in [
            io::ErrorKind::HostUnreachable,
            io::ErrorKind::NetworkUnreachable,
        ] {
            let e = c(k);
            assert!(matches!(e, TransportError::Unreachable { .. }), "{e:?}");
            assert!(e.to_string().contains("1.2.3.4:22"), "{e}");
        }
    }

    #[test]
    fn local_user_is_never_empty() {
        assert!(!local_user_name().is_empty());
    }
}
