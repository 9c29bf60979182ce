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
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let vault = c.path("v");
    let v = vault.to_str().unwrap();
    let s = src.to_str().unwrap();

    // --dry-run: says what it would do, sends nothing.
    let a = c
        .vault(&["push", "--recursive", "--dry-run", "--name", "fold", s, v])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.contains("push fold/a/one"), "{out}");
    assert!(!vault.join("objects").exists() || files_under(&vault.join("objects")).is_empty());

    // The push: symlinks and FIFOs are skipped with one line each.
    let a = c
        .vault(&["push", "--recursive", "--name", "fold", s, v])
        .assert()
        .success();
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
    let a = c
        .vault(&["push", "--recursive", "--name", "fold", s, v])
        .assert()
        .success();
    assert!(stderr(&a).contains("pushed 0 files"), "{}", stderr(&a));
    assert!(stderr(&a).contains("3 unchanged"), "{}", stderr(&a));
    // One changed file: only it is sent, and it replaces the old object.
    fs::write(src.join("top.txt"), b"top, changed").unwrap();
    let a = c
        .vault(&["push", "--recursive", "--name", "fold", s, v])
        .assert()
        .success();
    assert!(stderr(&a).contains("pushed 1 file "), "{}", stderr(&a));
    assert_eq!(c.ls(v).len(), 3);

    // Pull it back: contents and modification times.
    let back = c.path("back");
    c.vault(&[
        "pull",
        "--recursive",
        v,
        "fold",
        "-C",
        back.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(fs::read(back.join("top.txt")).unwrap(), b"top, changed");
    assert_eq!(fs::read(back.join("a/one")).unwrap(), b"one");
    assert_eq!(fs::read(back.join("a/b/two")).unwrap(), vec![7u8; 300_000]);
    assert_eq!(
        fs::metadata(back.join("a/one")).unwrap().mtime(),
        1_600_000_000
    );
    // Again without -f: refused before anything is written.
    let a = c
        .vault(&[
            "pull",
            "--recursive",
            v,
            "fold",
            "-C",
            back.to_str().unwrap(),
        ])
        .assert()
        .failure();
    assert!(stderr(&a).contains("exists"), "{}", stderr(&a));

    // A symbolic link inside DIR is never followed.
    let elsewhere = c.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let trap = c.path("trap");
    fs::create_dir(&trap).unwrap();
    std::os::unix::fs::symlink(&elsewhere, trap.join("a")).unwrap();
    let a = c
        .vault(&[
            "pull",
            "--recursive",
            "-f",
            v,
            "fold",
            "-C",
            trap.to_str().unwrap(),
        ])
        .assert()
        .failure();
    assert!(stderr(&a).contains("symbolic link"), "{}", stderr(&a));
    assert!(files_under(&elsewhere).is_empty(), "wrote through the link");
}
