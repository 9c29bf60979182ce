//! The real `vault` binary, driven as a user would: key generation, sealing
//! and opening, and every error path the core promises.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

#[path = "common/env.rs"]
mod test_env;

const CHUNK: usize = 64 * 1024;

/// One user: a HOME of their own with a keystore in it.
struct User {
    home: TempDir,
}

impl User {
    fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn with_key() -> User {
        let u = User::new();
        u.vault(&["keygen", "--no-passphrase"]).assert().success();
        u
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn vault(&self, args: &[&str]) -> Command {
        let mut c = Command::from_std(test_env::isolated(
            assert_cmd::cargo::cargo_bin("vault"),
            self.home.path(),
        ));
        c.args(args);
        c
    }

    fn id(&self) -> String {
        let out = self.vault(&["id"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn identity_file(&self) -> PathBuf {
        self.home.path().join(".config/vault/identity")
    }

    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, data).unwrap();
        p
    }

    /// Files in the home folder other than the keystore.
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.home.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".config")
            .collect();
        v.sort();
        v
    }
}

fn data(len: usize) -> Vec<u8> {
    // Not all one byte, so that swapped chunks would differ.
    (0..len).map(|i| (i * 7 + i / CHUNK) as u8).collect()
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Run `c`, which must fail, and return its stderr.
fn fails(c: &mut Command) -> String {
    stderr_of(&c.assert().failure())
}

#[test]
fn keygen_id_and_keystore_modes() {
    let u = User::new();
    let out = u.vault(&["keygen", "--no-passphrase"]).assert().success();
    let printed = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stderr_of(&out).contains("unencrypted"),
        "warns about no passphrase"
    );
    let id = u.id();
    assert!(id.starts_with("age1") && !id.contains(char::is_whitespace));
    assert_eq!(printed.trim(), id);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&u.identity_file()), 0o600);
    assert_eq!(mode(u.identity_file().parent().unwrap()), 0o700);
    let secret = fs::read_to_string(u.identity_file()).unwrap();
    assert!(secret.contains("AGE-SECRET-KEY-1"));
    // The secret is never printed.
    assert!(!printed.contains("SECRET"));

    let again = u.vault(&["keygen", "--no-passphrase"]).assert().failure();
    assert!(stderr_of(&again).contains("already exists"));
    assert_eq!(u.id(), id, "a refused keygen changes nothing");
    u.vault(&["keygen", "--no-passphrase", "--force"])
        .assert()
        .success();
    assert_ne!(u.id(), id);
}

#[test]
fn keygen_under_a_loose_umask_still_makes_private_files() {
    let u = User::new();
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "umask 000; exec {} keygen --no-passphrase",
            assert_cmd::cargo::cargo_bin("vault").display()
        ))
        .env("HOME", u.home.path())
        .env_remove("VAULT_HOME")
        .env_remove("XDG_CONFIG_HOME");
    c.assert().success();
    let m = fs::metadata(u.identity_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(m, 0o600);
}

#[test]
fn vault_home_overrides_the_default() {
    let u = User::new();
    let ks = u.path("elsewhere");
    u.vault(&["keygen", "--no-passphrase"])
        .env("VAULT_HOME", &ks)
        .assert()
        .success();
    assert!(ks.join("identity").exists());
    assert!(!u.identity_file().exists());
}

#[test]
fn passphrase_protected_keystore_from_file_and_command() {
    let u = User::new();
    let pw = u.write("pw", b"correct horse battery\n");
    u.vault(&["keygen"])
        .env("VAULT_PASSPHRASE_FILE", &pw)
        .assert()
        .success();
    let secret = fs::read(u.identity_file()).unwrap();
    assert!(
        !String::from_utf8_lossy(&secret).contains("AGE-SECRET-KEY"),
        "secret key is not stored in the clear"
    );
    u.write("a.txt", b"hello");
    u.vault(&["seal", "a.txt"]).assert().success(); // no passphrase needed
    fs::remove_file(u.path("a.txt")).unwrap();

    // No terminal, no variable: a clear error, no output.
    let a = u
        .vault(&["open", "a.txt.vault"])
        .write_stdin("")
        .assert()
        .failure();
    assert!(stderr_of(&a).contains("no terminal"), "{}", stderr_of(&a));
    assert!(!u.path("a.txt").exists());

    let wrong = u.write("wrong", b"nope\n");
    let a = u
        .vault(&["open", "a.txt.vault"])
        .env("VAULT_PASSPHRASE_FILE", &wrong)
        .assert()
        .failure();
    assert!(stderr_of(&a).contains("wrong passphrase"));
    assert!(!u.path("a.txt").exists());

    u.vault(&["open", "a.txt.vault"])
        .env("VAULT_PASSPHRASE_COMMAND", "printf 'correct horse battery'")
        .assert()
        .success();
    assert_eq!(fs::read(u.path("a.txt")).unwrap(), b"hello");

    let err = fails(
        u.vault(&["open", "a.txt.vault", "-o", "-"])
            .env("VAULT_PASSPHRASE_COMMAND", "exit 3"),
    );
    assert!(err.contains("VAULT_PASSPHRASE_COMMAND failed"), "{err}");
}

