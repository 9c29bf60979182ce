//! Interoperability with the real `age` and `age-keygen` (Debian package
//! `age`, installed by `.ci/run`): files age makes open in vault, files vault
//! makes open in age, binary and armored, to several recipients, at 64 KiB
//! chunk edges, and with passphrases both ways. Missing binaries fail the
//! test: skipping would hide that nothing was checked.
//!
//! age 1.1 reads passphrases only from a terminal, so the steps that need
//! one run age under `script` (util-linux), which gives it a pseudo-terminal
//! and types what the test writes to its stdin.

mod common;

use std::fs;
use std::path::Path;

use common::age_home::{Home, PASSPHRASE, text};

const CHUNK: usize = 64 * 1024;
const SIZES: [usize; 6] = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7];

/// A home, and the public keys of two new age key files, `bob.txt` and
/// `carol.txt`.
fn with_bob_and_carol() -> (Home, String, String) {
    let h = Home::new();
    let bob = h.age_keygen("bob.txt");
    let carol = h.age_keygen("carol.txt");
    (h, bob, carol)
}

#[test]
fn age_encrypts_to_several_recipients_and_vault_opens_at_chunk_edges() {
    let (h, bob, carol) = with_bob_and_carol();
    for (i, len) in SIZES.into_iter().enumerate() {
        let plain = common::pattern(len, i as u8);
        h.write("f", &plain);
        for armor in [false, true] {
            let mut args = vec!["-r", &bob, "-r", &h.me, "-r", &carol, "-o", "f.age"];
            if armor {
                args.push("-a");
            }
            args.push("f");
            h.ok(&mut h.cmd("age", &args));
            let sealed = h.read("f.age");
            assert_eq!(sealed.starts_with(b"-----BEGIN AGE"), armor);
            // The keystore identity (`vault id`), by default output name.
            let _ = fs::remove_file(h.path("f"));
            h.ok(&mut h.vault(&["open", "f.age"]));
            assert_eq!(h.read("f"), plain, "keystore, {len} bytes, armor {armor}");
            // age-keygen key files given with -i (the second is the match).
            h.ok(&mut h.vault(&[
                "open",
                "-i",
                "bob.txt",
                "-i",
                "carol.txt",
                "f.age",
                "-o",
                "g",
                "-f",
            ]));
            assert_eq!(h.read("g"), plain, "-i, {len} bytes, armor {armor}");
            // Through pipes.
            let mut c = h.vault(&["open", "-i", "carol.txt", "-", "-o", "-"]);
            c.stdin(fs::File::open(h.path("f.age")).unwrap());
            assert_eq!(h.ok(&mut c).stdout, plain);
        }
    }
}

#[test]
fn vault_seals_age_files_that_age_decrypts_at_chunk_edges() {
    let (h, bob, carol) = with_bob_and_carol();
    for (i, len) in SIZES.into_iter().enumerate() {
        let plain = common::pattern(len, 100 + i as u8);
        h.write("f", &plain);
        for armor in [false, true] {
            let mut args = vec!["seal", "--age", "-r", &bob, "-r", &carol, "-f", "f"];
            if armor {
                args.push("--armor");
            }
            h.ok(&mut h.vault(&args));
            let sealed = h.read("f.age");
            let header = if armor {
                "-----BEGIN AGE ENCRYPTED FILE-----\n"
            } else {
                "age-encryption.org/v1\n-> X25519 "
            };
            assert!(sealed.starts_with(header.as_bytes()), "armor {armor}");
            for key in ["bob.txt", "carol.txt"] {
                let out = h.ok(&mut h.cmd("age", &["-d", "-i", key, "f.age"]));
                assert_eq!(out.stdout, plain, "{key}, {len} bytes, armor {armor}");
            }
            // Sealed to oneself too (not --no-self): the keystore opens it.
            let out = h.ok(&mut h.vault(&["open", "f.age", "-o", "-"]));
            assert_eq!(out.stdout, plain);
        }
    }
}

#[test]
fn passphrases_both_ways() {
    let h = Home::new();
    let plain = common::pattern(2 * CHUNK + 3, 7);
    h.write("f", &plain);
    // vault -> age: an scrypt stanza with age's work factor.
    h.ok(&mut h.vault_pw(&["seal", "--age", "--passphrase", "f", "-o", "v.age"]));
    let sealed = text(&h.read("v.age")[..80]);
    assert!(
        sealed.contains("\n-> scrypt ") && sealed.contains(" 18\n"),
        "{sealed}"
    );
    h.age_on_terminal("-d -o v.out v.age", &format!("{PASSPHRASE}\n"));
    assert_eq!(h.read("v.out"), plain);
    // age -> vault, binary and armored.
    for (name, armor) in [("a.age", ""), ("a.asc", "-a ")] {
        let typed = format!("{PASSPHRASE}\n{PASSPHRASE}\n");
        h.age_on_terminal(&format!("-p {armor}-o {name} f"), &typed);
        let out = h.ok(&mut h.vault_pw(&["open", name, "-o", "-"]));
        assert_eq!(out.stdout, plain, "{name}");
        h.refuses_wrong_passphrase(&["open", name, "-o", "x"]);
        assert!(!h.path("x").exists());
    }
}

