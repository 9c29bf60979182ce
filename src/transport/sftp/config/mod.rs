//! The ssh configuration for one host, resolved the way OpenSSH resolves
//! it, from `~/.ssh/config` then `/etc/ssh/ssh_config`.
//!
//! Why not the `ssh2-config` crate: it lets a later line of the same `Host`
//! block override an earlier one (OpenSSH keeps the first value everywhere),
//! keeps `UserKnownHostsFile` and `StrictHostKeyChecking` only as raw
//! strings, and has no notion of `Match`, so lines under a `Match` block
//! are silently applied to the block before it. Getting a host name, a key
//! file or the host-key policy wrong is a security problem, so this module
//! parses what it needs and tests it.
//!
//! Files: the user's `~/.ssh/config`, then the system's
//! `/etc/ssh/ssh_config`, as ssh reads them (first value wins across both;
//! Debian's system file sets `HashKnownHosts yes`). `VAULT_SSH_CONFIG`
//! names one file to read instead of both, as `ssh -F` does
//! ([`ConfigFiles`]).
//!
//! Rules followed (ssh_config(5)):
//! - keywords are case-insensitive, `Keyword value` or `Keyword=value`,
//!   values may be double-quoted, `#` starts a comment;
//! - lines before the first `Host`/`Match` apply to every host;
//! - `Host` takes patterns with `*` and `?`; a pattern prefixed with `!`
//!   vetoes the block when it matches; matching is case-insensitive against
//!   the host as given on the command line (the alias);
//! - for each keyword the first value obtained wins, except `IdentityFile`,
//!   which accumulates; `ProxyJump` and `ProxyCommand` share one slot;
//! - `Include` reads files (relative to `~/.ssh` in the user's file, to
//!   `/etc/ssh` in the system's; `~` expanded; `*`/`?` in the file name)
//!   in place, sorted, up to 16 levels deep;
//! - `Match` evaluates `all`, `host`, `originalhost`, `user`, `localuser`,
//!   `exec` (run with `sh -c`, as ssh does, only when the criteria before
//!   it matched), `canonical` and `final` (a second pass over the files
//!   when one of them is used, as ssh does; vault never canonicalizes, so
//!   both match in that pass only). A block under a criterion vault cannot
//!   evaluate (`localnetwork`, `tagged`, ...) may hold only options vault
//!   ignores; any other option there is an error naming the line, since
//!   guessing either way could send the connection somewhere else.
//!
//! Every keyword OpenSSH knows is classified in `keywords.rs`: carried
//! out, refused (the command stops, naming the file, line and option:
//! `BindAddress`, `CanonicalizeHostname`, `KnownHostsCommand`, ...), or
//! ignored because ignoring it cannot change where or how vault connects.
//! Unknown keywords are errors, as in ssh, unless `IgnoreUnknown` covers
//! them. A bad value is an error naming the file and line.
//! Paths accept `~` and the tokens `%%`, `%d`, `%h`, `%n`, `%p`, `%r`,
//! `%u`; `ProxyCommand` takes `%%`, `%h`, `%n`, `%p`, `%r`.

mod keywords;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::SshError;
use crate::transport::error::TransportError;
use lex::{PATH_TOKENS, PROXY_TOKENS, Tokens, expand_tilde};
use parse::{Parser, Raw};

/// How to treat host keys, from `StrictHostKeyChecking` and `--accept-new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strict {
    /// Refuse unknown hosts (`yes`).
    Yes,
    /// Ask on the terminal about an unknown host, refuse if there is none
    /// (`ask`, OpenSSH's default).
    Ask,
    /// Record unknown hosts, refuse changed keys (`accept-new`). `no`/`off`
    /// are deliberately treated the same: OpenSSH would then connect despite
    /// a changed key, which a vault never does.
    AcceptNew,
}

/// `AddressFamily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressFamily {
    Any,
    Inet,
    Inet6,
}

/// One `ProxyJump` hop, before its own config is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Jump {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// How the connection reaches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proxy {
    /// A TCP connection to `HostName`:`Port`.
    Direct,
    /// `ProxyCommand`, tokens expanded: its standard input and output carry
    /// the SSH connection.
    Command(String),
    /// `ProxyJump`: through these hosts, first to last.
    Jump(Vec<Jump>),
}

/// Which authentication methods the config allows, and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthMethods {
    pub pubkey: bool,
    pub password: bool,
    pub keyboard_interactive: bool,
    /// `PreferredAuthentications`, as written.
    pub preferred: Option<Vec<String>>,
}

