//! Sharing between three users, each with their own HOME and keystore,
//! through one vault on a real sshd; and contacts in local seal/open.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::cli::{Client, files_under, stderr};
use common::pattern;
use common::sshd::Sshd;

/// The object files (head `ID.REV.h`, payload `ID.p`) on the server.
fn object_files(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let files = files_under(&root.join("objects"));
    let head = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "h"))
        .unwrap()
        .clone();
    let payload = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "p"))
        .unwrap()
        .clone();
    (head, payload)
}

/// Alice, Bob and Carol, each with a home of their own for `sshd`.
fn people(sshd: &Sshd) -> [Client; 3] {
    [(); 3].map(|_| Client::new(sshd.home()))
}

#[test]
fn alice_shares_with_bob_then_carol_then_revokes_bob() {
    let sshd = Sshd::start();
    let [alice, bob, carol] = people(&sshd);
    for (who, name, c) in [(&alice, "bob", &bob), (&alice, "carol", &carol)] {
        who.vault(&["contacts", "add", name, &common::cli::public_key(c)])
            .assert()
            .success();
    }
    let url = sshd.url("team");
    let root = sshd.server_root().join("team");
    let data = pattern(5 << 20, 42);
    alice.write("q3.xlsx", &data);
    alice
        .vault(&["push", "-r", "bob", "q3.xlsx", &url])
        .assert()
        .success();

    // Bob lists and pulls; Carol sees nothing by name and cannot pull.
    assert_eq!(bob.ls(&url), vec!["q3.xlsx"]);
    bob.vault(&["pull", &url, "q3.xlsx"]).assert().success();
    assert!(fs::read(bob.path("q3.xlsx")).unwrap() == data);
    let a = carol.vault(&["ls", &url]).assert().success();
    assert!(a.get_output().stdout.is_empty());
    assert!(stderr(&a).contains("1 other object"), "{}", stderr(&a));
    let a = carol.vault(&["pull", &url, "q3.xlsx"]).assert().failure();
    assert!(stderr(&a).contains("no object named"));
    assert!(!carol.path("q3.xlsx").exists());

    // Alice shares with Carol: only the small head changes.
    let (head, payload) = object_files(&root);
    let before = fs::metadata(&payload).unwrap();
    let head_before = fs::read(&head).unwrap();
    let a = alice
        .vault(&["share", &url, "q3.xlsx", "-r", "carol"])
        .assert()
        .success();
    assert!(
        stderr(&a).contains("shared q3.xlsx") && stderr(&a).contains("with carol"),
        "{}",
        stderr(&a)
    );
    let after = fs::metadata(&payload).unwrap();
    assert_eq!(
        (
            before.ino(),
            before.mtime(),
            before.mtime_nsec(),
            before.len()
        ),
        (after.ino(), after.mtime(), after.mtime_nsec(), after.len()),
        "the payload was not rewritten"
    );
    let (new_head, _) = object_files(&root);
    assert_ne!(new_head, head, "a new head revision, the old one removed");
    assert!(!head.exists());
    let head = new_head;
    let head_after = fs::read(&head).unwrap();
    assert_ne!(head_before, head_after);
    assert!(
        head_after.len() < 4096,
        "head is {} bytes",
        head_after.len()
    );
    carol.vault(&["pull", &url, "q3.xlsx"]).assert().success();
    assert!(fs::read(carol.path("q3.xlsx")).unwrap() == data);
    // Sharing again is a no-op.
    let a = alice
        .vault(&["share", &url, "q3.xlsx", "-r", "carol"])
        .assert()
        .success();
    assert!(stderr(&a).contains("already shared"));

    // Unshare --keep-key only drops Bob's stanza, and says what he can
    // still do with a file key he kept.
    bob.vault(&["contacts", "add", "alice", &common::cli::public_key(&alice)])
        .assert()
        .success();
    let old_head = fs::read(&head).unwrap();
    let a = alice
        .vault(&["unshare", "--keep-key", &url, "q3.xlsx", "-r", "bob"])
        .assert()
        .success();
    assert!(stderr(&a).contains("warning: --keep-key"), "{}", stderr(&a));
    assert!(
        stderr(&a).contains("still open the payload"),
        "{}",
        stderr(&a)
    );
    assert!(bob.ls(&url).is_empty());
    let (kept_head, kept_payload) = object_files(&root);
    assert_eq!(kept_payload, payload, "the payload was kept");
    assert_ne!(kept_head, head, "a new head revision");
    // The old head replayed under the new revision's name is refused: its
    // sealed revision does not match.
    let kept = fs::read(&kept_head).unwrap();
    fs::write(&kept_head, &old_head).unwrap();
    assert!(bob.ls(&url).is_empty(), "a replayed revision is not shown");
    fs::write(&kept_head, &kept).unwrap();

    // By default unshare re-keys: a new file key and payload.
    alice
        .vault(&["share", &url, "q3.xlsx", "-r", "bob"])
        .assert()
        .success();
    assert_eq!(bob.ls(&url), vec!["q3.xlsx"]);
    let a = alice
        .vault(&["unshare", &url, "q3.xlsx", "-r", "bob"])
        .assert()
        .success();
    assert!(stderr(&a).contains("new file key"), "{}", stderr(&a));
    let (new_head, new_payload) = object_files(&root);
    assert_ne!(new_payload, payload, "a new object");
    assert!(!payload.exists());
    assert!(bob.ls(&url).is_empty());
    // Bob puts his saved old head beside the new payload: it does not open.
    fs::write(&new_head, &old_head).unwrap();
    let a = bob
        .vault(&["pull", &url, "q3.xlsx", "-o", "stolen"])
        .assert()
        .failure();
    assert!(!bob.path("stolen").exists(), "{}", stderr(&a));
    // Alice's keys open the old head, but it names another object (its id
    // is sealed in it): refused, no output, never old data.
    let a = alice
        .vault(&["pull", &url, "q3.xlsx", "-o", "x"])
        .assert()
        .failure();
    assert!(stderr(&a).contains("cannot be read"), "{}", stderr(&a));
    assert!(!alice.path("x").exists());
}

