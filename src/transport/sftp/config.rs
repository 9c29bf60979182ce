//! The few `~/.ssh/config` keywords a vault connection needs, resolved the
//! way OpenSSH resolves them.
//!
//! Why not the `ssh2-config` crate: it lets a later line of the same `Host`
//! block override an earlier one (OpenSSH keeps the first value everywhere),
//! keeps `UserKnownHostsFile` and `StrictHostKeyChecking` only as raw
//! strings, and has no notion of `Match`, so lines under a `Match` block
//! are silently applied to the block before it. Getting a host name, a key
//! file or the host-key policy wrong is a security problem, so this module
//! parses just what it needs and tests it.
//!
//! Rules followed (ssh_config(5)):
//! - keywords are case-insensitive, `Keyword value` or `Keyword=value`,
//!   values may be double-quoted, `#` starts a comment;
//! - lines before the first `Host`/`Match` apply to every host;
//! - `Host` takes patterns with `*` and `?`; a pattern prefixed with `!`
//!   vetoes the block when it matches; matching is case-insensitive against
//!   the host as given on the command line (the alias);
//! - for each keyword the first value obtained wins, except `IdentityFile`,
//!   which accumulates;
//! - `Include` reads files (relative to `~/.ssh`, `~` expanded, `*`/`?` in the
//!   file name) in place, sorted, up to 16 levels deep;
//! - `Match` supports `all`, `host`, `originalhost`, `user` and `localuser`
//!   (with `!`); a block using any other criterion (`exec`, `canonical`,
//!   `final`, `localnetwork`, `tagged`, ...) is treated as not matching,
//!   since evaluating it faithfully would mean running commands or a second
//!   pass. Only the user's file is read, not `/etc/ssh/ssh_config`.
//!
//! Keywords used: `HostName` (with `%h`), `Port`, `User`, `IdentityFile`,
//! `IdentitiesOnly`, `UserKnownHostsFile`, `GlobalKnownHostsFile`,
//! `StrictHostKeyChecking`, `HostKeyAlias`, `Ciphers`, `ConnectTimeout`,
//! `ServerAliveInterval`, `BatchMode`. Others are ignored. A bad value for
//! one of these is an error naming the file and line, as in OpenSSH.
//! Paths accept `~` and the tokens `%%`, `%d`, `%h`, `%n`, `%p`, `%r`, `%u`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::SshError;
use super::glob::{pattern_list_matches, wildmatch};
use crate::transport::error::TransportError;

/// How to treat host keys, from `StrictHostKeyChecking` and `--accept-new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strict {
    /// Refuse unknown hosts (`yes`, and `ask`, since nothing is asked here).
    Yes,
    /// Record unknown hosts, refuse changed keys (`accept-new`). `no`/`off`
    /// are deliberately treated the same: OpenSSH would then connect despite
    /// a changed key, which a vault never does.
    AcceptNew,
}

/// The settings for one host after applying the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostConfig {
    /// What was given on the command line (alias or name).
    pub alias: String,
    /// The name or address to connect to.
    pub host_name: String,
    pub port: u16,
    pub user: String,
    /// IdentityFile entries, expanded, in order.
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub user_known_hosts: Vec<PathBuf>,
    pub global_known_hosts: Vec<PathBuf>,
    /// `None` when the config says nothing (OpenSSH's default is `ask`).
    pub strict: Option<Strict>,
    pub host_key_alias: Option<String>,
    /// The `Ciphers` value as written (may start with `+`, `-` or `^`).
    pub ciphers: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub server_alive_interval: Option<u32>,
    pub batch_mode: bool,
}

/// The values as read, before defaults and token expansion.
#[derive(Default, Debug)]
struct Raw {
    host_name: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity_files: Vec<(String, Origin)>,
    identities_only: Option<bool>,
    user_known_hosts: Option<(Vec<String>, Origin)>,
    global_known_hosts: Option<(Vec<String>, Origin)>,
    strict: Option<Strict>,
    host_key_alias: Option<String>,
    ciphers: Option<String>,
    connect_timeout: Option<Duration>,
    server_alive_interval: Option<u32>,
    batch_mode: Option<bool>,
}

/// Where a value was read, for error messages about it.
type Origin = (PathBuf, usize);