/// The settings for one host after applying the config files.
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
    /// `IdentityAgent`, expanded: a socket path, `none`, or
    /// `SSH_AUTH_SOCK`.
    pub identity_agent: Option<String>,
    pub user_known_hosts: Vec<PathBuf>,
    pub global_known_hosts: Vec<PathBuf>,
    /// `None` when the config says nothing (OpenSSH's default is `ask`).
    pub strict: Option<Strict>,
    /// Where `StrictHostKeyChecking` was set, for messages.
    pub strict_origin: Option<(PathBuf, usize)>,
    /// `HashKnownHosts`: new known_hosts entries are written hashed.
    pub hash_known_hosts: bool,
    pub host_key_alias: Option<String>,
    /// The algorithm lists as written (may start with `+`, `-` or `^`).
    pub ciphers: Option<String>,
    pub macs: Option<String>,
    pub kex_algorithms: Option<String>,
    pub host_key_algorithms: Option<String>,
    pub compression: bool,
    pub connect_timeout: Option<Duration>,
    pub connection_attempts: u32,
    pub server_alive_interval: Option<u32>,
    pub address_family: AddressFamily,
    pub batch_mode: bool,
    pub proxy: Proxy,
    pub auth: AuthMethods,
    /// `RequiredRSASize` (OpenSSH's default: 1024 bits).
    pub required_rsa_size: u32,
}

/// Which configuration files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFiles {
    /// The user's file (`None`: the default `~/.ssh/config`).
    pub user: Option<PathBuf>,
    /// The system-wide file (`None`: not read).
    pub system: Option<PathBuf>,
}

impl Default for ConfigFiles {
    /// `~/.ssh/config` then `/etc/ssh/ssh_config`, unless `VAULT_SSH_CONFIG`
    /// names the only file to read (as `ssh -F` does).
    fn default() -> Self {
        match std::env::var_os("VAULT_SSH_CONFIG").filter(|v| !v.is_empty()) {
            Some(f) => ConfigFiles {
                user: Some(PathBuf::from(f)),
                system: None,
            },
            None => ConfigFiles {
                user: None,
                system: Some(PathBuf::from("/etc/ssh/ssh_config")),
            },
        }
    }
}

/// Where a value was read, for error messages about it.
pub(crate) type Origin = (PathBuf, usize);

pub(crate) fn err(file: &Path, line: usize, message: impl Into<String>) -> TransportError {
    SshError::Config {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
    .into()
}

/// The host to resolve, and what the command line says about it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query<'a> {
    /// The home folder holding `.ssh/`.
    pub home: &'a Path,
    /// The host as written (`Host` patterns match it).
    pub alias: &'a str,
    /// The user from the command line: wins over the files.
    pub user: Option<&'a str>,
    /// The port from the command line: wins over the files.
    pub port: Option<u16>,
    /// Who runs this (`%u`, and the user when nothing names one).
    pub local_user: &'a str,
}

impl Query<'_> {
    /// A parser for this host; `trusted`: follow `Include` and run
    /// `Match exec` (files the user wrote, not fuzzer input).
    fn parser(&self, trusted: bool) -> Parser {
        Parser::new(self.alias, self.user, self.local_user, self.home, trusted)
    }
}

