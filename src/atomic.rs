//! Local files that appear whole or not at all.
//!
//! Every file vault writes on the local disk (opened plaintext, sealed
//! output, keystore files, pulled objects) is written to a temporary file
//! beside its target and renamed into place only once it is complete and
//! synced: a failure, a wrong key or Ctrl-C leaves no partial file under the
//! target's name. Without `replace` the final step is a no-clobber rename
//! (link and unlink), so a file that appeared meanwhile is not overwritten
//! either. A rename replaces a symlink at the target rather than following
//! it.
//!
//! Temporary files are registered so that the signal handler installed by
//! [`install_signal_cleanup`] removes them on SIGINT, SIGTERM and SIGHUP;
//! the same handler puts the terminal back if a prompt had turned echo off
//! ([`crate::tty`]).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// Let the signal handler give the running command time to stop by itself
/// (remote commands: they remove what they were writing on the server).
pub fn stop_gracefully() {
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// Whether SIGINT, SIGTERM or SIGHUP arrived: long work (a push, a pull)
/// checks this between pieces and stops, so that what it was writing on a
/// server is removed before the process exits.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Register a temporary file written by other means than [`AtomicFile`]
/// (a pull's output under its folder), for removal on a signal.
pub fn register_temp(p: &Path) {
    register(p);
}

/// Undo [`register_temp`] once the file is renamed or removed.
pub fn unregister_temp(p: &Path) {
    unregister(p);
}

fn register(p: &Path) {
    if let Ok(mut v) = PENDING.lock() {
        v.push(p.to_path_buf());
    }
}

fn unregister(p: &Path) {
    if let Ok(mut v) = PENDING.lock() {
        v.retain(|q| q != p);
    }
}

/// On SIGINT, SIGTERM or SIGHUP: restore the terminal, remove registered
/// temporary files, tell
/// long work to stop ([`interrupted`]), give it a few seconds to remove
/// what it was writing on a server (the command then exits with status
/// 130 itself), and exit with status 130 if it has not by then. A second
/// signal exits at once. Call once, early in `main`.
pub fn install_signal_cleanup() {
    let _ = ctrlc::set_handler(|| {
        let again = INTERRUPTED.swap(true, Ordering::SeqCst);
        crate::tty::restore_after_signal();
        if let Ok(v) = PENDING.lock() {
            for p in v.iter() {
                let _ = fs::remove_file(p);
            }
        }
        if again || !GRACEFUL.load(Ordering::SeqCst) {
            eprintln!("vault: interrupted; partial output removed");
            std::process::exit(130);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
        eprintln!("vault: interrupted; partial output removed");
        std::process::exit(130);
    });
}

/// The permissions a new file gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 0600 whatever the umask: secrets.
    Private,
    /// 0644 whatever the umask: public but trusted files (a public key
    /// that vault seals to must not be replaceable by others).
    Public,
    /// 0666 minus the umask, as `cp` would (or the replaced file's mode).
    Default,
}

/// The process umask, read without changing it (Linux `/proc`); 022 if
/// unknown.
pub fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// A file being written beside its target; see the module docs.
pub struct AtomicFile {
    temp: Option<NamedTempFile>,
    target: PathBuf,
    replace: bool,
    mode: u32,
    /// Bytes written through `Write`, and how many of them have been
    /// handed to [`start_writeback`].
    written: u64,
    written_back: u64,
}

/// Every this many bytes, a file being written has its new range handed to
/// the disk ([`start_writeback`]).
pub const WRITEBACK_STEP: u64 = 8 << 20;

/// Ask the kernel to start writing `len` bytes at `offset` of `f` to disk
/// now, without waiting (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`).
///
/// Why: [`AtomicFile::commit`] syncs before it renames, and a sync of a
/// file written at full speed otherwise starts all the disk writes at the
/// end: about 0.2-0.35 s per GiB here, 6-10% of a 1 GiB pull. Started
/// while the data is still arriving, that writing overlaps the transfer
/// and the final sync only waits for the tail. Only a hint: errors are
/// ignored (the final sync reports real ones), and no data is made durable
/// by this call alone.
#[cfg(target_os = "linux")]
pub fn start_writeback(f: &fs::File, offset: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    #[allow(unsafe_code)]
    // SAFETY: a plain system call on a file descriptor that `f` keeps open.
    unsafe {
        libc::sync_file_range(
            f.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Elsewhere there is no such call; the final sync does all the work.
#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_f: &fs::File, _offset: u64, _len: u64) {}

impl AtomicFile {
    /// Start writing `target`. Fails at once with `AlreadyExists` if the
    /// target exists and `replace` is false.
    pub fn create(target: &Path, replace: bool, mode: Mode) -> io::Result<AtomicFile> {
        let existing = fs::symlink_metadata(target).ok();
        if existing.is_some() && !replace {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            ));
        }
        let mode = match (mode, &existing) {
            (Mode::Private, _) => 0o600,
            (Mode::Public, _) => 0o644,
            (Mode::Default, Some(m)) if m.is_file() => m.permissions().mode() & 0o7777,
            (Mode::Default, _) => 0o666 & !umask(),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // tempfile creates the file 0600 with O_EXCL and a random name.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{base}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        register(temp.path());
        Ok(AtomicFile {
            temp: Some(temp),
            target: target.to_path_buf(),
            replace,
            mode,
            written: 0,
            written_back: 0,
        })
    }

    /// The temporary file.
    pub fn as_file(&self) -> &fs::File {
        self.temp.as_ref().expect("not committed").as_file()
    }

    /// Write all of `buf` at `offset` (several threads may write disjoint
    /// ranges at once). Each [`WRITEBACK_STEP`] boundary the range crosses
    /// hands the step before it to the disk ([`start_writeback`]), so that
    /// writers of contiguous ranges keep the disk busy as the file grows.
    pub fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let f = self.as_file();
        f.write_all_at(buf, offset)?;
        let end = offset + buf.len() as u64;
        if end / WRITEBACK_STEP > offset / WRITEBACK_STEP {
            let boundary = end / WRITEBACK_STEP * WRITEBACK_STEP;
            start_writeback(f, boundary - WRITEBACK_STEP, WRITEBACK_STEP);
        }
        Ok(())
    }

    /// Flush, sync, set the final mode and rename into place.
    pub fn commit(mut self) -> io::Result<()> {
        let temp = self.temp.take().expect("commit is called once");
        let temp_path = temp.path().to_path_buf();
        let result = (|| {
            let f = temp.as_file();
            f.sync_all()?;
            f.set_permissions(fs::Permissions::from_mode(self.mode))?;
            if self.replace {
                temp.persist(&self.target).map_err(|e| e.error)?;
            } else {
                temp.persist_noclobber(&self.target).map_err(|e| e.error)?;
            }
            if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename durable; not all file systems allow it.
                let _ = fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(())
        })();
        unregister(&temp_path);
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let temp = self.temp.as_mut().expect("not committed");
        let n = temp.write(buf)?;
        self.written += n as u64;
        if self.written - self.written_back >= WRITEBACK_STEP {
            start_writeback(
                temp.as_file(),
                self.written_back,
                self.written - self.written_back,
            );
            self.written_back = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(t) = self.temp.take() {
            let p = t.path().to_path_buf();
            drop(t); // NamedTempFile removes the file
            unregister(&p);
        }
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_file(path: &Path, bytes: &[u8], replace: bool, mode: Mode) -> io::Result<()> {
    let mut f = AtomicFile::create(path, replace, mode)?;
    f.write_all(bytes)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_files_vanish_and_committed_ones_appear_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        {
            let mut f = AtomicFile::create(&target, false, Mode::Default).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        write_file(&target, b"whole", false, Mode::Private).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let err = write_file(&target, b"again", false, Mode::Default).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        write_file(&target, b"again", true, Mode::Default).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"again");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        write_file(&link, b"new", true, Mode::Default).unwrap();
        assert_eq!(fs::read(&elsewhere).unwrap(), b"keep me");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
    }
}
