//! The local-folder backend: a "remote" vault in a folder on this machine
//! (a plain path or `file:///path`), for tests, USB disks and mounted
//! network shares.
//!
//! It keeps the same guarantees as the SFTP backend so that one conformance
//! suite covers both:
//! - files are created exclusively (`O_EXCL`) with mode 0600, folders 0700;
//! - `rename(.., replace = false)` never clobbers: it hard-links the new name
//!   (which fails atomically if it exists) and then removes the old one. On
//!   file systems without hard links (FAT, some FUSE mounts) it falls back to
//!   checking that the target is absent and renaming, which leaves a short
//!   window in which a concurrent writer of the same name could be replaced;
//! - `rename(.., replace = true)` is `rename(2)`, atomic on POSIX;
//! - `finish` fsyncs the file, and a rename fsyncs the folder, so a finished
//!   and renamed file survives a crash;
//! - errors are mapped to the classes of [`TransportError`], with `ENOSPC`
//!   and `EDQUOT` as [`TransportError::NoSpace`].

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{Entry, RemoteWrite, Transport, TransportError, check_path};

/// Size of the write buffer: large enough that the per-call overhead does
/// not matter, small enough not to hold much memory.
const WRITE_BUF: usize = 256 * 1024;

/// A vault in a local folder.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    root: PathBuf,
}

impl LocalTransport {
    /// A transport rooted at `root`. A leading `~` or `~/` is expanded from
    /// `home` (or `$HOME`). The folder need not exist yet (see
    /// [`Transport::mkdir_all`] with `""`).
    pub fn new(root: &Path, home: Option<&Path>) -> Result<Self, TransportError> {
        let root = expand_tilde(root, home)?;
        Ok(LocalTransport { root })
    }

    /// The folder this transport works in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str, allow_root: bool) -> Result<PathBuf, TransportError> {
        check_path(path, allow_root)?;
        Ok(if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        })
    }
}

fn expand_tilde(p: &Path, home: Option<&Path>) -> Result<PathBuf, TransportError> {
    let Some(s) = p.to_str() else {
        return Ok(p.to_owned());
    };
    let rest = if s == "~" {
        ""
    } else if let Some(rest) = s.strip_prefix("~/") {
        rest
    } else if s.starts_with('~') {
        return Err(TransportError::BadLocation {
            input: s.to_owned(),
            reason: "~user paths are not supported; write the full path".into(),
        });
    } else {
        return Ok(p.to_owned());
    };
    let home = match home {
        Some(h) => h.to_owned(),
        None => std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
            TransportError::BadLocation {
                input: s.to_owned(),
                reason: "$HOME is not set".into(),
            }
        })?,
    };
    Ok(home.join(rest))
}

/// Map an I/O error on `path` to its failure class.
pub(crate) fn map_io(err: io::Error, path: &Path, what: &str) -> TransportError {
    let shown = path.display().to_string();
    match err.kind() {
        io::ErrorKind::NotFound => TransportError::NotFound(shown),
        io::ErrorKind::AlreadyExists => TransportError::AlreadyExists(shown),
        io::ErrorKind::PermissionDenied => TransportError::PermissionDenied(shown),
        _ if matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) => {
            TransportError::NoSpace(shown)
        }
        _ => TransportError::Io {
            context: format!("{what} {shown}"),
            source: err,
        },
    }
}

fn entry(name: String, meta: &fs::Metadata) -> Entry {
    Entry {
        name,
        size: meta.len(),
        mtime: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
        is_dir: meta.is_dir(),
    }
}

/// fsync a folder so that a rename or create in it is durable.
fn sync_dir(dir: &Path) -> Result<(), TransportError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| map_io(e, dir, "syncing folder"))
}

