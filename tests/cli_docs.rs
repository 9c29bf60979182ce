//! `vault completions` and `vault man` (issue 15 item 11): generated from
//! the parser's definition, so they list the real commands and options;
//! checked by the shells and tools that read them.

mod common;

use std::process::{Command, Stdio};

fn vault(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("tempdir");
    common::env::isolated(assert_cmd::cargo::cargo_bin("vault"), home.path())
        .args(args)
        .output()
        .expect("vault")
}

#[test]
fn bash_completion_is_valid_bash_and_knows_the_commands() {
    let out = vault(&["completions", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8(out.stdout).expect("utf-8");
    for word in ["push", "pull", "contacts", "--accept-new", "--progress"] {
        assert!(script.contains(word), "{word} missing");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("vault.bash");
    std::fs::write(&file, &script).expect("write");
    let st = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("bash");
    assert!(st.success(), "bash -n rejects the script");
    // Sourcing it registers the completion function.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p vault", file.display()))
        .stderr(Stdio::inherit())
        .output()
        .expect("bash");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("_vault"),
        "{out:?}"
    );
}

#[test]
fn other_shells_and_a_wrong_one() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = vault(&["completions", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = vault(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_page_renders_and_covers_commands_and_environment() {
    let out = vault(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).expect("utf-8");
    assert!(page.contains(".TH vault 1"), "{page}");
    for word in ["push", "pull", "VAULT_THREADS", "VAULT_SSH_CONFIG"] {
        assert!(page.contains(word), "{word} missing from the page");
    }
    // man(1) itself formats it, when installed.
    if let Ok(mut child) = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(page.as_bytes())
            .expect("man stdin");
        let out = child.wait_with_output().expect("man");
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("NAME"));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let out = vault(&["man", "--out-dir", dir.path().to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    for page in ["vault.1", "vault-push.1", "vault-contacts-add.1"] {
        assert!(dir.path().join(page).is_file(), "{page} written");
    }
}