#[test]
fn a_protected_keystore_does_not_take_the_passphrase_of_an_age_file() {
    // The documented rule: an age file sealed to a passphrase never needs
    // the keystore, so VAULT_PASSPHRASE_FILE is that file's passphrase even
    // when the keystore identity is protected by another one.
    let h = Home::new();
    let keystore_pw = h.write("keystore-pw", b"the keystore's own\n");
    h.ok(h
        .vault(&["keygen", "--force"])
        .env("VAULT_PASSPHRASE_FILE", &keystore_pw));
    h.write("f", b"for the team");
    h.ok(&mut h.vault_pw(&["seal", "--age", "-p", "f"]));
    let out = h.ok(&mut h.vault_pw(&["open", "f.age", "-o", "-"]));
    assert_eq!(out.stdout, b"for the team");
    // And for a key-sealed age file the variable unlocks the keystore.
    h.ok(h
        .vault(&["seal", "--age", "-f", "f"])
        .env("VAULT_PASSPHRASE_FILE", &keystore_pw));
    let out = h.ok(h
        .vault(&["open", "f.age", "-o", "-"])
        .env("VAULT_PASSPHRASE_FILE", &keystore_pw));
    assert_eq!(out.stdout, b"for the team");
}

#[test]
fn passphrase_encrypted_identity_files_work_in_both_tools() {
    let h = Home::new();
    let bob = h.age_keygen("bob.txt");
    // age's own way: `age -p` over the key file; vault opens with it.
    let typed = format!("{PASSPHRASE}\n{PASSPHRASE}\n");
    h.age_on_terminal("-p -a -o bob.txt.age bob.txt", &typed);
    h.write("f", b"to bob");
    h.ok(&mut h.cmd("age", &["-r", &bob, "-o", "f.age", "f"]));
    let out = h.ok(&mut h.vault_pw(&["open", "-i", "bob.txt.age", "f.age", "-o", "-"]));
    assert_eq!(out.stdout, b"to bob");
    // vault's way (`seal --age -p` over the key file); age opens with it.
    h.ok(&mut h.vault_pw(&["seal", "--age", "-p", "bob.txt", "-o", "bob2.age"]));
    h.age_on_terminal("-d -i bob2.age -o f.out f.age", &format!("{PASSPHRASE}\n"));
    assert_eq!(h.read("f.out"), b"to bob");
    // An age file sealed to keys is not an identity file.
    let err = h.fails(&mut h.vault(&["open", "-i", "f.age", "f.age", "-o", "x"]));
    assert!(err.contains("sealed to keys"), "{err}");
}

#[test]
fn tampered_age_files_fail_and_leave_no_output() {
    let h = Home::new();
    let plain = common::pattern(2 * CHUNK + 100, 9);
    h.write("f", &plain);
    h.ok(&mut h.cmd("age", &["-r", &h.me, "-o", "good.age", "f"]));
    let good = h.read("good.age");
    let header_end = good.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
    let mac_end = header_end + good[header_end..].iter().position(|&b| b == b'\n').unwrap();
    let payload = mac_end + 1 + 16;
    // Another file's MAC line: well-formed, but not this header's.
    h.ok(&mut h.cmd("age", &["-r", &h.me, "-o", "other.age", "f"]));
    let other = h.read("other.age");
    let other_mac = &other[header_end..header_end + (mac_end - header_end)];
    let mut wrong_mac = good.clone();
    wrong_mac[header_end..mac_end].copy_from_slice(other_mac);
    let flip = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 0x01;
        b
    };
    let set = |at: usize, to: u8| {
        let mut b = good.clone();
        b[at] = to;
        b
    };
    // "age-encryption.org/v1\n-> X25519 " is 32 bytes; the share follows,
    // then the body line (43 columns): another valid letter there makes a
    // well-formed stanza for nobody, a '*' a malformed one.
    let body = 32 + 43 + 1;
    let other_letter = if good[body + 5] == b'A' { b'B' } else { b'A' };
    // "--- " then 43 columns: another letter early in the MAC still
    // decodes canonically, to a MAC that does not match.
    let mac_letter = if good[header_end + 6] == b'A' {
        b'B'
    } else {
        b'A'
    };
    const MAC_FAILS: &str = "vault: error: header is damaged or was modified (a stanza opens for you, but the header MAC does not match)";
    const CHANGED: &str = "vault: error: file is damaged or was modified\n";
    const CUT_OR_CHANGED: &str = "vault: error: file is truncated, or damaged or was modified (its last chunk does not authenticate)";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("stanza share", set(35, b'*'), "header is damaged"),
        ("stanza body", set(body + 5, other_letter), "no identity"),
        (
            "stanza body character",
            set(body + 5, b'*'),
            "header is damaged",
        ),
        ("header MAC", wrong_mac, MAC_FAILS),
        (
            "header MAC letter",
            set(header_end + 6, mac_letter),
            MAC_FAILS,
        ),
        (
            "payload nonce",
            flip(mac_end + 3),
            "damaged or was modified",
        ),
        ("first chunk", flip(payload + 10), CHANGED),
        ("middle chunk", flip(payload + CHUNK + 16 + 500), CHANGED),
        ("last byte", flip(good.len() - 1), CUT_OR_CHANGED),
        (
            "cut at a chunk",
            good[..payload + CHUNK + 16].to_vec(),
            "vault: error: file is truncated (it ends before its last chunk)",
        ),
        (
            "cut inside a chunk",
            good[..payload + CHUNK + 16 + 1000].to_vec(),
            CUT_OR_CHANGED,
        ),
        (
            "cut in the nonce",
            good[..mac_end + 5].to_vec(),
            "header is damaged",
        ),
        (
            "appended",
            [&good[..], b"x"].concat(),
            "damaged or was modified",
        ),
        (
            "CR LF",
            String::from_utf8_lossy(&good[..mac_end])
                .replace('\n', "\r\n")
                .into_bytes(),
            "CR LF",
        ),
    ];
    for (what, bytes, want) in cases {
        h.write("bad.age", &bytes);
        let err = h.fails(&mut h.vault(&["open", "bad.age"]));
        assert!(err.starts_with("vault: error: "), "{what}: {err}");
        assert!(err.contains(want), "{what}: {err}");
        assert!(!h.path("bad").exists(), "{what} left output");
    }
    // Sealed to someone else: as a stanza damaged in its body, since only
    // the recipient could tell the two apart.
    let stranger = Home::new();
    stranger.write("good.age", &good);
    let err = stranger.fails(&mut stranger.vault(&["open", "good.age"]));
    assert!(
        err.contains("no identity in the keystore matches this file"),
        "{err}"
    );
    assert!(err.contains("its header was damaged"), "{err}");
    // age agrees that the MAC-swapped file is bad.
    h.write("bad.age", &{
        let mut b = good.clone();
        b[header_end..mac_end].copy_from_slice(other_mac);
        b
    });
    h.fails(&mut h.cmd("age", &["-d", "-i", ".config/vault/identity", "bad.age"]));
}