#[test]
fn round_trips_at_chunk_edges_for_each_suite() {
    let u = User::with_key();
    for cipher in ["chacha20poly1305", "aes256gcm"] {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * 1024 * 1024 + 3] {
            let name = format!("f-{cipher}-{len}");
            let plain = data(len);
            u.write(&name, &plain);
            u.vault(&["seal", "--cipher", cipher, &name])
                .assert()
                .success();
            fs::remove_file(u.path(&name)).unwrap();
            u.vault(&["open", &format!("{name}.vault")])
                .assert()
                .success();
            assert_eq!(fs::read(u.path(&name)).unwrap(), plain, "{cipher} {len}");
        }
    }
}

#[test]
fn stdin_to_stdout_both_ways() {
    let u = User::with_key();
    let plain = data(3 * CHUNK + 11);
    let sealed = u
        .vault(&["seal"])
        .write_stdin(plain.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(sealed.len() > plain.len());
    let opened = u
        .vault(&["open", "-"])
        .write_stdin(sealed)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(opened, plain);
    assert!(
        u.files().is_empty(),
        "nothing written to disk: {:?}",
        u.files()
    );
}

#[test]
fn every_recipient_opens_and_a_stranger_cannot() {
    let alice = User::with_key();
    let bob = User::with_key();
    let carol = User::with_key();
    alice.write("report.pdf", b"quarterly numbers");
    alice
        .vault(&["seal", "-r", &bob.id(), "report.pdf"])
        .assert()
        .success();
    let sealed = fs::read(alice.path("report.pdf.vault")).unwrap();
    for user in [&alice, &bob] {
        user.write("in.vault", &sealed);
        let out = user
            .vault(&["open", "in.vault", "-o", "-"])
            .assert()
            .success();
        assert_eq!(out.get_output().stdout, b"quarterly numbers");
    }
    carol.write("in.vault", &sealed);
    let a = carol
        .vault(&["open", "in.vault"])
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr_of(&a)
            .contains("no identity in the keystore matches this file; it was sealed to other keys"),
        "{}",
        stderr_of(&a)
    );
    assert!(!carol.path("in").exists());

    // --no-self leaves the sender out.
    alice
        .vault(&[
            "seal",
            "--no-self",
            "-r",
            &bob.id(),
            "-o",
            "nosf.vault",
            "report.pdf",
        ])
        .assert()
        .success();
    alice
        .vault(&["open", "nosf.vault", "-o", "x"])
        .assert()
        .failure();
    assert!(!alice.path("x").exists());
}

#[test]
fn recipients_file_and_identity_files() {
    let alice = User::with_key();
    let bob = User::with_key();
    let list = format!("# the team\n\n{}\n   # trailing comment\n", bob.id());
    alice.write("team.txt", list.as_bytes());
    alice.write("m", b"memo");
    alice
        .vault(&["seal", "--no-self", "-R", "team.txt", "m"])
        .assert()
        .success();
    // Bob opens with his key file given by -i, from anywhere.
    let bob_key = bob.identity_file();
    alice
        .vault(&[
            "open",
            "-i",
            bob_key.to_str().unwrap(),
            "m.vault",
            "-o",
            "-",
        ])
        .assert()
        .success()
        .stdout("memo");
    // A wrong -i file says so.
    let id = alice.identity_file();
    let err = fails(&mut alice.vault(&["open", "-i", id.to_str().unwrap(), "m.vault", "-o", "-"]));
    assert!(err.contains("given identity files"), "{err}");

    alice.write("bad.txt", b"# ok\nage1notakey\n");
    let a = alice
        .vault(&["seal", "-R", "bad.txt", "m", "-o", "y.vault"])
        .assert()
        .failure();
    assert!(
        stderr_of(&a).contains("bad.txt: line 2"),
        "{}",
        stderr_of(&a)
    );
    assert!(!alice.path("y.vault").exists());
}