fn parent(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(self.clone()))
    }

    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path, true)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&full)
            .map_err(|e| map_io(e, &full, "creating folder"))
    }

    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        let full = self.full(dir, true)?;
        let rd = fs::read_dir(&full).map_err(|e| map_io(e, &full, "listing"))?;
        let mut out = Vec::new();
        for item in rd {
            let item = item.map_err(|e| map_io(e, &full, "listing"))?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            let meta = match item.metadata() {
                Ok(m) => m,
                // Removed between readdir and stat: not there any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(map_io(e, &item.path(), "reading metadata of")),
            };
            out.push(entry(name, &meta));
        }
        Ok(out)
    }

    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError> {
        let full = self.full(path, true)?;
        match fs::metadata(&full) {
            Ok(meta) => Ok(Some(entry(path.to_owned(), &meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(map_io(e, &full, "reading metadata of")),
        }
    }

    fn read(&mut self, path: &str) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        let full = self.full(path, false)?;
        let f = File::open(&full).map_err(|e| map_io(e, &full, "opening"))?;
        Ok(Box::new(LocalReader {
            file: f,
            path: full,
        }))
    }

    fn create(&mut self, path: &str) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
        let full = self.full(path, false)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&full)
            .map_err(|e| map_io(e, &full, "creating"))?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(WRITE_BUF, file)),
            path: full,
            written: 0,
            range_from: None,
        }))
    }

    fn write_at(
        &mut self,
        path: &str,
        offset: u64,
    ) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
        let full = self.full(path, false)?;
        let mut file = OpenOptions::new()
            .write(true)
            .open(&full)
            .map_err(|e| map_io(e, &full, "opening"))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| map_io(e, &full, "seeking in"))?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(WRITE_BUF, file)),
            path: full,
            written: 0,
            range_from: Some(offset),
        }))
    }

    fn read_at(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Box<dyn Read + Send + '_>, TransportError> {
        let full = self.full(path, false)?;
        let mut f = File::open(&full).map_err(|e| map_io(e, &full, "opening"))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| map_io(e, &full, "seeking in"))?;
        Ok(Box::new(
            LocalReader {
                file: f,
                path: full,
            }
            .take(len),
        ))
    }

    fn rename(&mut self, from: &str, to: &str, replace: bool) -> Result<(), TransportError> {
        let src = self.full(from, false)?;
        let dst = self.full(to, false)?;
        if replace {
            fs::rename(&src, &dst).map_err(|e| map_io(e, &src, "renaming"))?;
        } else {
            match fs::hard_link(&src, &dst) {
                Ok(()) => {
                    if let Err(e) = fs::remove_file(&src) {
                        // Leave things as they were: the rename did not happen.
                        let _ = fs::remove_file(&dst);
                        return Err(map_io(e, &src, "removing the old name"));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(TransportError::AlreadyExists(dst.display().to_string()));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(map_io(e, &src, "renaming"));
                }
                // No hard links here (EPERM on FAT and for folders,
                // EOPNOTSUPP/ENOSYS on some FUSE file systems, EXDEV, EMLINK):
                // check then rename, which is not atomic against a concurrent
                // creator of `dst`.
                Err(_) => {
                    match fs::symlink_metadata(&dst) {
                        Ok(_) => {
                            return Err(TransportError::AlreadyExists(dst.display().to_string()));
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(map_io(e, &dst, "checking")),
                    }
                    fs::rename(&src, &dst).map_err(|e| map_io(e, &src, "renaming"))?;
                }
            }
        }
        sync_dir(parent(&dst))?;
        if parent(&src) != parent(&dst) {
            sync_dir(parent(&src))?;
        }
        Ok(())
    }

    fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path, false)?;
        fs::remove_file(&full).map_err(|e| map_io(e, &full, "removing"))
    }
}

/// Reads a local file, with errors naming it.
struct LocalReader {
    file: File,
    path: PathBuf,
}

impl Read for LocalReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", self.path.display())))
    }
}

/// A local file being written; see [`RemoteWrite`].
struct LocalWriter {
    /// `None` once finished.
    out: Option<BufWriter<File>>,
    path: PathBuf,
    written: u64,
    /// `Some(offset)` for a range writer ([`Transport::write_at`]), which
    /// neither owns the file nor knows its final size.
    range_from: Option<u64>,
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("write after finish"))?;
        let n = out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl RemoteWrite for LocalWriter {
    fn finish(mut self: Box<Self>) -> Result<(), TransportError> {
        let path = self.path.clone();
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let result = (|| {
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            let len = file.metadata()?.len();
            let ok = match self.range_from {
                None => len == self.written,
                Some(offset) => len >= offset + self.written,
            };
            if !ok {
                return Err(io::Error::other(format!(
                    "size is {len} bytes after writing {}",
                    self.written
                )));
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                if self.range_from.is_none() {
                    let _ = fs::remove_file(&path);
                }
                Err(map_io(e, &path, "writing"))
            }
        }
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() && self.range_from.is_none() {
            // Not finished: never leave something that looks complete.
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_edquot_are_no_space() {
        for errno in [libc::ENOSPC, libc::EDQUOT] {
            let e = map_io(io::Error::from_raw_os_error(errno), Path::new("/x"), "w");
            assert!(matches!(e, TransportError::NoSpace(_)), "{e:?}");
        }
        let e = map_io(
            io::Error::from_raw_os_error(libc::EIO),
            Path::new("/x"),
            "w",
        );
        assert!(matches!(e, TransportError::Io { .. }), "{e:?}");
    }

    #[test]
    fn tilde_expands_from_home() {
        let home = Path::new("/h");
        assert_eq!(
            expand_tilde(Path::new("~/v"), Some(home)).ok(),
            Some(PathBuf::from("/h/v"))
        );
        assert_eq!(
            expand_tilde(Path::new("~"), Some(home)).ok(),
            Some(PathBuf::from("/h"))
        );
        assert_eq!(
            expand_tilde(Path::new("a/~"), Some(home)).ok(),
            Some(PathBuf::from("a/~"))
        );
        assert!(expand_tilde(Path::new("~bob/x"), Some(home)).is_err());
    }
}