#[test]
fn garbage_that_looks_like_age_never_panics() {
    let h = Home::new();
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<Vec<u8>> = vec![
        b"age-encryption.org/v1".to_vec(),
        b"age-encryption.org/v1\n".to_vec(),
        [&b"age-encryption.org/v1\n-> X25519 "[..], &noise].concat(),
        [&b"age-encryption.org/v1\n"[..], &vec![b'A'; 100_000]].concat(),
        b"-----BEGIN AGE ENCRYPTED FILE-----\n".to_vec(),
        [&b"-----BEGIN AGE ENCRYPTED FILE-----\n"[..], &noise].concat(),
        [&b"\n\n   -----BEGIN AGE ENCRYPTED FILE-----\n"[..], &[b'Q'; 64]].concat(),
        b"age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 23\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".to_vec(),
    ];
    for (i, junk) in cases.into_iter().enumerate() {
        let name = format!("junk{i}.age");
        h.write(&name, &junk);
        let out = h.vault(&["open", &name]).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.starts_with("vault: error: "), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!h.path(&format!("junk{i}")).exists());
    }
}

#[test]
fn what_age_cannot_express_is_a_usage_error() {
    let h = Home::new();
    h.write("f", b"x");
    for (args, want) in [
        (&["seal", "--armor", "f"][..], "needs --age"),
        (
            &["seal", "--age", "--cipher", "aes256gcm", "f"][..],
            "cannot be used with --age",
        ),
    ] {
        let out = h.vault(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
    }
    assert!(!h.path("f.age").exists() && !h.path("f.vault").exists());
    // Armor is text and may go to a terminal; a binary age file may not.
    let vault = env!("CARGO_BIN_EXE_vault");
    let cmd = format!(
        "{vault} seal --age --armor -o - f; echo rc=$?; {vault} seal --age -o - f; echo rc=$?"
    );
    let out = h
        .cmd("script", &["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{shown}"
    );
    assert!(shown.contains("rc=0"), "{shown}");
    assert!(
        shown.contains("refusing to write sealed bytes to a terminal"),
        "{shown}"
    );
    assert!(shown.contains("rc=1"), "{shown}");
}

#[test]
fn age_and_vault_agree_on_the_key_encoding() {
    // An identity made by `vault keygen` is an age identity file.
    let h = Home::new();
    h.write("f", b"same keys");
    h.ok(&mut h.cmd("age", &["-r", &h.me, "-o", "f.age", "f"]));
    let identity: &Path = ".config/vault/identity".as_ref();
    let out = h.ok(&mut h.cmd("age", &["-d", "-i", identity.to_str().unwrap(), "f.age"]));
    assert_eq!(out.stdout, b"same keys");
    let out = h.ok(&mut h.cmd("age-keygen", &["-y", identity.to_str().unwrap()]));
    assert_eq!(text(&out.stdout).trim(), h.me);
}
