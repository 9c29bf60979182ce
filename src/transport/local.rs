//! The local-folder backend: a "remote" vault in a folder on this machine
//! (a plain path or `file:///path`), for tests, USB disks and mounted
//! network shares.
//!
//! It keeps the same guarantees as the SFTP backend so that one conformance
//! suite covers both:
//! - files are staged in `tmp/` (`staging.rs`), created exclusively
//!   (`O_EXCL`) with mode 0600, folders 0700;
//! - [`PutMode::New`] never clobbers: it hard-links the new name (which fails
//!   atomically if it exists) and then removes the staging name. On file
//!   systems without hard links (FAT, some FUSE mounts) it falls back to
//!   checking that the target is absent and renaming, which leaves a short
//!   window in which a concurrent writer of the same name could be replaced;
//! - [`PutMode::Replace`] is `rename(2)`, atomic on POSIX;
//! - `finish` fsyncs the file, and the rename fsyncs the folder, so a
//!   finished file survives a crash;
//! - errors are mapped to the classes of [`TransportError`], with `ENOSPC`
//!   and `EDQUOT` as [`TransportError::NoSpace`].

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::backend::{
    Entry, Properties, PutMode, Reader, RemoteRead, RemoteWrite, Transport, Upload, Writer,
    check_path,
};
use super::error::TransportError;
use super::staging::{self, StagingFs};

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
        version: None,
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

impl StagingFs for LocalTransport {
    fn make_dir(&mut self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path, false)?;
        match DirBuilder::new().mode(0o700).create(&full) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                Err(map_io(e, &full, "creating folder"))
            }
            _ => Ok(()),
        }
    }

    fn rename(&mut self, from: &str, to: &str, mode: PutMode) -> Result<(), TransportError> {
        let src = self.full(from, false)?;
        let dst = self.full(to, false)?;
        if mode == PutMode::Replace {
            fs::rename(&src, &dst).map_err(|e| map_io(e, &dst, "renaming to"))?;
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
                    return Err(map_io(e, &dst, "renaming to"));
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
                    fs::rename(&src, &dst).map_err(|e| map_io(e, &dst, "renaming to"))?;
                }
            }
        }
        sync_dir(parent(&dst))?;
        if parent(&src) != parent(&dst) {
            sync_dir(parent(&src))?;
        }
        Ok(())
    }

    fn remove_file(&mut self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path, false)?;
        fs::remove_file(&full).map_err(|e| map_io(e, &full, "removing"))
    }

    fn list_dir(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        self.list(dir)
    }

    fn size(&mut self, path: &str) -> Result<Option<u64>, TransportError> {
        Ok(self.stat(path)?.map(|e| e.size))
    }
}

impl LocalTransport {
    /// Open `path` (existing) for writing from `offset`.
    fn open_at(&self, path: &str, offset: u64) -> Result<(File, PathBuf), TransportError> {
        let full = self.full(path, false)?;
        let mut file = OpenOptions::new()
            .write(true)
            .open(&full)
            .map_err(|e| map_io(e, &full, "opening"))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| map_io(e, &full, "seeking in"))?;
        Ok((file, full))
    }
}