#[test]
fn age_keygen_keys_work_as_identity_files() {
    if which("age-keygen").is_none() {
        panic!("age-keygen is missing: run .ci/run (it installs the Debian package `age`)");
    }
    let u = User::new();
    let out = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(u.path("age.key"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = fs::read_to_string(u.path("age.key")).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    u.write("f", b"interop");
    u.vault(&["seal", "--no-self", "-r", &public, "f"])
        .assert()
        .success();
    u.vault(&["open", "-i", "age.key", "f.vault", "-o", "-"])
        .assert()
        .success()
        .stdout("interop");
}

#[test]
fn no_recipients_is_an_error_not_a_default() {
    let u = User::new(); // no keystore
    u.write("f", b"x");
    let a = u.vault(&["seal", "f"]).assert().failure();
    assert!(stderr_of(&a).contains("vault keygen"), "{}", stderr_of(&a));
    assert!(fails(&mut u.vault(&["seal", "--no-self", "f"])).contains("no recipients"));
    assert!(
        fails(&mut u.vault(&["seal", "-r", "age1nope", "--no-self", "f"]))
            .contains("not a valid X25519 public key")
    );
    assert_eq!(u.files(), vec!["f"]);
}

#[test]
fn existing_outputs_are_never_clobbered_without_force() {
    let u = User::with_key();
    u.write("a", b"new contents");
    u.write("a.vault", b"precious");
    let a = u.vault(&["seal", "a"]).assert().failure();
    assert!(stderr_of(&a).contains("a.vault already exists"));
    assert!(stderr_of(&a).contains("--force"));
    assert_eq!(fs::read(u.path("a.vault")).unwrap(), b"precious");
    u.vault(&["seal", "--force", "a"]).assert().success();
    u.write("a", b"also precious");
    let a = u.vault(&["open", "a.vault"]).assert().failure();
    assert!(stderr_of(&a).contains("a already exists"));
    assert_eq!(fs::read(u.path("a")).unwrap(), b"also precious");
    u.vault(&["open", "--force", "a.vault"]).assert().success();
    assert_eq!(fs::read(u.path("a")).unwrap(), b"new contents");
    assert_eq!(u.files(), vec!["a", "a.vault"], "no temporaries left");
}

#[test]
fn special_files_are_written_in_place() {
    let u = User::with_key();
    u.write("a", b"data");
    u.vault(&["seal", "a", "-o", "/dev/null"])
        .assert()
        .success();
    assert!(Path::new("/dev/null").exists());
    u.vault(&["seal", "a"]).assert().success();
    u.vault(&["open", "a.vault", "-o", "/dev/null"])
        .assert()
        .success();

    // A FIFO: the reader sees the plaintext, the FIFO stays a FIFO.
    let fifo = u.path("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    u.vault(&["open", "a.vault", "-o", fifo.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(reader.join().unwrap(), b"data");
    assert!(!fs::metadata(&fifo).unwrap().is_file());
}

#[test]
fn input_and_output_may_not_be_the_same_file() {
    let u = User::with_key();
    u.write("a", b"data");
    assert!(fails(&mut u.vault(&["seal", "a", "-o", "a", "--force"])).contains("same file"));
    assert_eq!(fs::read(u.path("a")).unwrap(), b"data");
}

#[test]
fn not_a_vault_file_and_garbage_never_panic() {
    let u = User::with_key();
    for (i, junk) in [
        b"".to_vec(),
        b"hello".to_vec(),
        b"\x89VLT\r\n\x1a\n".to_vec(),
        b"\x89VLT\r\n\x1a\n\x01\x01\xff\xff".to_vec(),
        vec![0u8; 5000],
        (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect(),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("junk{i}.vault");
        u.write(&name, &junk);
        let a = u.vault(&["open", &name]).assert().failure().code(1);
        let err = stderr_of(&a);
        assert!(err.starts_with("vault: error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!u.path(&format!("junk{i}")).exists());
    }
    assert!(fails(&mut u.vault(&["open", "junk1.vault"])).contains("not a vault file"));
}

#[test]
fn every_flipped_byte_fails_and_leaves_no_output() {
    let u = User::with_key();
    u.write("small", &data(100));
    u.vault(&["seal", "small"]).assert().success();
    let sealed = fs::read(u.path("small.vault")).unwrap();
    let id = u.identity_file();
    for i in 0..sealed.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = sealed.clone();
            bad[i] ^= bit;
            u.write("bad.vault", &bad);
            let a = u
                .vault(&["open", "-i", id.to_str().unwrap(), "bad.vault"])
                .assert()
                .failure();
            let err = stderr_of(&a);
            assert!(err.starts_with("vault: error: "), "byte {i}: {err}");
            assert!(!u.path("bad").exists(), "byte {i} left output");
        }
    }
    assert_eq!(u.files(), vec!["bad.vault", "small", "small.vault"]);
}

#[test]
fn truncation_at_every_chunk_boundary_fails() {
    let u = User::with_key();
    u.write("big", &data(3 * CHUNK + 100));
    u.vault(&["seal", "big"]).assert().success();
    let sealed = fs::read(u.path("big.vault")).unwrap();
    let payload_len = 3 * (CHUNK + 16) + 116;
    let header_len = sealed.len() - payload_len;
    for k in 0..=3 {
        let cut = header_len + k * (CHUNK + 16);
        u.write("cut.vault", &sealed[..cut]);
        let a = u.vault(&["open", "cut.vault"]).assert().failure();
        assert!(
            stderr_of(&a).contains("file is truncated (it ends before its last chunk)"),
            "cut at chunk {k}: {}",
            stderr_of(&a)
        );
        assert!(!u.path("cut").exists());
    }
    // Appended bytes are refused too.
    let mut longer = sealed.clone();
    longer.extend_from_slice(b"extra");
    u.write("long.vault", &longer);
    u.vault(&["open", "long.vault"]).assert().failure();
    assert!(!u.path("long").exists());
}

/// Issue 15, item 10: each kind of damage is named for what it is, as far
/// as the format can tell (docs/FORMAT.md, "What the errors can tell").
#[test]
fn open_errors_tell_header_damage_from_other_keys_and_a_cut_from_a_change() {
    let u = User::with_key();
    let stranger = User::with_key();
    u.write("big", &data(3 * CHUNK + 100));
    u.vault(&["seal", "big"]).assert().success();
    let sealed = fs::read(u.path("big.vault")).unwrap();
    let full = CHUNK + 16;
    let header_len = sealed.len() - (3 * full + 116);
    // One X25519 stanza: kind at 12, length at 13..15, body at 15..95.
    let set = |at: usize, to: u8| {
        let mut b = sealed.clone();
        b[at] = to;
        b
    };
    let flip = |at: usize| {
        let mut b = sealed.clone();
        b[at] ^= 0x01;
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "stanza length",
            flip(14),
            "vault: error: header is damaged or was modified (wrong stanza length)",
            "no identity",
        ),
        (
            "stanza kind",
            set(12, 0),
            "vault: error: header is damaged or was modified (stanza kind 0)",
            "no identity",
        ),
        (
            "header MAC",
            flip(header_len - 5),
            "vault: error: header is damaged or was modified (a stanza opens for you, but the header MAC does not match)",
            "no identity",
        ),
        (
            "cut at a chunk boundary",
            sealed[..header_len + 2 * full].to_vec(),
            "vault: error: file is truncated (it ends before its last chunk)",
            "modified",
        ),
        (
            "cut inside a chunk",
            sealed[..header_len + full + 1000].to_vec(),
            "vault: error: file is truncated, or damaged or was modified (its last chunk does not authenticate)",
            "header",
        ),
        (
            "modified middle chunk",
            flip(header_len + full + 500),
            "vault: error: file is damaged or was modified\n",
            "truncated",
        ),
        (
            "data after the end",
            [&sealed[..], b"x"].concat(),
            "vault: error: file is truncated, or damaged or was modified",
            "header",
        ),
    ];
    for (what, bytes, want, not) in cases {
        u.write("bad.vault", &bytes);
        let a = u.vault(&["open", "bad.vault"]).assert().failure().code(1);
        let err = stderr_of(&a);
        assert!(err.contains(want), "{what}: {err}");
        assert!(!err.contains(not), "{what}: {err}");
        assert!(err.contains("\nvault: hint: "), "{what}: {err}");
        assert!(!u.path("bad").exists(), "{what} left output");
    }
    // A stanza damaged in its body cannot be told from one for someone
    // else (only its recipient could tell): both say so.
    for (who, bytes) in [(&u, flip(40)), (&stranger, sealed.clone())] {
        who.write("in.vault", &bytes);
        let a = who.vault(&["open", "in.vault"]).assert().failure().code(1);
        let err = stderr_of(&a);
        assert!(
            err.contains(
                "no identity in the keystore matches this file; it was sealed to other keys"
            ),
            "{err}"
        );
        assert!(err.contains("its header was damaged"), "{err}");
    }
}

#[test]
fn stdout_gets_authenticated_chunks_then_a_failure() {
    let u = User::with_key();
    let plain = data(3 * CHUNK);
    u.write("p", &plain);
    u.vault(&["seal", "p"]).assert().success();
    let mut sealed = fs::read(u.path("p.vault")).unwrap();
    let last = sealed.len() - 10;
    sealed[last] ^= 1; // damage the last chunk
    let a = u
        .vault(&["open", "-", "-o", "-"])
        .write_stdin(sealed)
        .assert()
        .failure()
        .code(1);
    let out = &a.get_output().stdout;
    assert_eq!(out.len(), 2 * CHUNK, "exactly the authenticated chunks");
    assert_eq!(&out[..], &plain[..2 * CHUNK]);
    assert!(stderr_of(&a).contains("damaged or was modified"));
}

#[test]
fn sealed_bytes_never_go_to_a_terminal() {
    // `script` gives the child a pseudo-terminal as stdout.
    if which("script").is_none() {
        panic!("`script` (util-linux) is missing");
    }
    let u = User::with_key();
    u.write("a", b"x");
    let cmd = format!(
        "{} seal -o - a; echo rc=$?",
        assert_cmd::cargo::cargo_bin("vault").display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(u.home.path())
        .env("HOME", u.home.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refusing to write sealed bytes to a terminal"),
        "{text}"
    );
    assert!(text.contains("rc=1"), "{text}");
}

#[test]
fn passphrase_sealing() {
    let u = User::new();
    let pw = u.write("pw", b"a long shared secret\n");
    u.write("f", b"for the team");
    u.vault(&["seal", "--passphrase", "f"])
        .env("VAULT_PASSPHRASE_FILE", &pw)
        .assert()
        .success();
    u.vault(&["open", "f.vault", "-o", "-"])
        .env("VAULT_PASSPHRASE_FILE", &pw)
        .assert()
        .success()
        .stdout("for the team");
    let err = fails(&mut u.vault(&["seal", "--passphrase", "-r", "age1x", "f", "-o", "g.vault"]));
    assert!(err.contains("cannot be combined"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let u = User::new();
    u.vault(&["seal", "--cipher", "des"])
        .assert()
        .failure()
        .code(2);
    u.vault(&["frobnicate"]).assert().failure().code(2);
    // push --age is refused with the way to make an age file instead.
    let a = u
        .vault(&["push", "--age", "x", "./v"])
        .assert()
        .failure()
        .code(2);
    assert!(
        stderr_of(&a).contains("vault seal --age"),
        "{}",
        stderr_of(&a)
    );
    assert!(!u.path("v").exists());
    u.vault(&["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit status"));
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

#[test]
fn non_canonical_x25519_public_keys_are_refused() {
    // Issue 14, item 6: bit 255 set passed Bech32, and X25519 ignores the
    // bit while the HKDF salt does not, so nobody could open the result.
    let u = User::new();
    u.write("f", b"x");
    let good = vault::crypto::X25519Identity::generate(&mut vault::crypto::os_rng()).recipient();
    let mut high = good.to_bytes();
    high[31] |= 0x80;
    let hrp = bech32::Hrp::parse("age").unwrap();
    for bytes in [high, [0u8; 32]] {
        let s = bech32::encode_lower::<bech32::Bech32>(hrp, &bytes).unwrap();
        for age in [false, true] {
            let mut args = vec!["seal", "--no-self", "-r", &s, "f", "-o", "out"];
            if age {
                args.push("--age");
            }
            let a = u.vault(&args).assert().failure();
            assert!(stderr_of(&a).contains("not canonical"), "{}", stderr_of(&a));
        }
        let a = u.vault(&["contacts", "add", "bob", &s]).assert().failure();
        assert!(stderr_of(&a).contains("not canonical"), "{}", stderr_of(&a));
    }
    assert_eq!(u.files(), vec!["f"]);
}
