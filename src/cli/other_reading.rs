//! The two readings of an SFTP path: `sftp://host/vault` is the absolute
//! `/vault`, while `host:vault` (and `sftp://host/~/vault`) is `vault` in
//! the login folder. When no vault is found at the one the user wrote,
//! the other is checked, so the error can say whether a vault is there;
//! mixing the two forms up is the usual cause of "no vault".
//!
//! The check is a second connection that asks nothing (no passphrase,
//! password or host-key question: whatever was needed the first time is
//! not asked twice); if it cannot be made the error stays as it was.

use vault::remote::{RemoteError, RemoteVault};
use vault::transport::{ConnectOptions, Location, SftpTarget};

use super::error::{CliError, OtherReading};

/// The same target with the other reading of its path, if it has one
/// (the login folder itself, `""`, has none).
pub fn other(t: &SftpTarget) -> Option<SftpTarget> {
    let path = match t.path.strip_prefix('/') {
        Some("") => return None,
        Some(rel) => rel.to_owned(),
        None if t.path.is_empty() => return None,
        None => format!("/{}", t.path),
    };
    Some(SftpTarget { path, ..t.clone() })
}

/// `e` from opening the vault at `loc`, with what the other reading of the
/// path holds when `e` says there is no vault.
pub fn explain(loc: &Location, opts: &ConnectOptions, e: RemoteError) -> CliError {
    let (Location::Sftp(target), RemoteError::NoVault(_) | RemoteError::NotAVault(_)) = (loc, &e)
    else {
        return e.into();
    };
    let Some(alt) = other(target) else {
        return e.into();
    };
    let mut quiet = opts.clone();
    quiet.interactive = false;
    quiet.accept_new = false;
    let exists = match Location::Sftp(alt.clone()).connect(&quiet) {
        Ok(t) => RemoteVault::open(t).is_ok(),
        Err(_) => return e.into(),
    };
    CliError::NoVaultAtThisReading(Box::new(OtherReading {
        error: e,
        other: alt,
        exists,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> SftpTarget {
        SftpTarget {
            user: Some("u".into()),
            host: "h".into(),
            port: Some(2222),
            path: path.into(),
        }
    }

    #[test]
    fn absolute_and_login_relative_swap() {
        assert_eq!(other(&target("/srv/v")).unwrap().path, "srv/v");
        assert_eq!(other(&target("v")).unwrap().path, "/v");
        assert_eq!(
            other(&target("a/b")).unwrap().to_string(),
            "sftp://u@h:2222/a/b"
        );
        assert_eq!(
            other(&target("/v")).unwrap().to_string(),
            "sftp://u@h:2222/~/v"
        );
        assert_eq!(other(&target("")), None);
        assert_eq!(other(&target("/")), None);
    }
}
