//! What a connection needs and how it is opened up to the SSH handshake:
//! the ssh config applied to the host and to each `ProxyJump` hop
//! ([`Params::resolve`]), the TCP connection with a timeout (honouring
//! `AddressFamily` and `ConnectionAttempts`), and the algorithm orders
//! (`Ciphers`, `MACs`, `KexAlgorithms`).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use ssh2::{MethodType, Session};

use super::config::{self, AddressFamily, HostConfig, Jump, Proxy, Strict};
use super::error::SshError;
use super::glob::wildmatch;
use super::status::{connect_error, session_error};
use crate::transport::error::TransportError;
use crate::transport::location::SftpTarget;
use crate::transport::options::{AgentSocket, ConnectOptions};

/// The cipher order asked for unless `Ciphers` is configured.
const DEFAULT_CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,\
                               aes128-gcm@openssh.com,aes256-gcm@openssh.com";

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
pub(crate) const DEFAULT_KEEPALIVE_SECS: u32 = 15;

/// Most hosts a connection passes through (`ProxyJump` chains, including
/// jumps that the hops' own configs add).
const MAX_HOPS: usize = 8;

/// Everything needed to open (and re-open) a connection.
pub(crate) struct Params {
    pub cfg: HostConfig,
    pub home: PathBuf,
    pub identity: Option<PathBuf>,
    pub agent: AgentSocket,
    pub interactive: bool,
    pub strict: Strict,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    /// The vault root on the server: `""`, `/abs` or `rel`.
    pub root: String,
    /// With `ProxyJump`: the last hop, through which this host is reached
    /// (itself reached through its own `via`, if any).
    pub via: Option<Box<Params>>,
}

impl Params {
    /// Apply the ssh config and the command-line options to `target`.
    pub fn resolve(target: &SftpTarget, opts: &ConnectOptions) -> Result<Params, TransportError> {
        Self::resolve_host(
            &target.host,
            target.user.as_deref(),
            target.port,
            opts,
            None,
            0,
            &target.to_string(),
        )
        .map(|mut p| {
            p.root = target.path.clone();
            p
        })
    }

    /// The settings for one host: the target (`jumps` = `None`, its config
    /// decides the proxy) or a `ProxyJump` hop (`jumps` = the hops before
    /// it, which replace whatever its own config says, as `ssh -J` does;
    /// the first hop keeps its own config's proxy).
    fn resolve_host(
        host: &str,
        user: Option<&str>,
        port: Option<u16>,
        opts: &ConnectOptions,
        jumps: Option<&[Jump]>,
        depth: usize,
        shown: &str,
    ) -> Result<Params, TransportError> {
        let home = match &opts.home {
            Some(h) => h.clone(),
            None => std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| TransportError::BadLocation {
                    input: shown.to_owned(),
                    reason: "$HOME is not set, so ~/.ssh cannot be found".into(),
                })?,
        };
        let local_user = local_user_name();
        let query = config::Query {
            home: &home,
            alias: host,
            user,
            port,
            local_user: &local_user,
        };
        let mut cfg = config::resolve(&opts.ssh_config, &query)?;
        if let Some(j) = jumps {
            cfg.proxy = if j.is_empty() {
                Proxy::Direct
            } else {
                Proxy::Jump(j.to_vec())
            };
        }