const MAX_INCLUDE_DEPTH: usize = 16;

/// Resolve `alias` using `home/.ssh/config` (a missing file is an empty
/// config). `user` and `port` from the command line win over the file.
pub(crate) fn resolve(
    home: &Path,
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    local_user: &str,
) -> Result<HostConfig, TransportError> {
    let path = home.join(".ssh").join("config");
    let mut p = Parser {
        alias: alias.to_ascii_lowercase(),
        cli_user: user.map(str::to_owned),
        local_user: local_user.to_owned(),
        home: home.to_owned(),
        raw: Raw::default(),
        follow_includes: true,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => p.parse(&path, &text, true, false, 0)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(TransportError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            });
        }
    }
    p.finish(alias, user, port)
}

/// [`resolve`] on config text given in memory, ignoring `Include` lines, so
/// that the fuzzer (`crate::fuzzing`) never reads files named by its input.
#[cfg(any(test, fuzzing))]
pub(crate) fn resolve_text(
    text: &str,
    home: &Path,
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    local_user: &str,
) -> Result<HostConfig, TransportError> {
    let mut p = Parser {
        alias: alias.to_ascii_lowercase(),
        cli_user: user.map(str::to_owned),
        local_user: local_user.to_owned(),
        home: home.to_owned(),
        raw: Raw::default(),
        follow_includes: false,
    };
    p.parse(&home.join(".ssh").join("config"), text, true, false, 0)?;
    p.finish(alias, user, port)
}

struct Parser {
    alias: String,
    cli_user: Option<String>,
    local_user: String,
    home: PathBuf,
    raw: Raw,
    /// False only in [`resolve_text`].
    follow_includes: bool,
}

