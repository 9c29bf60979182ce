//! Staging, for the backends that store files in a file system (a local
//! folder, SFTP): how a [`Transport::put`](super::Transport::put) or a
//! multi-part upload becomes visible whole or not at all, written once for
//! both.
//!
//! A put or an upload is written under a fresh name in the vault's `tmp/`
//! folder (created on first use, 0700), created exclusively with mode
//! 0600, and renamed into place once complete: without replace by a rename
//! that refuses an existing target, with replace by an atomic one (each
//! backend says how, [`StagingFs::rename`]). Whatever fails or is dropped
//! unfinished is removed, best effort; what a lost connection leaves is
//! removed by [`sweep`] once old.
//!
//! The names are part of the on-disk layout (`docs/FORMAT.md`) and are the
//! ones vaults have always had: `tmp/HEX32.tmp` for files and uploads, and
//! `tmp/marker.HEX16.tmp` for a file put at the root (in a vault: only its
//! marker), which [`is_leftover`] recognises so that a folder whose vault
//! creation was cut short is not mistaken for someone's data.

use super::backend::{Entry, PutMode, Upload, check_path};
use super::error::TransportError;

/// The staging folder, relative to the root.
pub(crate) const DIR: &str = "tmp";

/// The file operations staging needs from a backend, on checked paths
/// relative to its root.
pub(crate) trait StagingFs {
    /// Create the folder `path` (one level, mode 0700); fine if it exists.
    fn make_dir(&mut self, path: &str) -> Result<(), TransportError>;
    /// Rename `from` to `to`: with [`PutMode::New`] failing with
    /// `AlreadyExists` (both files untouched) if `to` exists, with
    /// [`PutMode::Replace`] replacing it atomically.
    fn rename(&mut self, from: &str, to: &str, mode: PutMode) -> Result<(), TransportError>;
    /// Remove a file.
    fn remove_file(&mut self, path: &str) -> Result<(), TransportError>;
    /// A folder's entries.
    fn list_dir(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError>;
    /// A file's size, `None` if it does not exist.
    fn size(&mut self, path: &str) -> Result<Option<u64>, TransportError>;
}

/// `bytes` random bytes in lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh staging name for a file put at `target`.
fn put_name(target: &str) -> String {
    if target.contains('/') {
        format!("{DIR}/{}.tmp", random_hex(16))
    } else {
        format!("{DIR}/marker.{}.tmp", random_hex(8))
    }
}

/// Whether `name` (a file name in [`DIR`]) is what a put at the root stages.
fn is_root_put_name(name: &str) -> bool {
    name.strip_prefix("marker.")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Create a fresh staging file for `target` with `create` (which creates a
/// path exclusively), making the staging folder first if it is missing.
/// Returns the staging name and what `create` returned.
pub(crate) fn create<F: StagingFs + ?Sized, R>(
    fs: &mut F,
    target: Option<&str>,
    create: impl Fn(&mut F, &str) -> Result<R, TransportError>,
) -> Result<(String, R), TransportError> {
    let name = match target {
        Some(t) => put_name(t),
        None => format!("{DIR}/{}.tmp", random_hex(16)),
    };
    match create(fs, &name) {
        Err(TransportError::NotFound(_)) => {
            fs.make_dir(DIR)?;
            create(fs, &name).map(|r| (name, r))
        }
        other => other.map(|r| (name, r)),
    }
}

/// Start an upload to `path`: an empty staging file, made with `create`
/// (which creates it exclusively and closes it).
pub(crate) fn begin_upload<F: StagingFs + ?Sized>(
    fs: &mut F,
    path: &str,
    create: impl Fn(&mut F, &str) -> Result<(), TransportError>,
) -> Result<Upload, TransportError> {
    check_path(path, false)?;
    let (token, ()) = self::create(fs, None, create)?;
    Ok(Upload {
        path: path.to_owned(),
        token,
    })
}

/// Move the complete staging file `staged` to `target`; remove it if that
/// fails.
pub(crate) fn commit<F: StagingFs + ?Sized>(
    fs: &mut F,
    staged: &str,
    target: &str,
    mode: PutMode,
) -> Result<(), TransportError> {
    let r = fs.rename(staged, target, mode);
    if r.is_err() {
        let _ = fs.remove_file(staged);
    }
    r
}

/// Check an upload handle: a clean target path and a staging name made by
/// [`create`] (so that a forged token cannot name another file).
pub(crate) fn check_upload(up: &Upload) -> Result<(), TransportError> {
    check_path(&up.path, false)?;
    let ok = up
        .token
        .strip_prefix(DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(TransportError::BadPath(up.token.clone()))
    }
}

/// Check the size of a finished upload and move it into place; on any
/// failure remove it.
pub(crate) fn finish_upload<F: StagingFs + ?Sized>(
    fs: &mut F,
    up: Upload,
    len: u64,
    mode: PutMode,
    shown: &str,
) -> Result<(), TransportError> {
    check_upload(&up)?;
    let size = match fs.size(&up.token) {
        Ok(s) => s,
        Err(e) => {
            let _ = fs.remove_file(&up.token);
            return Err(e);
        }
    };
    if size != Some(len) {
        let _ = fs.remove_file(&up.token);
        return Err(TransportError::Io {
            context: format!("finishing the upload of {shown}"),
            source: std::io::Error::other(format!(
                "the upload holds {} bytes instead of {len}",
                size.unwrap_or(0)
            )),
        });
    }
    commit(fs, &up.token, &up.path, mode)
}

/// Remove an unfinished upload, best effort.
pub(crate) fn abort_upload<F: StagingFs + ?Sized>(fs: &mut F, up: &Upload) {
    if check_upload(up).is_ok() {
        let _ = fs.remove_file(&up.token);
    }
}

/// Remove staging files last modified before `older_than`; see
/// [`Transport::sweep_staging`](super::Transport::sweep_staging).
pub(crate) fn sweep<F: StagingFs + ?Sized>(
    fs: &mut F,
    older_than: u64,
) -> Result<usize, TransportError> {
    let entries = match fs.list_dir(DIR) {
        Ok(e) => e,
        Err(TransportError::NotFound(_)) => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for e in entries {
        if !e.is_dir
            && e.mtime.is_some_and(|m| m < older_than)
            && fs.remove_file(&format!("{DIR}/{}", e.name)).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// See [`Transport::is_staging_leftover`](super::Transport::is_staging_leftover).
pub(crate) fn is_leftover<F: StagingFs + ?Sized>(
    fs: &mut F,
    entry: &Entry,
) -> Result<bool, TransportError> {
    if !entry.is_dir || entry.name != DIR {
        return Ok(false);
    }
    Ok(fs
        .list_dir(DIR)?
        .iter()
        .all(|f| !f.is_dir && is_root_put_name(&f.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_vault_layout() {
        let n = put_name("objects/x.h");
        assert!(n.starts_with("tmp/") && n.ends_with(".tmp") && n.len() == 4 + 32 + 4);
        let up = Upload {
            path: "objects/x.p".into(),
            token: n,
        };
        assert!(check_upload(&up).is_ok());
        let m = put_name("VAULT");
        assert!(is_root_put_name(m.strip_prefix("tmp/").unwrap()), "{m}");
        assert!(!is_root_put_name("marker.0123.tmp"));
        assert!(!is_root_put_name("notes.txt"));
        for token in ["objects/x.h", "tmp/../VAULT", &m, "tmp/x.tmp"] {
            let up = Upload {
                path: "objects/x.p".into(),
                token: token.into(),
            };
            assert!(check_upload(&up).is_err(), "{token}");
        }
    }
}
