//! What a user sees when the network or the server misbehaves: each
//! failure has its own class and a message saying what to do, and nothing
//! hangs. Only 127.0.0.1 is ever contacted.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::sshd::Sshd;
use common::{connect, expect_err, get, pattern, put};
use vault::transport::{PutMode, SshError, TransportError};

/// A listener on a free port of 127.0.0.1, and an `sftp://` URL of that
/// port for the test server's user.
fn listening(sshd: &Sshd) -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, format!("sftp://{}@127.0.0.1:{port}/x", sshd.user()))
}

#[test]
fn nothing_listening_is_connection_refused() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let (l, url) = listening(&sshd);
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let e = expect_err(connect(&url, &home.options()), "closed port");
    match &e {
        TransportError::ConnectionRefused { addr, .. } => {
            assert_eq!(addr, &format!("127.0.0.1:{port}"));
        }
        other => panic!("expected ConnectionRefused, got {other:?}"),
    }
    assert!(e.to_string().contains("refused"), "{e}");
}

#[test]
fn silent_server_times_out() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let (listener, url) = listening(&sshd);
    // Accept and say nothing.
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let mut opts = home.options();
    opts.connect_timeout = Some(Duration::from_secs(1));
    let start = Instant::now();
    let e = expect_err(connect(&url, &opts), "silent server");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(e, TransportError::Timeout { .. }), "{e:?}");
    drop(holder.join());
}

#[test]
fn not_an_ssh_server_is_a_protocol_error() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let (listener, url) = listening(&sshd);
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    let mut opts = home.options();
    opts.connect_timeout = Some(Duration::from_secs(3));
    let e = expect_err(connect(&url, &opts), "HTTP server");
    assert!(
        matches!(e, TransportError::Ssh(SshError::Protocol { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("SSH server"), "{e}");
    let _ = server.join();
}

#[test]
fn missing_remote_folder_is_not_found_naming_the_path() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let mut t = connect(&sshd.url("no/such/vault"), &home.options()).expect("connect");
    let e = expect_err(t.list(""), "list of a missing root");
    assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
    assert!(e.to_string().contains("no/such/vault"), "{e}");
    let e = expect_err(
        t.put("f", PutMode::New).map(|_| ()),
        "put in a missing root",
    );
    assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
    assert!(t.stat("").expect("stat").is_none());
}

#[test]
fn server_stopped_mid_upload_fails_then_reconnect_works() {
    let mut sshd = Sshd::start();
    let home = sshd.home();
    let mut t = connect(&sshd.url("v"), &home.options()).expect("connect");
    t.mkdir_all("").expect("mkdir");
    put(&mut *t, "before", b"kept", 4);
    let data = pattern(6 << 20, 1);
    let start = Instant::now();
    let err = {
        let mut w = t.put("during", PutMode::New).expect("put");
        w.write_all(&data[..5 << 20]).expect("first part is sent");
        sshd.stop();
        let r = w.write_all(&data[5 << 20..]).map_err(|e| e.to_string());
        match r {
            Err(e) => e,
            Ok(()) => match w.finish() {
                Err(e) => e.to_string(),
                Ok(()) => panic!("finish succeeded although the server was stopped"),
            },
        }
    };
    assert!(start.elapsed() < Duration::from_secs(20), "failed fast");
    assert!(
        err.contains("connection") || err.contains("timed out"),
        "clear error: {err}"
    );
    // Later operations on the dead connection fail, they do not hang.
    let e = expect_err(t.stat("before"), "stat on a dead connection");
    assert!(
        matches!(
            e,
            TransportError::ConnectionLost { .. } | TransportError::Timeout { .. }
        ),
        "{e:?}"
    );
    sshd.restart();
    let mut t2 = t.reconnect().expect("reconnect after restart");
    assert_eq!(get(&mut *t2, "before"), b"kept");
}

/// A small tmpfs mounted (as root) inside the server folder, unmounted on
/// drop.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn mount(at: &Path) -> Option<TinyDisk> {
        std::fs::create_dir_all(at).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs"])
            .arg(at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| TinyDisk(at.to_owned()))
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_no_space() {
    let sshd = Sshd::start();
    let is_root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root {
        eprintln!("full_disk_is_no_space: needs root to mount a small tmpfs; not run");
        return;
    }
    let disk = TinyDisk::mount(&sshd.server_root().join("small"))
        .expect("mounting a 2 MiB tmpfs (root is expected to be able to)");
    let home = sshd.home();
    let mut t = connect(&sshd.url("small"), &home.options()).expect("connect");
    let e = {
        let mut w = t.put("big", PutMode::New).expect("put");
        match w.write_all(&pattern(8 << 20, 2)) {
            Err(e) => e,
            Ok(()) => expect_err(w.finish(), "finish on a full disk"),
        }
    };
    assert!(matches!(e, TransportError::NoSpace(_)), "{e:?}");
    assert!(e.to_string().contains("no space"), "{e}");
    // The partial file was removed, so the disk is usable again.
    assert!(t.stat("big").expect("stat").is_none());
    assert!(
        t.list("tmp").expect("list").is_empty(),
        "nothing staged is left"
    );
    put(&mut *t, "small-file", b"fits", 4);
    drop(t);
    drop(disk);
}