        for (what, value) in [
            ("host name", Some(cfg.host_name.as_str())),
            ("user", Some(cfg.user.as_str())),
            ("HostKeyAlias", cfg.host_key_alias.as_deref()),
        ] {
            if let Some(v) = value
                && (v.is_empty()
                    || v.starts_with('-')
                    || v.chars().any(|c| c.is_control() || c.is_whitespace()))
            {
                return Err(TransportError::BadLocation {
                    input: shown.to_owned(),
                    reason: format!("unusable {what} {v:?} after applying the ssh config"),
                });
            }
        }
        let strict = if opts.accept_new {
            Strict::AcceptNew
        } else {
            cfg.strict.unwrap_or(Strict::Ask)
        };
        let via = match &cfg.proxy {
            Proxy::Jump(hops) => {
                if depth + 1 >= MAX_HOPS {
                    return Err(SshError::Proxy {
                        host: cfg.alias.clone(),
                        reason: format!(
                            "ProxyJump passes through more than {MAX_HOPS} hosts (a loop in the ssh config?)"
                        ),
                    }
                    .into());
                }
                let (last, before) = hops.split_last().expect("ProxyJump has a host");
                let mut hop_opts = opts.clone();
                // `-i` is for the destination only, as with `ssh -J`.
                hop_opts.identity = None;
                let hop = Self::resolve_host(
                    &last.host,
                    last.user.as_deref(),
                    last.port,
                    &hop_opts,
                    (!before.is_empty()).then_some(before),
                    depth + 1,
                    shown,
                )?;
                Some(Box::new(hop))
            }
            _ => None,
        };
        let params = Params {
            via,
            interactive: opts.interactive && !cfg.batch_mode,
            connect_timeout: opts
                .connect_timeout
                .or(cfg.connect_timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            io_timeout: opts.io_timeout,
            identity: opts.identity.clone(),
            agent: opts.agent.clone(),
            root: String::new(),
            strict,
            home,
            cfg,
        };
        Ok(params)
    }
}

pub(crate) fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// The local user name, for `%u` and as the default remote user:
/// `$USER`, `$LOGNAME`, then the password database entry of this
/// process's uid, as OpenSSH does.
pub(crate) fn local_user_name() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Some(u) = std::env::var_os(var).and_then(|u| u.into_string().ok())
            && !u.is_empty()
        {
            return u;
        }
    }
    passwd_name().unwrap_or_else(|| "root".to_owned())
}

/// The name of this process's real uid in the password database.
#[allow(unsafe_code)]
fn passwd_name() -> Option<String> {
    use std::ffi::CStr;
    use std::mem::MaybeUninit;
    // SAFETY: getuid(2) has no preconditions and always succeeds.
    let uid = unsafe { libc::getuid() };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        let mut pwd = MaybeUninit::<libc::passwd>::uninit();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for writes for the whole call:
        // `pwd` and `found` are locals, and `buf` holds `buf.len()` bytes;
        // getpwuid_r(3) writes the entry's strings into `buf` only.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() {
            return None;
        }
        // SAFETY: on success `found` points to `pwd`, now initialised, whose
        // `pw_name` is NUL-terminated inside `buf`, alive and unchanged here.
        let name = unsafe { CStr::from_ptr((*found).pw_name) };
        return name
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
    }
}

pub(crate) fn tcp_connect(p: &Params) -> Result<TcpStream, TransportError> {
    let host = &p.cfg.alias;
    let name = &p.cfg.host_name;
    let addrs: Vec<SocketAddr> = (name.as_str(), p.cfg.port)
        .to_socket_addrs()
        .map_err(|e| TransportError::Unreachable {
            host: host.clone(),
            addr: name.clone(),
            reason: format!("cannot resolve the host name: {e}"),
        })?
        .filter(|a| match p.cfg.address_family {
            AddressFamily::Any => true,
            AddressFamily::Inet => a.is_ipv4(),
            AddressFamily::Inet6 => a.is_ipv6(),
        })
        .collect();
    let mut last = None;
    for attempt in 0..p.cfg.connection_attempts.max(1) {
        if attempt > 0 {
            // As ssh: one second between attempts.
            std::thread::sleep(Duration::from_secs(1));
        }
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, p.connect_timeout) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some((addr.to_string(), e)),
            }
        }
    }
    let Some((addr, e)) = last else {
        return Err(TransportError::Unreachable {
            host: host.clone(),
            addr: name.clone(),
            reason: match p.cfg.address_family {
                AddressFamily::Any => "the name has no address".into(),
                AddressFamily::Inet => "the name has no IPv4 address (AddressFamily inet)".into(),
                AddressFamily::Inet6 => "the name has no IPv6 address (AddressFamily inet6)".into(),
            },
        });
    };
    Err(connect_error(host, addr, &e))
}

