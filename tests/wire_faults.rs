//! The network drops the connection at any byte: `vault push` and `vault
//! pull` go through a proxy (`tests/common/cutproxy.rs`) to a real sshd
//! that cuts the connection after N bytes in one direction, for N spread
//! over a whole clean run (SSH handshake, authentication, listing, head,
//! payload, the end). Each run must complete or fail cleanly (exit 1, one
//! error line, no panic, no hang), leave no visible partial object and no
//! local output, and a rerun without the proxy must complete.

mod common;

use std::fs;
use std::io::Read;
use std::time::{Duration, Instant};

use common::cli::{Client, copy_dir, files_under};
use common::cutproxy::{CutProxy, Way};
use common::pattern;
use common::sshd::Sshd;

const ALIAS: &str = "cutproxy";

/// Let `c` reach the proxy as host alias `cutproxy`: the same host key,
/// filed under the proxy's port, and the same client key.
fn route_through(c: &Client, sshd: &Sshd, proxy: &CutProxy) {
    use std::io::Write;
    let ssh = c.path(".ssh");
    let key = sshd.known_hosts_line();
    let key = key.split_once(' ').unwrap().1;
    let mut kh = fs::OpenOptions::new()
        .append(true)
        .open(ssh.join("known_hosts"))
        .unwrap();
    writeln!(kh, "[127.0.0.1]:{} {key}", proxy.port()).unwrap();
    let mut cfg = fs::OpenOptions::new()
        .append(true)
        .open(ssh.join("config"))
        .unwrap();
    write!(
        cfg,
        "\nHost {ALIAS}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile ~/.ssh/id_vault\n",
        proxy.port(),
        sshd.user()
    )
    .unwrap();
}

fn proxied(sshd: &Sshd, sub: &str) -> String {
    format!("sftp://{ALIAS}{}/{sub}", sshd.server_root().display())
}

/// Run `vault args`, failing the test if it takes over a minute (a hang).
/// Returns (success, stderr) after checking the failure shape.
fn run(c: &Client, args: &[&str], what: &str) -> (bool, String) {
    let mut child = c.spawn(args);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: vault hung after the connection was cut");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if std::env::var_os("CUT_TIMING").is_some() {
        eprintln!("{what}: {:?}", start.elapsed());
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let code = status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{what}: exit {status:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        err.lines().all(|l| l.starts_with("vault: ")),
        "{what}: {err}"
    );
    let errors = err
        .lines()
        .filter(|l| l.starts_with("vault: error:"))
        .count();
    assert_eq!(
        errors,
        usize::from(code == Some(1)),
        "{what}: want one error line: {err}"
    );
    (code == Some(0), err)
}

/// Cut points: dense where the handshake and authentication happen, then
/// evenly over the rest of the run, and dense again over the last few KB
/// (a push's head upload and renames, a pull's last chunk, the goodbye).
fn points(total: u64) -> Vec<u64> {
    let mut v = vec![0, 1, 30, 300, 1000, 1500, 2000, 3000, 4000];
    if total > 5000 {
        for k in 0..=12 {
            v.push(5000 + (total - 5001) * k / 12);
        }
    }
    for back in [3000, 2000, 1000, 500, 150, 40, 1] {
        v.push(total.saturating_sub(back));
    }
    v.retain(|&n| n < total);
    v.sort_unstable();
    v.dedup();
    v
}

/// The vault as a reader sees it (without the proxy): every head opens
/// (no unreadable object), and the names listed.
fn visible_names(c: &Client, url: &str, what: &str) -> Vec<String> {
    let v = c.ls_json(url, &format!("{what}: ls"));
    assert_eq!(v["unreadable"], 0, "{what}: a partial object is visible");
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect()
}

fn pulled(c: &Client, url: &str, name: &str) -> Vec<u8> {
    c.stdout_of(
        &["pull", "-q", url, name, "-o", "-"],
        &format!("pull {name}"),
    )
}

/// A test server, a client, and a cutting proxy the client's `vaulttest`
/// goes through.
fn cut_route() -> (Sshd, Client, CutProxy) {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    let proxy = CutProxy::start(sshd.port());
    route_through(&c, &sshd, &proxy);
    (sshd, c, proxy)
}

