//! Round trips ("turns", counted by `tests/common/delayproxy.rs`) of the
//! real binary against a real sshd behind a delaying proxy: what issue 13
//! asks to be independent of the vault's size is checked to be so, by
//! comparing a vault of 10 objects with one of 500. Counts are compared
//! with a margin (the proxy's docs say why they vary by a few); the
//! margins are far below the one turn per object a regression would add.
//! Speeds are the benchmark's business (`bench/farlink.py`), not these
//! tests'.

mod common;

use std::fs;
use std::time::Duration;

use common::cli::Client;
use common::delayproxy::DelayProxy;
use common::sshd::Sshd;

/// A client of `sshd` whose ssh config reaches it through `proxy`.
fn far_client(sshd: &Sshd, proxy: &DelayProxy) -> Client {
    let c = Client::new(sshd.home());
    let cfg = c.path(".ssh/config");
    let text = fs::read_to_string(&cfg).unwrap().replace(
        &format!("Port {}", sshd.port()),
        &format!("Port {}", proxy.port()),
    );
    fs::write(&cfg, text).unwrap();
    let kh = c.path(".ssh/known_hosts");
    let text = fs::read_to_string(&kh).unwrap().replace(
        &sshd.known_hosts_name(),
        &format!("[127.0.0.1]:{}", proxy.port()),
    );
    fs::write(&kh, text).unwrap();
    c
}

/// Fill the vault folder `sub` with `n` small objects, pushed on the
/// server's disk (the local-folder transport), not through the proxy.
fn fill(sshd: &Sshd, c: &Client, sub: &str, n: usize) {
    let src = c.path(&format!("src-{sub}"));
    fs::create_dir_all(&src).unwrap();
    for i in 0..n {
        fs::write(src.join(format!("f{i:04}")), format!("object {i}")).unwrap();
    }
    let dir = sshd.server_root().join(sub);
    c.vault(&[
        "push",
        "-q",
        "--recursive",
        "--name",
        "d",
        src.to_str().unwrap(),
        dir.to_str().unwrap(),
    ])
    .assert()
    .success();
    // The cache trusts a folder time only once it is a few seconds old.
    std::thread::sleep(Duration::from_secs(3));
}

/// Turns one command costs.
fn turns(proxy: &DelayProxy, c: &Client, args: &[&str]) -> u64 {
    proxy.reset();
    let out = c.vault(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    proxy.stats().turns
}

fn forget_cache(c: &Client) {
    let _ = fs::remove_dir_all(c.path(".cache/vault"));
}

#[test]
fn one_object_commands_and_warm_ls_do_not_grow_with_the_vault() {
    let sshd = Sshd::start();
    let proxy = DelayProxy::start(sshd.port(), Duration::from_millis(5));
    let c = far_client(&sshd, &proxy);
    fill(&sshd, &c, "small", 10);
    fill(&sshd, &c, "big", 500);
    let (small, big) = (sshd.url("small"), sshd.url("big"));
    fs::create_dir(c.path("out")).unwrap();

    // Cold: the first listing of the big vault reads packs, not 500 heads.
    forget_cache(&c);
    let cold_small = turns(&proxy, &c, &["ls", &small]);
    let cold_big = turns(&proxy, &c, &["ls", &big]);
    eprintln!("cold ls: {cold_small} turns (10 objects), {cold_big} (500)");
    assert!(
        cold_big < cold_small + 60,
        "cold ls of 500 objects: {cold_big} turns, of 10: {cold_small}"
    );

    // Warm: no head is read.
    let warm_small = turns(&proxy, &c, &["ls", &small]);
    let warm_big = turns(&proxy, &c, &["ls", &big]);
    eprintln!("warm ls: {warm_small} turns (10 objects), {warm_big} (500)");
    assert!(
        warm_big <= warm_small + 12,
        "warm ls of 500 objects: {warm_big} turns, of 10: {warm_small}"
    );

    // One object: the same turns whatever the vault's size.
    for (what, args_small, args_big) in [
        (
            "pull",
            vec!["pull", "-f", "-C", "out", &small, "d/f0003"],
            vec!["pull", "-f", "-C", "out", &big, "d/f0003"],
        ),
        (
            "mv",
            vec!["mv", &small, "d/f0004", "moved"],
            vec!["mv", &big, "d/f0004", "moved"],
        ),
        ("rm", vec!["rm", &small, "moved"], vec!["rm", &big, "moved"]),
    ] {
        let s = turns(&proxy, &c, &args_small);
        let b = turns(&proxy, &c, &args_big);
        eprintln!("{what}: {s} turns (10 objects), {b} (500)");
        assert!(b <= s + 4, "{what}: {b} turns at 500 objects, {s} at 10");
        // After a change the folder time is new: wait until the cache may
        // trust it again, and let one listing record it.
        std::thread::sleep(Duration::from_secs(3));
        turns(&proxy, &c, &["ls", &small]);
        turns(&proxy, &c, &["ls", &big]);
    }
    assert_eq!(
        fs::read(c.path("out/d/f0003")).unwrap(),
        b"object 3",
        "pulled"
    );
}
