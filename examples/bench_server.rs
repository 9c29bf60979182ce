//! The one way benchmarks start their servers: the real OpenSSH sshd of
//! the tests (`tests/common/sshd.rs`: 127.0.0.1 only, a random port,
//! per-run host and client keys, chacha20-poly1305@openssh.com only), and
//! with `--delay-ms N` the delaying proxy of `tests/common/delayproxy.rs` in
//! front of it, adding N ms each way (RTT + 2N); with `--s3`, also the
//! SeaweedFS of the tests (`tests/common/seaweedfs.rs`: one `weed server`
//! on 127.0.0.1, random ports and keys, its data in a temporary folder,
//! the S3 gateway on plain HTTP with one bucket made).
//!
//! ```text
//! cargo run --release --example bench_server -- [--delay-ms N] [--s3]
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
//! - `delay N`: N ms each way from now on (answers `{"delay_ms":N}`);
//! - `vacuum` (with `--s3`): compact SeaweedFS's volumes now, giving back
//!   the space of deleted objects (answers `{"vacuum":STATUS}`).
//!
//! The client HOME it writes has `~/.ssh/config` with two aliases, `ALIAS`
//! through the proxy and `ALIAS-direct` to sshd itself (for set-up work that
//! should not pay the delay), with absolute paths (OpenSSH's own client
//! reads `~` from the password database, not `$HOME`: pass it `-F`), and
//! `known_hosts` for both ports. Without `--delay-ms` both aliases and
//! ports are sshd's.
//!
//! With `--s3` the JSON line has an `s3` object: `endpoint`
//! (`http://127.0.0.1:PORT`), `bucket`, `region`, `access_key`,
//! `secret_key` (made for this run only) and `data` (SeaweedFS's folder).
//! The proxy does not stand in front of SeaweedFS.

#[path = "../tests/common/delayproxy.rs"]
mod delayproxy;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "../tests/common/seaweedfs.rs"]
mod seaweedfs;
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
    eprintln!(
        "usage: bench_server [--delay-ms N] [--s3]   (N ms one way; stops when stdin closes)"
    );
    std::process::exit(2);
}

/// `(--delay-ms, --s3)`.
fn parse_args() -> (Option<u64>, bool) {
    let mut delay = None;
    let mut s3 = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--delay-ms" if delay.is_none() => {
                let n = args.next().unwrap_or_else(|| usage());
                delay = Some(n.parse().unwrap_or_else(|_| usage()));
            }
            "--s3" if !s3 => s3 = true,
            _ => usage(),
        }
    }
    (delay, s3)
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
    let (delay_ms, with_s3) = parse_args();
    let sshd = Sshd::start();
    // Started from this thread, which stays until the end: weed dies with
    // it (PR_SET_PDEATHSIG), like sshd.
    let weed = with_s3.then(seaweedfs::Weed::start);
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
    let s3 = weed.as_ref().map(|w| {
        json!({
            "endpoint": w.endpoint(),
            "bucket": seaweedfs::BUCKET,
            "region": seaweedfs::REGION,
            "access_key": w.access_key(),
            "secret_key": w.secret_key(),
            "data": w.data_dir(),
        })
    });
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
        "s3": s3,
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
            (["vacuum"], _) => match &weed {
                Some(w) => match w.vacuum() {
                    Ok(status) => json!({"vacuum": status}),
                    Err(e) => json!({"error": format!("vacuum: {e}")}),
                },
                None => json!({"error": "no SeaweedFS: start with --s3"}),
            },
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
    drop(weed);
    drop(sshd);
}

fn stats(p: &DelayProxy) -> serde_json::Value {
    let s = p.stats();
    json!({"up": s.up, "down": s.down, "turns": s.turns, "connections": s.connections})
}
