//! Where a command reads from and writes to.
//!
//! The rules, shared by `seal`, `open` and `pull`:
//! - `-` (or no file) means stdin / stdout;
//! - an existing regular file is never replaced without `--force`;
//! - a target that exists but is not a regular file (`/dev/null`, a FIFO, a
//!   terminal) is written directly, never replaced by a rename;
//! - anything else is written through [`AtomicFile`], so it appears only
//!   when complete;
//! - input and output may not be the same file, even with `--force`;
//! - an input file that changes while it is read (its size or times change
//!   between opening and the end of the read) fails the command, so that a
//!   half-old, half-new snapshot is never sealed or pushed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::CliError;
use vault::atomic::{AtomicFile, Mode};
use vault::remote::pull::PositionedOutput;

/// A `File` on a duplicate of a standard stream's descriptor, so reads and
/// writes bypass the standard library's line buffering.
fn std_file(fd: BorrowedFd<'_>) -> Result<File, CliError> {
    fd.try_clone_to_owned()
        .map(File::from)
        .map_err(|e| CliError::Output(PathBuf::from("<stdio>"), e))
}

/// A source of bytes.
pub enum Input {
    /// Standard input (its file descriptor, unbuffered).
    Stdin(File),
    /// A file.
    File(WatchedFile, PathBuf),
}

/// A regular file whose size and times are checked again when the read
/// reaches its end: if anything wrote to it meanwhile, the read fails
/// instead of returning a mix of old and new bytes.
pub struct WatchedFile {
    file: File,
    /// (size, mtime, ctime) when opened; `None` for non-regular files.
    start: Option<Stamp>,
}

type Stamp = (u64, i64, i64, i64, i64);

fn stamp(m: &fs::Metadata) -> Stamp {
    (
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    )
}

impl WatchedFile {
    fn new(file: File) -> io::Result<WatchedFile> {
        let m = file.metadata()?;
        let start = m.is_file().then(|| stamp(&m));
        Ok(WatchedFile { file, start })
    }

    /// The file's metadata now.
    pub fn metadata(&self) -> io::Result<fs::Metadata> {
        self.file.metadata()
    }

    /// The open file, for reads at offsets; call [`WatchedFile::unchanged`]
    /// after the last of them.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Fails if the file's size or times moved since it was opened.
    pub fn unchanged(&self) -> io::Result<()> {
        match self.start {
            Some(start) if stamp(&self.file.metadata()?) != start => {
                Err(io::Error::other("the file changed while it was being read"))
            }
            _ => Ok(()),
        }
    }
}

impl Read for WatchedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.unchanged()?;
        }
        Ok(n)
    }
}

impl Input {
    /// Open `path`, or stdin for `None` / `-`.
    pub fn open(path: Option<&Path>) -> Result<Input, CliError> {
        match path {
            None => Ok(Input::Stdin(std_file(io::stdin().as_fd())?)),
            Some(p) if p == Path::new("-") => Ok(Input::Stdin(std_file(io::stdin().as_fd())?)),
            Some(p) => {
                let f = File::open(p).map_err(|e| CliError::Input(p.to_path_buf(), e))?;
                if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                    return Err(CliError::Input(
                        p.to_path_buf(),
                        io::Error::other("is a directory"),
                    ));
                }
                let f = WatchedFile::new(f).map_err(|e| CliError::Input(p.to_path_buf(), e))?;
                Ok(Input::File(f, p.to_path_buf()))
            }
        }
    }

    /// The name for messages.
    pub fn name(&self) -> PathBuf {
        match self {
            Input::Stdin(_) => PathBuf::from("<stdin>"),
            Input::File(_, p) => p.clone(),
        }
    }

    /// Device and inode, for the same-file check.
    fn id(&self) -> Option<(u64, u64)> {
        match self {
            Input::Stdin(_) => None,
            Input::File(f, _) => f.metadata().ok().map(|m| (m.dev(), m.ino())),
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Stdin(s) => s.read(buf),
            Input::File(f, _) => f.read(buf),
        }
    }
}

