//! Folders through the real binary, on a local-folder vault: `push
//! --recursive --name PREFIX DIR`, `pull --recursive REMOTE PREFIX -C DIR`,
//! `ls REMOTE PREFIX` (issue 13 item 3).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use common::cli::{Client, files_under, stderr};
use common::sshd::ClientHome;

fn set_mtime(p: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn push_and_pull_a_folder() {
    let c = Client::new(ClientHome::bare());
    let src = c.path("src");
    fs::create_dir_all(src.join("a/b")).unwrap();
    fs::create_dir_all(src.join("empty")).unwrap();
    fs::write(src.join("top.txt"), b"top").unwrap();
    fs::write(src.join("a/one"), b"one").unwrap();
    fs::write(src.join("a/b/two"), vec![7u8; 300_000]).unwrap();
    set_mtime(&src.join("a/one"), 1_600_000_000);
    std::os::unix::fs::symlink("/etc/passwd", src.join("a/link")).unwrap();
    let fifo = src.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let vault = c.path("v");
    let v = vault.to_str().unwrap();
    let s = src.to_str().unwrap();
    let push = || {
        c.vault(&["push", "--recursive", "--name", "fold", s, v])
            .assert()
            .success()
    };
    // `pull --recursive [FLAGS] v fold -C DIR`.
    let pull = |flags: &[&str], dir: &Path| {
        let mut args = vec!["pull", "--recursive"];
        args.extend(flags);
        args.extend([v, "fold", "-C", dir.to_str().unwrap()]);
        c.vault(&args).assert()
    };

    // --dry-run: says what it would do, sends nothing.
    let a = c
        .vault(&["push", "--recursive", "--dry-run", "--name", "fold", s, v])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.contains("push fold/a/one"), "{out}");
    assert!(!vault.join("objects").exists() || files_under(&vault.join("objects")).is_empty());

    // The push: symlinks and FIFOs are skipped with one line each.
    let a = push();
    let err = stderr(&a);
    assert!(err.contains("a/link: a symbolic link"), "{err}");
    assert!(err.contains("fifo: not a regular file"), "{err}");
    assert!(err.contains("pushed 3 files"), "{err}");
    assert_eq!(c.ls(v), vec!["fold/a/b/two", "fold/a/one", "fold/top.txt"]);
    let ls = c.vault(&["ls", v, "fold/a"]).output().unwrap();
    assert_eq!(
        String::from_utf8(ls.stdout).unwrap(),
        "fold/a/b/two\nfold/a/one\n"
    );

    // Unchanged: nothing is sent.
    let a = push();
    assert!(stderr(&a).contains("pushed 0 files"), "{}", stderr(&a));
    assert!(stderr(&a).contains("3 unchanged"), "{}", stderr(&a));
    // One changed file: only it is sent, and it replaces the old object.
    fs::write(src.join("top.txt"), b"top, changed").unwrap();
    let a = push();
    assert!(stderr(&a).contains("pushed 1 file "), "{}", stderr(&a));
    assert_eq!(c.ls(v).len(), 3);

    // Pull it back: contents and modification times.
    let back = c.path("back");
    pull(&[], &back).success();
    assert_eq!(fs::read(back.join("top.txt")).unwrap(), b"top, changed");
    assert_eq!(fs::read(back.join("a/one")).unwrap(), b"one");
    assert_eq!(fs::read(back.join("a/b/two")).unwrap(), vec![7u8; 300_000]);
    assert_eq!(
        fs::metadata(back.join("a/one")).unwrap().mtime(),
        1_600_000_000
    );
    // Again without -f: refused before anything is written.
    let a = pull(&[], &back).failure();
    assert!(stderr(&a).contains("exists"), "{}", stderr(&a));

    // A symbolic link inside DIR is never followed.
    let elsewhere = c.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let trap = c.path("trap");
    fs::create_dir(&trap).unwrap();
    std::os::unix::fs::symlink(&elsewhere, trap.join("a")).unwrap();
    let a = pull(&["-f"], &trap).failure();
    assert!(stderr(&a).contains("symbolic link"), "{}", stderr(&a));
    assert!(files_under(&elsewhere).is_empty(), "wrote through the link");
}

#[test]
fn same_name_objects_are_refused_until_an_id_is_given() {
    let alice = Client::new(ClientHome::bare());
    let bob = Client::new(ClientHome::bare());
    let vault = alice.path("v");
    let v = vault.to_str().unwrap();
    alice.write("x", b"from alice");
    alice.vault(&["push", "x", v]).assert().success();
    // Bob cannot open Alice's object, so his push of the same name does
    // not clash for him.
    bob.write("y", b"from bob");
    let me = common::cli::public_key(&alice);
    bob.vault(&["push", "-r", &me, "--name", "x", "y", v])
        .assert()
        .success();
    let ls = alice.vault(&["ls", v]).assert().success();
    let out = String::from_utf8_lossy(&ls.get_output().stdout).to_string();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.starts_with("x  [id ")), "{out}");
    assert!(stderr(&ls).contains("need --id"), "{}", stderr(&ls));
    // A command on the name is refused and lists both.
    let out_dir = alice.path("out");
    fs::create_dir(&out_dir).unwrap();
    let a = alice
        .vault(&["pull", v, "x", "-C", out_dir.to_str().unwrap()])
        .assert()
        .failure();
    let err = stderr(&a);
    assert!(err.contains("2 objects you can open are named"), "{err}");
    assert!(err.matches("id ").count() >= 2, "{err}");
    assert!(files_under(&out_dir).is_empty());
    // So is every other command that names it (the review's case: an
    // unshare that re-keys a decoy and reports success), and none of them
    // changes anything.
    let before = files_under(&vault);
    let bob_key = common::cli::public_key(&bob);
    for args in [
        vec!["unshare", v, "x", "-r", &bob_key],
        vec!["unshare", "--keep-key", v, "x", "-r", &bob_key],
        vec!["share", v, "x", "-r", &bob_key],
        vec!["mv", v, "x", "z"],
        vec!["rm", v, "x"],
    ] {
        let a = alice.vault(&args).assert().failure();
        let err = stderr(&a);
        assert!(
            err.contains("2 objects you can open are named"),
            "{args:?}: {err}"
        );
        assert_eq!(files_under(&vault), before, "{args:?} changed the vault");
    }
    // --id picks one (a prefix will do).
    let json = alice.vault(&["ls", "--json", v]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let bobs = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["size"] == 8)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .vault(&["pull", v, "x", "--id", &bobs[..10], "-o", "got"])
        .assert()
        .success();
    assert_eq!(fs::read(alice.path("got")).unwrap(), b"from bob");
    let a = alice
        .vault(&["rm", v, "x", "--id", &bobs])
        .assert()
        .success();
    assert!(
        stderr(&a).contains(&format!("removed x (id {}", &bobs[..8])),
        "{}",
        stderr(&a)
    );
    alice
        .vault(&["pull", v, "x", "-o", "mine"])
        .assert()
        .success();
    assert_eq!(fs::read(alice.path("mine")).unwrap(), b"from alice");
}
