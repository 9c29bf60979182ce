//! SSH keys as recipients and identities, against the real `age` 1.1.1
//! (Debian) and keys made by the real `ssh-keygen`: vault -> age and
//! age -> vault for ssh-ed25519 and ssh-rsa, passphrase-protected keys, an
//! `authorized_keys` file mixing supported and unsupported lines, and the
//! refusals (short RSA keys, secret keys given as recipients).

mod common;

use common::age_home::{Home, PASSPHRASE, need, text};

const KEY_PASS: &str = "the ssh key's own passphrase";

/// `ssh-keygen -t TYPE` into `name` (and `name.pub`); returns the .pub line.
fn ssh_keygen(h: &Home, name: &str, args: &[&str], pass: &str) -> String {
    need("ssh-keygen");
    let mut all = vec!["-q", "-N", pass, "-C", "someone@example", "-f", name];
    all.extend_from_slice(args);
    h.ok(&mut h.cmd("ssh-keygen", &all));
    text(&h.read(&format!("{name}.pub"))).trim().to_string()
}

fn kinds() -> [(&'static str, Vec<&'static str>); 2] {
    [
        ("ed", vec!["-t", "ed25519"]),
        ("rsa", vec!["-t", "rsa", "-b", "3072"]),
    ]
}

#[test]
fn vault_seals_to_ssh_keys_and_age_opens_and_back() {
    let h = Home::new();
    let plain = common::pattern(70_000, 3);
    h.write("f", &plain);
    for (name, args) in kinds() {
        let line = ssh_keygen(&h, name, &args, "");
        let stanza = if name == "ed" {
            "-> ssh-ed25519 "
        } else {
            "-> ssh-rsa "
        };
        // vault --age -r "ssh-... AAAA... comment" -> age -d -i KEY
        h.ok(&mut h.vault(&["seal", "--age", "--no-self", "-r", &line, "-f", "f"]));
        assert!(text(&h.read("f.age")[..200]).contains(stanza), "{name}");
        let out = h.ok(&mut h.cmd("age", &["-d", "-i", name, "f.age"]));
        assert_eq!(out.stdout, plain, "age opens vault's {name} file");
        // And vault opens its own age file with the SSH key.
        let out = h.ok(&mut h.vault(&["open", "-i", name, "f.age", "-o", "-"]));
        assert_eq!(out.stdout, plain);
        // age -R KEY.pub -> vault open -i KEY
        let pubfile = format!("{name}.pub");
        h.ok(&mut h.cmd("age", &["-R", &pubfile, "-o", "a.age", "f"]));
        let out = h.ok(&mut h.vault(&["open", "-i", name, "a.age", "-o", "-"]));
        assert_eq!(out.stdout, plain, "vault opens age's {name} file");
        // vault's own format, from a .pub file.
        h.ok(&mut h.vault(&["seal", "--no-self", "-R", &pubfile, "-f", "f"]));
        let out = h.ok(&mut h.vault(&["open", "-i", name, "f.vault", "-o", "-"]));
        assert_eq!(out.stdout, plain, "vault file to {name}");
        // The keystore identity is not the SSH key.
        let err = h.fails(&mut h.vault(&["open", "f.vault", "-o", "x"]));
        assert!(err.contains("no identity"), "{err}");
        assert!(!h.path("x").exists());
    }
}

#[test]
fn passphrase_protected_ssh_keys_both_ways() {
    let h = Home::new();
    h.write("f", b"for the protected key");
    let kp = h.write("kp", format!("{KEY_PASS}\n").as_bytes());
    for (name, args) in kinds() {
        let line = ssh_keygen(&h, name, &args, KEY_PASS);
        // age -> vault: the passphrase comes from VAULT_PASSPHRASE_FILE.
        h.ok(&mut h.cmd("age", &["-r", &line, "-o", "a.age", "f"]));
        let out = h.ok(h
            .vault(&["open", "-i", name, "a.age", "-o", "-"])
            .env("VAULT_PASSPHRASE_FILE", &kp));
        assert_eq!(out.stdout, b"for the protected key", "{name}");
        h.refuses_wrong_passphrase(&["open", "-i", name, "a.age", "-o", "x"]);
        assert!(!h.path("x").exists());
        // A file not sealed to this key never asks for its passphrase.
        h.ok(&mut h.vault(&["seal", "--age", "-f", "f", "-o", "mine.age"]));
        let err = h.fails(&mut h.vault(&["open", "-i", name, "mine.age", "-o", "x"]));
        assert!(err.contains("no identity"), "{err}");
        // vault -> age: age asks on its terminal.
        h.ok(&mut h.vault(&["seal", "--age", "--no-self", "-r", &line, "-f", "f"]));
        h.age_on_terminal(
            &format!("-d -i {name} -o out f.age"),
            &format!("{KEY_PASS}\n"),
        );
        assert_eq!(h.read("out"), b"for the protected key");
        std::fs::remove_file(h.path("out")).unwrap();
    }
    let _ = PASSPHRASE;
}

