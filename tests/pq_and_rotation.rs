//! Post-quantum keys through the command line (keygen --pq, sealing both
//! formats, the refusal to mix, every CCTV `hybrid` vector opened by the
//! binary), key rotation that keeps every key, and `vault id --secret` as
//! an identity file for the real `age`.

mod common;

use std::io::Read;
use std::path::Path;

use common::age_home::{Home, text};
use sha2::{Digest, Sha256};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn pq_keystore_seals_and_opens_both_formats_and_refuses_to_mix() {
    let h = Home::new();
    let classic = h.me.clone();
    let o = h.ok(&mut h.vault_pw(&["keygen", "--pq", "--force"]));
    let me = text(&o.stdout).trim().to_string();
    assert!(me.starts_with("age1pq1") && me.len() > 1900, "{me}");
    let id = h.ok(&mut h.vault(&["id"]));
    assert_eq!(text(&id.stdout).trim(), me);
    let plain = common::pattern(100_000, 9);
    h.write("f", &plain);
    for args in [&["seal", "-f", "f"][..], &["seal", "--age", "-f", "f"]] {
        h.ok(&mut h.vault_pw(args));
    }
    assert!(text(&h.read("f.age")[..60]).contains("-> mlkem768x25519 "));
    for file in ["f.vault", "f.age"] {
        let o = h.ok(&mut h.vault_pw(&["open", file, "-o", "-"]));
        assert_eq!(o.stdout, plain, "{file}");
    }
    // Classic beside post-quantum: refused, in both formats, with no output.
    for age in [false, true] {
        let mut args = vec!["seal", "-r", &classic, "f", "-o", "mixed"];
        if age {
            args.push("--age");
        }
        let err = h.fails(&mut h.vault(&args));
        assert!(err.contains("cannot be mixed"), "{err}");
        assert!(!h.path("mixed").exists());
    }
    // Two post-quantum recipients are fine.
    let other = {
        let home2 = Home::new();
        let o = home2.ok(&mut home2.vault(&["keygen", "--pq", "--force", "--no-passphrase"]));
        text(&o.stdout).trim().to_string()
    };
    h.ok(&mut h.vault_pw(&["seal", "-r", &other, "f", "-o", "two.vault"]));
}

/// Every CCTV vector of the post-quantum type, opened by `vault open -i`:
/// success gives the payload whose hash the vector names; a failure exits
/// non-zero and leaves no output file.
#[test]
fn cctv_hybrid_vectors_through_the_binary() {
    let h = Home::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/age");
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("hybrid") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let split = bytes.windows(2).position(|w| w == b"\n\n").unwrap();
        let head = text(&bytes[..split]);
        let mut body = bytes[split + 2..].to_vec();
        let (mut expect, mut payload, mut ids) = (String::new(), None, String::new());
        for line in head.lines() {
            let (k, v) = line.split_once(": ").unwrap();
            match k {
                "expect" => expect = v.to_string(),
                "payload" => payload = Some(v.to_string()),
                "identity" => ids.push_str(&format!("{v}\n")),
                "compressed" => {
                    let mut out = Vec::new();
                    flate2::read::ZlibDecoder::new(&body[..])
                        .read_to_end(&mut out)
                        .unwrap();
                    body = out;
                }
                _ => {}
            }
        }
        h.write("ids", ids.as_bytes());
        h.write("v.age", &body);
        let _ = std::fs::remove_file(h.path("out"));
        let o = h
            .vault(&["open", "-i", "ids", "v.age", "-o", "out"])
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert!(!err.contains("panicked"), "{name}: {err}");
        if expect == "success" {
            assert!(o.status.success(), "{name}: {err}");
            let got = hex(&Sha256::digest(h.read("out")));
            assert_eq!(Some(got), payload, "{name}");
        } else {
            assert!(!o.status.success(), "{name} should fail ({expect})");
            assert!(!h.path("out").exists(), "{name} left output");
        }
        ran += 1;
    }
    // hybrid, armor_hybrid and the 11 hybrid_* variants.
    assert_eq!(ran, 13, "the CCTV subset has 13 post-quantum vectors");
}

#[test]
fn rotation_keeps_every_key_and_old_files_still_open() {
    let h = Home::new();
    h.write("f", b"sealed to the first key");
    h.ok(&mut h.vault(&["seal", "-f", "f", "-o", "one.vault"]));
    let first = h.me.clone();
    // Two rotations within a second: both old files are kept.
    for round in 0..2 {
        let o = h.ok(&mut h.vault_pw(&["keygen", "--force"]));
        let err = text(&o.stderr);
        assert!(
            err.contains("kept as") && err.contains("identity.old-"),
            "{err}"
        );
        assert!(
            h.path(&format!(".config/vault/identity.old-{}", round + 1))
                .exists()
        );
    }
    let all = h.ok(&mut h.vault(&["id", "--all"]));
    let all = text(&all.stdout);
    let keys: Vec<&str> = all.lines().collect();
    assert_eq!(keys.len(), 3, "{all}");
    assert_eq!(keys[2], first);
    let current = text(&h.ok(&mut h.vault(&["id"])).stdout).trim().to_string();
    assert_eq!(current, keys[0]);
    h.ok(&mut h.vault_pw(&["seal", "-f", "f", "-o", "three.vault"]));
    for file in ["one.vault", "three.vault"] {
        let o = h.ok(&mut h.vault_pw(&["open", file, "-o", "-"]));
        assert_eq!(o.stdout, b"sealed to the first key", "{file}");
    }
    // A wrong passphrase for the current identity stops a rotation, and
    // nothing is replaced.
    h.refuses_wrong_passphrase(&["keygen", "--force"]);
    assert!(!h.path(".config/vault/identity.old-3").exists());
}

#[test]
fn id_secret_is_an_identity_file_for_age() {
    let h = Home::new();
    h.write("f", b"for age -d -i");
    h.ok(&mut h.vault(&["seal", "--age", "-f", "f"]));
    let o = h.ok(&mut h.vault(&["id", "--secret"]));
    assert!(text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("AGE-SECRET-KEY-1"));
    h.write("k.txt", &o.stdout);
    let o = h.ok(&mut h.cmd("age", &["-d", "-i", "k.txt", "f.age"]));
    assert_eq!(o.stdout, b"for age -d -i");
}
