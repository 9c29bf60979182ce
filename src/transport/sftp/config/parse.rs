//! Reading the configuration files line by line into first-obtained
//! values ([`Raw`]), with `Host`, `Match` and `Include` deciding which
//! lines apply (the rules are in the parent module's documentation).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::super::glob::{pattern_list_matches, wildmatch};
use super::keywords::{self, Class};
use super::lex::{Line, Tokens, expand_tilde, host_matches, parse_jumps, split_line, yes_no};
use super::{AddressFamily, Jump, Origin, Strict, err};
use crate::transport::error::TransportError;

const MAX_INCLUDE_DEPTH: usize = 16;

/// `ProxyJump`/`ProxyCommand`, as first obtained.
#[derive(Debug, Clone)]
pub(super) enum ProxySetting {
    None,
    Command(String),
    Jump(Vec<Jump>),
}

/// The values as read, before defaults and token expansion.
#[derive(Default, Debug)]
pub(super) struct Raw {
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_files: Vec<(String, Origin)>,
    pub identities_only: Option<bool>,
    pub identity_agent: Option<(String, Origin)>,
    pub user_known_hosts: Option<(Vec<String>, Origin)>,
    pub global_known_hosts: Option<(Vec<String>, Origin)>,
    pub strict: Option<(Strict, Origin)>,
    pub hash_known_hosts: Option<bool>,
    pub host_key_alias: Option<String>,
    pub ciphers: Option<String>,
    pub macs: Option<String>,
    pub kex_algorithms: Option<String>,
    pub host_key_algorithms: Option<String>,
    pub compression: Option<bool>,
    pub connect_timeout: Option<Duration>,
    pub connection_attempts: Option<u32>,
    pub server_alive_interval: Option<u32>,
    pub address_family: Option<AddressFamily>,
    pub batch_mode: Option<bool>,
    pub proxy: Option<(ProxySetting, Origin)>,
    pub pubkey_authentication: Option<bool>,
    pub password_authentication: Option<bool>,
    pub kbd_interactive_authentication: Option<bool>,
    pub preferred_authentications: Option<Vec<String>>,
    pub required_rsa_size: Option<u32>,
    pub refuse_connection: Option<(bool, Origin)>,
    ignore_unknown: Option<String>,
    /// Refused options in effect: keyword, value, where, why.
    pub refused: Vec<(String, String, Origin, &'static str)>,
    /// Refused keywords already seen in effect (first value wins).
    refused_seen: Vec<String>,
}

/// Whether the lines being read apply to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Active,
    Inactive,
    /// Under a `Match` criterion vault cannot evaluate: the index of that
    /// line in [`Parser::undecidable`].
    Undecidable(usize),
}

pub(super) struct Parser {
    alias: String,
    cli_user: Option<String>,
    local_user: String,
    home: PathBuf,
    raw: Raw,
    /// False only for the fuzzer: no `Include`, no `Match exec`.
    trusted: bool,
    /// Whether this is the second pass (`Match final`/`canonical`).
    final_pass: bool,
    want_final_pass: bool,
    /// `Match` lines vault could not evaluate: where, and the criterion.
    undecidable: Vec<(Origin, String)>,
}

fn set_once<T>(slot: &mut Option<T>, active: bool, value: T) {
    if active && slot.is_none() {
        *slot = Some(value);
    }
}

impl Parser {
    pub fn new(
        alias: &str,
        cli_user: Option<&str>,
        local_user: &str,
        home: &Path,
        trusted: bool,
    ) -> Parser {
        Parser {
            alias: alias.to_ascii_lowercase(),
            cli_user: cli_user.map(str::to_owned),
            local_user: local_user.to_owned(),
            home: home.to_owned(),
            raw: Raw::default(),
            trusted,
            final_pass: false,
            want_final_pass: false,
            undecidable: Vec::new(),
        }
    }

    pub fn into_raw(self) -> Raw {
        self.raw
    }