#[test]
fn authorized_keys_with_unsupported_lines() {
    let h = Home::new();
    let ed = ssh_keygen(&h, "ed", &["-t", "ed25519"], "");
    let rsa = ssh_keygen(&h, "rsa", &["-t", "rsa", "-b", "2048"], "");
    let ecdsa = ssh_keygen(&h, "ec", &["-t", "ecdsa"], "");
    let file = format!("# the team\n{ecdsa}\n{ed}\n\n{rsa}\n{ecdsa}\n");
    h.write("authorized_keys", file.as_bytes());
    h.write("f", b"team file");
    for (age, out) in [(true, "f.age"), (false, "f.vault")] {
        let mut args = vec!["seal", "--no-self", "-R", "authorized_keys", "-f", "f"];
        if age {
            args.push("--age");
        }
        let o = h.ok(&mut h.vault(&args));
        let err = text(&o.stderr);
        assert_eq!(
            err.matches("skipping an SSH key of type ecdsa-sha2-nistp256")
                .count(),
            2,
            "{err}"
        );
        assert!(err.contains("line 2") && err.contains("line 6"), "{err}");
        for key in ["ed", "rsa"] {
            let o = h.ok(&mut h.vault(&["open", "-i", key, out, "-o", "-"]));
            assert_eq!(o.stdout, b"team file", "{key} {out}");
        }
    }
    for key in ["ed", "rsa"] {
        let o = h.ok(&mut h.cmd("age", &["-d", "-i", key, "f.age"]));
        assert_eq!(o.stdout, b"team file", "age with {key}");
    }
    // age itself skips the same lines, and vault opens what it made.
    h.ok(&mut h.cmd("age", &["-R", "authorized_keys", "-o", "a.age", "f"]));
    let o = h.ok(&mut h.vault(&["open", "-i", "rsa", "a.age", "-o", "-"]));
    assert_eq!(o.stdout, b"team file");
    // A file of unsupported keys only is an error, not an empty seal.
    h.write("only_ecdsa", format!("{ecdsa}\n").as_bytes());
    let err = h.fails(&mut h.vault(&["seal", "--no-self", "-R", "only_ecdsa", "-f", "f"]));
    assert!(err.contains("no recipients"), "{err}");
}

#[test]
fn short_rsa_keys_and_unsupported_types_are_refused() {
    let h = Home::new();
    let short = ssh_keygen(&h, "short", &["-t", "rsa", "-b", "1024"], "");
    h.write("f", b"x");
    let err = h.fails(&mut h.vault(&["seal", "--no-self", "-r", &short, "f"]));
    assert!(err.contains("1024 bits") && err.contains("2048"), "{err}");
    let ecdsa = ssh_keygen(&h, "ec", &["-t", "ecdsa"], "");
    let err = h.fails(&mut h.vault(&["seal", "--no-self", "-r", &ecdsa, "f"]));
    assert!(
        err.contains("ecdsa-sha2-nistp256 cannot be recipients"),
        "{err}"
    );
    assert!(!h.path("f.vault").exists());
}

#[test]
fn contacts_hold_ssh_keys() {
    let h = Home::new();
    let line = ssh_keygen(&h, "carol", &["-t", "ed25519"], "");
    // Unquoted: the words are joined back.
    let words: Vec<&str> = line.split(' ').collect();
    let mut args = vec!["contacts", "add", "carol"];
    args.extend(&words);
    h.ok(&mut h.vault(&args));
    let listed = text(&h.ok(&mut h.vault(&["contacts", "list"])).stdout);
    assert!(listed.starts_with("carol\tssh-ed25519 AAAA"), "{listed}");
    assert!(!listed.contains("someone@example"), "{listed}");
    h.write("f", b"to carol");
    h.ok(&mut h.vault(&["seal", "--age", "--no-self", "-r", "carol", "f"]));
    let o = h.ok(&mut h.cmd("age", &["-d", "-i", "carol", "f.age"]));
    assert_eq!(o.stdout, b"to carol");
}

#[test]
fn secret_keys_given_as_recipients_are_never_echoed() {
    let h = Home::new();
    h.age_keygen("bob.txt");
    let bob_file = text(&h.read("bob.txt"));
    let secret = bob_file
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    h.write("f", b"x");
    let ssh = ssh_keygen(&h, "ed", &["-t", "ed25519"], "");
    let _ = ssh;
    let ssh_private = text(&h.read("ed"));
    for given in [secret.clone(), secret.to_lowercase()] {
        let err = h.fails(&mut h.vault(&["seal", "-r", &given, "f"]));
        assert!(err.contains("this is a secret key"), "{err}");
        assert!(!err.contains(&given[20..50]), "the key is echoed: {err}");
        let err = h.fails(&mut h.vault(&["contacts", "add", "bob", &given]));
        assert!(err.contains("this is a secret key"), "{err}");
        assert!(!err.contains(&given[20..50]), "{err}");
    }
    for file in ["bob.txt", "ed"] {
        let err = h.fails(&mut h.vault(&["seal", "-R", file, "f"]));
        assert!(err.contains("secret key") || err.contains("line"), "{err}");
        assert!(!err.contains(&secret[20..50]), "{err}");
        for line in ssh_private.lines().filter(|l| l.len() > 30) {
            assert!(!err.contains(line), "{err}");
        }
    }
    // A name-shaped value that is no contact is named; a key-shaped one not.
    let err = h.fails(&mut h.vault(&["seal", "-r", "nosuchname", "f"]));
    assert!(err.contains("nosuchname"), "{err}");
    let err = h.fails(&mut h.vault(&["seal", "-r", "hello world", "f"]));
    assert!(
        err.contains("age1pq1") && err.contains("ssh-ed25519"),
        "{err}"
    );
    assert!(!h.path("f.vault").exists());
}
