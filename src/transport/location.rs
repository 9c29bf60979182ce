//! Parsing the REMOTE argument: where a vault lives.
//!
//! Accepted forms, tried in this order:
//! - `file:///abs/path` (or `file://localhost/abs/path`): a local folder;
//! - `sftp://[user@]host[:port][/path]`: percent-escapes are decoded in the
//!   user and the path; an IPv6 host is written `[::1]`; `/~/x` (or no path
//!   at all) is relative to the login folder, any other path is absolute;
//! - `s3://BUCKET[/PREFIX]`: a key prefix in a bucket of an S3-compatible
//!   store (bucket names follow AWS's rules, 3 to 63 characters; the prefix
//!   is a clean relative path; see `s3::config` for endpoint and credentials);
//! - any other `scheme://` is refused rather than misread;
//! - a path starting with `/`, `./`, `../` or `~` is local (`~` and `~/` are
//!   expanded from `$HOME` when connecting);
//! - `[user@]host:path`, scp style, when a `:` comes before the first `/`
//!   (so `C:foo` is host `C`, and `./a:b` is local): a relative path is
//!   relative to the login folder, `host:` is the login folder itself, and
//!   an IPv6 host is written `[::1]:path`;
//! - anything else is a local path.
//!
//! The host part is later resolved through `~/.ssh/config`, so it may be an
//! alias. Characters that could not be handed to libssh2 safely (NUL,
//! controls, white space in host or user) are refused here.

use std::fmt;
use std::path::PathBuf;

use super::error::TransportError;

/// Where a vault lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on this machine.
    Local(PathBuf),
    /// A folder on an SFTP server.
    Sftp(SftpTarget),
    /// A prefix in a bucket of an S3-compatible store.
    S3(super::S3Target),
}

/// The parts of an SFTP location, before `~/.ssh/config` is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpTarget {
    /// The user, if given (otherwise ssh config `User`, then the local user).
    pub user: Option<String>,
    /// The host name or ssh config alias (IPv6 without brackets).
    pub host: String,
    /// The port, if given (otherwise ssh config `Port`, then 22).
    pub port: Option<u16>,
    /// The vault folder: absolute if it starts with `/`, otherwise relative
    /// to the login folder (`""` is the login folder).
    pub path: String,
}

impl Location {
    /// Parse a REMOTE string (see the module documentation for the forms).
    pub fn parse(input: &str) -> Result<Location, TransportError> {
        let bad = |reason: &str| TransportError::BadLocation {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(bad("empty location"));
        }
        if input.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        if let Some(rest) = strip_prefix_ci(input, "file://") {
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(bad("a file URL needs an absolute path: file:///path"));
            }
            let path = percent_decode(path).ok_or_else(|| bad("bad percent-escape in path"))?;
            return Ok(Location::Local(PathBuf::from(path)));
        }
        if let Some(rest) = strip_prefix_ci(input, "sftp://") {
            return parse_sftp_url(rest).map_err(|r| bad(&r));
        }
        if let Some(rest) = strip_prefix_ci(input, "s3://") {
            return super::s3::parse_s3_url(rest)
                .map(Location::S3)
                .map_err(|r| bad(&r));
        }
        if let Some(scheme_end) = input.find("://") {
            let scheme = &input[..scheme_end];
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Err(bad(&format!(
                    "unsupported scheme {scheme:?} (use sftp://, file://, user@host:path or a local path)"
                )));
            }
        }
        if input.starts_with('/')
            || input.starts_with("./")
            || input.starts_with("../")
            || input.starts_with('~')
            || input == "."
            || input == ".."
        {
            return Ok(Location::Local(PathBuf::from(input)));
        }
        match scp_colon(input) {
            Some(colon) => parse_scp(&input[..colon], &input[colon + 1..]).map_err(|r| bad(&r)),
            None if (input.starts_with('[') || input.contains("@[")) && !input.contains(']') => {
                Err(bad("missing ']' after an IPv6 address"))
            }
            None => Ok(Location::Local(PathBuf::from(input))),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Sftp(t) => write!(f, "{t}"),
            Location::S3(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for super::S3Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl fmt::Display for SftpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sftp://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if self.path.starts_with('/') {
            f.write_str(&self.path)
        } else if self.path.is_empty() {
            Ok(())
        } else {
            write!(f, "/~/{}", self.path)
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The index of the `:` separating an scp-style host from its path, if the
/// string is scp style: the first `:` outside `[...]` that comes before any
/// `/`.
fn scp_colon(s: &str) -> Option<usize> {
    let mut in_brackets = false;
    for (i, c) in s.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            ':' if !in_brackets => return Some(i),
            '/' if !in_brackets => return None,
            _ => {}
        }
    }
    None
}