    /// Read every file (path, folder relative includes start from, text)
    /// in order, twice if a `Match final` or `canonical` asked for it.
    pub fn parse_all(
        &mut self,
        files: &[(PathBuf, PathBuf, String)],
    ) -> Result<(), TransportError> {
        for (path, base, text) in files {
            self.parse(path, base, text, Scope::Active, 0)?;
        }
        if self.want_final_pass {
            self.final_pass = true;
            for (path, base, text) in files {
                self.parse(path, base, text, Scope::Active, 0)?;
            }
        }
        Ok(())
    }

    fn parse(
        &mut self,
        file: &Path,
        base: &Path,
        text: &str,
        ceiling: Scope,
        depth: usize,
    ) -> Result<(), TransportError> {
        let mut scope = ceiling;
        for (idx, line) in text.lines().enumerate() {
            let lineno = idx + 1;
            let Some(line) = split_line(line).map_err(|m| err(file, lineno, m))? else {
                continue;
            };
            let kw = line.keyword.to_ascii_lowercase();
            match kw.as_str() {
                "host" => {
                    if line.args.is_empty() {
                        return Err(err(file, lineno, "Host needs at least one pattern"));
                    }
                    scope = narrow(ceiling, host_matches(&self.alias, &line.args));
                    continue;
                }
                "match" => {
                    scope = match self.match_criteria(&line.args, file, lineno)? {
                        Some(m) => narrow(ceiling, m),
                        None if ceiling == Scope::Inactive => Scope::Inactive,
                        None => {
                            self.undecidable
                                .push(((file.to_owned(), lineno), first_criterion(&line.args)));
                            Scope::Undecidable(self.undecidable.len() - 1)
                        }
                    };
                    continue;
                }
                "include" => {
                    self.include(file, base, lineno, &line.args, scope, depth)?;
                    continue;
                }
                _ => {}
            }
            let class = keywords::classify(&kw);
            if class == Class::Unknown {
                let ignored = self
                    .raw
                    .ignore_unknown
                    .as_deref()
                    .is_some_and(|p| pattern_list_matches(&kw, p) == Some(true));
                if ignored {
                    continue;
                }
                return Err(err(
                    file,
                    lineno,
                    format!(
                        "unknown keyword {}; if it does not matter to vault, put \
                         `IgnoreUnknown {}` before it (as ssh allows)",
                        line.keyword, line.keyword
                    ),
                ));
            }
            if class == Class::Ignored {
                continue;
            }
            if let Scope::Undecidable(i) = scope {
                let ((mf, ml), crit) = &self.undecidable[i];
                return Err(err(
                    file,
                    lineno,
                    format!(
                        "{} is set under `Match {crit}` ({}:{ml}), which vault cannot \
                         evaluate; use host, user or exec criteria for what vault must follow",
                        line.keyword,
                        mf.display()
                    ),
                ));
            }
            let active = scope == Scope::Active;
            if let Class::Refused { default, reason } = class {
                let value = line.args.join(" ");
                if active && !self.raw.refused_seen.contains(&kw) {
                    self.raw.refused_seen.push(kw.clone());
                    if !default.iter().any(|d| d.eq_ignore_ascii_case(&value)) {
                        self.raw
                            .refused
                            .push((kw, value, (file.to_owned(), lineno), reason));
                    }
                }
                continue;
            }
            self.honoured(&kw, &line, file, lineno, active)?;
        }
        Ok(())
    }

