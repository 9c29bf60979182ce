//! The SFTP backend, over libssh2 (`ssh2` crate), behaving like OpenSSH's
//! own client where it matters for safety and usability.
//!
//! Connecting ([`SftpTransport::connect`]):
//! 1. `~/.ssh/config` then `/etc/ssh/ssh_config` are applied to the host
//!    and to each `ProxyJump` hop (`config/`, `connect.rs`); an option vault
//!    cannot carry out that would change where or how it connects is
//!    refused, naming it;
//! 2. the connection: TCP to each resolved address with a timeout
//!    (`ConnectTimeout`, default 20 s), `TCP_NODELAY`; or a `ProxyCommand`;
//!    or a channel through the `ProxyJump` host, connected first by these
//!    same steps (`proxy.rs`, `session.rs`);
//! 3. SSH handshake preferring `chacha20-poly1305@openssh.com` (libssh2's
//!    AES-GCM calls OpenSSL once per 16-byte block and is about 40% slower
//!    here; its ChaCha20 and Poly1305 are replaced by RustCrypto's in
//!    `ssh_cipher.rs`), unless the config's `Ciphers` says otherwise
//!    (`MACs`, `KexAlgorithms`, `HostKeyAlgorithms` too), and asking first
//!    for host-key types already known for the host;
//! 4. host-key verification against known_hosts (`host_key.rs`,
//!    `known_hosts.rs`): an unknown host is asked about on the terminal as
//!    ssh does, or recorded with `--accept-new` or
//!    `StrictHostKeyChecking accept-new`, or refused; changed keys, and
//!    hosts vouched for only by a certificate authority, are always
//!    refused;
//! 5. authentication in OpenSSH's order (`auth.rs`);
//! 6. the SFTP subsystem. The session stays blocking, with a per-call
//!    timeout (`io_timeout`, libssh2 counts it over a whole API call) and
//!    keepalives sent between operations (`ServerAliveInterval`, default
//!    15 s).
//!
//! The other files, one concern each: `conn.rs` (paths, renames and the
//! other file operations on a live connection), `file.rs` (readers and
//! writers, with the measured call sizes), `status.rs` (libssh2 failures
//! to error classes), `error.rs` ([`SshError`], what only SSH reports),
//! `glob.rs` (OpenSSH's patterns), `ffi.rs` (the one libssh2 call `ssh2`
//! does not wrap). Puts and uploads are staged in the vault's `tmp/`
//! (`crate::transport::staging`), created with `O_EXCL`, mode 0600.

pub(crate) mod auth;
pub(crate) mod config;
mod conn;
mod connect;
pub(crate) mod error;
mod ffi;
mod file;
pub(crate) mod glob;
mod host_key;
pub(crate) mod known_hosts;
mod proxy;
mod session;
// Compiled in only once build.rs has checked libssh2's C declarations.
#[cfg(vault_ssh_cipher)]
mod ssh_cipher;
mod status;

use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

pub use self::config::ConfigFiles;
pub use self::error::SshError;

use self::conn::{Conn, entry};
use self::connect::{DEFAULT_KEEPALIVE_SECS, Params, millis};
use self::file::{Kind, READ_CHUNK, RangeReader, SftpReader, SftpWriter, WRITE_PIECE};
use self::session::Credentials;
use self::status::map_file_io;
use crate::transport::backend::{
    Entry, Properties, PutMode, Reader, Transport, Upload, Writer, check_path,
};
use crate::transport::error::TransportError;
use crate::transport::location::SftpTarget;
use crate::transport::options::ConnectOptions;
use crate::transport::staging::{self, StagingFs};

/// How many times libssh2 has called vault's Rust ChaCha20 and Poly1305
/// (`ssh_cipher.rs`) in this process, or `None` if this build uses
/// libssh2's own C (a system libssh2): after a transfer over
/// `chacha20-poly1305@openssh.com` it must have grown, which is how the
/// tests prove the override is really in the link.
pub fn rust_cipher_calls() -> Option<u64> {
    #[cfg(vault_ssh_cipher)]
    return Some(ssh_cipher::calls());
    #[cfg(not(vault_ssh_cipher))]
    return None;
}

