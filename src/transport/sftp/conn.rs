//! One live SFTP connection and the file operations on it that the rest of
//! the backend shares: paths under the vault root, messages naming them,
//! error classes re-examined after a generic failure, and the renames that
//! staging (`crate::transport::staging`) finishes with.
//!
//! Renames: without replace, plain SFTP `RENAME`, which OpenSSH implements
//! with `link(2)` + `unlink(2)` (atomic no-clobber); with replace,
//! `posix-rename@openssh.com` (`ffi.rs`), falling back to remove + rename
//! (not atomic: for a moment the target is absent) only if the server
//! lacks the extension.

use std::path::Path;
use std::sync::Arc;

use libssh2_sys as raw;
use ssh2::{ErrorCode, FileStat, OpenFlags, OpenType, RenameFlags, Session, Sftp};

use super::connect::Params;
use super::ffi::{PosixRename, RenameError};
use super::proxy::ProxyGuard;
use super::status::{is_not_found, map_sftp_error, session_error};
use crate::transport::backend::{Entry, PutMode};
use crate::transport::error::TransportError;
use crate::transport::staging::StagingFs;

/// Rename flags that never ask the server to replace the target.
const NO_OVERWRITE: RenameFlags = RenameFlags::ATOMIC.union(RenameFlags::NATIVE);

/// An SSH session with its SFTP subsystem.
pub(crate) struct Conn {
    // Field order is drop order: the private SFTP channel and the SFTP
    // subsystem go before the session they live on.
    pub renamer: Option<PosixRename>,
    pub sftp: Sftp,
    pub sess: Session,
    /// What carries the session (a proxy command, a jump host): after it.
    pub _proxy: ProxyGuard,
    pub params: Arc<Params>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Do not hang on a dead server while closing.
        self.sess.set_timeout(2000);
        let _ = self.sess.disconnect(None, "closed by vault", None);
    }
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

pub(crate) fn entry(name: String, st: &FileStat) -> Entry {
    Entry {
        name,
        size: st.size.unwrap_or(0),
        mtime: st.mtime,
        is_dir: st.is_dir(),
        version: None,
    }
}

impl Conn {
    pub fn host(&self) -> &str {
        &self.params.cfg.alias
    }

    /// The remote path for a vault-relative path.
    pub fn full(&self, rel: &str) -> String {
        join_remote(&self.params.root, rel)
    }

    /// A path as shown in messages.
    pub fn shown(&self, full: &str) -> String {
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
    pub fn tick(&self) {
        let _ = self.sess.keepalive_send();
    }

    pub fn stat_full(&self, full: &str) -> Result<Option<FileStat>, TransportError> {
        match self.sftp.stat(Path::new(full)) {
            Ok(st) => Ok(Some(st)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.map_err(e, full, "reading metadata of")),
        }
    }

    /// Map an error from an SFTP call on `full`.
    pub fn map_err(&self, e: ssh2::Error, full: &str, what: &str) -> TransportError {
        map_sftp_error(self.host(), &e, &self.shown(full), what)
    }

    /// After a generic failure, tell "already exists" apart.
    pub fn failure_or_exists(&self, e: ssh2::Error, full: &str, what: &str) -> TransportError {
        if matches!(e.code(), ErrorCode::SFTP(raw::LIBSSH2_FX_FAILURE))
            && matches!(self.stat_full(full), Ok(Some(_)))
        {
            return TransportError::AlreadyExists(self.shown(full));
        }
        self.map_err(e, full, what)
    }

    /// Create the file `rel` exclusively, mode 0600.
    pub fn create_new(&mut self, rel: &str) -> Result<ssh2::File, TransportError> {
        let full = self.full(rel);
        self.sftp
            .open_mode(
                Path::new(&full),
                OpenFlags::WRITE | OpenFlags::EXCLUSIVE,
                0o600,
                OpenType::File,
            )
            .map_err(|e| self.failure_or_exists(e, &full, "creating"))
    }

    /// Open the existing file `rel` for writing, without truncating it.
    pub fn open_existing(&self, rel: &str) -> Result<ssh2::File, TransportError> {
        let full = self.full(rel);
        // No CREAT and no TRUNC: the file must exist and other parts stay.
        self.sftp
            .open_mode(Path::new(&full), OpenFlags::WRITE, 0o600, OpenType::File)
            .map_err(|e| self.map_err(e, &full, "opening"))
    }
}

impl StagingFs for Conn {
    fn make_dir(&mut self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path);
        match self.sftp.mkdir(Path::new(&full), 0o700) {
            Ok(()) => Ok(()),
            Err(e) => match self.stat_full(&full)? {
                Some(st) if st.is_dir() => Ok(()),
                Some(_) => Err(TransportError::AlreadyExists(self.shown(&full))),
                None => Err(self.map_err(e, &full, "creating folder")),
            },
        }
    }

    fn rename(&mut self, from: &str, to: &str, mode: PutMode) -> Result<(), TransportError> {
        let (src, dst) = (self.full(from), self.full(to));
        if mode == PutMode::New {
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

    fn remove_file(&mut self, path: &str) -> Result<(), TransportError> {
        self.tick();
        let full = self.full(path);
        self.sftp
            .unlink(Path::new(&full))
            .map_err(|e| self.map_err(e, &full, "removing"))
    }

    fn list_dir(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
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

    fn size(&mut self, path: &str) -> Result<Option<u64>, TransportError> {
        let full = self.full(path);
        Ok(self.stat_full(&full)?.map(|st| st.size.unwrap_or(0)))
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
}