    fn include(
        &mut self,
        file: &Path,
        base: &Path,
        lineno: usize,
        args: &[String],
        scope: Scope,
        depth: usize,
    ) -> Result<(), TransportError> {
        if !self.trusted {
            return Ok(());
        }
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(err(file, lineno, "Include nested too deeply"));
        }
        for arg in args {
            for inc in self
                .include_paths(arg, base)
                .map_err(|m| err(file, lineno, m))?
            {
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
                self.parse(&inc, base, &text, scope, depth + 1)?;
            }
        }
        Ok(())
    }

    /// One keyword vault carries out: check its value, and keep it if it
    /// applies and is the first obtained.
    fn honoured(
        &mut self,
        kw: &str,
        line: &Line,
        file: &Path,
        lineno: usize,
        active: bool,
    ) -> Result<(), TransportError> {
        let args = &line.args;
        let keyword = &line.keyword;
        let origin = || (file.to_owned(), lineno);
        let one = || -> Result<String, TransportError> {
            match args.as_slice() {
                [a] => Ok(a.clone()),
                [] => Err(err(file, lineno, format!("{keyword} needs a value"))),
                _ => Err(err(file, lineno, format!("{keyword} takes one value"))),
            }
        };
        let flag = || yes_no(&one()?).map_err(|m| err(file, lineno, m));
        // `name` as the message spells the keyword.
        let number = |v: &str, name: &str| {
            v.parse::<u32>()
                .map_err(|_| err(file, lineno, format!("bad {name} {v:?}")))
        };
        let r = &mut self.raw;
        match kw {
            "ignoreunknown" => set_once(&mut r.ignore_unknown, active, one()?),
            "hostname" => {
                let v = one()?
                    .replace("%%", "\0")
                    .replace("%h", &self.alias)
                    .replace('\0', "%");
                set_once(&mut r.host_name, active, v);
            }
            "port" => {
                let v = one()?;
                let port = match v.parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => return Err(err(file, lineno, format!("bad port {v:?}"))),
                };
                set_once(&mut r.port, active, port);
            }
            "user" => set_once(&mut r.user, active, one()?),
            "identityfile" | "identityfile2" => {
                let v = one()?;
                if active && !r.identity_files.iter().any(|(s, _)| *s == v) {
                    r.identity_files.push((v, origin()));
                }
            }
            "identitiesonly" => set_once(&mut r.identities_only, active, flag()?),
            "identityagent" => set_once(&mut r.identity_agent, active, (one()?, origin())),
            "batchmode" => set_once(&mut r.batch_mode, active, flag()?),
            "hashknownhosts" => set_once(&mut r.hash_known_hosts, active, flag()?),
            "compression" => set_once(&mut r.compression, active, flag()?),
            "pubkeyauthentication" | "dsaauthentication" => {
                set_once(&mut r.pubkey_authentication, active, flag()?)
            }
            "passwordauthentication" => set_once(&mut r.password_authentication, active, flag()?),
            "kbdinteractiveauthentication"
            | "challengeresponseauthentication"
            | "skeyauthentication"
            | "tisauthentication" => {
                set_once(&mut r.kbd_interactive_authentication, active, flag()?)
            }
            "preferredauthentications" => {
                let v: Vec<String> = one()?.split(',').map(str::to_owned).collect();
                set_once(&mut r.preferred_authentications, active, v);
            }
            "refuseconnection" => set_once(&mut r.refuse_connection, active, (flag()?, origin())),
            "userknownhostsfile" | "globalknownhostsfile" => {
                if args.is_empty() {
                    return Err(err(file, lineno, format!("{keyword} needs a value")));
                }
                let slot = if kw == "userknownhostsfile" {
                    &mut r.user_known_hosts
                } else {
                    &mut r.global_known_hosts
                };
                set_once(slot, active, (args.clone(), origin()));
            }
            "stricthostkeychecking" => {
                let v = one()?;
                let s = match v.to_ascii_lowercase().as_str() {
                    "yes" | "true" => Strict::Yes,
                    "ask" => Strict::Ask,
                    "accept-new" | "no" | "off" | "false" => Strict::AcceptNew,
                    _ => {
                        return Err(err(
                            file,
                            lineno,
                            format!("bad StrictHostKeyChecking value {v:?}"),
                        ));
                    }
                };
                set_once(&mut r.strict, active, (s, origin()));
            }
            "hostkeyalias" => set_once(&mut r.host_key_alias, active, one()?),
            "ciphers" => set_once(&mut r.ciphers, active, one()?),
            "macs" => set_once(&mut r.macs, active, one()?),
            "kexalgorithms" => set_once(&mut r.kex_algorithms, active, one()?),
            "hostkeyalgorithms" => set_once(&mut r.host_key_algorithms, active, one()?),
            "addressfamily" => {
                let v = one()?;
                let f = match v.to_ascii_lowercase().as_str() {
                    "any" => AddressFamily::Any,
                    "inet" => AddressFamily::Inet,
                    "inet6" => AddressFamily::Inet6,
                    _ => return Err(err(file, lineno, format!("bad AddressFamily {v:?}"))),
                };
                set_once(&mut r.address_family, active, f);
            }
            "connecttimeout" => {
                let v = one()?;
                if !v.eq_ignore_ascii_case("none") {
                    match v.parse::<u64>() {
                        Ok(s) if s > 0 => {
                            set_once(&mut r.connect_timeout, active, Duration::from_secs(s))
                        }
                        _ => return Err(err(file, lineno, format!("bad ConnectTimeout {v:?}"))),
                    }
                }
            }
            "connectionattempts" => {
                let v = one()?;
                match v.parse::<u32>() {
                    Ok(n) if (1..=100).contains(&n) => {
                        set_once(&mut r.connection_attempts, active, n)
                    }
                    _ => return Err(err(file, lineno, format!("bad ConnectionAttempts {v:?}"))),
                }
            }
            "serveraliveinterval" | "protocolkeepalives" | "setuptimeout" => {
                let s = number(&one()?, "ServerAliveInterval")?;
                set_once(&mut r.server_alive_interval, active, s);
            }
            "requiredrsasize" => {
                let n = number(&one()?, "RequiredRSASize")?;
                set_once(&mut r.required_rsa_size, active, n);
            }
            "proxyjump" => {
                let v = one()?;
                let setting = if v.eq_ignore_ascii_case("none") {
                    ProxySetting::None
                } else {
                    ProxySetting::Jump(parse_jumps(&v).map_err(|m| err(file, lineno, m))?)
                };
                set_once(&mut r.proxy, active, (setting, origin()));
            }
            "proxycommand" => {
                let v = line.rest.trim();
                if v.is_empty() {
                    return Err(err(file, lineno, "ProxyCommand needs a value"));
                }
                let setting = if v.eq_ignore_ascii_case("none") {
                    ProxySetting::None
                } else {
                    ProxySetting::Command(v.to_owned())
                };
                set_once(&mut r.proxy, active, (setting, origin()));
            }
            "proxyusefdpass" => {
                if flag()? && active {
                    r.refused.push((
                        kw.to_owned(),
                        "yes".into(),
                        origin(),
                        "vault uses the ProxyCommand's standard input and output",
                    ));
                }
            }
            other => unreachable!("honoured keyword {other} without a handler"),
        }
        Ok(())
    }

    /// Evaluate a `Match` line: `Some(matches)`, or `None` when a criterion
    /// vault cannot evaluate decides it.
    fn match_criteria(
        &mut self,
        args: &[String],
        file: &Path,
        lineno: usize,
    ) -> Result<Option<bool>, TransportError> {
        if args.is_empty() {
            return Err(err(file, lineno, "Match needs criteria"));
        }
        let mut result = true;
        let mut undecided = false;
        let mut it = args.iter();
        while let Some(tok) = it.next() {
            let (negate, crit) = match tok.strip_prefix('!') {
                Some(c) => (true, c.to_ascii_lowercase()),
                None => (false, tok.to_ascii_lowercase()),
            };
            let mut arg = || {
                it.next()
                    .ok_or_else(|| err(file, lineno, format!("Match {crit} needs an argument")))
            };
            let matched = match crit.as_str() {
                "all" => Some(true),
                "canonical" | "final" => {
                    self.want_final_pass = true;
                    Some(self.final_pass)
                }
                "host" => {
                    let a = arg()?;
                    let name = self
                        .raw
                        .host_name
                        .as_deref()
                        .unwrap_or(&self.alias)
                        .to_ascii_lowercase();
                    Some(pattern_list_matches(&name, a) == Some(true))
                }
                "originalhost" => Some(pattern_list_matches(&self.alias, arg()?) == Some(true)),
                "user" => {
                    let a = arg()?;
                    let user = self
                        .cli_user
                        .as_deref()
                        .or(self.raw.user.as_deref())
                        .unwrap_or(&self.local_user);
                    Some(pattern_list_matches(user, a) == Some(true))
                }
                "localuser" => Some(pattern_list_matches(&self.local_user, arg()?) == Some(true)),
                "exec" => {
                    let cmd = arg()?.clone();
                    if !result || undecided {
                        // As ssh: not run once an earlier criterion failed.
                        None
                    } else if !self.trusted {
                        None
                    } else {
                        Some(self.exec(&cmd, file, lineno)?)
                    }
                }
                "localnetwork" | "tagged" | "command" | "sessiontype" | "version" => {
                    arg()?;
                    None
                }
                _ => {
                    return Err(err(
                        file,
                        lineno,
                        format!("unsupported Match criterion {crit:?}"),
                    ));
                }
            };
            match matched {
                Some(m) => result &= m != negate,
                None => undecided = true,
            }
        }
        Ok(if !result {
            Some(false)
        } else if undecided {
            None
        } else {
            Some(true)
        })
    }

    /// `Match exec`: run the command with `sh -c`, tokens expanded; exit
    /// status 0 matches.
    fn exec(&self, cmd: &str, file: &Path, lineno: usize) -> Result<bool, TransportError> {
        let host = self
            .raw
            .host_name
            .clone()
            .unwrap_or_else(|| self.alias.clone());
        let user = self
            .cli_user
            .clone()
            .or_else(|| self.raw.user.clone())
            .unwrap_or_else(|| self.local_user.clone());
        let tokens = Tokens {
            home: &self.home,
            host: &host,
            alias: &self.alias,
            port: self.raw.port.unwrap_or(22),
            user: &user,
            local_user: &self.local_user,
        };
        let cmd = tokens
            .expand(cmd, "dhnpru")
            .map_err(|m| err(file, lineno, format!("Match exec: {m}")))?;
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| err(file, lineno, format!("Match exec: cannot run /bin/sh: {e}")))?;
        Ok(status.success())
    }

    fn include_paths(&self, arg: &str, base: &Path) -> Result<Vec<PathBuf>, String> {
        let expanded = expand_tilde(arg, &self.home)?;
        let path = if expanded.is_absolute() {
            expanded
        } else {
            base.join(expanded)
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
}

/// The scope of a block that `matches`, inside an include read under
/// `ceiling`: an inactive include stays inactive, an undecidable one stays
/// undecidable.
fn narrow(ceiling: Scope, matches: bool) -> Scope {
    match (ceiling, matches) {
        (_, false) | (Scope::Inactive, _) => Scope::Inactive,
        (Scope::Active, true) => Scope::Active,
        (u @ Scope::Undecidable(_), true) => u,
    }
}

/// The first criterion of a `Match` line vault cannot evaluate, for
/// messages.
fn first_criterion(args: &[String]) -> String {
    const UNDECIDABLE: &[&str] = &[
        "exec",
        "localnetwork",
        "tagged",
        "command",
        "sessiontype",
        "version",
    ];
    args.iter()
        .position(|a| {
            UNDECIDABLE.contains(&a.trim_start_matches('!').to_ascii_lowercase().as_str())
        })
        .map(|i| {
            args[i..]
                .iter()
                .take(2)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| args.join(" "))
}