/// Most connections one transfer opens to one server.
const MAX_CONNECTIONS: usize = 16;

/// A vault on an SFTP server, over one SSH connection.
pub struct SftpTransport {
    conn: Conn,
    credential: Arc<Credentials>,
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
        #[cfg(vault_ssh_cipher)]
        std::hint::black_box(&ssh_cipher::LINKED);
        let params = Params::resolve(target, opts)?;
        Self::open(Arc::new(params), None)
    }

    fn open(params: Arc<Params>, hint: Option<&Credentials>) -> Result<Self, TransportError> {
        let p = &*params;
        let host = p.cfg.alias.as_str();
        let session::Connected {
            sess, guard, creds, ..
        } = session::connect(p, hint)?;
        sess.set_timeout(millis(p.io_timeout));
        sess.set_keepalive(
            false,
            p.cfg
                .server_alive_interval
                .filter(|&s| s > 0)
                .unwrap_or(DEFAULT_KEEPALIVE_SECS),
        );
        let sftp = sess.sftp().map_err(|e| SshError::Protocol {
            host: host.to_owned(),
            detail: format!(
                "cannot start the SFTP subsystem ({}); is SFTP enabled on the server?",
                e.message()
            ),
        })?;
        Ok(SftpTransport {
            conn: Conn {
                renamer: None,
                sftp,
                sess,
                _proxy: guard,
                params,
            },
            credential: Arc::new(creds),
        })
    }

    /// Open `path` for reading, positioned at `offset`.
    fn open_read(
        &mut self,
        path: &str,
        offset: u64,
    ) -> Result<(ssh2::File, String), TransportError> {
        check_path(path, false)?;
        let c = &self.conn;
        c.tick();
        let full = c.full(path);
        let mut file = c
            .sftp
            .open(Path::new(&full))
            .map_err(|e| c.map_err(e, &full, "opening"))?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| map_file_io(c.host(), e, &c.shown(&full), "seeking in", None))?;
        }
        Ok((file, c.shown(&full)))
    }

    fn reader(&self, inner: Box<dyn std::io::Read + Send>, shown: String) -> SftpReader {
        SftpReader {
            inner,
            shown,
            host: self.conn.host().to_owned(),
            sess: self.conn.sess.clone(),
        }
    }
}

impl Transport for SftpTransport {
    fn describe(&self) -> String {
        let c = &self.conn.params.cfg;
        let root = &self.conn.params.root;
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

    fn properties(&self) -> Properties {
        // Atomic replace: posix-rename@openssh.com; a server without it
        // gets remove + rename (see `conn.rs`). Atomic create-new:
        // OpenSSH's RENAME is link(2) + unlink(2).
        Properties::file_system(WRITE_PIECE, WRITE_PIECE, READ_CHUNK, MAX_CONNECTIONS)
    }

    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError> {
        let t = SftpTransport::open(Arc::clone(&self.conn.params), Some(&self.credential))?;
        Ok(Box::new(t))
    }

    fn reconnect_many(&self, n: usize) -> Vec<Result<Box<dyn Transport>, TransportError>> {
        // Each connection is a TCP, SSH and SFTP handshake: in parallel.
        let (params, cred) = (&self.conn.params, &self.credential);
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    s.spawn(move || {
                        SftpTransport::open(Arc::clone(params), Some(cred))
                            .map(|t| Box::new(t) as Box<dyn Transport>)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, true)?;
        let c = &mut self.conn;
        c.tick();
        let full = c.full(path);
        if let Some(st) = c.stat_full(&full)? {
            return if st.is_dir() {
                Ok(())
            } else {
                Err(TransportError::AlreadyExists(c.shown(&full)))
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
            if let Err(e) = c.sftp.mkdir(Path::new(&prefix), 0o700) {
                match c.stat_full(&prefix)? {
                    Some(st) if st.is_dir() => {}
                    Some(_) => return Err(TransportError::AlreadyExists(c.shown(&prefix))),
                    None => return Err(c.map_err(e, &prefix, "creating folder")),
                }
            }
        }
        Ok(())
    }

    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        check_path(dir, true)?;
        self.conn.list_dir(dir)
    }

    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError> {
        check_path(path, true)?;
        let c = &self.conn;
        c.tick();
        let full = c.full(path);
        Ok(c.stat_full(&full)?.map(|st| entry(path.to_owned(), &st)))
    }

    fn read(&mut self, path: &str) -> Result<Reader<'_>, TransportError> {
        let (file, shown) = self.open_read(path, 0)?;
        let inner = Box::new(BufReader::with_capacity(READ_CHUNK, file));
        Ok(Box::new(self.reader(inner, shown)))
    }

    fn read_at(&mut self, path: &str, offset: u64, len: u64) -> Result<Reader<'_>, TransportError> {
        let (file, shown) = self.open_read(path, offset)?;
        let inner = Box::new(RangeReader {
            file,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            left: len,
        });
        Ok(Box::new(self.reader(inner, shown)))
    }