#[test]
fn rekey_keeps_the_others_and_revokes_the_removed() {
    let sshd = Sshd::start();
    let [alice, bob, carol] = people(&sshd);
    let url = sshd.url("rk");
    alice.write("f", &pattern(200_000, 1));
    alice
        .vault(&[
            "push",
            "-r",
            &common::cli::public_key(&bob),
            "-r",
            &common::cli::public_key(&carol),
            "f",
            &url,
        ])
        .assert()
        .success();
    alice
        .vault(&["unshare", &url, "f", "-r", &common::cli::public_key(&bob)])
        .assert()
        .success();
    assert!(bob.ls(&url).is_empty());
    assert_eq!(carol.ls(&url), vec!["f"]);
    carol.vault(&["pull", &url, "f"]).assert().success();
    assert!(fs::read(carol.path("f")).unwrap() == pattern(200_000, 1));
    // Carol, a recipient, may share it onward.
    carol
        .vault(&["share", &url, "f", "-r", &common::cli::public_key(&bob)])
        .assert()
        .success();
    assert_eq!(bob.ls(&url), vec!["f"]);
    // Unsharing someone who is not a recipient is an error.
    let dave = Client::new(sshd.home());
    let a = alice
        .vault(&["unshare", &url, "f", "-r", &common::cli::public_key(&dave)])
        .assert()
        .failure();
    assert!(stderr(&a).contains("is not a recipient"));
    assert_eq!(a.get_output().status.code(), Some(1), "not a usage error");
    // Removing the last of your own keys is refused without --force.
    let a = carol
        .vault(&["unshare", &url, "f", "-r", &common::cli::public_key(&carol)])
        .assert()
        .failure();
    assert!(stderr(&a).contains("last of your keys"), "{}", stderr(&a));
    assert_eq!(carol.ls(&url), vec!["f"]);
}

#[test]
fn contacts_in_local_seal_and_open() {
    let sshd = Sshd::start(); // only for the client homes
    let [alice, bob, carol] = people(&sshd);
    let bob_id = common::cli::public_key(&bob);
    alice
        .vault(&["contacts", "add", "bob", &bob_id])
        .assert()
        .success();
    // Duplicates, bad names and bad keys are refused.
    let a = alice
        .vault(&["contacts", "add", "bob", &common::cli::public_key(&carol)])
        .assert()
        .failure();
    assert!(stderr(&a).contains("already exists"));
    alice
        .vault(&["contacts", "add", "bad name", &bob_id])
        .assert()
        .failure();
    let mut refused = alice.vault(&["contacts", "add", "carol", "age1notakey"]);
    let err = stderr(&refused.assert().failure());
    assert!(err.contains("not a valid X25519 public key"), "{err}");
    let list = alice.vault(&["contacts", "list"]).output().unwrap();
    assert_eq!(
        String::from_utf8(list.stdout).unwrap(),
        format!("bob\t{bob_id}\n")
    );

    // A typo in -r is an error naming it, never a silent skip.
    alice.write("m", b"memo");
    let a = alice.vault(&["seal", "-r", "bbo", "m"]).assert().failure();
    assert!(
        stderr(&a).contains("\"bbo\" is neither a contact nor a recipient"),
        "{}",
        stderr(&a)
    );
    assert!(!alice.path("m.vault").exists());

    // Mixed: a contact name, a raw key, and a recipients file.
    alice.write(
        "team.txt",
        format!("# team\n{}\n", common::cli::public_key(&carol)).as_bytes(),
    );
    let dave = Client::new(sshd.home());
    alice
        .vault(&[
            "seal",
            "-r",
            "bob",
            "-r",
            &common::cli::public_key(&dave),
            "-R",
            "team.txt",
            "m",
        ])
        .assert()
        .success();
    let sealed = fs::read(alice.path("m.vault")).unwrap();
    for c in [&alice, &bob, &carol, &dave] {
        c.write("in.vault", &sealed);
        c.vault(&["open", "in.vault", "-o", "-"])
            .assert()
            .success()
            .stdout("memo");
    }
    alice.vault(&["contacts", "rm", "bob"]).assert().success();
    alice.vault(&["contacts", "rm", "bob"]).assert().failure();
}
