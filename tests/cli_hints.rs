//! Messages that used to mislead (issue 15 items 13 and 17): the README's
//! `age1...` placeholder is not echoed back as if it were a key, and
//! `--help` describes `VAULT_THREADS` for push and pull as well.

mod common;

use assert_cmd::Command;

fn vault(home: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::from_std(common::env::isolated(
        assert_cmd::cargo::cargo_bin("vault"),
        home,
    ));
    c.args(args);
    c
}

#[test]
fn the_readme_placeholder_is_called_a_placeholder() {
    let home = tempfile::tempdir().expect("tempdir");
    vault(home.path(), &["keygen", "--no-passphrase"])
        .assert()
        .success();
    let out = vault(home.path(), &["contacts", "add", "bob", "age1..."])
        .output()
        .expect("vault");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("placeholder"), "{err}");
    assert!(err.contains("vault id"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A wrong key is described, not shown back with a pattern like the input.
    let out = vault(home.path(), &["contacts", "add", "bob", "age1xyz"])
        .output()
        .expect("vault");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("(age1...)"), "{err}");
    assert!(!err.contains("age1xyz"), "the input is not echoed: {err}");
}

#[test]
fn help_describes_vault_threads_for_every_command_that_reads_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = vault(home.path(), &["--help"]).output().expect("vault");
    let help = String::from_utf8_lossy(&out.stdout);
    let entry: String = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("VAULT_THREADS"))
        .take(4)
        .collect();
    assert!(entry.contains("seal and open"), "{entry}");
    assert!(
        entry.contains("push and") && entry.contains("pull"),
        "{entry}"
    );
    assert!(help.contains("VAULT_SSH_CONFIG"), "{help}");
}
