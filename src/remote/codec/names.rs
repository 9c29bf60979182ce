//! Object names: what a user may call a file inside a vault.
//!
//! Names come from the user (`push --name`, `mv`) and, when listing, from
//! metadata that anyone who can seal to you could have written, so the same
//! check guards both directions: no control characters (no terminal
//! escapes, no NUL, no newlines), no absolute paths, no `.`/`..` or empty
//! segments. A name that passes maps safely onto a relative local path.

use std::path::{Path, PathBuf};

use super::metadata::MAX_NAME;
use crate::remote::RemoteError;

/// Check a name; the error says what is wrong.
pub fn check(name: &str) -> Result<(), RemoteError> {
    let bad = |why: &str| Err(RemoteError::BadName(name.to_owned(), why.to_owned()));
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME {
        return bad("it is longer than 1024 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    if name.starts_with('/') {
        return bad("it starts with /");
    }
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("it has an empty, . or .. folder");
    }
    Ok(())
}

/// The local path a checked name maps to under `dir`.
pub fn local_path(dir: &Path, name: &str) -> Result<PathBuf, RemoteError> {
    check(name)?;
    let mut p = dir.to_path_buf();
    for seg in name.split('/') {
        p.push(seg);
    }
    Ok(p)
}

/// The default name for a pushed file: its base name.
pub fn default_name(file: &Path) -> Option<String> {
    file.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for n in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "a/",
            ".",
            "a\0b",
            "\x1b[31mred",
            "line\nbreak",
            "a/./b",
            "\u{9b}c1",
        ] {
            assert!(check(n).is_err(), "{n:?}");
        }
        for n in ["a", "a b/c d", "ünï/cødé ✓", "..hidden", "a..b", ".config"] {
            assert!(check(n).is_ok(), "{n:?}");
        }
        let p = local_path(Path::new("/out"), "a/b c").unwrap();
        assert_eq!(p, PathBuf::from("/out/a/b c"));
    }
}
