//! Remote commands through the real binary on a vault in a local folder
//! (what needs no server): file names that are not UTF-8, and objects
//! sealed to SSH and post-quantum recipients, which the holder of that key lists
//! and pulls them, `share`/`unshare` take such keys, and the rules the
//! format cannot keep (plugin stanzas cannot be bound, post-quantum keys
//! must not be mixed with classic ones) are refused before anything is sent.

mod common;

use std::path::Path;
use std::process::Output;

use common::env::isolated;

struct User {
    home: tempfile::TempDir,
}

impl User {
    fn new(keygen: &[&str]) -> User {
        let u = User {
            home: tempfile::tempdir().expect("tempdir"),
        };
        let mut args = vec!["keygen", "--no-passphrase"];
        args.extend_from_slice(keygen);
        u.ok(&args);
        u
    }

    fn run(&self, args: &[&str]) -> Output {
        isolated(assert_cmd::cargo::cargo_bin("vault"), self.home.path())
            .args(args)
            .output()
            .expect("run vault")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "vault {args:?}: {err}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "vault {args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    fn path(&self, name: &str) -> String {
        self.home.path().join(name).display().to_string()
    }
}

fn ssh_key(dir: &Path) -> (String, String) {
    let key = dir.join("id_ed25519");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    (key.display().to_string(), public.trim().to_owned())
}

/// An empty vault folder (and its path), Alice, and Bob with an SSH key
/// (its file and public line).
fn alice_and_bob_with_ssh() -> (tempfile::TempDir, String, User, User, (String, String)) {
    let vault_dir = tempfile::tempdir().expect("tempdir");
    let v = vault_dir.path().display().to_string();
    let alice = User::new(&[]);
    let bob = User::new(&[]);
    let bob_ssh = ssh_key(bob.home.path());
    (vault_dir, v, alice, bob, bob_ssh)
}

#[test]
fn ssh_and_post_quantum_holders_list_and_pull_what_is_pushed_to_them() {
    let (_vault_dir, v, alice, bob, (bob_key, bob_pub)) = alice_and_bob_with_ssh();
    std::fs::write(alice.path("f.txt"), b"for bob's ssh key").unwrap();
    alice.ok(&["push", "-r", &bob_pub, &alice.path("f.txt"), &v]);
    // Bob's keystore key is not a recipient; his SSH key is.
    assert!(!bob.ok(&["ls", &v]).contains("f.txt"));
    assert!(
        bob.ok(&["ls", "--identity-file", &bob_key, &v])
            .contains("f.txt")
    );
    let out = bob.ok(&["pull", "--identity-file", &bob_key, &v, "f.txt", "-o", "-"]);
    assert_eq!(out, "for bob's ssh key");

    // A post-quantum user: objects sealed to post-quantum keys only.
    let carol = User::new(&["--pq"]);
    let carol_pub = carol.ok(&["id"]).trim().to_owned();
    assert!(carol_pub.starts_with("age1pq1"), "{carol_pub}");
    let err = alice.fails(&[
        "push",
        "-r",
        &carol_pub,
        "--name",
        "pq.txt",
        &alice.path("f.txt"),
        &v,
    ]);
    assert!(err.contains("post-quantum"), "{err}");
    std::fs::write(carol.path("pq.txt"), b"post-quantum only").unwrap();
    carol.ok(&["push", &carol.path("pq.txt"), &v]);
    assert!(carol.ok(&["ls", &v]).contains("pq.txt"));
    assert_eq!(
        carol.ok(&["pull", &v, "pq.txt", "-o", "-"]),
        "post-quantum only"
    );
    assert!(!alice.ok(&["ls", &v]).contains("pq.txt"));
}

#[test]
fn share_and_unshare_take_ssh_keys() {
    let (_vault_dir, v, alice, bob, (bob_key, bob_pub)) = alice_and_bob_with_ssh();
    std::fs::write(alice.path("s.txt"), b"shared later").unwrap();
    alice.ok(&["push", &alice.path("s.txt"), &v]);
    let bob_ls = |u: &User| u.ok(&["ls", "--identity-file", &bob_key, &v]);
    assert!(!bob_ls(&bob).contains("s.txt"));
    alice.ok(&["share", &v, "s.txt", "-r", &bob_pub]);
    assert!(bob_ls(&bob).contains("s.txt"));
    let long = alice.ok(&["ls", "--json", &v]);
    assert!(long.contains("ssh-ed25519"), "{long}");
    alice.ok(&["unshare", &v, "s.txt", "-r", &bob_pub]);
    assert!(!bob_ls(&bob).contains("s.txt"));
    assert_eq!(alice.ok(&["pull", &v, "s.txt", "-o", "-"]), "shared later");
}

#[test]
fn a_file_name_that_is_not_utf8_is_pushed_under_a_name_given() {
    use std::os::unix::ffi::OsStrExt;
    let vault_dir = tempfile::tempdir().expect("tempdir");
    let v = vault_dir.path().display().to_string();
    let alice = User::new(&[]);
    let odd = alice
        .home
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&odd, b"latin-1 name").unwrap();
    let run = |extra: &[&str]| {
        isolated(assert_cmd::cargo::cargo_bin("vault"), alice.home.path())
            .arg("push")
            .args(extra)
            .arg(&odd)
            .arg(&v)
            .output()
            .expect("run vault")
    };
    // Without --name: one line naming the argument, nothing pushed.
    let o = run(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("FILE") && err.contains("--name"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let left: Vec<_> = std::fs::read_dir(vault_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
    // With --name: pushed and pulled back.
    let o = run(&["--name", "cafe.txt"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        alice.ok(&["pull", &v, "cafe.txt", "-o", "-"]),
        "latin-1 name"
    );
}

/// Issue 15, item 10, for remote objects: a head that does not parse or
/// fails its MAC is reported as damaged (not as sealed to other keys), a
/// payload cut short as cut short, a changed chunk as changed.
#[test]
fn damaged_heads_and_payloads_are_named_for_what_happened() {
    let vault_dir = tempfile::tempdir().expect("tempdir");
    let v = vault_dir.path().display().to_string();
    let u = User::new(&[]);
    let full = 65_536 + 16;
    let data: Vec<u8> = (0..3 * 65_536 + 100).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(u.path("big"), &data).unwrap();
    u.ok(&["push", &u.path("big"), &v]);
    let objects = vault_dir.path().join("objects");
    let file = |ext: &str| {
        std::fs::read_dir(&objects)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(ext))
            .unwrap()
    };
    let (head, payload) = (file(".h"), file(".p"));
    let (good_head, good_payload) = (
        std::fs::read(&head).unwrap(),
        std::fs::read(&payload).unwrap(),
    );
    let flip = |b: &[u8], at: usize| {
        let mut b = b.to_vec();
        b[at] ^= 1;
        b
    };
    // Head: one X25519 stanza (kind at 12, length at 13..15), then the
    // nonce and the MAC (48 bytes) after 12 + 83 bytes.
    let head_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "stanza length",
            flip(&good_head, 14),
            "header is damaged or was modified (wrong stanza length)",
        ),
        (
            "header MAC",
            flip(&good_head, 12 + 83 + 16 + 5),
            "header is damaged or was modified (a stanza opens for you, but the header MAC does not match)",
        ),
    ];
    let payload_cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "cut at a chunk boundary",
            good_payload[..2 * full].to_vec(),
            "vault: error: \"big\": the stored payload is cut short (131104 of 196772 bytes)",
            "modified",
        ),
        (
            "cut inside a chunk",
            good_payload[..full + 1000].to_vec(),
            "the stored payload is cut short (66552 of 196772 bytes)",
            "modified",
        ),
        (
            "changed middle chunk",
            flip(&good_payload, full + 500),
            "vault: error: file is damaged or was modified\n",
            "truncated",
        ),
        (
            "changed last chunk",
            flip(&good_payload, good_payload.len() - 1),
            "vault: error: file is damaged or was modified\n",
            "truncated",
        ),
    ];
    let out = u.path("out");
    let cache = u.home.path().join(".cache");
    for (what, bytes, want) in head_cases {
        std::fs::write(&head, &bytes).unwrap();
        let _ = std::fs::remove_dir_all(&cache);
        let err = u.fails(&["pull", "--threads", "1", &v, "big", "-o", &out]);
        assert!(err.contains(want), "{what}: {err}");
        assert!(!err.contains("sealed to other keys"), "{what}: {err}");
        assert!(!Path::new(&out).exists(), "{what} left output");
        std::fs::write(&head, &good_head).unwrap();
    }
    for (what, bytes, want, not) in payload_cases {
        std::fs::write(&payload, &bytes).unwrap();
        let _ = std::fs::remove_dir_all(&cache);
        let err = u.fails(&["pull", "--threads", "1", &v, "big", "-o", &out]);
        assert!(err.contains(want), "{what}: {err}");
        assert!(!err.contains(not), "{what}: {err}");
        assert!(!Path::new(&out).exists(), "{what} left output");
        std::fs::write(&payload, &good_payload).unwrap();
    }
    let _ = std::fs::remove_dir_all(&cache);
    u.ok(&["pull", &v, "big", "-o", &out]);
    assert!(std::fs::read(&out).unwrap() == data);
}

