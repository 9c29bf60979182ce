//! The one way benchmarks start their SSH server: the real OpenSSH sshd of
//! the tests (`tests/common/sshd.rs`: 127.0.0.1 only, a random port,
//! per-run host and client keys, chacha20-poly1305@openssh.com only), and
//! with `--delay-ms N` the delaying proxy of `tests/common/delayproxy.rs` in
//! front of it, adding N ms each way (RTT + 2N).
//!
//! ```text
//! cargo run --release --example bench_server -- [--delay-ms N]
//! ```
//!
//! It prints one JSON line with everything a client needs, then serves
//! until its standard input closes or it gets SIGTERM/SIGINT, and stops
//! sshd, every connection and the proxy, and removes its folders. While it
//! runs, lines on standard input drive the proxy (each answered with one
//! JSON line on standard output):
//!
//! - `stats`: `{"up":..,"down":..,"turns":..,"connections":..}` since the
//!   last reset (see `delayproxy.rs` for what a turn is);
//! - `reset`: zero the counters (answers with the stats before);
//! - `delay N`: N ms each way from now on (answers `{"delay_ms":N}`).
//!
//! The client HOME it writes has `~/.ssh/config` with two aliases, `ALIAS`
//! through the proxy and `ALIAS-direct` to sshd itself (for set-up work that
//! should not pay the delay), with absolute paths (OpenSSH's own client
//! reads `~` from the password database, not `$HOME`: pass it `-F`), and
//! `known_hosts` for both ports. Without `--delay-ms` both aliases and
//! ports are sshd's.

#[path = "../tests/common/delayproxy.rs"]
mod delayproxy;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "../tests/common/sshd.rs"]
mod sshd;

use std::fs;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use delayproxy::DelayProxy;
use serde_json::json;
use sshd::Sshd;

/// The alias of the delayed route in the client's ssh config.
const ALIAS: &str = "vaultbench";

fn usage() -> ! {
    eprintln!("usage: bench_server [--delay-ms N]   (N ms one way; stops when stdin closes)");
    std::process::exit(2);
}

fn parse_args() -> Option<u64> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => None,
        [flag, n] if flag == "--delay-ms" => Some(n.parse().unwrap_or_else(|_| usage())),
        _ => usage(),
    }
}

/// Write the client HOME: key, known_hosts for both ports, ssh config.
fn write_home(home: &Path, sshd: &Sshd, port: u16) -> std::io::Result<()> {
    let ssh = home.join(".ssh");
    fs::create_dir_all(&ssh)?;
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700))?;
    let key = ssh.join("id_ed25519");
    fs::copy(sshd.client_key(), &key)?;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))?;
    fs::copy(
        sshd.client_key().with_extension("pub"),
        key.with_extension("pub"),
    )?;
    let host_key = sshd::key_without_comment(&fs::read_to_string(sshd.host_pub_file())?);
    let known_hosts = ssh.join("known_hosts");
    let mut kh = format!("[127.0.0.1]:{} {host_key}\n", sshd.port());
    if port != sshd.port() {
        kh.push_str(&format!("[127.0.0.1]:{port} {host_key}\n"));
    }
    fs::write(&known_hosts, kh)?;
    let entry = |alias: &str, port: u16| {
        format!(
            "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
             IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n  \
             GlobalKnownHostsFile /dev/null\n",
            user = sshd.user(),
            key = key.display(),
            kh = known_hosts.display(),
        )
    };
    let config = entry(ALIAS, port) + &entry(&format!("{ALIAS}-direct"), sshd.port());
    fs::write(ssh.join("config"), config)
}

enum Event {
    Line(String),
    Stop,
}

fn main() {
    let delay_ms = parse_args();
    let sshd = Sshd::start();
    let proxy = delay_ms.map(|ms| DelayProxy::start(sshd.port(), Duration::from_millis(ms)));
    let port = proxy.as_ref().map_or(sshd.port(), DelayProxy::port);
    let home = tempfile::Builder::new()
        .prefix("vault-bench-home-")
        .tempdir()
        .expect("tempdir");
    if let Err(e) = write_home(home.path(), &sshd, port) {
        eprintln!("bench_server: writing the client home: {e}");
        std::process::exit(1);
    }
    let ssh = home.path().join(".ssh");
    let hello = json!({
        "port": port,
        "direct_port": sshd.port(),
        "delay_ms": delay_ms,
        "host": "127.0.0.1",
        "user": sshd.user(),
        "alias": ALIAS,
        "direct_alias": format!("{ALIAS}-direct"),
        "home": home.path(),
        "ssh_config": ssh.join("config"),
        "known_hosts": ssh.join("known_hosts"),
        "key": ssh.join("id_ed25519"),
        "srv": sshd.server_root(),
        "pid": std::process::id(),
    });
    println!("{hello}");
    let _ = std::io::stdout().flush();

    let (tx, rx) = mpsc::channel();
    let on_signal = tx.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = on_signal.send(Event::Stop);
    }) {
        eprintln!("bench_server: cannot handle signals: {e}");
    }
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(Event::Line(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Event::Stop);
    });
    // sshd dies with the thread that started it (PR_SET_PDEATHSIG): this
    // one, which stays here until the end.
    while let Ok(Event::Line(line)) = rx.recv() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match (words.as_slice(), &proxy) {
            ([], _) => continue,
            (_, None) => json!({"error": "no proxy: start with --delay-ms N"}),
            (["stats"], Some(p)) => stats(p),
            (["reset"], Some(p)) => {
                let before = stats(p);
                p.reset();
                before
            }
            (["delay", n], Some(p)) => match n.parse::<u64>() {
                Ok(ms) => {
                    p.set_delay(Duration::from_millis(ms));
                    json!({"delay_ms": ms})
                }
                Err(_) => json!({"error": format!("not a number of ms: {n}")}),
            },
            _ => json!({"error": format!("unknown command: {line}")}),
        };
        println!("{answer}");
        let _ = std::io::stdout().flush();
    }
    drop(proxy);
    drop(sshd);
}

fn stats(p: &DelayProxy) -> serde_json::Value {
    let s = p.stats();
    json!({"up": s.up, "down": s.down, "turns": s.turns, "connections": s.connections})
}
