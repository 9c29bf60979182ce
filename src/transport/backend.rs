//! The `Transport` trait: what the remote layer asks of a storage backend,
//! stated as intents (put this file so that it appears whole, upload this
//! large file in parts from several connections) that each backend carries
//! out natively, and the shape a backend declares ([`Properties`]), as
//! restic's backends do.
//!
//! Readers and writers return [`TransportError`] itself, never an
//! `io::Error` with one inside.

use super::error::TransportError;

/// One entry returned by [`Transport::list`] or [`Transport::stat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's file name (for `list`) or the path asked for (for `stat`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch, if the backend knows it.
    pub mtime: Option<u64>,
    /// Whether the entry is a directory.
    pub is_dir: bool,
    /// A backend's version tag of the content (an S3 ETag), if it has one;
    /// `None` for the file-system backends.
    pub version: Option<String>,
}

/// What a backend is like, so that the layer above can ask instead of
/// importing a backend's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Properties {
    /// Bytes per write call a single upload should hand over.
    pub write_size: usize,
    /// Bytes per write call when several connections write parts of one
    /// file ([`Transport::write_part`]).
    pub part_write_size: usize,
    /// Bytes per read call the backend makes.
    pub read_size: usize,
    /// Most connections one transfer can usefully use.
    pub max_connections: usize,
    /// Smallest part a multi-part upload accepts, except the last (0: any).
    pub min_part_size: u64,
    /// Whether [`PutMode::Replace`] replaces atomically (readers see the old
    /// or the new file, never neither).
    pub atomic_replace: bool,
    /// Whether [`PutMode::New`] refuses an existing target atomically (no
    /// check-then-act race between two writers).
    pub atomic_create_new: bool,
    /// Whether folders exist on their own, as in a file system: `mkdir_all`
    /// creates them, an empty one is listed, a put into a missing one fails
    /// with `NotFound`, and listing a missing one is `NotFound`. Object
    /// storage has none (`false`): `mkdir_all` only checks the path, a
    /// folder is a prefix that exists while files are below it, a put
    /// anywhere succeeds, and listing a prefix with nothing below is empty.
    pub has_folders: bool,
    /// Whether the modification time [`Transport::stat`] gives for a folder
    /// changes whenever an entry is created, removed or renamed in it (file
    /// systems: yes, to the second; object stores: there are no folders).
    /// The remote layer uses it as a cheap "nothing changed" signal.
    pub folder_mtime: bool,
}

impl Properties {
    /// A file system's shape (local disk, an SFTP server): real folders
    /// with modification times, parts of any size, atomic replace and
    /// atomic create-new, with these sizes and connections.
    pub const fn file_system(
        write_size: usize,
        part_write_size: usize,
        read_size: usize,
        max_connections: usize,
    ) -> Properties {
        Properties {
            write_size,
            part_write_size,
            read_size,
            max_connections,
            min_part_size: 0,
            atomic_replace: true,
            atomic_create_new: true,
            has_folders: true,
            folder_mtime: true,
        }
    }
}

/// What a put or a finished upload does to an existing file at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Appear only if nothing is there; otherwise fail with
    /// [`TransportError::AlreadyExists`] and leave the existing file as it was.
    New,
    /// Replace whatever is there (atomically where
    /// [`Properties::atomic_replace`]).
    Replace,
}

/// A file being read from a transport.
pub trait RemoteRead: Send {
    /// Read into `buf`, as `io::Read::read` does (0 at the end), with this
    /// layer's error.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;

    /// Read to the end, appending to `out`; returns the bytes read.
    fn read_to_end(&mut self, out: &mut Vec<u8>) -> Result<usize, TransportError> {
        let start = out.len();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match self.read(&mut buf)? {
                0 => return Ok(out.len() - start),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }
}

/// A file being written to a transport.
///
/// Calling [`RemoteWrite::finish`] is mandatory: for a [`Transport::put`] it
/// flushes, syncs to stable storage where the backend can, checks the size
/// and only then makes the file visible at its path. A writer dropped
/// without `finish` leaves nothing visible and cleans up what it staged,
/// best effort (the connection may be gone; then a later
/// [`Transport::sweep_staging`] removes it).
pub trait RemoteWrite: Send {
    /// Write all of `buf`. After a failure the writer refuses to go on.
    fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError>;
    /// Flush, sync where supported, check the size, and (for a put) make
    /// the file visible.
    fn finish(self: Box<Self>) -> Result<(), TransportError>;
}

/// A multi-part upload in progress ([`Transport::begin_upload`]): plain data,
/// so that it can be handed to other connections of the same location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Where the file appears once the upload is finished.
    pub path: String,
    /// The backend's handle for the upload in progress (for the file-system
    /// backends: the staging file; for S3: the upload id).
    pub token: String,
}

/// A reader of a remote file, as the backends hand it out.
pub type Reader<'a> = Box<dyn RemoteRead + 'a>;

/// A writer of a remote file, as the backends hand it out.
pub type Writer<'a> = Box<dyn RemoteWrite + 'a>;