/// Issue 14, item 4: after `keygen --force`, objects sealed to an older
/// key still list, pull and share: remote commands try every key the
/// keystore keeps, not only the current one.
#[test]
fn objects_sealed_to_an_older_key_still_list_pull_and_share_after_rotation() {
    let vault_dir = tempfile::tempdir().expect("tempdir");
    let v = vault_dir.path().display().to_string();
    let alice = User::new(&[]);
    let bob = User::new(&[]);
    std::fs::write(alice.path("old.txt"), b"sealed to the first key").unwrap();
    alice.ok(&["push", &alice.path("old.txt"), &v]);
    let first = alice.ok(&["id"]);
    for _ in 0..2 {
        alice.ok(&["keygen", "--no-passphrase", "--force"]);
    }
    assert_ne!(alice.ok(&["id"]), first, "rotated");
    assert!(alice.ok(&["ls", &v]).contains("old.txt"));
    assert_eq!(
        alice.ok(&["pull", &v, "old.txt", "-o", "-"]),
        "sealed to the first key"
    );
    let bob_pub = bob.ok(&["id"]).trim().to_owned();
    alice.ok(&["share", &v, "old.txt", "-r", &bob_pub]);
    assert_eq!(
        bob.ok(&["pull", &v, "old.txt", "-o", "-"]),
        "sealed to the first key"
    );
}
