//! The small pieces of ssh_config syntax: splitting a line, `%` tokens,
//! `~`, yes/no values, `Host` patterns and `ProxyJump` hop lists.

use std::path::{Path, PathBuf};

use super::super::glob::wildmatch;
use super::Jump;

/// One configuration line: its keyword, its arguments (quotes removed),
/// and the raw rest of the line after the keyword and `=` (which
/// `ProxyCommand` takes whole, as OpenSSH does).
pub(crate) struct Line {
    pub keyword: String,
    pub args: Vec<String>,
    pub rest: String,
}

/// Split a config line; `None` for blank and comment lines.
pub(crate) fn split_line(line: &str) -> Result<Option<Line>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..end].to_owned();
    let mut rest = line[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    let raw_rest = rest.to_owned();
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => arg.push(c),
                    None => return Err("unterminated quote".into()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.push(c);
            }
        }
        args.push(arg);
    }
    Ok(Some(Line {
        keyword,
        args,
        rest: raw_rest,
    }))
}

/// The values `%` tokens stand for.
pub(crate) struct Tokens<'a> {
    pub home: &'a Path,
    pub host: &'a str,
    pub alias: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub local_user: &'a str,
}

impl Tokens<'_> {
    /// Expand `%%`, `%d`, `%h`, `%n`, `%p`, `%r`, `%u`; `allowed` lists the
    /// token letters the keyword accepts (OpenSSH's per-keyword sets).
    pub fn expand(&self, s: &str, allowed: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let t = chars.next().ok_or("lone % at the end")?;
            if t != '%' && !allowed.contains(t) {
                return Err(format!("unsupported token %{t}"));
            }
            match t {
                '%' => out.push('%'),
                'd' => out.push_str(&self.home.to_string_lossy()),
                'h' => out.push_str(self.host),
                'n' => out.push_str(self.alias),
                'p' => out.push_str(&self.port.to_string()),
                'r' => out.push_str(self.user),
                'u' => out.push_str(self.local_user),
                o => return Err(format!("unsupported token %{o}")),
            }
        }
        Ok(out)
    }
}

/// Tokens in file names (`IdentityFile`, `UserKnownHostsFile`, ...).
pub(crate) const PATH_TOKENS: &str = "dhnpru";
/// Tokens in `ProxyCommand` (ssh_config(5)).
pub(crate) const PROXY_TOKENS: &str = "hnpr";

pub(crate) fn expand_tilde(s: &str, home: &Path) -> Result<PathBuf, String> {
    if s == "~" {
        Ok(home.to_owned())
    } else if let Some(rest) = s.strip_prefix("~/") {
        Ok(home.join(rest))
    } else if s.starts_with('~') {
        Err("~user paths are not supported".into())
    } else {
        Ok(PathBuf::from(s))
    }
}

pub(crate) fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("expected yes or no, not {v:?}")),
    }
}

/// Whether a `Host` line's patterns select `host` (already lowercase).
pub(crate) fn host_matches(host: &str, patterns: &[String]) -> bool {
    let mut matched = false;
    for p in patterns {
        let (neg, pat) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p.as_str()),
        };
        if wildmatch(&pat.to_ascii_lowercase(), host) {
            if neg {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// A `ProxyJump` value: comma-separated `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`, an IPv6 host in brackets.
pub(crate) fn parse_jumps(v: &str) -> Result<Vec<Jump>, String> {
    let mut out = Vec::new();
    for item in v.split(',') {
        let spec = item.strip_prefix("ssh://").unwrap_or(item);
        let spec = spec.strip_suffix('/').unwrap_or(spec);
        let (user, hostport) = match spec.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, spec),
        };
        let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("missing ']' in ProxyJump host {item:?}"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => return Err(format!("bad ProxyJump host {item:?}")),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(format!("bad port in ProxyJump host {item:?}")),
            },
        };
        let bad = |s: &str| {
            s.is_empty()
                || s.starts_with('-')
                || s.chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '/')
        };
        if bad(host) || user.as_deref().is_some_and(bad) {
            return Err(format!("bad ProxyJump host {item:?}"));
        }
        out.push(Jump {
            user,
            host: host.to_owned(),
            port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_lists() {
        let j = parse_jumps("a,u@b:2222,ssh://v@c,[::1]:23,w@[fe80::1]").expect("parse");
        let got: Vec<(Option<&str>, &str, Option<u16>)> = j
            .iter()
            .map(|j| (j.user.as_deref(), j.host.as_str(), j.port))
            .collect();
        assert_eq!(
            got,
            [
                (None, "a", None),
                (Some("u"), "b", Some(2222)),
                (Some("v"), "c", None),
                (None, "::1", Some(23)),
                (Some("w"), "fe80::1", None),
            ]
        );
        for bad in [
            "",
            "a,",
            "-oProxyCommand=x",
            "a:0",
            "a:x",
            "[::1",
            "u@",
            "a b",
        ] {
            assert!(parse_jumps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn proxy_command_keeps_the_raw_rest() {
        let l = split_line("ProxyCommand ssh -W \"%h:%p\" jump # not a comment to ssh")
            .expect("split")
            .expect("line");
        assert_eq!(l.keyword, "ProxyCommand");
        assert_eq!(l.rest, "ssh -W \"%h:%p\" jump # not a comment to ssh");
        let l = split_line("ProxyCommand=nc %h %p")
            .expect("split")
            .expect("line");
        assert_eq!(l.rest, "nc %h %p");
    }
}