/// Where output goes, decided before any work is done.
#[derive(Debug, Clone)]
pub enum Target {
    /// Standard output.
    Stdout,
    /// A file that is not a regular file: written in place.
    Special(PathBuf),
    /// A regular file (new, or replaced with `--force`): written atomically.
    Regular(PathBuf),
}

impl Target {
    /// Decide where `path` writes, refusing to clobber or to write onto the
    /// input.
    pub fn resolve(
        path: Option<&Path>,
        force: bool,
        input: Option<&Input>,
    ) -> Result<Target, CliError> {
        let path = match path {
            None => return Ok(Target::Stdout),
            Some(p) if p == Path::new("-") => return Ok(Target::Stdout),
            Some(p) => p,
        };
        if let Ok(meta) = fs::metadata(path) {
            if input.and_then(Input::id) == Some((meta.dev(), meta.ino())) {
                return Err(CliError::SameFile(path.to_path_buf()));
            }
            if meta.is_dir() {
                return Err(CliError::Output(
                    path.to_path_buf(),
                    io::Error::other("is a directory"),
                ));
            }
            if !meta.is_file() {
                return Ok(Target::Special(path.to_path_buf()));
            }
        }
        if fs::symlink_metadata(path).is_ok() && !force {
            return Err(CliError::OutputExists(path.to_path_buf()));
        }
        Ok(Target::Regular(path.to_path_buf()))
    }

    /// Whether output would land on a terminal.
    pub fn is_terminal(&self) -> bool {
        match self {
            Target::Stdout => io::stdout().is_terminal(),
            Target::Special(p) => File::open(p).map(|f| f.is_terminal()).unwrap_or(false),
            Target::Regular(_) => false,
        }
    }

    /// The name for messages.
    pub fn name(&self) -> PathBuf {
        match self {
            Target::Stdout => PathBuf::from("<stdout>"),
            Target::Special(p) | Target::Regular(p) => p.clone(),
        }
    }

    /// Start writing. `force` decides whether a file that appeared since
    /// [`Target::resolve`] may be replaced.
    pub fn create(&self, force: bool) -> Result<Output, CliError> {
        match self {
            Target::Stdout => Ok(Output::Stdout(std_file(io::stdout().as_fd())?)),
            Target::Special(p) => OpenOptions::new()
                .write(true)
                .open(p)
                .map(Output::Special)
                .map_err(|e| CliError::Output(p.clone(), e)),
            Target::Regular(p) => AtomicFile::create(p, force, Mode::Default)
                .map(Output::Atomic)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => CliError::OutputExists(p.clone()),
                    _ => CliError::Output(p.clone(), e),
                }),
        }
    }
}

/// A regular-file output written at offsets: the atomic file's positioned
/// writes, which also start disk writeback as the file grows.
pub struct Positioned<'a>(&'a AtomicFile);

impl PositionedOutput for Positioned<'_> {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.as_file().metadata()?.len())
    }
}

/// An output being written.
pub enum Output {
    /// Standard output (its file descriptor, unbuffered: the payload is
    /// already written in whole chunks).
    Stdout(File),
    /// A special file, written in place.
    Special(File),
    /// A regular file, written beside its target until committed.
    Atomic(AtomicFile),
}

impl Output {
    /// A regular-file output as one that takes writes at offsets (pulls,
    /// over several connections for a large object); `None` for streams
    /// and special files.
    pub fn positioned(&self) -> Option<Positioned<'_>> {
        match self {
            Output::Atomic(a) => Some(Positioned(a)),
            Output::Stdout(_) | Output::Special(_) => None,
        }
    }

    /// Finish: flush, and for a regular file rename it into place.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Output::Stdout(mut s) => s.flush(),
            Output::Special(mut f) => f.flush(),
            Output::Atomic(a) => a.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(s) => s.write(buf),
            Output::Special(f) => f.write(buf),
            Output::Atomic(a) => a.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(s) => s.write_all(buf),
            Output::Special(f) => f.write_all(buf),
            Output::Atomic(a) => a.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(s) => s.flush(),
            Output::Special(f) => f.flush(),
            Output::Atomic(a) => a.flush(),
        }
    }
}