/// The operations a vault needs from a storage backend.
///
/// A transport is one connection; it is `Send` so that several of them
/// (see [`Transport::reconnect`]) can work in parallel threads.
pub trait Transport: Send {
    /// A human-readable location for messages (`sftp://user@host:22/path`).
    fn describe(&self) -> String;
    /// What this backend is like (call sizes, useful connections, atomicity).
    fn properties(&self) -> Properties;
    /// Open another, independent connection to the same location (same
    /// resolved host, user and credentials, without asking again where the
    /// backend can avoid it).
    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError>;
    /// Open `n` more connections as [`Transport::reconnect`] does, at once
    /// where the backend can (over a far link each SSH connection costs
    /// several round trips: a backend that opens them side by side pays
    /// them once). The default opens them one after another.
    fn reconnect_many(&self, n: usize) -> Vec<Result<Box<dyn Transport>, TransportError>> {
        (0..n).map(|_| self.reconnect()).collect()
    }
    /// Create a folder and its parents; succeed if it exists. `""` is the root.
    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError>;
    /// List a folder's entries (not `.` or `..`), in no particular order.
    /// Entries whose names are not UTF-8 are skipped.
    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError>;
    /// Metadata of one path, `None` if it does not exist.
    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError>;
    /// Open a file for reading from its start.
    fn read(&mut self, path: &str) -> Result<Reader<'_>, TransportError>;
    /// Read at most `len` bytes of `path` from byte `offset` (fewer if the
    /// file ends first: the reader then ends early, and the caller decides
    /// whether that is an error).
    fn read_at(&mut self, path: &str, offset: u64, len: u64) -> Result<Reader<'_>, TransportError>;
    /// A whole file that appears at `path` only when the writer finishes,
    /// complete, with `mode`'s semantics (files are private to the user:
    /// mode 0600 where that applies). A put into a missing folder fails
    /// with `NotFound`, at the latest in `finish`.
    fn put(&mut self, path: &str, mode: PutMode) -> Result<Writer<'_>, TransportError>;
    /// A new file written where it will stay: it may be seen, incomplete,
    /// from the first call on, so this is only for files whose readers
    /// tolerate a partial file (they can tell from its contents). It
    /// refuses an existing file (`AlreadyExists`, at the latest in
    /// `finish`); a writer dropped unfinished removes it, best effort.
    /// `sync`: whether `finish` syncs it to stable storage. Cheaper than
    /// [`Transport::put`] on file systems (no staging file, no rename); the
    /// default is a `put` with [`PutMode::New`], which is complete-or-absent
    /// and so serves every reader.
    fn create(&mut self, path: &str, sync: bool) -> Result<Writer<'_>, TransportError> {
        let _ = sync;
        self.put(path, PutMode::New)
    }
    /// Start an upload of a file that several connections write in parts
    /// ([`Transport::write_part`]); nothing appears at `path` until
    /// [`Transport::finish_upload`].
    fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError>;
    /// Write one part of `up` from byte `offset` (any connection of the same
    /// location may do this; parts may arrive in any order). `finish`
    /// flushes and syncs the part; dropping the writer unfinished leaves the
    /// upload to its owner, who aborts it.
    fn write_part(&mut self, up: &Upload, offset: u64) -> Result<Writer<'_>, TransportError>;
    /// Make the upload visible at `up.path` with `mode`'s semantics, after
    /// checking that it holds exactly `len` bytes. On failure nothing
    /// appears and the upload is cleaned up (best effort).
    fn finish_upload(&mut self, up: Upload, len: u64, mode: PutMode) -> Result<(), TransportError>;
    /// Abandon an upload: remove what it staged, best effort.
    fn abort_upload(&mut self, up: Upload);
    /// Remove a file.
    fn remove(&mut self, path: &str) -> Result<(), TransportError>;
    /// Remove what unfinished puts and uploads left behind that was last
    /// touched before `older_than` (seconds since the epoch). Returns how
    /// many were removed; best effort for each one.
    fn sweep_staging(&mut self, older_than: u64) -> Result<usize, TransportError>;
    /// Whether `entry`, an entry of `list("")`, is only what this backend's
    /// staging left behind from interrupted puts of files at the root (in a
    /// vault: its marker), so that a folder whose vault creation was cut
    /// short can be told from one holding someone's data. Backends that
    /// stage nowhere visible keep the default, `false`.
    fn is_staging_leftover(&mut self, entry: &Entry) -> Result<bool, TransportError> {
        let _ = entry;
        Ok(false)
    }
}

/// Check a transport path; `allow_root` lets `""` through.
pub(crate) fn check_path(path: &str, allow_root: bool) -> Result<(), TransportError> {
    if path.is_empty() {
        return if allow_root {
            Ok(())
        } else {
            Err(TransportError::BadPath(path.to_owned()))
        };
    }
    let bad = path.contains(['\0', '\\'])
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        Err(TransportError::BadPath(path.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_accepts_clean_relative_paths() {
        for p in ["a", "a/b", "a b/ç ü", "x.tmp", "..a", "a..", ".hidden"] {
            assert!(check_path(p, false).is_ok(), "{p:?}");
        }
        assert!(check_path("", true).is_ok());
    }

    #[test]
    fn check_path_refuses_escapes_and_odd_spellings() {
        for p in [
            "", "/a", "a/", "a//b", "..", "a/../b", ".", "./a", "a/.", "a\\b", "a\0b",
        ] {
            assert!(
                matches!(check_path(p, false), Err(TransportError::BadPath(_))),
                "{p:?}"
            );
        }
    }
}