/// Create `path` exclusively, mode 0600.
fn create_new(t: &mut LocalTransport, path: &str) -> Result<(File, PathBuf), TransportError> {
    let full = t.full(path, false)?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&full)
        .map_err(|e| map_io(e, &full, "creating"))?;
    Ok((file, full))
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn properties(&self) -> Properties {
        // Any size suits a local file; pieces as large as SFTP's keep the
        // hand-offs between sealing and writing few. Atomic create-new:
        // hard links; see the module documentation for file systems
        // without them.
        Properties::file_system(4 << 20, 1 << 20, 1 << 20, 16)
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

    fn read(&mut self, path: &str) -> Result<Reader<'_>, TransportError> {
        self.read_at(path, 0, u64::MAX)
    }

    fn read_at(&mut self, path: &str, offset: u64, len: u64) -> Result<Reader<'_>, TransportError> {
        let full = self.full(path, false)?;
        let mut f = File::open(&full).map_err(|e| map_io(e, &full, "opening"))?;
        if offset > 0 {
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| map_io(e, &full, "seeking in"))?;
        }
        Ok(Box::new(LocalReader {
            file: f.take(len),
            path: full,
        }))
    }

    fn put(&mut self, path: &str, mode: PutMode) -> Result<Writer<'_>, TransportError> {
        check_path(path, false)?;
        let (staged, (file, full)) = staging::create(self, Some(path), create_new)?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(WRITE_BUF, file)),
            path: full,
            written: 0,
            kind: Kind::Put {
                t: self.clone(),
                staged,
                target: path.to_owned(),
                mode,
            },
        }))
    }

    fn create(&mut self, path: &str, sync: bool) -> Result<Writer<'_>, TransportError> {
        let (file, full) = create_new(self, path)?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(WRITE_BUF, file)),
            path: full,
            written: 0,
            kind: Kind::InPlace { sync },
        }))
    }

    fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        staging::begin_upload(self, path, |t, name| {
            let (file, full) = create_new(t, name)?;
            file.sync_all().map_err(|e| map_io(e, &full, "syncing"))
        })
    }

    fn write_part(&mut self, up: &Upload, offset: u64) -> Result<Writer<'_>, TransportError> {
        staging::check_upload(up)?;
        let (file, full) = self.open_at(&up.token, offset)?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(WRITE_BUF, file)),
            path: full,
            written: 0,
            kind: Kind::Part { offset },
        }))
    }

    fn finish_upload(&mut self, up: Upload, len: u64, mode: PutMode) -> Result<(), TransportError> {
        let shown = self.full(&up.path, false)?.display().to_string();
        staging::finish_upload(self, up, len, mode, &shown)
    }

    fn abort_upload(&mut self, up: Upload) {
        staging::abort_upload(self, &up);
    }

    fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        self.remove_file(path)
    }

    fn sweep_staging(&mut self, older_than: u64) -> Result<usize, TransportError> {
        staging::sweep(self, older_than)
    }

    fn is_staging_leftover(&mut self, entry: &Entry) -> Result<bool, TransportError> {
        staging::is_leftover(self, entry)
    }
}

/// Reads a local file (or a range of it), with errors naming it.
struct LocalReader {
    file: io::Take<File>,
    path: PathBuf,
}

impl RemoteRead for LocalReader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r.map_err(|e| map_io(e, &self.path, "reading")),
            }
        }
    }
}

/// What a [`LocalWriter`] writes.
enum Kind {
    /// A whole file, staged at `staged` and moved to `target` by `finish`.
    Put {
        t: LocalTransport,
        staged: String,
        target: String,
        mode: PutMode,
    },
    /// A part of an upload from `offset`; the upload's owner cleans up.
    Part { offset: u64 },
    /// A file created in place ([`Transport::create`]), synced by `finish`
    /// if `sync`; removed if dropped unfinished.
    InPlace { sync: bool },
}

/// A local file being written; see [`RemoteWrite`].
struct LocalWriter {
    /// `None` once finished.
    out: Option<BufWriter<File>>,
    /// The file written (for a put: the staging file).
    path: PathBuf,
    written: u64,
    kind: Kind,
}

impl LocalWriter {
    /// Flush, sync and check the size of what was written.
    fn complete(&mut self, out: BufWriter<File>) -> io::Result<()> {
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if matches!(self.kind, Kind::InPlace { sync: false }) {
            return Ok(());
        }
        file.sync_all()?;
        let len = file.metadata()?.len();
        let ok = match self.kind {
            Kind::Put { .. } | Kind::InPlace { .. } => len == self.written,
            Kind::Part { offset } => len >= offset + self.written,
        };
        if !ok {
            return Err(io::Error::other(format!(
                "size is {len} bytes after writing {}",
                self.written
            )));
        }
        Ok(())
    }

    /// Remove what an unfinished write left: the staging file of a put,
    /// the file written in place (a part belongs to its upload).
    fn discard(&mut self) {
        match &mut self.kind {
            Kind::Put { t, staged, .. } => {
                let _ = t.remove_file(staged);
            }
            Kind::InPlace { .. } => {
                let _ = fs::remove_file(&self.path);
            }
            Kind::Part { .. } => {}
        }
    }
}

impl RemoteWrite for LocalWriter {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        let Some(out) = self.out.as_mut() else {
            return Err(map_io(
                io::Error::other("write after finish"),
                &self.path,
                "writing",
            ));
        };
        out.write_all(buf)
            .map_err(|e| map_io(e, &self.path, "writing"))?;
        self.written += buf.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), TransportError> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        if let Err(e) = self.complete(out) {
            self.discard();
            return Err(map_io(e, &self.path, "writing"));
        }
        match &mut self.kind {
            Kind::Put {
                t,
                staged,
                target,
                mode,
            } => staging::commit(t, staged, target, *mode),
            Kind::Part { .. } | Kind::InPlace { .. } => Ok(()),
        }
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.out.take().is_none() {
            return;
        }
        // Not finished: never leave something that looks complete.
        self.discard();
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