/// Resolve `q` using the configuration `files` (a missing file is an
/// empty one).
pub(crate) fn resolve(files: &ConfigFiles, q: &Query) -> Result<HostConfig, TransportError> {
    let ssh_dir = q.home.join(".ssh");
    let mut list: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    let user_file = files.user.clone().unwrap_or_else(|| ssh_dir.join("config"));
    for (path, base) in [
        Some((user_file, ssh_dir.clone())),
        files.system.clone().map(|s| {
            let base = s.parent().map(Path::to_owned).unwrap_or_default();
            (s, base)
        }),
    ]
    .into_iter()
    .flatten()
    {
        match std::fs::read_to_string(&path) {
            Ok(text) => list.push((path, base, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(TransportError::Io {
                    context: format!("reading {}", path.display()),
                    source: e,
                });
            }
        }
    }
    let mut p = q.parser(true);
    p.parse_all(&list)?;
    finish(p.into_raw(), q)
}

/// [`resolve`] on config text given in memory, ignoring `Include` lines and
/// never running `Match exec` commands, so that the fuzzer
/// (`crate::fuzzing`) never reads files or runs commands named by its
/// input.
#[cfg(any(test, fuzzing))]
pub(crate) fn resolve_text(text: &str, q: &Query) -> Result<HostConfig, TransportError> {
    let ssh_dir = q.home.join(".ssh");
    let mut p = q.parser(false);
    p.parse_all(&[(ssh_dir.join("config"), ssh_dir, text.to_owned())])?;
    finish(p.into_raw(), q)
}

/// Apply defaults and tokens, and refuse what cannot be honoured.
fn finish(raw: Raw, q: &Query) -> Result<HostConfig, TransportError> {
    let &Query {
        home,
        alias,
        user: cli_user,
        port: cli_port,
        local_user,
    } = q;
    if let Some((kw, value, (file, line), reason)) = raw.refused.first() {
        return Err(SshError::Unsupported {
            file: file.clone(),
            line: *line,
            option: format!("{} {value}", keywords::display_name(kw)),
            reason: (*reason).to_owned(),
        }
        .into());
    }
    if let Some((true, (file, line))) = &raw.refuse_connection {
        return Err(SshError::Unsupported {
            file: file.clone(),
            line: *line,
            option: "RefuseConnection yes".into(),
            reason: "the configuration forbids connecting to this host".into(),
        }
        .into());
    }
    let host_name = raw.host_name.unwrap_or_else(|| alias.to_owned());
    let port = cli_port.or(raw.port).unwrap_or(22);
    let user = cli_user
        .map(str::to_owned)
        .or(raw.user)
        .unwrap_or_else(|| local_user.to_owned());
    let tokens = Tokens {
        home,
        host: &host_name,
        alias,
        port,
        user: &user,
        local_user,
    };
    let expand = |s: &str, (f, line): &Origin| -> Result<PathBuf, TransportError> {
        tokens
            .expand(s, PATH_TOKENS)
            .and_then(|t| expand_tilde(&t, home))
            .map_err(|m| err(f, *line, format!("{s:?}: {m}")))
    };
    let files = |list: Option<(Vec<String>, Origin)>, default: &[PathBuf]| match list {
        None => Ok(default.to_vec()),
        Some((l, _)) if l.len() == 1 && l[0].eq_ignore_ascii_case("none") => Ok(Vec::new()),
        Some((l, origin)) => l.iter().map(|s| expand(s, &origin)).collect(),
    };
    let proxy = match raw.proxy {
        None => Proxy::Direct,
        Some((parse::ProxySetting::None, _)) => Proxy::Direct,
        Some((parse::ProxySetting::Jump(j), _)) => Proxy::Jump(j),
        Some((parse::ProxySetting::Command(c), (f, line))) => Proxy::Command(
            tokens
                .expand(&c, PROXY_TOKENS)
                .map_err(|m| err(&f, line, format!("ProxyCommand: {m}")))?,
        ),
    };
    let identity_agent = match raw.identity_agent {
        None => None,
        Some((v, origin)) if v == "none" || v == "SSH_AUTH_SOCK" => {
            let _ = origin;
            Some(v)
        }
        Some((v, origin)) => Some(expand(&v, &origin)?.to_string_lossy().into_owned()),
    };
    let ssh_dir = home.join(".ssh");
    let (strict, strict_origin) = match raw.strict {
        Some((s, o)) => (Some(s), Some(o)),
        None => (None, None),
    };
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
        identity_agent,
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
        strict,
        strict_origin,
        hash_known_hosts: raw.hash_known_hosts.unwrap_or(false),
        host_key_alias: raw.host_key_alias,
        ciphers: raw.ciphers,
        macs: raw.macs,
        kex_algorithms: raw.kex_algorithms,
        host_key_algorithms: raw.host_key_algorithms,
        compression: raw.compression.unwrap_or(false),
        connect_timeout: raw.connect_timeout,
        connection_attempts: raw.connection_attempts.unwrap_or(1),
        server_alive_interval: raw.server_alive_interval,
        address_family: raw.address_family.unwrap_or(AddressFamily::Any),
        batch_mode: raw.batch_mode.unwrap_or(false),
        proxy,
        auth: AuthMethods {
            pubkey: raw.pubkey_authentication.unwrap_or(true),
            password: raw.password_authentication.unwrap_or(true),
            keyboard_interactive: raw.kbd_interactive_authentication.unwrap_or(true),
            preferred: raw.preferred_authentications,
        },
        required_rsa_size: raw.required_rsa_size.unwrap_or(1024),
        host_name,
        user,
    })
}
