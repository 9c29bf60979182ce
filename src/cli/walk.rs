//! The files of a folder for `push --recursive`, found without ever
//! following a symbolic link out of the tree.
//!
//! The walk holds an open handle on each folder it reads (`openat`,
//! through `cap-std`) and opens every sub-folder with `O_NOFOLLOW`, so a
//! link in the tree, or one swapped in while the walk runs, is never
//! followed. Regular files are what is pushed; symbolic links, devices,
//! FIFOs, sockets, and files or folders that cannot be read are skipped,
//! each with one line saying so. A file is opened again for its push the
//! same way, segment by segment from the root.

use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

use super::error::CliError;
use vault::remote::names;

/// A regular file found by the walk.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its path below the root, `/`-separated.
    pub rel: String,
    /// Its size when found.
    pub len: u64,
    /// Its modification time when found (Unix seconds).
    pub mtime: u64,
}

/// What the walk found.
pub struct Walk {
    root: Dir,
    /// The root as given, for messages.
    pub path: PathBuf,
    /// The files, sorted by path.
    pub files: Vec<Found>,
    /// What was left out, and why (one line each).
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// Folders with nothing to push in them.
    pub empty: Vec<PathBuf>,
}

fn secs(m: &cap_std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .map(|t| t.into_std())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

impl Walk {
    /// Walk the folder `path`.
    pub fn run(path: &Path) -> Result<Walk, CliError> {
        let root = Dir::open_ambient_dir(path, ambient_authority())
            .map_err(|e| CliError::Input(path.to_path_buf(), e))?;
        let mut w = Walk {
            root,
            path: path.to_path_buf(),
            files: Vec::new(),
            skipped: Vec::new(),
            empty: Vec::new(),
        };
        let top = w
            .root
            .try_clone()
            .map_err(|e| CliError::Input(path.to_path_buf(), e))?;
        w.visit(&top, "")?;
        w.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(w)
    }

    fn shown(&self, rel: &str) -> PathBuf {
        rel.split('/').fold(self.path.clone(), |p, s| p.join(s))
    }

    fn visit(&mut self, dir: &Dir, at: &str) -> Result<(), CliError> {
        let entries = match dir.entries() {
            Ok(e) => e,
            Err(_) => {
                self.skipped
                    .push((self.shown(at), "a folder that cannot be read"));
                return Ok(());
            }
        };
        let mut names_here: Vec<(String, cap_std::fs::FileType)> = Vec::new();
        for e in entries {
            let Ok(e) = e else {
                self.skipped
                    .push((self.shown(at), "a folder that cannot be read"));
                continue;
            };
            let raw = e.file_name();
            let rel_of = |n: &str| {
                if at.is_empty() {
                    n.to_owned()
                } else {
                    format!("{at}/{n}")
                }
            };
            let Some(name) = raw.to_str() else {
                let p = self.shown(at).join(&raw);
                self.skipped.push((p, "its name is not UTF-8"));
                continue;
            };
            let Ok(ft) = e.file_type() else {
                self.skipped
                    .push((self.shown(&rel_of(name)), "cannot be read"));
                continue;
            };
            names_here.push((name.to_owned(), ft));
        }
        names_here.sort_by(|a, b| a.0.cmp(&b.0));
        let before = self.files.len();
        for (name, ft) in names_here {
            let rel = if at.is_empty() {
                name.clone()
            } else {
                format!("{at}/{name}")
            };
            if ft.is_symlink() {
                self.skipped
                    .push((self.shown(&rel), "a symbolic link (not followed)"));
            } else if ft.is_dir() {
                match dir.open_dir_nofollow(&name) {
                    Ok(sub) => self.visit(&sub, &rel)?,
                    Err(_) => self
                        .skipped
                        .push((self.shown(&rel), "a folder that cannot be read")),
                }
            } else if ft.is_file() {
                if names::check(&rel).is_err() {
                    self.skipped
                        .push((self.shown(&rel), "its name cannot be an object name"));
                    continue;
                }
                match open_nofollow(dir, &name).and_then(|f| {
                    let m = f.metadata()?;
                    Ok((m.len(), m.modified()?))
                }) {
                    Ok((len, modified)) => {
                        let mtime = modified
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        self.files.push(Found { rel, len, mtime });
                    }
                    Err(_) => self
                        .skipped
                        .push((self.shown(&rel), "a file that cannot be read")),
                }
            } else {
                self.skipped.push((
                    self.shown(&rel),
                    "not a regular file (a device, FIFO or socket)",
                ));
            }
        }
        if self.files.len() == before && !at.is_empty() {
            self.empty.push(self.shown(at));
        }
        let _ = secs;
        Ok(())
    }

    /// Open a found file again, segment by segment from the root, never
    /// following a link; it must still be a regular file.
    pub fn open(&self, rel: &str) -> io::Result<std::fs::File> {
        let mut segs: Vec<&str> = rel.split('/').collect();
        let file = segs.pop().unwrap_or_default();
        let mut dir = self.root.try_clone()?;
        for s in segs {
            dir = dir.open_dir_nofollow(s)?;
        }
        let f = open_nofollow(&dir, file)?;
        if !f.metadata()?.is_file() {
            return Err(io::Error::other("is no longer a regular file"));
        }
        Ok(f)
    }
}

fn open_nofollow(dir: &Dir, name: &str) -> io::Result<std::fs::File> {
    let mut o = OpenOptions::new();
    o.read(true);
    o.follow(FollowSymlinks::No);
    // A FIFO swapped in after the walk would block an open for reading.
    o.custom_flags(libc::O_NONBLOCK);
    Ok(dir.open_with(name, &o)?.into_std())
}
