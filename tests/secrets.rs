//! Secrets stay secret: `Debug` output of key types shows no key bytes,
//! keystore files are private whatever the umask, a keystore others can
//! write is refused, and the process cannot dump core.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use common::cli::Client;
use common::sshd::ClientHome;
use vault::crypto::file::payload_key;
use vault::crypto::{FileKey, Passphrase, Suite, X25519Identity, os_rng};
use vault::keystore::Keystore;

/// Every way the bytes could show up in text.
fn renderings(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let dec = format!("{secret:?}");
    let dec_inner = dec.trim_matches(['[', ']']).to_owned();
    vec![
        hex.clone(),
        hex.to_uppercase(),
        dec_inner,
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        String::from_utf8_lossy(secret).into_owned(),
    ]
}

fn assert_hidden(what: &str, shown: &str, secret: &[u8]) {
    for r in renderings(secret) {
        // Short fragments could match by chance; every rendering of 16+
        // secret bytes is long.
        assert!(!shown.contains(&r), "{what}: {shown:?} shows the secret");
    }
}

#[test]
fn debug_output_carries_no_key_bytes() {
    let mut cases = 0;
    // A file key with recognisable bytes, and a random one.
    for bytes in [[0x41u8; 32], {
        let mut b = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut os_rng(), &mut b);
        b
    }] {
        let fk = FileKey::from_bytes(&bytes).unwrap();
        let shown = format!("{fk:?} {fk:#?}");
        assert_hidden("FileKey", &shown, &bytes);
        let nonce = [7u8; 16];
        for suite in [Suite::ChaCha20Poly1305, Suite::Aes256Gcm] {
            let pk = payload_key(suite, &fk, &nonce);
            let derived = vault::crypto::primitives::hkdf_sha256(
                &nonce,
                &bytes,
                &[b"vault/v1 payload ".as_slice(), &[suite.id()]].concat(),
            );
            let shown = format!("{pk:?} {pk:#?}");
            assert_hidden("PayloadKey", &shown, &bytes);
            assert_hidden("PayloadKey", &shown, &derived[..]);
            cases += 1;
        }
        cases += 1;
    }

    let id = X25519Identity::generate(&mut os_rng());
    let secret = id.to_secret_string();
    let shown = format!("{id:?} {id:#?}");
    assert!(shown.contains(&id.recipient().to_string()), "{shown}");
    assert!(!shown.contains(secret.as_str()), "{shown}");
    assert!(
        !shown.to_lowercase().contains(&secret.to_lowercase()[15..]),
        "{shown}"
    );
    // The secret scalar: decode it from its Bech32 text.
    let (_, data) = bech32::decode(&secret).unwrap();
    assert_hidden("Identity", &shown, &data);
    cases += 1;

    let words = "correct horse battery staple and some more words";
    let p = Passphrase::new(words.to_owned());
    let shown = format!("{p:?} {p:#?}");
    assert!(!shown.contains("horse"), "{shown}");
    cases += 1;

    // The keystore holds paths only; check a real one with a key in it.
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::at(dir.path().join("ks"));
    ks.create(
        &[vault::keystore::KeyEntry::x25519(&id, "created".into())],
        None,
        false,
    )
    .unwrap();
    let unlocked = ks.unlock().unwrap();
    let shown = format!("{ks:?} {unlocked:?}");
    assert!(!shown.contains(secret.as_str()), "{shown}");
    assert_hidden("Keystore", &shown, &data);
    cases += 1;
    eprintln!("secrets: {cases} Debug cases");
}

/// Run the binary under `umask`.
fn vault_with_umask(home: &Path, umask: u32, args: &[&str]) {
    vault_with_umask_env(home, umask, args, &[]);
}

/// Run the binary under `umask`, with extra environment variables.
fn vault_with_umask_env(home: &Path, umask: u32, args: &[&str], env: &[(&str, &Path)]) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("vault"));
    c.args(args)
        .envs(env.iter().copied())
        .env("HOME", home)
        .env_remove("VAULT_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null());
    // SAFETY: umask is async-signal-safe and touches no memory.
    #[allow(unsafe_code)]
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} (umask {umask:03o}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keystore_files_are_private_under_any_umask() {
    let someone = X25519Identity::generate(&mut os_rng())
        .recipient()
        .to_string();
    for umask in [0o000, 0o002, 0o022, 0o077] {
        let home = tempfile::tempdir().unwrap();
        let ks = home.path().join(".config/vault");
        vault_with_umask(home.path(), umask, &["keygen", "--no-passphrase"]);
        vault_with_umask(home.path(), umask, &["contacts", "add", "bob", &someone]);
        vault_with_umask(
            home.path(),
            umask,
            &["keygen", "--no-passphrase", "--force"],
        );
        assert_eq!(mode(&ks), 0o700, "umask {umask:03o}: keystore folder");
        assert_eq!(mode(&ks.join("identity")), 0o600, "umask {umask:03o}");
        assert_eq!(mode(&ks.join("contacts")), 0o600, "umask {umask:03o}");
        // The public key is not secret, but vault seals to it: nobody else
        // may write it.
        assert_eq!(mode(&ks.join("identity.pub")), 0o644, "umask {umask:03o}");
        for e in fs::read_dir(&ks).unwrap() {
            let p = e.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("identity.replaced")
            {
                assert_eq!(mode(&p), 0o600, "umask {umask:03o}: {}", p.display());
            }
        }
        // Sealed with a passphrase too.
        let pass = home.path().join("pass");
        fs::write(&pass, "a passphrase").unwrap();
        let home2 = tempfile::tempdir().unwrap();
        vault_with_umask_env(
            home2.path(),
            umask,
            &["keygen"],
            &[("VAULT_PASSPHRASE_FILE", &pass)],
        );
        assert_eq!(mode(&home2.path().join(".config/vault/identity")), 0o600);
        assert_eq!(mode(&home2.path().join(".config/vault")), 0o700);
    }
}

fn fails_with(c: &Client, args: &[&str], want: &str) -> String {
    let out = c.vault(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("vault: error:"))
            .count(),
        1
    );
    err
}