fn err(file: &Path, line: usize, message: impl Into<String>) -> TransportError {
    SshError::Config {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
    .into()
}

fn set_once<T>(slot: &mut Option<T>, active: bool, value: T) {
    if active && slot.is_none() {
        *slot = Some(value);
    }
}

impl Parser {
    fn parse(
        &mut self,
        file: &Path,
        text: &str,
        mut active: bool,
        never_match: bool,
        depth: usize,
    ) -> Result<(), TransportError> {
        for (idx, line) in text.lines().enumerate() {
            let lineno = idx + 1;
            let Some((keyword, args)) = split_line(line).map_err(|m| err(file, lineno, m))? else {
                continue;
            };
            let one = |args: &[String]| -> Result<String, TransportError> {
                match args {
                    [a] => Ok(a.clone()),
                    [] => Err(err(file, lineno, format!("{keyword} needs a value"))),
                    _ => Err(err(file, lineno, format!("{keyword} takes one value"))),
                }
            };
            match keyword.to_ascii_lowercase().as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(err(file, lineno, "Host needs at least one pattern"));
                    }
                    active = !never_match && host_matches(&self.alias, &args);
                }
                "match" => {
                    let m = self
                        .match_criteria(&args)
                        .map_err(|m| err(file, lineno, m))?;
                    active = !never_match && m;
                }
                "include" if !self.follow_includes => {}
                "include" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(err(file, lineno, "Include nested too deeply"));
                    }
                    for arg in &args {
                        for inc in self.include_paths(arg).map_err(|m| err(file, lineno, m))? {
                            let text = match std::fs::read_to_string(&inc) {
                                Ok(t) => t,
                                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                                Err(e) => {
                                    return Err(err(
                                        file,
                                        lineno,
                                        format!("cannot read {}: {e}", inc.display()),
                                    ));
                                }
                            };
                            self.parse(&inc, &text, active, never_match || !active, depth + 1)?;
                        }
                    }
                }
                "hostname" => {
                    let v = one(&args)?;
                    let v = v
                        .replace("%%", "\0")
                        .replace("%h", &self.alias)
                        .replace('\0', "%");
                    set_once(&mut self.raw.host_name, active, v);
                }
                "port" => {
                    let v = one(&args)?;
                    let port = match v.parse::<u16>() {
                        Ok(p) if p > 0 => p,
                        _ => return Err(err(file, lineno, format!("bad port {v:?}"))),
                    };
                    set_once(&mut self.raw.port, active, port);
                }
                "user" => {
                    let v = one(&args)?;
                    set_once(&mut self.raw.user, active, v);
                }
                "identityfile" => {
                    let v = one(&args)?;
                    if active {
                        self.raw.identity_files.push((v, (file.to_owned(), lineno)));
                    }
                }
                "identitiesonly" => {
                    let v = yes_no(&one(&args)?).map_err(|m| err(file, lineno, m))?;
                    set_once(&mut self.raw.identities_only, active, v);
                }
                "batchmode" => {
                    let v = yes_no(&one(&args)?).map_err(|m| err(file, lineno, m))?;
                    set_once(&mut self.raw.batch_mode, active, v);
                }
                "userknownhostsfile" => {
                    if args.is_empty() {
                        return Err(err(file, lineno, "UserKnownHostsFile needs a value"));
                    }
                    let v = (args, (file.to_owned(), lineno));
                    set_once(&mut self.raw.user_known_hosts, active, v);
                }
                "globalknownhostsfile" => {
                    if args.is_empty() {
                        return Err(err(file, lineno, "GlobalKnownHostsFile needs a value"));
                    }
                    let v = (args, (file.to_owned(), lineno));
                    set_once(&mut self.raw.global_known_hosts, active, v);
                }
                "stricthostkeychecking" => {
                    let v = one(&args)?;
                    let s = match v.to_ascii_lowercase().as_str() {
                        "yes" | "true" | "ask" => Strict::Yes,
                        "accept-new" | "no" | "off" | "false" => Strict::AcceptNew,
                        _ => {
                            return Err(err(
                                file,
                                lineno,
                                format!("bad StrictHostKeyChecking value {v:?}"),
                            ));
                        }
                    };
                    set_once(&mut self.raw.strict, active, s);
                }
                "hostkeyalias" => {
                    let v = one(&args)?;
                    set_once(&mut self.raw.host_key_alias, active, v);
                }
                "ciphers" => {
                    let v = one(&args)?;
                    set_once(&mut self.raw.ciphers, active, v);
                }
                "connecttimeout" => {
                    let v = one(&args)?;
                    let t = if v.eq_ignore_ascii_case("none") {
                        None
                    } else {
                        match v.parse::<u64>() {
                            Ok(s) if s > 0 => Some(Duration::from_secs(s)),
                            _ => {
                                return Err(err(file, lineno, format!("bad ConnectTimeout {v:?}")));
                            }
                        }
                    };
                    if let Some(t) = t {
                        set_once(&mut self.raw.connect_timeout, active, t);
                    }
                }
                "serveraliveinterval" => {
                    let v = one(&args)?;
                    let s = v
                        .parse::<u32>()
                        .map_err(|_| err(file, lineno, format!("bad ServerAliveInterval {v:?}")))?;
                    set_once(&mut self.raw.server_alive_interval, active, s);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Evaluate a `Match` line; unknown or unsupported criteria do not match.
    fn match_criteria(&self, args: &[String]) -> Result<bool, String> {
        if args.is_empty() {
            return Err("Match needs criteria".into());
        }
        let mut result = true;
        let mut it = args.iter();
        while let Some(tok) = it.next() {
            let (negate, crit) = match tok.strip_prefix('!') {
                Some(c) => (true, c.to_ascii_lowercase()),
                None => (false, tok.to_ascii_lowercase()),
            };
            let matched = match crit.as_str() {
                "all" => true,
                "canonical" | "final" => false,
                "host" | "originalhost" | "user" | "localuser" | "exec" | "localnetwork"
                | "tagged" | "address" | "localaddress" | "localport" | "rdomain" | "version"
                | "sessiontype" | "command" => {
                    let arg = it
                        .next()
                        .ok_or_else(|| format!("Match {crit} needs an argument"))?;
                    match crit.as_str() {
                        "host" => {
                            let name = self
                                .raw
                                .host_name
                                .as_deref()
                                .unwrap_or(&self.alias)
                                .to_ascii_lowercase();
                            pattern_list_matches(&name, arg) == Some(true)
                        }
                        "originalhost" => pattern_list_matches(&self.alias, arg) == Some(true),
                        "user" => {
                            let user = self
                                .cli_user
                                .as_deref()
                                .or(self.raw.user.as_deref())
                                .unwrap_or(&self.local_user);
                            pattern_list_matches(user, arg) == Some(true)
                        }
                        "localuser" => pattern_list_matches(&self.local_user, arg) == Some(true),
                        // Not evaluated: never apply such a block.
                        _ => return Ok(false),
                    }
                }
                _ => return Ok(false),
            };
            result &= matched != negate;
        }
        Ok(result)
    }

    fn include_paths(&self, arg: &str) -> Result<Vec<PathBuf>, String> {
        let expanded = expand_tilde(arg, &self.home)?;
        let path = if expanded.is_absolute() {
            expanded
        } else {
            self.home.join(".ssh").join(expanded)
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !name.contains(['*', '?']) {
            return Ok(vec![path]);
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        if dir.to_string_lossy().contains(['*', '?']) {
            return Err("wildcards are supported only in the file name of an Include".into());
        }
        let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let n = e.file_name().into_string().ok()?;
                    // glob(3) does not match dot files with a wildcard.
                    (!n.starts_with('.') && wildmatch(&name, &n)).then(|| e.path())
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort();
        Ok(found)
    }

    fn finish(
        self,
        alias: &str,
        cli_user: Option<&str>,
        cli_port: Option<u16>,
    ) -> Result<HostConfig, TransportError> {
        let raw = self.raw;
        let host_name = raw.host_name.unwrap_or_else(|| alias.to_owned());
        let port = cli_port.or(raw.port).unwrap_or(22);
        let user = cli_user
            .map(str::to_owned)
            .or(raw.user)
            .unwrap_or_else(|| self.local_user.clone());
        let tokens = Tokens {
            home: &self.home,
            host: &host_name,
            alias,
            port,
            user: &user,
            local_user: &self.local_user,
        };
        let expand = |s: &str, (f, line): &Origin| -> Result<PathBuf, TransportError> {
            tokens
                .expand(s)
                .and_then(|t| expand_tilde(&t, &self.home))
                .map_err(|m| err(f, *line, format!("{s:?}: {m}")))
        };
        let files = |list: Option<(Vec<String>, Origin)>, default: &[PathBuf]| match list {
            None => Ok(default.to_vec()),
            Some((l, _)) if l.len() == 1 && l[0].eq_ignore_ascii_case("none") => Ok(Vec::new()),
            Some((l, origin)) => l.iter().map(|s| expand(s, &origin)).collect(),
        };
        let ssh_dir = self.home.join(".ssh");
        Ok(HostConfig {
            alias: alias.to_owned(),
            port,
            identity_files: raw
                .identity_files
                .iter()
                .filter(|(s, _)| !s.eq_ignore_ascii_case("none"))
                .map(|(s, origin)| expand(s, origin))
                .collect::<Result<_, _>>()?,
            identities_only: raw.identities_only.unwrap_or(false),
            user_known_hosts: files(
                raw.user_known_hosts,
                &[ssh_dir.join("known_hosts"), ssh_dir.join("known_hosts2")],
            )?,
            global_known_hosts: files(
                raw.global_known_hosts,
                &[
                    PathBuf::from("/etc/ssh/ssh_known_hosts"),
                    PathBuf::from("/etc/ssh/ssh_known_hosts2"),
                ],
            )?,
            strict: raw.strict,
            host_key_alias: raw.host_key_alias,
            ciphers: raw.ciphers,
            connect_timeout: raw.connect_timeout,
            server_alive_interval: raw.server_alive_interval,
            batch_mode: raw.batch_mode.unwrap_or(false),
            host_name,
            user,
        })
    }
}

struct Tokens<'a> {
    home: &'a Path,
    host: &'a str,
    alias: &'a str,
    port: u16,
    user: &'a str,
    local_user: &'a str,
}

impl Tokens<'_> {
    fn expand(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('d') => out.push_str(&self.home.to_string_lossy()),
                Some('h') => out.push_str(self.host),
                Some('n') => out.push_str(self.alias),
                Some('p') => out.push_str(&self.port.to_string()),
                Some('r') => out.push_str(self.user),
                Some('u') => out.push_str(self.local_user),
                Some(o) => return Err(format!("unsupported token %{o}")),
                None => return Err("lone % at the end".into()),
            }
        }
        Ok(out)
    }
}

