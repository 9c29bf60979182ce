//! Where `pull -C DIR` (one name, many, or a whole tree with `-r`) writes
//! objects whose names came from the server.
//!
//! A name is checked by [`names::local_path`] (no `..`, no absolute paths,
//! no control characters), but the folder it lands in belongs to the user
//! and may hold symbolic links, and a name is a path chosen by whoever
//! sealed the object. So every step below DIR is taken relative to an open
//! folder handle (`openat`, through `cap-std`), never by path: each folder
//! on the way is opened without following a symbolic link (a link in a
//! folder position, `a -> /elsewhere` for the name `a/b`, is refused), and
//! the file is written under a temporary name in that folder and renamed
//! into place, which replaces a link at the file position itself (with
//! `--force`), never its target. Nothing can be written outside DIR, and a
//! name cannot reach a device or FIFO through a link (`dev/sda` with
//! `dev -> /dev`). A pull that fails or is interrupted leaves no partial
//! file (the temporary file is removed, also on Ctrl-C).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

use super::error::CliError;
use vault::remote::names;
use vault::remote::pull::PositionedOutput;

/// The folder objects are pulled into.
pub struct OutDir {
    root: Dir,
    path: PathBuf,
}

fn random_tag() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl OutDir {
    /// Open `path` (created if missing, with its parents: it is the user's
    /// own choice, so links in it are followed).
    pub fn open(path: &Path) -> Result<OutDir, CliError> {
        std::fs::create_dir_all(path).map_err(|e| CliError::Output(path.to_path_buf(), e))?;
        let root = Dir::open_ambient_dir(path, ambient_authority())
            .map_err(|e| CliError::Output(path.to_path_buf(), e))?;
        Ok(OutDir {
            root,
            path: path.to_path_buf(),
        })
    }

    /// Where `rel` (a checked name, or a name with a prefix stripped) would
    /// go, for messages.
    pub fn shown(&self, rel: &str) -> PathBuf {
        names::local_path(&self.path, rel).unwrap_or_else(|_| self.path.join(rel))
    }

    /// The folder holding `rel`, opened segment by segment without
    /// following links, created where missing if `create`; and the file
    /// name. `Ok(None)`: a folder on the way is missing (and not created).
    fn parent(&self, rel: &str, create: bool) -> Result<Option<(Dir, String)>, CliError> {
        let shown = self.shown(rel);
        names::check(rel).map_err(CliError::from)?;
        let mut segs: Vec<&str> = rel.split('/').collect();
        let file = segs.pop().expect("a checked name has a segment").to_owned();
        let mut dir = self
            .root
            .try_clone()
            .map_err(|e| CliError::Output(shown.clone(), e))?;
        let mut so_far = PathBuf::new();
        for seg in segs {
            so_far.push(seg);
            let next = match dir.open_dir_nofollow(seg) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    match dir.create_dir(seg) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(CliError::Output(shown, e)),
                    }
                    dir.open_dir_nofollow(seg)
                        .map_err(|e| self.link_error(&shown, &so_far, e))?
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.link_error(&shown, &so_far, e)),
            };
            dir = next;
        }
        Ok(Some((dir, file)))
    }

    fn link_error(&self, shown: &Path, at: &Path, e: io::Error) -> CliError {
        let p = self.path.join(at);
        let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            CliError::Output(
                shown.to_path_buf(),
                io::Error::other(format!("{} is a symbolic link", p.display())),
            )
        } else {
            CliError::Output(shown.to_path_buf(), e)
        }
    }

    /// Whether something is at `rel` already (a link counts, and is not
    /// followed).
    pub fn exists(&self, rel: &str) -> Result<bool, CliError> {
        match self.parent(rel, false)? {
            None => Ok(false),
            Some((dir, file)) => Ok(dir.symlink_metadata(&file).is_ok()),
        }
    }

    /// Start writing `rel`: refused at once if something is there and not
    /// `force`; folders on the way are created.
    pub fn create(&self, rel: &str, force: bool) -> Result<SafeFile, CliError> {
        let shown = self.shown(rel);
        let (dir, file) = self.parent(rel, true)?.expect("created");
        if let Ok(m) = dir.symlink_metadata(&file) {
            if !force {
                return Err(CliError::OutputExists(shown));
            }
            if m.is_dir() {
                return Err(CliError::Output(shown, io::Error::other("is a directory")));
            }
        }
        let temp = format!(
            ".{}.{}.tmp",
            file.chars().take(40).collect::<String>(),
            random_tag()
        );
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true).mode(0o600);
        opts.follow(FollowSymlinks::No);
        let f = dir
            .open_with(&temp, &opts)
            .map_err(|e| CliError::Output(shown.clone(), e))?
            .into_std();
        let ambient = shown.with_file_name(&temp);
        vault::atomic::register_temp(&ambient);
        Ok(SafeFile {
            dir,
            temp,
            ambient,
            name: file,
            file: Some(f),
            shown,
            force,
        })
    }
}

/// A file being pulled: a temporary file in its folder until committed.
/// `secs` after the epoch as a file time, if the system can hold it
/// (up to the year 9999).
pub fn representable(secs: u64) -> Option<std::time::SystemTime> {
    const YEAR_10000: u64 = 253_402_300_800;
    if secs >= YEAR_10000 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

pub struct SafeFile {
    dir: Dir,
    temp: String,
    /// The temporary file's path, only for the Ctrl-C cleanup.
    ambient: PathBuf,
    name: String,
    file: Option<std::fs::File>,
    shown: PathBuf,
    force: bool,
}

impl SafeFile {
    /// Where it goes, for messages.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The open temporary file.
    pub fn file(&self) -> &std::fs::File {
        self.file.as_ref().expect("not committed")
    }

    /// Set the modification time, sync, and rename into place (without
    /// `--force`, refusing a file that appeared meanwhile).
    pub fn commit(mut self, mtime: Option<u64>) -> Result<(), CliError> {
        let f = self.file.take().expect("committed once");
        let err = |e| CliError::Output(self.shown.clone(), e);
        // A time the system cannot represent (it came from the object's
        // metadata, which anyone who can seal to you wrote) is left unset.
        if let Some(t) = mtime.and_then(representable) {
            f.set_modified(t).map_err(err)?;
        }
        f.sync_all().map_err(err)?;
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(
            0o666 & !vault::atomic::umask(),
        ))
        .map_err(err)?;
        drop(f);
        let r = if self.force {
            self.dir.rename(&self.temp, &self.dir, &self.name)
        } else {
            self.dir
                .hard_link(&self.temp, &self.dir, &self.name)
                .and_then(|()| self.dir.remove_file(&self.temp))
        };
        match r {
            Ok(()) => {
                vault::atomic::unregister_temp(&self.ambient);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(CliError::OutputExists(self.shown.clone()))
            }
            Err(e) => Err(CliError::Output(self.shown.clone(), e)),
        }
    }
}

impl Drop for SafeFile {
    fn drop(&mut self) {
        // Not committed (or the rename failed): nothing partial stays.
        let _ = self.dir.remove_file(&self.temp);
        vault::atomic::unregister_temp(&self.ambient);
    }
}

impl PositionedOutput for SafeFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self.file(), buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file().metadata()?.len())
    }
}

impl Write for SafeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