fn parse_scp(userhost: &str, path: &str) -> Result<Location, String> {
    let (user, host) = split_user(userhost)?;
    let host = parse_host(host)?;
    let path = if path == "~" {
        String::new()
    } else if let Some(rest) = path.strip_prefix("~/") {
        rest.to_owned()
    } else {
        path.to_owned()
    };
    Ok(Location::Sftp(SftpTarget {
        user,
        host,
        port: None,
        path: clean_remote_root(&path),
    }))
}

fn parse_sftp_url(rest: &str) -> Result<Location, String> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains(['?', '#']) || path.contains(['?', '#']) {
        return Err("query strings and fragments are not supported".into());
    }
    let (user, hostport) = split_user(authority)?;
    let user = match user {
        Some(u) => {
            if u.contains(';') {
                return Err(
                    "connection parameters (;...) in the user part are not supported".into(),
                );
            }
            let u = percent_decode(&u).ok_or("bad percent-escape in user")?;
            check_name(&u, "user")?;
            Some(u)
        }
        None => None,
    };
    let (host, port) = split_port(hostport)?;
    let host = parse_host(host)?;
    let path = percent_decode(path).ok_or("bad percent-escape in path")?;
    if path.contains('\0') {
        return Err("path contains a NUL byte".into());
    }
    let path = if path.is_empty() || path == "/~" || path == "/~/" {
        String::new()
    } else if let Some(rel) = path.strip_prefix("/~/") {
        rel.to_owned()
    } else {
        path
    };
    Ok(Location::Sftp(SftpTarget {
        user,
        host,
        port,
        path: clean_remote_root(&path),
    }))
}

/// Split `user@host` at the last `@` outside brackets.
fn split_user(s: &str) -> Result<(Option<String>, &str), String> {
    // Host names and IPv6 addresses never contain '@', so the last one
    // separates the user (which may contain '@') from the host.
    match s.rfind('@') {
        Some(i) => {
            let user = &s[..i];
            if user.is_empty() {
                return Err("empty user name before '@'".into());
            }
            check_name(user, "user")?;
            Ok((Some(user.to_owned()), &s[i + 1..]))
        }
        None => Ok((None, s)),
    }
}

/// Split `host[:port]` / `[v6][:port]`.
fn split_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(end) => {
                let after = &s[end + 1..];
                match after.strip_prefix(':') {
                    Some(p) => (&s[..=end], Some(p)),
                    None if after.is_empty() => (&s[..=end], None),
                    None => return Err("unexpected text after ']'".into()),
                }
            }
            None => return Err("missing ']' after an IPv6 address".into()),
        }
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("bad port {p:?}")),
        },
    };
    Ok((host, port))
}

/// Remove IPv6 brackets and check the host name.
fn parse_host(host: &str) -> Result<String, String> {
    let inner = match host.strip_prefix('[') {
        Some(rest) => match rest.strip_suffix(']') {
            Some(v6) if v6.contains(':') => v6,
            _ => return Err(format!("bad bracketed host {host:?}")),
        },
        None => host,
    };
    if inner.is_empty() {
        return Err("empty host name".into());
    }
    if host.contains(['[', ']']) && !host.starts_with('[') {
        return Err(format!("bad host {host:?}"));
    }
    check_name(inner, "host")?;
    if inner.starts_with('-') {
        return Err("a host name cannot start with '-'".into());
    }
    Ok(inner.to_owned())
}

fn check_name(s: &str, what: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Err(format!("{what} contains white space or control characters"))
    } else {
        Ok(())
    }
}

