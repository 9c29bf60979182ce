//! The real `vault` binary against a real SeaweedFS: the S3 command-line
//! options (`--endpoint`, `--insecure-plain-http`, `--allow-lost-updates`)
//! and a pull of a large object from a cluster that loses a volume server
//! half-way through. No mocks of the S3 protocol.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::delayproxy::DelayProxy;
use common::env::isolated;
use common::pattern;
use common::seaweedfs::{BUCKET, Weed};

/// A `vault` command for a user whose HOME is `home` (see
/// `common::env::isolated`), with `env` (the store's variables, as the AWS
/// tools read them).
fn vault(home: &Path, env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut c = isolated(assert_cmd::cargo::cargo_bin("vault"), home);
    c.env_remove("VAULT_THREADS")
        .args(args)
        .envs(env)
        .env("HOME", home);
    c
}

/// Run and return (success, stdout, stderr).
fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().expect("vault runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A client HOME with a fresh keystore.
fn user(w: &Weed) -> PathBuf {
    named_user(w, "home")
}

/// Another user's HOME (`name` under the store's folder), with a keystore.
fn named_user(w: &Weed, name: &str) -> PathBuf {
    let home = w.data_dir().join(name);
    std::fs::create_dir_all(&home).unwrap();
    let (ok, _, err) = run(vault(&home, &w.env(), &["keygen", "--no-passphrase"]));
    assert!(ok, "keygen: {err}");
    home
}

/// Run, expect success, return stderr.
fn ok(home: &Path, env: &HashMap<String, String>, args: &[&str]) -> String {
    let (ok, out, err) = run(vault(home, env, args));
    assert!(ok, "vault {args:?}: {err}");
    err + &out
}

/// Run, expect failure with exactly one error line on stderr (a hint may
/// follow), return stderr.
fn fails(home: &Path, env: &HashMap<String, String>, args: &[&str]) -> String {
    let (ok, _, err) = run(vault(home, env, args));
    assert!(!ok, "vault {args:?} succeeded");
    let errors = err
        .lines()
        .filter(|l| l.starts_with("vault: error:"))
        .count();
    assert_eq!(errors, 1, "vault {args:?}: one error line: {err}");
    assert!(
        err.lines().all(|l| l.starts_with("vault: ")),
        "vault {args:?}: only vault's lines: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The names `ls` prints.
fn names(home: &Path, env: &HashMap<String, String>, url: &str) -> Vec<String> {
    let (ok, out, err) = run(vault(home, env, &["ls", url]));
    assert!(ok, "ls: {err}");
    out.lines().map(str::to_owned).collect()
}

/// An address of this machine that is not loopback, if it has one (the
/// source address of a route to a documentation address; no packet is
/// sent).
fn non_loopback_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("198.51.100.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn help_lists_the_s3_options_and_no_secret_options() {
    for cmd in ["push", "pull", "ls", "rm", "mv", "share", "unshare"] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("vault"))
            .args([cmd, "--help"])
            .output()
            .expect("vault runs");
        let help = String::from_utf8_lossy(&out.stdout);
        for opt in [
            "S3 options",
            "--endpoint <URL>",
            "--insecure-plain-http",
            "--allow-lost-updates",
        ] {
            assert!(
                help.contains(opt),
                "vault {cmd} --help lacks {opt}:\n{help}"
            );
        }
        for secret in ["--secret", "--access-key", "--session-token", "--token"] {
            assert!(
                !help.contains(secret),
                "vault {cmd} --help offers a secret as an argument:\n{help}"
            );
        }
    }
}

#[test]
fn endpoint_option_wins_over_the_environment_and_is_refused_elsewhere() {
    let w = Weed::start();
    let home = user(&w);
    std::fs::write(home.join("note.txt"), b"through --endpoint").unwrap();
    let url = format!("s3://{BUCKET}/opts");
    // The variable points at a port where nothing listens: only the
    // option can make this work.
    let mut env = w.env();
    env.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into());
    let ep = w.endpoint();
    let (ok, _, err) = run(vault(
        &home,
        &env,
        &["push", "--endpoint", &ep, "note.txt", &url],
    ));
    assert!(ok, "push with --endpoint: {err}");
    let (ok, out, err) = run(vault(&home, &env, &["ls", "--endpoint", &ep, &url]));
    assert!(ok && out.contains("note.txt"), "ls: {out} {err}");
    // Without the option the variable is used, and fails cleanly.
    let (ok, _, err) = run(vault(&home, &env, &["ls", &url]));
    assert!(!ok, "ls through a dead endpoint succeeded");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("127.0.0.1"), "{err}");

    // With the variable unset as well, the option alone.
    env.remove("AWS_ENDPOINT_URL");
    let (ok, out, err) = run(vault(
        &home,
        &env,
        &["pull", "--endpoint", &ep, &url, "note.txt", "-o", "-"],
    ));
    assert!(ok, "pull: {err}");
    assert_eq!(out, "through --endpoint");

    // S3 options on another kind of remote: a usage error, nothing done.
    let local = home.join("local-vault");
    for extra in [
        &["--endpoint", ep.as_str()][..],
        &["--insecure-plain-http"][..],
        &["--allow-lost-updates"][..],
    ] {
        let mut args = vec!["push"];
        args.extend_from_slice(extra);
        args.extend(["note.txt", local.to_str().unwrap()]);
        let out = vault(&home, &env, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("s3://"), "{err}");
        assert!(!local.exists(), "nothing was created");
    }

    // A bad endpoint is one clear line naming it.
    let (ok, _, err) = run(vault(
        &home,
        &env,
        &["ls", "--endpoint", "https://h/some/path", &url],
    ));
    assert!(!ok);
    assert!(err.contains("https://h/some/path"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn insecure_plain_http_flag_for_an_endpoint_off_loopback() {
    let Some(ip) = non_loopback_ip() else {
        // Without such an address the rule cannot be exercised end to
        // end; the transport's own test covers its logic.
        eprintln!("this machine has no address off loopback: nothing to check here");
        return;
    };
    let w = Weed::start();
    let home = user(&w);
    std::fs::write(home.join("f.txt"), b"over plain http").unwrap();
    // The same store, reached through a forwarder on that address.
    let fwd = DelayProxy::start_on(ip, w.port(), Duration::ZERO);
    let ep = match ip {
        IpAddr::V4(a) => format!("http://{a}:{}", fwd.port()),
        IpAddr::V6(a) => format!("http://[{a}]:{}", fwd.port()),
    };
    let mut env = w.env();
    env.remove("AWS_ENDPOINT_URL");
    let url = format!("s3://{BUCKET}/plain");
    let (ok, _, err) = run(vault(
        &home,
        &env,
        &["push", "--endpoint", &ep, "f.txt", &url],
    ));
    assert!(!ok, "plain http off loopback without the flag");
    assert!(err.contains("--insecure-plain-http"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(fwd.stats().connections, 0, "refused before connecting");

    let (ok, _, err) = run(vault(
        &home,
        &env,
        &[
            "push",
            "--endpoint",
            &ep,
            "--insecure-plain-http",
            "f.txt",
            &url,
        ],
    ));
    assert!(ok, "with the flag: {err}");
    assert!(fwd.stats().connections > 0, "it went through the forwarder");
    // The variable route accepts the flag the same way.
    env.insert("AWS_ENDPOINT_URL".into(), ep.clone());
    let (ok, out, err) = run(vault(
        &home,
        &env,
        &["pull", "--insecure-plain-http", &url, "f.txt", "-o", "-"],
    ));
    assert!(ok, "pull: {err}");
    assert_eq!(out, "over plain http");
}

#[test]
fn allow_lost_updates_skips_the_conditional_write_probe() {
    let w = Weed::start();
    let home = user(&w);
    for f in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(home.join(f), b"x").unwrap();
    }
    let url = format!("s3://{BUCKET}/lost");
    // SeaweedFS honours conditional writes, so every command works; the
    // probe (three PUTs and a DELETE, each a turn) is seen through a
    // forwarder that counts turns. A few ms each way, so that each request
    // is counted once (see delayproxy.rs on turns at zero delay).
    let fwd = DelayProxy::start(w.port(), Duration::from_millis(5));
    let mut env = w.env();
    env.insert(
        "AWS_ENDPOINT_URL".into(),
        format!("http://127.0.0.1:{}", fwd.port()),
    );
    let turns = |args: &[&str]| {
        fwd.reset();
        let (ok, out, err) = run(vault(&home, &env, args));
        assert!(ok, "{args:?}: {err}");
        (fwd.stats().turns, out)
    };
    turns(&["push", "--threads", "1", "a.txt", &url]);
    // Two pushes of the same size into the same vault: the one with the
    // flag writes no probe.
    let (with_probe, _) = turns(&["push", "--threads", "1", "b.txt", &url]);
    let (without, _) = turns(&[
        "push",
        "--threads",
        "1",
        "--allow-lost-updates",
        "c.txt",
        &url,
    ]);
    // Four requests; measured 3 turns more, not 4 (the proxy counts a turn
    // per answer after new client data, and one of the probe's answers
    // can arrive in the same turn as a neighbour's): at least 3.
    assert!(
        without + 3 <= with_probe,
        "push turns with the probe {with_probe}, with --allow-lost-updates {without}"
    );
    // A read-only command writes nothing, so it does not probe either:
    // the flag changes nothing for it (and read-only credentials suffice).
    let (ls, out) = turns(&["ls", &url]);
    let (ls_flag, out_flag) = turns(&["ls", "--allow-lost-updates", &url]);
    assert!(
        out.contains("c.txt") && out == out_flag,
        "{out} / {out_flag}"
    );
    assert_eq!(ls, ls_flag, "ls probed without the flag");
}

/// The allocated bytes of the pull's temporary file in `dir` (written at
/// offsets, so its length says little; its blocks say how much arrived).
fn arrived(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.blocks() * 512)
                .sum()
        })
        .unwrap_or(0)
}