    fn put(&mut self, path: &str, mode: PutMode) -> Result<Writer<'_>, TransportError> {
        check_path(path, false)?;
        self.conn.tick();
        let (staged, file) = staging::create(&mut self.conn, Some(path), Conn::create_new)?;
        let kind = Kind::Put {
            target: path.to_owned(),
            staged: staged.clone(),
            mode,
        };
        Ok(Box::new(SftpWriter::new(
            &mut self.conn,
            file,
            &staged,
            kind,
        )))
    }

    fn create(&mut self, path: &str, sync: bool) -> Result<Writer<'_>, TransportError> {
        check_path(path, false)?;
        self.conn.tick();
        let file = self.conn.create_new(path)?;
        Ok(Box::new(SftpWriter::new(
            &mut self.conn,
            file,
            path,
            Kind::InPlace {
                path: path.to_owned(),
                sync,
            },
        )))
    }

    fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        self.conn.tick();
        staging::begin_upload(&mut self.conn, path, |c, name| {
            let shown = c.shown(&c.full(name));
            c.create_new(name)?
                .close()
                .map_err(|e| status::map_sftp_error(c.host(), &e, &shown, "closing"))
        })
    }

    fn write_part(&mut self, up: &Upload, offset: u64) -> Result<Writer<'_>, TransportError> {
        staging::check_upload(up)?;
        let c = &mut self.conn;
        c.tick();
        let mut file = c.open_existing(&up.token)?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| {
            map_file_io(
                c.host(),
                e,
                &c.shown(&c.full(&up.token)),
                "seeking in",
                None,
            )
        })?;
        Ok(Box::new(SftpWriter::new(
            c,
            file,
            &up.token,
            Kind::Part { offset },
        )))
    }

    fn finish_upload(&mut self, up: Upload, len: u64, mode: PutMode) -> Result<(), TransportError> {
        check_path(&up.path, false)?;
        self.conn.tick();
        let shown = self.conn.shown(&self.conn.full(&up.path));
        staging::finish_upload(&mut self.conn, up, len, mode, &shown)
    }

    fn abort_upload(&mut self, up: Upload) {
        staging::abort_upload(&mut self.conn, &up);
    }

    fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, false)?;
        self.conn.remove_file(path)
    }

    fn sweep_staging(&mut self, older_than: u64) -> Result<usize, TransportError> {
        staging::sweep(&mut self.conn, older_than)
    }

    fn is_staging_leftover(&mut self, entry: &Entry) -> Result<bool, TransportError> {
        staging::is_leftover(&mut self.conn, entry)
    }
}