/// Drop trailing slashes (but keep `/`), so that joining is uniform.
fn clean_remote_root(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Decode `%XX` escapes; `None` on a malformed escape (`%` not followed
/// by two hex digits, which the decoder would pass through as text) or
/// invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let well_formed = s.split('%').skip(1).all(|rest| {
        rest.as_bytes()
            .get(..2)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_refused(locations: &[&str]) {
        for s in locations {
            assert!(
                matches!(Location::parse(s), Err(TransportError::BadLocation { .. })),
                "{s:?} should be refused"
            );
        }
    }

    fn sftp(user: Option<&str>, host: &str, port: Option<u16>, path: &str) -> Location {
        Location::Sftp(SftpTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    fn local(p: &str) -> Location {
        Location::Local(PathBuf::from(p))
    }

    fn parse(s: &str) -> Location {
        match Location::parse(s) {
            Ok(l) => l,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn sftp_urls() {
        for (s, user, host, port, path) in [
            ("sftp://h/srv/v", None, "h", None, "/srv/v"),
            (
                "sftp://al%40ce@h:2222/a%20b/",
                Some("al@ce"),
                "h",
                Some(2222),
                "/a b",
            ),
            ("SFTP://h", None, "h", None, ""),
            ("sftp://h/", None, "h", None, "/"),
            ("sftp://h/~/v", None, "h", None, "v"),
            ("sftp://h/~", None, "h", None, ""),
            ("sftp://u@[::1]:22/x", Some("u"), "::1", Some(22), "/x"),
            ("sftp://[::1]/x", None, "::1", None, "/x"),
            ("sftp://h:/x", None, "h", None, "/x"),
        ] {
            assert_eq!(parse(s), sftp(user, host, port, path), "{s:?}");
        }
    }

    #[test]
    fn sftp_urls_refused() {
        all_refused(&[
            "sftp://",
            "sftp:///path",
            "sftp://h:0/x",
            "sftp://h:99999/x",
            "sftp://h:abc/x",
            "sftp://@h/x",
            "sftp://u;fingerprint=x@h/x",
            "sftp://[::1/x",
            "sftp://[::1]x/x",
            "sftp://h/%zz",
            "sftp://h/a%2",
            "sftp://h/a%",
            "sftp://h/%é1",
            "sftp://h/%00",
            "sftp://h/%ff",
            "sftp://h/x?y",
            "sftp://-oProxyCommand=x/y",
            "sftp://a b/x",
        ]);
    }

    #[test]
    fn scp_style() {
        assert_eq!(parse("h:vault"), sftp(None, "h", None, "vault"));
        assert_eq!(parse("u@h:/srv/v"), sftp(Some("u"), "h", None, "/srv/v"));
        assert_eq!(parse("h:"), sftp(None, "h", None, ""));
        assert_eq!(parse("h:~/x"), sftp(None, "h", None, "x"));
        assert_eq!(parse("h:~"), sftp(None, "h", None, ""));
        assert_eq!(parse("[::1]:p"), sftp(None, "::1", None, "p"));
        assert_eq!(parse("u@[fe80::1]:"), sftp(Some("u"), "fe80::1", None, ""));
        assert_eq!(parse("a@b@h:x"), sftp(Some("a@b"), "h", None, "x"));
        // A drive-letter look-alike is a host, as in scp.
        assert_eq!(parse("C:foo"), sftp(None, "C", None, "foo"));
        assert_eq!(parse("h:a:b"), sftp(None, "h", None, "a:b"));
        assert_eq!(parse("h:a b/ü"), sftp(None, "h", None, "a b/ü"));
    }

    #[test]
    fn scp_style_refused() {
        all_refused(&[":x", "u@:x", "@h:x", "[::1:x", "[]:x", "[h]:x", "-h:x"]);
    }

    #[test]
    fn local_paths() {
        for s in [
            "/abs/p", "./a:b", "../x:y", "~/v", "~", "plain", "a/b:c", ".", "..", "dir/",
        ] {
            assert_eq!(parse(s), local(s), "{s:?}");
        }
        assert_eq!(parse("file:///a/b%20c"), local("/a/b c"));
        assert_eq!(parse("file://localhost/a"), local("/a"));
    }

    #[test]
    fn odd_inputs_refused() {
        all_refused(&[
            "",
            "file://rel",
            "file://host/x",
            "s3://ab/x",
            "s3://Bucket/x",
            "s3://bucket/a//b",
            "http://h/x",
            "a\0b",
        ]);
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "sftp://u@h:2222/srv/v",
            "sftp://h",
            "sftp://h/~/rel",
            "sftp://[::1]:22/x",
            "s3://bkt/a/b",
        ] {
            let l = parse(s);
            assert_eq!(l.to_string(), s);
            assert_eq!(parse(&l.to_string()), l);
        }
    }
}
