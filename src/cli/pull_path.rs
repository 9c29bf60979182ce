//! Where `pull -C DIR` writes an object whose name came from the server.
//!
//! The name itself is checked by [`names::local_path`] (no `..`, no absolute
//! paths, no control characters), but the folder it lands in belongs to the
//! user and may hold symbolic links. A name is a path chosen by whoever
//! sealed the object, so no link inside DIR is followed: a link in a folder
//! position (`a` for the name `a/b`) is refused, and a link at the file
//! position is treated as an existing file (refused without `--force`,
//! replaced itself, never its target, with `--force`). This also keeps a
//! name from reaching a device or FIFO through a link (`dev/sda` with
//! `dev -> /dev`). `-o FILE` is the user's own choice and follows links to
//! special files as usual (`-o /dev/stdout`).

use std::fs;
use std::io;
use std::path::{Component, Path};

use super::error::CliError;
use super::io::Target;
use vault::remote::names;

/// The output for object `name` under `dir`.
pub fn target_under(dir: &Path, name: &str, force: bool) -> Result<Target, CliError> {
    let path = names::local_path(dir, name)?;
    let segments: Vec<Component<'_>> = Path::new(name).components().collect();
    let mut p = dir.to_path_buf();
    for (i, seg) in segments.iter().enumerate() {
        p.push(seg);
        let Ok(meta) = fs::symlink_metadata(&p) else {
            break; // missing: nothing below it exists yet
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        if i + 1 < segments.len() {
            return Err(CliError::Output(
                path,
                io::Error::other(format!("{} is a symbolic link", p.display())),
            ));
        }
        if !force {
            return Err(CliError::OutputExists(path));
        }
        // Replace the link itself (an atomic rename over it).
        return Ok(Target::Regular(path));
    }
    Target::resolve(Some(&path), force, None)
}
