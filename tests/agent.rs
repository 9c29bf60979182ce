//! The vault agent through the real binary (issue 15, item 3): one
//! passphrase typed on a terminal serves the commands that follow, which
//! then work with no terminal and no passphrase variable at all; the
//! agent's socket and memory are private; it never hands out the secret
//! key; and it forgets the keys on `vault lock`, when its time is up, when
//! the identity is rotated, or when its socket is taken away.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::age_home::{Home, PASSPHRASE, text};

/// A home whose keystore identity is protected by [`PASSPHRASE`], with a
/// file `f.vault` sealed to it.
fn protected_home() -> Home {
    let h = Home::new();
    h.protect_and_seal(b"the plaintext");
    h
}

/// The agent sockets in `dir`.
fn sockets(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".sock"))
                .collect()
        })
        .unwrap_or_default()
}

fn keystore(h: &Home) -> PathBuf {
    h.path(".config/vault")
}

/// `open f.vault` with no terminal and no passphrase source: it can only
/// succeed through the agent.
fn open_without_passphrase(h: &Home) -> std::process::Output {
    h.vault(&["open", "f.vault", "-o", "-"]).output().unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The memory the agent process has locked, in kB (`VmLck`).
fn locked_kb(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmLck in /proc/PID/status")
}

/// Whether this process may lock at least `kb` of memory.
fn may_lock(kb: u64) -> bool {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))
        .unwrap();
    let soft = line.split_whitespace().nth(3).unwrap();
    soft == "unlimited" || soft.parse::<u64>().is_ok_and(|b| b >= kb * 1024)
}