#[test]
fn push_completes_or_fails_cleanly_at_every_cut() {
    let (sshd, c, proxy) = cut_route();
    let data = pattern(300 << 10, 1);
    c.write("up.bin", &data);
    c.write("other", b"already there");
    c.vault(&["push", "-q", "other", &sshd.url("base")])
        .assert()
        .success();
    let root = sshd.server_root();

    // Clean runs through the proxy: into an existing vault, and creating
    // one.
    copy_dir(&root.join("base"), &root.join("measure"));
    let mut totals = Vec::new();
    for (sub, fresh) in [("measure", false), ("measure-new", true)] {
        proxy.set_cut(None);
        let (ok, err) = run(&c, &["push", "-q", "up.bin", &proxied(&sshd, sub)], sub);
        assert!(ok, "{err}");
        totals.push((fresh, proxy.totals()));
    }
    eprintln!(
        "push bytes (up, down): existing vault {:?}, new vault {:?}",
        totals[0].1, totals[1].1
    );

    let mut tried = 0;
    let mut completed = 0;
    for (fresh, (up, down)) in totals {
        for (way, total) in [(Way::Up, up), (Way::Down, down)] {
            // Creating a vault happens early; later cuts are the same as
            // with an existing vault.
            let mut ns = points(total);
            if fresh {
                ns.retain(|&n| n < 12_000);
            }
            for n in ns {
                let sub = format!("p-{fresh}-{way:?}-{n}");
                let what = format!("push cut {way:?} at {n}/{total} (new vault: {fresh})");
                if !fresh {
                    copy_dir(&root.join("base"), &root.join(&sub));
                }
                proxy.set_cut(Some((way, n)));
                let (ok, err) = run(&c, &["push", "-q", "up.bin", &proxied(&sshd, &sub)], &what);
                proxy.set_cut(None);
                tried += 1;
                let direct = sshd.url(&sub);
                if root.join(&sub).join("VAULT").exists() {
                    let names = visible_names(&c, &direct, &what);
                    if ok {
                        completed += 1;
                        assert!(names.contains(&"up.bin".to_owned()), "{what}");
                    }
                    if names.contains(&"up.bin".to_owned()) {
                        assert!(pulled(&c, &direct, "up.bin") == data, "{what}");
                    }
                } else {
                    assert!(!ok, "{what}: succeeded without creating the vault");
                }
                // A rerun without the proxy completes.
                let (ok, err2) = run(&c, &["push", "-q", "--force", "up.bin", &direct], &what);
                assert!(ok, "{what}: rerun failed: {err2} (after: {err})");
                assert!(pulled(&c, &direct, "up.bin") == data, "{what}");
            }
        }
    }
    eprintln!("wire faults: push: {tried} cut points, {completed} completed despite the cut");
}

#[test]
fn pull_completes_or_fails_cleanly_at_every_cut() {
    let (sshd, c, proxy) = cut_route();
    let data = pattern(300 << 10, 2);
    c.write("down.bin", &data);
    let direct = sshd.url("v");
    c.vault(&["push", "-q", "down.bin", &direct])
        .assert()
        .success();
    fs::remove_file(c.path("down.bin")).unwrap();
    let url = proxied(&sshd, "v");
    let out_dir = c.path("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("down.bin");
    let o = out.to_str().unwrap();

    proxy.set_cut(None);
    let (ok, err) = run(&c, &["pull", "-q", &url, "down.bin", "-o", o], "measure");
    assert!(ok, "{err}");
    let (up, down) = proxy.totals();
    eprintln!("pull bytes (up, down): ({up}, {down})");
    fs::remove_file(&out).unwrap();

    let mut tried = 0;
    let mut completed = 0;
    for (way, total) in [(Way::Up, up), (Way::Down, down)] {
        for n in points(total) {
            let what = format!("pull cut {way:?} at {n}/{total}");
            proxy.set_cut(Some((way, n)));
            let (ok, _) = run(&c, &["pull", "-q", &url, "down.bin", "-o", o], &what);
            proxy.set_cut(None);
            tried += 1;
            if ok {
                completed += 1;
                assert!(fs::read(&out).unwrap() == data, "{what}");
                fs::remove_file(&out).unwrap();
            }
            assert!(files_under(&out_dir).is_empty(), "{what}: partial output");
            let (ok, err) = run(&c, &["pull", "-q", &direct, "down.bin", "-o", o], &what);
            assert!(ok, "{what}: rerun: {err}");
            assert!(fs::read(&out).unwrap() == data, "{what}");
            fs::remove_file(&out).unwrap();
        }
    }
    eprintln!("wire faults: pull: {tried} cut points, {completed} completed despite the cut");
}