#[test]
fn a_keystore_others_can_touch_is_refused() {
    let c = Client::new(ClientHome::bare());
    let ks = c.path(".config/vault");
    let id = ks.join("identity");
    let public = ks.join("identity.pub");
    c.write("f", b"data");
    let ok = |args: &[&str]| {
        let out = c.vault(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["seal", "f"]);
    let chmod = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let mut cases = 0;

    // The secret key readable by others: refused (as OpenSSH does), with
    // the chmod that fixes it.
    for m in [0o644, 0o640, 0o604, 0o660] {
        chmod(&id, m);
        let err = fails_with(
            &c,
            &["open", "f.vault", "-o", "out"],
            "accessible by others",
        );
        assert!(err.contains("chmod go-rwx"), "{err}");
        assert!(!c.path("out").exists());
        cases += 1;
    }
    chmod(&id, 0o600);
    ok(&["open", "f.vault", "-o", "out"]);
    fs::remove_file(c.path("out")).unwrap();

    // The folder writable by others: refused. Readable is fine (as
    // ~/.ssh 0755 is for OpenSSH): the secret file itself is 0600.
    for m in [0o777, 0o775, 0o757] {
        chmod(&ks, m);
        fails_with(
            &c,
            &["open", "f.vault", "-o", "out"],
            "accessible by others",
        );
        // Sealing to yourself trusts identity.pub: refused too.
        fails_with(&c, &["seal", "f", "-o", "g.vault"], "accessible by others");
        cases += 2;
    }
    chmod(&ks, 0o755);
    ok(&["open", "f.vault", "-o", "out"]);
    chmod(&ks, 0o700);

    // identity.pub or contacts writable by others: whoever can write them
    // chooses whom you seal to. Refused.
    c.vault(&[
        "contacts",
        "add",
        "bob",
        &X25519Identity::generate(&mut os_rng())
            .recipient()
            .to_string(),
    ])
    .assert()
    .success();
    for (file, m) in [
        (&public, 0o666),
        (&public, 0o664),
        (&ks.join("contacts"), 0o666),
    ] {
        chmod(file, m);
        let err = fails_with(
            &c,
            &["seal", "-r", "bob", "f", "-o", "h.vault"],
            "accessible by others",
        );
        assert!(err.contains("chmod go-rwx"), "{err}");
        assert!(!c.path("h.vault").exists());
        chmod(file, if file == &public { 0o644 } else { 0o600 });
        cases += 1;
    }
    ok(&["seal", "-r", "bob", "f", "-o", "h.vault"]);
    eprintln!("secrets: {cases} keystore permission cases");
}

/// Raise the core limit in the child, so that only the process itself can
/// be what prevents a dump.
fn with_core_limit(c: &mut Command) {
    // SAFETY: setrlimit is async-signal-safe and reads only our struct.
    #[allow(unsafe_code)]
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: libc::RLIM_INFINITY,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
            Ok(())
        });
    }
}

/// Wait until `pid` is blocked in read(2) (syscall 0 on x86-64).
fn wait_blocked_in_read(pid: u32) -> bool {
    for _ in 0..2000 {
        if let Ok(s) = fs::read_to_string(format!("/proc/{pid}/syscall"))
            && s.split_whitespace().next() == Some("0")
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

fn quit_and_wait(mut child: std::process::Child) -> bool {
    // SAFETY: kill(2) on our own child.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as i32, libc::SIGQUIT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGQUIT));
    status.core_dumped()
}

#[test]
fn vault_cannot_dump_core() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: the check reads /proc/PID/syscall (Linux x86-64)");
        return;
    }
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let cwd = tempfile::tempdir().unwrap();
    // Control: an ordinary process blocked the same way does dump core
    // here; otherwise this machine cannot tell.
    let mut control = Command::new("cat");
    control
        .current_dir(cwd.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    with_core_limit(&mut control);
    let mut child = control.spawn().unwrap();
    let stdin = child.stdin.take();
    if !wait_blocked_in_read(child.id()) {
        let _ = child.kill();
        panic!("cat never blocked in read");
    }
    let dumped = quit_and_wait(child);
    drop(stdin);
    if !dumped {
        eprintln!(
            "skipped: this machine does not write core dumps (core_pattern {:?})",
            pattern.trim()
        );
        return;
    }
    // vault, waiting for the rest of a header on stdin.
    let vault_cwd = tempfile::tempdir().unwrap();
    let c = Client::new(ClientHome::bare());
    let mut cmd = c.command();
    cmd.args(["open", "-o", "-"])
        .current_dir(vault_cwd.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    with_core_limit(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x89VLT").unwrap();
    assert!(
        wait_blocked_in_read(child.id()),
        "vault never blocked in read"
    );
    let dumped = quit_and_wait(child);
    drop(stdin);
    assert!(!dumped, "vault dumped core");
    let files: Vec<_> = fs::read_dir(vault_cwd.path()).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
    eprintln!("secrets: no core dump (a control process did dump one)");
}