#[test]
fn one_passphrase_typed_serves_the_commands_that_follow() {
    let h = protected_home();
    let run = h.path("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    // A remote vault in a folder, with one object, pushed before the agent.
    h.ok(&mut h.vault_pw(&["push", "f", "rv"]));
    assert!(!open_without_passphrase(&h).status.success());

    let o = h.on_terminal(
        &format!(
            "XDG_RUNTIME_DIR={} {} agent --timeout 2m",
            run.display(),
            env!("CARGO_BIN_EXE_vault")
        ),
        &format!("{PASSPHRASE}\n"),
    );
    let shown = text(&o.stdout);
    assert!(o.status.success(), "{shown}");
    assert!(shown.contains("holds your keys for 2m"), "{shown}");
    // The socket: in $XDG_RUNTIME_DIR/vault (0700), mode 0600.
    let dir = run.join("vault");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let socks = sockets(&dir);
    assert_eq!(socks.len(), 1, "{socks:?}");
    assert_eq!(mode(&socks[0]), 0o600);
    let pid = shown
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("the pid in the message")
        .to_string();
    if may_lock(64) {
        assert!(locked_kb(&pid) >= 4, "the agent locked no memory");
    }

    let with_agent = |args: &[&str]| {
        let mut c = h.vault(args);
        c.env("XDG_RUNTIME_DIR", &run);
        c
    };
    // No terminal, no passphrase variable: the agent answers.
    let o = with_agent(&["open", "f.vault", "-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, b"the plaintext");
    let o = h.ok(&mut with_agent(&["ls", "rv"]));
    assert_eq!(text(&o.stdout).trim(), "f");
    let o = h.ok(&mut with_agent(&["pull", "rv", "f", "-o", "-"]));
    assert_eq!(o.stdout, b"the plaintext");
    // It never hands out the secret key itself.
    let err = h.fails(&mut with_agent(&["id", "--secret"]));
    assert!(err.contains("passphrase is needed"), "{err}");
    // Without the runtime folder, this command looks elsewhere: no agent.
    assert!(!open_without_passphrase(&h).status.success());
    // VAULT_AGENT=off ignores it.
    let err = h.fails(with_agent(&["open", "f.vault", "-o", "-"]).env("VAULT_AGENT", "off"));
    assert!(err.contains("passphrase is needed"), "{err}");

    let o = h.ok(&mut with_agent(&["lock"]));
    assert!(text(&o.stderr).contains("forgot your keys"));
    assert!(sockets(&dir).is_empty());
    // Gone, or a zombie its parent has not reaped.
    wait_until("the agent's exit", || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_or(true, |s| s.contains("State:\tZ"))
    });
    let err = h.fails(&mut with_agent(&["open", "f.vault", "-o", "-"]));
    assert!(err.contains("passphrase is needed"), "{err}");
    let o = h.ok(&mut with_agent(&["lock"]));
    assert!(text(&o.stderr).contains("no agent"));
}

#[test]
fn the_agent_forgets_when_its_time_is_up_or_its_socket_goes() {
    let h = protected_home();
    h.ok(&mut h.vault_pw(&["agent", "--timeout", "2s"]));
    assert!(open_without_passphrase(&h).status.success());
    assert_eq!(sockets(&keystore(&h)).len(), 1);
    wait_until("the agent's timeout", || sockets(&keystore(&h)).is_empty());
    let err = text(&open_without_passphrase(&h).stderr);
    assert!(err.contains("passphrase is needed"), "{err}");

    // A removed socket stops it too (and it is not answering elsewhere).
    h.ok(&mut h.vault_pw(&["agent", "--timeout", "1h"]));
    let sock = sockets(&keystore(&h)).remove(0);
    std::fs::rename(&sock, h.path("moved.sock")).unwrap();
    wait_until("the agent to notice", || {
        std::os::unix::net::UnixStream::connect(h.path("moved.sock")).is_err()
    });
    assert!(!open_without_passphrase(&h).status.success());
}

#[test]
fn a_rotated_identity_is_not_served_by_the_old_agent() {
    let h = protected_home();
    h.ok(&mut h.vault_pw(&["agent", "--timeout", "1h"]));
    // A second `vault agent` finds it and starts nothing.
    let o = h.ok(&mut h.vault_pw(&["agent", "--timeout", "1h"]));
    assert!(text(&o.stderr).contains("already holds your keys"));
    h.ok(&mut h.vault_pw(&["keygen", "--force"]));
    // The agent holds only the old key; the keystore's current one is new:
    // the client stops that agent and asks for the passphrase instead.
    let err = text(&open_without_passphrase(&h).stderr);
    assert!(err.contains("passphrase is needed"), "{err}");
    assert!(sockets(&keystore(&h)).is_empty());
}

#[test]
fn vault_agent_variable_starts_one_on_demand() {
    let h = protected_home();
    let o = h.ok(h
        .vault_pw(&["open", "f.vault", "-o", "-"])
        .env("VAULT_AGENT", "1m"));
    assert_eq!(o.stdout, b"the plaintext");
    assert!(text(&o.stderr).contains("the agent holds your keys for 1m"));
    let o = open_without_passphrase(&h);
    assert!(o.status.success(), "{}", text(&o.stderr));
    h.ok(&mut h.vault(&["lock"]));

    let o = h
        .vault(&["open", "f.vault", "-o", "-"])
        .env("VAULT_AGENT", "soon")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("VAULT_AGENT=soon"));
}

#[test]
fn nothing_to_hold_without_a_passphrase_and_unsafe_sockets_are_refused() {
    let h = Home::new(); // keygen --no-passphrase
    let o = h.ok(&mut h.vault(&["agent"]));
    assert!(text(&o.stderr).contains("no passphrase"));
    assert!(sockets(&keystore(&h)).is_empty());

    let h = protected_home();
    let run = h.path("run");
    std::fs::create_dir(&run).unwrap();
    h.ok(h
        .vault_pw(&["agent", "--timeout", "1m"])
        .env("XDG_RUNTIME_DIR", &run));
    // Others may now enter the socket's folder: the client will not use it.
    std::fs::set_permissions(run.join("vault"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = h.fails(
        h.vault(&["open", "f.vault", "-o", "-"])
            .env("XDG_RUNTIME_DIR", &run),
    );
    assert!(err.contains("not using the agent"), "{err}");
    assert!(err.contains("mode 0755"), "{err}");
    std::fs::set_permissions(run.join("vault"), std::fs::Permissions::from_mode(0o700)).unwrap();
    h.ok(h.vault(&["lock"]).env("XDG_RUNTIME_DIR", &run));
}