/// A cluster (a master, two volume servers with replication 001, a filer
/// with the S3 gateway): `vault pull` of a large object over three
/// connections, one volume server killed when half of it has arrived.
/// The pull must either deliver exactly the pushed bytes or fail with one
/// clean line and leave no output file; then a fresh pull works from the
/// replica.
#[test]
fn cluster_pull_through_the_binary_survives_a_volume_server_stopping_half_way() {
    let mut w = Weed::start_cluster();
    let home = user(&w);
    let env = w.env();
    let len = 96usize << 20;
    let data = pattern(len, 33);
    std::fs::write(home.join("big.bin"), &data).unwrap();
    let url = format!("s3://{BUCKET}/cluster");
    let (ok, _, err) = run(vault(
        &home,
        &env,
        &["push", "--threads", "3", "big.bin", &url],
    ));
    assert!(ok, "push: {err}\n{}", w.logs());
    for i in 0..2 {
        assert!(
            w.volume_bytes(i) >= len as u64,
            "volume server {i} holds a copy"
        );
    }
    let out_dir = home.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = vault(
        &home,
        &env,
        &["pull", "--threads", "3", &url, "big.bin", "-C", "out"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stopped_at = None;
    while Instant::now() < deadline {
        let got = arrived(&out_dir);
        if got >= len as u64 / 2 {
            w.stop_volume(1);
            stopped_at = Some(got);
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let Some(at) = stopped_at else {
        panic!(
            "the pull ended before half had arrived ({} of {len} bytes; exit {:?}: {err})",
            arrived(&out_dir),
            out.status.code()
        );
    };
    eprintln!("volume server 1 stopped with {at} of {len} bytes arrived");
    let target = out_dir.join("big.bin");
    if out.status.success() {
        assert!(
            std::fs::read(&target).unwrap() == data,
            "the pull succeeded with other bytes"
        );
        eprintln!("the pull finished from the remaining volume server");
    } else {
        assert_eq!(err.trim().lines().count(), 1, "one clean line: {err}");
        assert!(!target.exists(), "a failed pull leaves no output");
        assert_eq!(arrived(&out_dir), 0, "nor its temporary file");
        eprintln!("the pull failed cleanly: {}", err.trim());
    }
    // The replica serves the object to a fresh pull.
    let (ok, _, err) = run(vault(
        &home,
        &env,
        &[
            "pull",
            "--threads",
            "3",
            "-f",
            &url,
            "big.bin",
            "-o",
            "out/again.bin",
        ],
    ));
    assert!(ok, "pull from the replica: {err}\n{}", w.logs());
    assert!(std::fs::read(out_dir.join("again.bin")).unwrap() == data);
}

/// Sharing between two users through one S3 vault, every command through
/// the binary: push to Bob, share, unshare (--keep-key, and the default
/// re-keying), rm, mv.
#[test]
fn share_unshare_mv_rm_between_two_users_over_s3() {
    let w = Weed::start();
    let env = w.env();
    let alice = named_user(&w, "alice");
    let bob = named_user(&w, "bob");
    let (_, bob_id, _) = run(vault(&bob, &env, &["id"]));
    ok(&alice, &env, &["contacts", "add", "bob", bob_id.trim()]);
    let url = format!("s3://{BUCKET}/team");
    let data = pattern(6 << 20, 8);
    std::fs::write(alice.join("q3.bin"), &data).unwrap();
    std::fs::write(alice.join("mine.txt"), b"alice only").unwrap();
    ok(&alice, &env, &["push", "q3.bin", "mine.txt", &url]);
    assert!(names(&bob, &env, &url).is_empty(), "bob sees nothing yet");
    let err = fails(&bob, &env, &["pull", &url, "q3.bin"]);
    assert!(err.contains("no object named"), "{err}");

    let err = ok(&alice, &env, &["share", &url, "q3.bin", "-r", "bob"]);
    assert!(
        err.contains("shared q3.bin") && err.contains("with bob"),
        "{err}"
    );
    assert_eq!(names(&bob, &env, &url), vec!["q3.bin"]);
    ok(&bob, &env, &["pull", &url, "q3.bin", "-o", "got.bin"]);
    assert!(std::fs::read(bob.join("got.bin")).unwrap() == data);
    let err = ok(&alice, &env, &["share", &url, "q3.bin", "-r", "bob"]);
    assert!(err.contains("already shared"), "{err}");

    let err = ok(
        &alice,
        &env,
        &["unshare", "--keep-key", &url, "q3.bin", "-r", "bob"],
    );
    assert!(err.contains("warning: --keep-key"), "{err}");
    assert!(names(&bob, &env, &url).is_empty());
    ok(&alice, &env, &["share", &url, "q3.bin", "-r", "bob"]);
    let err = ok(&alice, &env, &["unshare", &url, "q3.bin", "-r", "bob"]);
    assert!(err.contains("new file key"), "{err}");
    assert!(names(&bob, &env, &url).is_empty());
    ok(
        &alice,
        &env,
        &["pull", "-f", &url, "q3.bin", "-o", "back.bin"],
    );
    assert!(std::fs::read(alice.join("back.bin")).unwrap() == data);

    ok(&alice, &env, &["mv", &url, "mine.txt", "renamed.txt"]);
    let mut listed = names(&alice, &env, &url);
    listed.sort();
    assert_eq!(listed, vec!["q3.bin", "renamed.txt"]);
    ok(&alice, &env, &["rm", &url, "renamed.txt"]);
    assert_eq!(names(&alice, &env, &url), vec!["q3.bin"]);
    let err = fails(&alice, &env, &["rm", &url, "renamed.txt"]);
    assert!(err.contains("renamed.txt"), "{err}");
}

/// TLS through the binary: the run's CA through AWS_CA_BUNDLE works; the
/// system roots alone, or a certificate for another name, are refused in
/// one line naming the host, before anything is sent.
#[test]
fn tls_through_the_binary_and_a_wrong_certificate_refused() {
    let w = Weed::start_tls(false);
    let home = user(&w);
    std::fs::write(home.join("t.txt"), b"over tls").unwrap();
    let url = format!("s3://{BUCKET}/tls");
    let env = w.env();
    ok(&home, &env, &["push", "t.txt", &url]);
    let (_, out, _) = run(vault(&home, &env, &["pull", &url, "t.txt", "-o", "-"]));
    assert_eq!(out, "over tls");
    let mut untrusted = env.clone();
    untrusted.remove("AWS_CA_BUNDLE");
    for args in [
        &["ls", url.as_str()][..],
        &["push", "t.txt", url.as_str()][..],
    ] {
        let err = fails(&home, &untrusted, args);
        assert!(
            err.contains("AWS_CA_BUNDLE") && err.contains("127.0.0.1"),
            "{err}"
        );
    }

    let wrong = Weed::start_tls(true);
    let home = user(&wrong);
    std::fs::write(home.join("t.txt"), b"x").unwrap();
    for args in [
        &["ls", url.as_str()][..],
        &["push", "t.txt", url.as_str()][..],
        &["pull", url.as_str(), "t.txt"][..],
    ] {
        let err = fails(&home, &wrong.env(), args);
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
    assert!(!home.join("t.txt.tmp").exists());
}

/// No command's message carries a secret: a wrong secret key, a session
/// token, keys from a profile file, a key pasted into --endpoint.
#[test]
fn secrets_never_appear_in_messages() {
    let w = Weed::start();
    let home = user(&w);
    std::fs::write(home.join("s.txt"), b"s").unwrap();
    let url = format!("s3://{BUCKET}/sec");
    let secret = "WRONGsecretKEY0123456789abcdefghijklmnop";
    let token = "SESSIONtokenVALUE-0123456789";
    let mut env = w.env();
    env.insert("AWS_SECRET_ACCESS_KEY".into(), secret.into());
    env.insert("AWS_SESSION_TOKEN".into(), token.into());
    let commands: [&[&str]; 7] = [
        &["push", "s.txt", &url],
        &["pull", &url, "s.txt"],
        &["ls", &url],
        &["rm", &url, "s.txt"],
        &["mv", &url, "s.txt", "t.txt"],
        &["share", &url, "s.txt", "-r", "nobody"],
        &["unshare", &url, "s.txt", "-r", "nobody"],
    ];
    let real = w.secret_key().to_owned();
    for args in commands {
        let (ok, out, err) = run(vault(&home, &env, args));
        assert!(!ok, "{args:?} succeeded with a wrong key");
        for s in [secret, token, real.as_str()] {
            assert!(
                !err.contains(s) && !out.contains(s),
                "{args:?} echoed a secret: {err}"
            );
        }
    }
    let (_, _, err) = run(vault(&home, &env, &["ls", &url]));
    assert!(err.contains("authentication"), "{err}");

    // The same keys from ~/.aws/credentials.
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!(
            "[p]\naws_access_key_id = {}\naws_secret_access_key = {secret}\n",
            w.access_key()
        ),
    )
    .unwrap();
    let mut penv = w.env();
    penv.remove("AWS_ACCESS_KEY_ID");
    penv.remove("AWS_SECRET_ACCESS_KEY");
    penv.insert("AWS_PROFILE".into(), "p".into());
    let err = fails(&home, &penv, &["ls", &url]);
    assert!(!err.contains(secret), "{err}");

    // A key pasted into the endpoint is refused without echoing it.
    let ep = format!("http://{}:{secret}@127.0.0.1:{}", w.access_key(), w.port());
    let err = fails(&home, &w.env(), &["ls", "--endpoint", &ep, &url]);
    assert!(!err.contains(secret) && err.contains("***@"), "{err}");
}

/// A read-only command sends no write (the conditional-write probe waits
/// for the first write), so keys that may only read and list are enough
/// for `ls` and `pull`; a push with them fails in one line and leaves
/// nothing.
#[test]
fn read_only_keys_are_enough_for_ls_and_pull() {
    let w = Weed::start();
    let home = user(&w);
    std::fs::write(home.join("r.txt"), b"readable").unwrap();
    std::fs::write(home.join("w.txt"), b"not writable").unwrap();
    let url = format!("s3://{BUCKET}/ro");
    ok(&home, &w.env(), &["push", "r.txt", &url]);
    let reader = w.reader_env();
    assert_eq!(names(&home, &reader, &url), vec!["r.txt"]);
    let (ok_, out, err) = run(vault(&home, &reader, &["pull", &url, "r.txt", "-o", "-"]));
    assert!(ok_, "pull with read-only keys: {err}");
    assert_eq!(out, "readable");
    let err = fails(&home, &reader, &["push", "w.txt", &url]);
    assert!(
        err.contains("permission") || err.contains("denied"),
        "{err}"
    );
    assert_eq!(
        names(&home, &w.env(), &url),
        vec!["r.txt"],
        "nothing written"
    );
}