fn expand_tilde(s: &str, home: &Path) -> Result<PathBuf, String> {
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

fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("expected yes or no, not {v:?}")),
    }
}

/// Split a config line into its keyword and arguments; `None` for blank and
/// comment lines.
fn split_line(line: &str) -> Result<Option<(String, Vec<String>)>, String> {
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
    Ok(Some((keyword, args)))
}

/// Whether a `Host` line's patterns select `host` (already lowercase).
fn host_matches(host: &str, patterns: &[String]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn home_with(config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().expect("tempdir");
        fs::create_dir(home.path().join(".ssh")).expect("mkdir");
        fs::write(home.path().join(".ssh/config"), config).expect("write");
        home
    }

    fn get(config: &str, alias: &str) -> HostConfig {
        let home = home_with(config);
        resolve(home.path(), alias, None, None, "me").expect("resolve")
    }

    #[test]
    fn defaults_without_a_config() {
        let home = tempfile::tempdir().expect("tempdir");
        let c = resolve(home.path(), "Host.Example", None, None, "me").expect("resolve");
        assert_eq!(c.host_name, "Host.Example");
        assert_eq!(c.port, 22);
        assert_eq!(c.user, "me");
        assert!(c.identity_files.is_empty());
        assert_eq!(
            c.user_known_hosts,
            vec![
                home.path().join(".ssh/known_hosts"),
                home.path().join(".ssh/known_hosts2")
            ]
        );
        assert_eq!(c.strict, None);
    }

    #[test]
    fn alias_fields_and_first_value_wins() {
        let cfg = "\
# comment
Host other
  Port 1
Host box b*x !bad
  HostName 10.0.0.7
  Port 2222
  Port 3333
  User alice
  IdentityFile ~/.ssh/k1
  IdentityFile \"/abs/k 2\"
Host *
  User bob
  Port 22
  IdentityFile ~/.ssh/k3
  StrictHostKeyChecking accept-new
";
        let c = get(cfg, "box");
        assert_eq!(c.host_name, "10.0.0.7");
        assert_eq!(c.port, 2222);
        assert_eq!(c.user, "alice");
        assert!(c.identity_files[0].ends_with(".ssh/k1"));
        assert!(c.identity_files[0].is_absolute());
        assert_eq!(c.identity_files[1], PathBuf::from("/abs/k 2"));
        assert!(c.identity_files[2].ends_with(".ssh/k3"));
        assert_eq!(c.strict, Some(Strict::AcceptNew));
        // Case-insensitive alias, glob.
        assert_eq!(get(cfg, "BOOX").port, 2222);
        // Negation vetoes the block even though b*x matches.
        let c = get(cfg, "bad");
        assert_eq!((c.port, c.user.as_str()), (22, "bob"));
        assert_eq!(c.host_name, "bad");
    }

    #[test]
    fn global_lines_before_host_win() {
        let c = get("User first\nHost x\n User second\n", "x");
        assert_eq!(c.user, "first");
    }

    #[test]
    fn cli_user_and_port_win() {
        let home = home_with("Host x\n User u\n Port 5\n");
        let c = resolve(home.path(), "x", Some("cli"), Some(7), "me").expect("resolve");
        assert_eq!((c.user.as_str(), c.port), ("cli", 7));
    }

    #[test]
    fn equals_syntax_quotes_and_trailing_comments() {
        let c = get(
            "Host=x\nHostName = \"h.example\" # trailing\nPort=44\nUserKnownHostsFile ~/a \"/b c\"\n",
            "x",
        );
        assert_eq!(c.host_name, "h.example");
        assert_eq!(c.port, 44);
        assert!(c.user_known_hosts[0].ends_with("a"));
        assert_eq!(c.user_known_hosts[1], PathBuf::from("/b c"));
    }

    #[test]
    fn strict_values() {
        for (v, want) in [
            ("yes", Strict::Yes),
            ("ask", Strict::Yes),
            ("accept-new", Strict::AcceptNew),
            ("no", Strict::AcceptNew),
            ("off", Strict::AcceptNew),
        ] {
            assert_eq!(
                get(&format!("StrictHostKeyChecking {v}\n"), "x").strict,
                Some(want)
            );
        }
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let home = home_with("Host x\n\n  Port abc\n");
        match resolve(home.path(), "x", None, None, "me") {
            Err(TransportError::Ssh(SshError::Config { line, file, .. })) => {
                assert_eq!(line, 3);
                assert!(file.ends_with(".ssh/config"));
            }
            other => panic!("{other:?}"),
        }
        let home = home_with("StrictHostKeyChecking maybe\n");
        assert!(resolve(home.path(), "x", None, None, "me").is_err());
        let home = home_with("HostName \"unterminated\n");
        assert!(resolve(home.path(), "x", None, None, "me").is_err());
    }

    #[test]
    fn tokens_and_hostname_percent_h() {
        let c = get(
            "Host x\n HostName %h.lan\n User u\n Port 9\n IdentityFile %d/id_%r_%h_%p_%n_%u_%%\n",
            "x",
        );
        assert_eq!(c.host_name, "x.lan");
        let want = "id_u_x.lan_9_x_me_%";
        assert!(
            c.identity_files[0].to_string_lossy().ends_with(want),
            "{:?}",
            c.identity_files
        );
        let home = home_with("Port 2\n\nIdentityFile ~/%z\n");
        match resolve(home.path(), "x", None, None, "me") {
            Err(TransportError::Ssh(SshError::Config { line, .. })) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn known_hosts_none_and_global() {
        let c = get(
            "UserKnownHostsFile none\nGlobalKnownHostsFile /dev/null\n",
            "x",
        );
        assert!(c.user_known_hosts.is_empty());
        assert_eq!(c.global_known_hosts, vec![PathBuf::from("/dev/null")]);
    }

    #[test]
    fn match_blocks() {
        let cfg = "\
Match host x
  Port 1
Match exec \"true\"
  User never
Match originalhost y,!z
  Port 2
Match !host q all
  User everyone
";
        assert_eq!(get(cfg, "x").port, 1);
        assert_eq!(get(cfg, "y").port, 2);
        assert_eq!(get(cfg, "z").port, 22);
        assert_eq!(get(cfg, "x").user, "everyone");
        assert_eq!(get(cfg, "q").user, "me");
        let c = get(
            "Match user me\n Port 3\nMatch localuser other\n Port 4\n",
            "h",
        );
        assert_eq!(c.port, 3);
    }

    #[test]
    fn include_in_place_with_glob() {
        let home = home_with("Include conf.d/*.conf\nHost *\n Port 9\n");
        let d = home.path().join(".ssh/conf.d");
        fs::create_dir(&d).expect("mkdir");
        fs::write(d.join("b.conf"), "Host h\n Port 2\n User b\n").expect("write");
        fs::write(d.join("a.conf"), "Host h\n Port 1\n").expect("write");
        fs::write(d.join("ignored.txt"), "Host h\n Port 3\n").expect("write");
        let c = resolve(home.path(), "h", None, None, "me").expect("resolve");
        assert_eq!((c.port, c.user.as_str()), (1, "b"));
        let c = resolve(home.path(), "other", None, None, "me").expect("resolve");
        assert_eq!(c.port, 9);
    }

    #[test]
    fn include_inside_inactive_block_never_matches() {
        let home = home_with("Host nope\n Include extra\n");
        fs::write(home.path().join(".ssh/extra"), "Host h\n Port 5\n").expect("write");
        let c = resolve(home.path(), "h", None, None, "me").expect("resolve");
        assert_eq!(c.port, 22);
    }

    #[test]
    fn include_loop_is_an_error_not_a_hang() {
        let home = home_with("Include config\n");
        assert!(matches!(
            resolve(home.path(), "h", None, None, "me"),
            Err(TransportError::Ssh(SshError::Config { .. }))
        ));
    }

    #[test]
    fn ciphers_timeouts_flags() {
        let c = get(
            "Ciphers aes128-ctr\nConnectTimeout 5\nServerAliveInterval 7\nBatchMode yes\nIdentitiesOnly yes\nHostKeyAlias hk\n",
            "x",
        );
        assert_eq!(c.ciphers.as_deref(), Some("aes128-ctr"));
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.server_alive_interval, Some(7));
        assert!(c.batch_mode && c.identities_only);
        assert_eq!(c.host_key_alias.as_deref(), Some("hk"));
    }
}
