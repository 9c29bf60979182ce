//! A real OpenSSH `sshd` for tests, on 127.0.0.1 (or, for the `ProxyJump`
//! tests, an address in a network namespace of its own, `netns.rs`), with
//! everything in a temporary folder.
//!
//! Each [`Sshd`] generates its own ed25519 host key and client key, writes
//! its own `sshd_config` (`ListenAddress 127.0.0.1`, a random free port,
//! `Subsystem sftp internal-sftp -d` a login folder of its own, `UsePAM no`,
//! `StrictModes no`, public-key login for the current user only), runs `sshd -D -e -f CONFIG` and waits
//! until the port answers with an SSH banner. Dropping it stops the server
//! and every process it forked (found through /proc, killed by pid), and
//! removes the folder. As a safety net the server also dies with the test
//! thread that started it (`PR_SET_PDEATHSIG`).
//!
//! As root (CI, this machine) sshd needs `/run/sshd`, which is created if
//! missing, and logs in as root (`PermitRootLogin prohibit-password`); as a
//! normal user sshd can only log in as that same user, which is who the
//! client config names. Either way the user's real `~/.ssh` is never read:
//! clients get a [`ClientHome`] of their own.
//!
//! If `sshd` or `ssh-keygen` is missing the tests fail with a message
//! saying to run `.ci/run` (which installs them) rather than passing
//! silently.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use vault::transport::{AgentSocket, ConfigFiles, ConnectOptions};

/// Where Debian and most distributions install the server.
const SSHD: &str = "/usr/sbin/sshd";
/// The ssh config alias every [`ClientHome`] defines for the server.
pub const ALIAS: &str = "vaulttest";

fn missing_tool(tool: &str) -> ! {
    panic!(
        "{tool} is not available: these tests need OpenSSH (server and client tools); \
         run .ci/run, which installs them (apt-get install openssh-server openssh-client)"
    )
}

/// Run `ssh-keygen` to make an ed25519 key pair at `path` (no passphrase
/// unless given). Returns the public key line (`ssh-ed25519 AAAA... comment`).
pub fn keygen(path: &Path, passphrase: &str) -> String {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "vault-test",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|_| missing_tool("ssh-keygen"));
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
    fs::read_to_string(path.with_extension("pub"))
        .expect("reading the public key")
        .trim()
        .to_owned()
}