/// An algorithm list from a config value (OpenSSH's `+` append, `-`
/// remove, `^` put first, or a plain list), over `default`, filtered to
/// what libssh2 supports, without repeats.
pub(crate) fn algorithm_list(
    config: Option<&str>,
    default: &[&str],
    supported: &[&str],
) -> Vec<String> {
    let default: Vec<String> = default.iter().map(|s| (*s).to_owned()).collect();
    let list: Vec<String> = match config {
        None => default,
        Some(v) => {
            let items = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
            if let Some(extra) = v.strip_prefix('+') {
                default.into_iter().chain(items(extra)).collect()
            } else if let Some(drop) = v.strip_prefix('-') {
                let drop = items(drop);
                default
                    .into_iter()
                    .filter(|c| !drop.iter().any(|d| wildmatch(d, c)))
                    .collect()
            } else if let Some(head) = v.strip_prefix('^') {
                items(head).into_iter().chain(default).collect()
            } else {
                items(v)
            }
        }
    };
    let mut out: Vec<String> = Vec::new();
    for c in list {
        if supported.contains(&c.as_str()) && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Set the cipher, MAC and key-exchange orders: `Ciphers` over vault's
/// default (chacha20-poly1305 first), `MACs` and `KexAlgorithms` over
/// libssh2's own; and compression if `Compression yes`.
pub(crate) fn set_methods(sess: &Session, p: &Params) -> Result<(), TransportError> {
    let host = &p.cfg.alias;
    let default_ciphers: Vec<&str> = DEFAULT_CIPHERS.split(',').collect();
    for (what, methods, config, default) in [
        (
            "Ciphers",
            [MethodType::CryptCs, MethodType::CryptSc],
            p.cfg.ciphers.as_deref(),
            Some(&default_ciphers),
        ),
        (
            "MACs",
            [MethodType::MacCs, MethodType::MacSc],
            p.cfg.macs.as_deref(),
            None,
        ),
        (
            "KexAlgorithms",
            [MethodType::Kex, MethodType::Kex],
            p.cfg.kex_algorithms.as_deref(),
            None,
        ),
    ] {
        if config.is_none() && default.is_none() {
            continue;
        }
        let supported = sess.supported_algs(methods[0]).unwrap_or_default();
        let list = algorithm_list(config, default.map_or(&supported, |d| d), &supported);
        if list.is_empty() {
            return Err(SshError::Protocol {
                host: host.clone(),
                detail: format!(
                    "none of the configured {what} is supported (supported: {})",
                    supported.join(",")
                ),
            }
            .into());
        }
        let prefs = list.join(",");
        for m in methods {
            sess.method_pref(m, &prefs)
                .map_err(|e| session_error(host, &e, &format!("setting {what}")))?;
        }
    }
    if p.cfg.compression {
        sess.set_compress(true);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher_list(config: Option<&str>, supported: &[&str]) -> Vec<String> {
        let default: Vec<&str> = DEFAULT_CIPHERS.split(',').collect();
        algorithm_list(config, &default, supported)
    }

    #[test]
    fn cipher_lists_follow_openssh_syntax() {
        let sup = [
            "aes128-ctr",
            "aes256-ctr",
            "chacha20-poly1305@openssh.com",
            "aes256-gcm@openssh.com",
        ];
        assert_eq!(
            cipher_list(None, &sup)[..2],
            ["chacha20-poly1305@openssh.com", "aes128-ctr"]
        );
        assert_eq!(cipher_list(Some("aes256-ctr,nope"), &sup), ["aes256-ctr"]);
        assert_eq!(
            cipher_list(Some("^aes256-gcm@openssh.com"), &sup)[0],
            "aes256-gcm@openssh.com"
        );
        assert!(
            !cipher_list(Some("-chacha20*"), &sup)
                .iter()
                .any(|c| c.starts_with("chacha"))
        );
        assert!(cipher_list(Some("nope"), &sup).is_empty());
    }

    #[test]
    fn local_user_is_never_empty() {
        assert!(!local_user_name().is_empty());
    }

    #[test]
    fn the_password_database_names_this_process() {
        // As `id -un` would: the uid of this process has an entry here.
        let name = passwd_name().expect("this uid has a passwd entry");
        let uid = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .expect("/proc/self");
        let line = std::fs::read_to_string("/etc/passwd")
            .expect("/etc/passwd")
            .lines()
            .find(|l| l.split(':').nth(2) == Some(&uid.to_string()))
            .map(|l| l.split(':').next().unwrap_or_default().to_owned());
        if let Some(line) = line {
            assert_eq!(name, line);
        }
    }
}
