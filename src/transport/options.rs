//! How to connect: the command-line flags that matter to a transport
//! (known-hosts policy, identity, prompting, agent, timeouts).

use std::path::PathBuf;
use std::time::Duration;

use super::sftp::ConfigFiles;

/// Where ssh-agent is found, for [`ConnectOptions::agent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AgentSocket {
    /// `$SSH_AUTH_SOCK`, as OpenSSH does (the default).
    #[default]
    FromEnv,
    /// This socket.
    Path(PathBuf),
    /// Do not use an agent.
    Disabled,
}

/// How to connect: the command-line flags that matter to a transport.
///
/// `Default` gives OpenSSH's behaviour: `$HOME`, `$SSH_AUTH_SOCK`, the
/// user's and the system's ssh config, prompts (and the question about an
/// unknown host) only when standard input is a terminal.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Record the key of a host not yet in known_hosts (`--accept-new`),
    /// for the target and every `ProxyJump` host on the way. A changed key
    /// is refused regardless.
    pub accept_new: bool,
    /// An identity file to try before any configured one (`-i`), for the
    /// target only (as `ssh -i` with `-J`).
    pub identity: Option<PathBuf>,
    /// Whether passphrases and passwords may be asked on the terminal
    /// (`/dev/tty`, so this works even when standard input is a pipe).
    /// Without it, nothing ever prompts (and nothing hangs). Defaults to
    /// whether standard input is a terminal; `BatchMode yes` in the ssh
    /// config turns it off.
    pub interactive: bool,
    /// The home folder holding `.ssh/` (defaults to `$HOME`).
    pub home: Option<PathBuf>,
    /// The ssh configuration files read (default: `~/.ssh/config` then
    /// `/etc/ssh/ssh_config`, or only `$VAULT_SSH_CONFIG`, as `ssh -F`).
    pub ssh_config: ConfigFiles,
    /// Which ssh-agent to use.
    pub agent: AgentSocket,
    /// Overrides the ssh config's `ConnectTimeout` (default 20 seconds).
    pub connect_timeout: Option<Duration>,
    /// Longest a single network operation may wait once connected.
    pub io_timeout: Duration,
    /// S3: the endpoint (`--endpoint`), before `AWS_ENDPOINT_URL`.
    pub s3_endpoint: Option<String>,
    /// S3: allow plain `http://` to an endpoint that is not on loopback
    /// (`--insecure-plain-http`): request signatures, names and ciphertext
    /// then cross the network unencrypted.
    pub insecure_plain_http: bool,
    /// S3: use a store that ignores `If-None-Match`/`If-Match`
    /// (`--allow-lost-updates`): see docs/FORMAT.md for what can then be
    /// lost.
    pub allow_unconditional_writes: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        use std::io::IsTerminal;
        ConnectOptions {
            accept_new: false,
            identity: None,
            interactive: std::io::stdin().is_terminal(),
            home: None,
            ssh_config: ConfigFiles::default(),
            agent: AgentSocket::FromEnv,
            connect_timeout: None,
            io_timeout: Duration::from_secs(120),
            s3_endpoint: None,
            insecure_plain_http: false,
            allow_unconditional_writes: false,
        }
    }
}