/// `type base64` of a public key line, without the comment.
pub fn key_without_comment(pub_line: &str) -> String {
    pub_line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SHA256 fingerprint `ssh-keygen -l` prints for a public key file.
pub fn fingerprint(pub_file: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_file)
        .output()
        .unwrap_or_else(|_| missing_tool("ssh-keygen"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l output")
        .to_owned()
}

fn current_user() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .expect("running id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A running OpenSSH server for one test.
pub struct Sshd {
    dir: TempDir,
    port: u16,
    /// The address listened on (`127.0.0.1` unless started elsewhere).
    listen: String,
    /// The network namespace it runs in (see `netns.rs`), if not this one.
    netns: Option<String>,
    /// Whether clients may open TCP forwardings (`ProxyJump` through it).
    forwarding: bool,
    child: Option<Child>,
    user: String,
    host_pub: String,
    client_pub: String,
}

impl Sshd {
    /// Start a server (panics with the server's log if it does not come up).
    pub fn start() -> Sshd {
        Sshd::start_in(None, "127.0.0.1", false)
    }

    /// Start a server in network namespace `netns` (`None`: this one) on
    /// address `listen`, letting clients forward TCP through it if
    /// `forwarding` (to be a `ProxyJump` host).
    pub fn start_in(netns: Option<&str>, listen: &str, forwarding: bool) -> Sshd {
        if !Path::new(SSHD).exists() {
            missing_tool(SSHD);
        }
        let dir = tempfile::Builder::new()
            .prefix("vault-sshd-")
            .tempdir()
            .expect("tempdir");
        let host_pub = keygen(&dir.path().join("ssh_host_ed25519_key"), "");
        let client_pub = keygen(&dir.path().join("id_client"), "");
        fs::write(
            dir.path().join("authorized_keys"),
            format!("{client_pub}\n"),
        )
        .expect("authorized_keys");
        fs::create_dir(dir.path().join("srv")).expect("srv");
        fs::create_dir(dir.path().join("login")).expect("login");
        if is_root() && !Path::new("/run/sshd").exists() {
            fs::create_dir_all("/run/sshd").expect("creating /run/sshd (privilege separation)");
            fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755))
                .expect("chmod /run/sshd");
        }
        let mut s = Sshd {
            dir,
            port: 0,
            listen: listen.to_owned(),
            netns: netns.map(str::to_owned),
            forwarding,
            child: None,
            user: current_user(),
            host_pub,
            client_pub,
        };
        s.launch(None);
        s
    }

    /// The server's configuration. `Ciphers` allows only
    /// chacha20-poly1305@openssh.com, vault's first choice, so that every
    /// SFTP test also checks vault's ChaCha20/Poly1305 under libssh2
    /// (`src/transport/sftp/ssh_cipher.rs`) against OpenSSH's.
    fn write_config(&self) -> PathBuf {
        let d = self.dir.path();
        let cfg = format!(
            "Port {port}\n\
             ListenAddress {listen}\n\
             HostKey {d}/ssh_host_ed25519_key\n\
             PidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             Subsystem sftp internal-sftp -d {d}/login\n\
             UsePAM no\n\
             StrictModes no\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             AllowUsers {user}\n\
             UseDNS no\n\
             PrintMotd no\n\
             X11Forwarding no\n\
             AllowTcpForwarding {forwarding}\n\
             AllowAgentForwarding no\n\
             PermitTunnel no\n\
             MaxStartups 100\n\
             MaxAuthTries 10\n\
             Ciphers chacha20-poly1305@openssh.com\n\
             LogLevel VERBOSE\n",
            port = self.port,
            listen = self.listen,
            forwarding = if self.forwarding { "yes" } else { "no" },
            d = d.display(),
            user = self.user,
        );
        let path = d.join("sshd_config");
        fs::write(&path, cfg).expect("sshd_config");
        path
    }

    /// Start sshd on `port`, or on a free port (retrying if it is taken in
    /// the meantime).
    fn launch(&mut self, port: Option<u16>) {
        let mut last_log = String::new();
        for _attempt in 0..5 {
            self.port = match port {
                Some(p) => p,
                None => free_port(),
            };
            let cfg = self.write_config();
            let log_path = self.dir.path().join("sshd.log");
            let log = fs::File::create(&log_path).expect("sshd.log");
            let mut cmd = match &self.netns {
                None => Command::new(SSHD),
                Some(ns) => {
                    // `ip netns exec` enters the namespace and execs sshd.
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", ns, SSHD]);
                    c
                }
            };
            cmd.arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .process_group(0);
            super::process::die_with_parent(&mut cmd);
            let child = cmd.spawn().unwrap_or_else(|_| missing_tool(SSHD));
            self.child = Some(child);
            if self.wait_ready() {
                return;
            }
            last_log = fs::read_to_string(&log_path).unwrap_or_default();
            self.stop();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("sshd did not start; its log:\n{last_log}");
    }

    /// Wait until the port answers with an SSH banner (or sshd exits).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if self.netns.is_some() {
                // Not reachable from here: its own log says when it is up.
                let want = format!("Server listening on {} port {}", self.listen, self.port);
                if self.log().contains(&want) {
                    return true;
                }
            } else if let Ok(mut s) = TcpStream::connect((self.listen.as_str(), self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-2.0") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stop the server and every connection it serves.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let root = child.id();
        // Connection handlers first, so that clients see the drop at once.
        let mut pids = descendants(root);
        pids.push(root);
        for pid in &pids {
            kill(*pid, libc::SIGKILL);
        }
        let _ = child.wait();
    }

    /// Stop, then start again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.launch(Some(port));
    }

    /// The address the server listens on.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user the server lets in.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// A folder on the "server side" (absolute), to put vaults in and to
    /// inspect directly.
    pub fn server_root(&self) -> PathBuf {
        self.dir.path().join("srv")
    }

    /// The folder SFTP sessions start in (`internal-sftp -d`), which
    /// relative paths (`host:path`, `sftp://host/~/path`) are relative to:
    /// in the test folder, so that they never touch the real home folder.
    pub fn login_folder(&self) -> PathBuf {
        self.dir.path().join("login")
    }

    /// `sftp://ALIAS/<server_root>/<sub>`, using the client config alias.
    pub fn url(&self, sub: &str) -> String {
        format!("sftp://{ALIAS}{}/{sub}", self.server_root().display())
    }

    /// `sftp://user@ADDRESS:port/<server_root>/<sub>`, without the alias.
    pub fn direct_url(&self, sub: &str) -> String {
        format!(
            "sftp://{}@{}:{}{}/{sub}",
            self.user,
            self.listen,
            self.port,
            self.server_root().display()
        )
    }

    /// The name the server is filed under in known_hosts.
    pub fn known_hosts_name(&self) -> String {
        format!("[{}]:{}", self.listen, self.port)
    }

    /// The server's host public key file.
    pub fn host_pub_file(&self) -> PathBuf {
        self.dir.path().join("ssh_host_ed25519_key.pub")
    }

    /// The known_hosts line for this server.
    pub fn known_hosts_line(&self) -> String {
        format!(
            "{} {}",
            self.known_hosts_name(),
            key_without_comment(&self.host_pub)
        )
    }

    /// The private key the server accepts.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("id_client")
    }

    /// Also accept this public key line for logins.
    pub fn authorize(&self, pub_line: &str) {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .expect("authorized_keys");
        writeln!(f, "{pub_line}").expect("authorized_keys");
    }

    /// What sshd logged so far (to explain failures).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn make_home(&self, known_hosts: Option<String>, key: Option<&Path>) -> ClientHome {
        let dir = tempfile::Builder::new()
            .prefix("vault-home-")
            .tempdir()
            .expect("tempdir");
        let ssh = dir.path().join(".ssh");
        fs::create_dir(&ssh).expect("mkdir .ssh");
        fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).expect("chmod");
        let identity = match key {
            Some(k) => {
                let dst = ssh.join("id_vault");
                fs::copy(k, &dst).expect("copy key");
                let _ = fs::copy(k.with_extension("pub"), dst.with_extension("pub"));
                fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).expect("chmod");
                "  IdentityFile ~/.ssh/id_vault\n".to_owned()
            }
            None => String::new(),
        };
        let config = format!(
            "Host {ALIAS}\n  HostName {}\n  Port {}\n  User {}\n{identity}\nHost *\n  GlobalKnownHostsFile /dev/null\n",
            self.listen, self.port, self.user
        );
        fs::write(ssh.join("config"), config).expect("config");
        if let Some(kh) = known_hosts {
            fs::write(ssh.join("known_hosts"), kh).expect("known_hosts");
        }
        ClientHome { dir }
    }

    /// A HOME as a user of this server has it: an ssh config alias
    /// [`ALIAS`], the client key, and the host key in known_hosts.
    pub fn home(&self) -> ClientHome {
        self.make_home(
            Some(format!("{}\n", self.known_hosts_line())),
            Some(&self.client_key()),
        )
    }

    /// Like [`Sshd::home`], but the host is not in known_hosts.
    pub fn home_unknown_host(&self) -> ClientHome {
        self.make_home(None, Some(&self.client_key()))
    }

    /// Like [`Sshd::home`], but known_hosts line 3 holds another key for
    /// this host (lines 1-2 are a comment and another host).
    pub fn home_changed_key(&self) -> ClientHome {
        let other_dir = tempfile::tempdir().expect("tempdir");
        let other = keygen(&other_dir.path().join("other"), "");
        let other = key_without_comment(&other);
        self.make_home(
            Some(format!(
                "# known hosts\nother.example {other}\n{} {other}\n",
                self.known_hosts_name()
            )),
            Some(&self.client_key()),
        )
    }

    /// Like [`Sshd::home`], but the identity file is a key the server does
    /// not accept.
    pub fn home_wrong_client_key(&self) -> ClientHome {
        let other_dir = tempfile::tempdir().expect("tempdir");
        let key = other_dir.path().join("wrong");
        keygen(&key, "");
        self.make_home(Some(format!("{}\n", self.known_hosts_line())), Some(&key))
    }

    /// Like [`Sshd::home`], but with no identity file at all (for agent
    /// tests).
    pub fn home_without_key(&self) -> ClientHome {
        self.make_home(Some(format!("{}\n", self.known_hosts_line())), None)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client's HOME folder, removed on drop.
pub struct ClientHome {
    dir: TempDir,
}

impl ClientHome {
    /// A HOME with no SSH set-up at all, for local-folder vaults.
    pub fn bare() -> ClientHome {
        let dir = tempfile::Builder::new()
            .prefix("vault-home-")
            .tempdir()
            .expect("tempdir");
        ClientHome { dir }
    }

    /// The folder (to use as HOME).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rewrite `~/.ssh/config` with `edit`.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let cfg = self.dir.path().join(".ssh/config");
        let text = fs::read_to_string(&cfg).expect("config");
        fs::write(&cfg, edit(text)).expect("config");
    }

    /// `~/.ssh/known_hosts`.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join(".ssh/known_hosts")
    }

    /// Options for tests: this HOME, no agent, never prompting, short
    /// timeouts.
    pub fn options(&self) -> ConnectOptions {
        let mut o = ConnectOptions::default();
        o.home = Some(self.dir.path().to_owned());
        // Only this home's ~/.ssh/config: the machine's /etc/ssh/ssh_config
        // (Debian's sets `HashKnownHosts yes`) must not change the tests.
        o.ssh_config = ConfigFiles {
            user: None,
            system: None,
        };
        o.agent = AgentSocket::Disabled;
        o.interactive = false;
        o.connect_timeout = Some(Duration::from_secs(10));
        o.io_timeout = Duration::from_secs(30);
        o
    }
}

/// A running `ssh-agent` holding chosen keys, stopped on drop.
pub struct Agent {
    dir: TempDir,
    child: Child,
}

impl Agent {
    /// Start an agent on a private socket.
    pub fn start() -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|_| missing_tool("ssh-agent"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sock.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Agent { dir, child }
    }

    /// The agent's socket (what SSH_AUTH_SOCK would hold).
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    /// `ssh-add` a private key file.
    pub fn add(&self, key: &Path) {
        let status = Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", self.socket())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|_| missing_tool("ssh-add"));
        assert!(status.success(), "ssh-add {} failed", key.display());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        kill(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local addr").port()
}

fn kill(pid: u32, sig: i32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    // SAFETY: kill(2) has no memory effects; the pid is one we started or
    // one of its descendants.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, sig);
    }
}

/// All live descendants of `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut children: Vec<(u32, u32)> = Vec::new(); // (pid, ppid)
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The command name is in parentheses and may contain spaces.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            let ppid = after
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                children.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &children {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}
