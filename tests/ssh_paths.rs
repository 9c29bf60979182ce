//! The two readings of an SFTP path, through the real binary: an absolute
//! `sftp://host/path` and a login-folder-relative `host:path` (or
//! `sftp://host/~/path`) are different folders, and when there is no vault
//! at the one written, the error says whether there is one at the other.
//! The test server's login folder is a folder of its own
//! (`Sshd::login_folder`).

mod common;

use common::cli::{Client, stderr};
use common::sshd::{ALIAS, Sshd};

#[test]
fn relative_forms_land_in_the_login_folder() {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    c.write("f", b"x");
    c.vault(&["push", "f", &format!("{ALIAS}:rel")])
        .assert()
        .success();
    assert!(sshd.login_folder().join("rel").is_dir());
    // The same folder in the URL form.
    assert_eq!(c.ls(&format!("sftp://{ALIAS}/~/rel")), vec!["f"]);
    assert_eq!(c.ls(&format!("{ALIAS}:~/rel")), vec!["f"]);
}

#[test]
fn a_missing_vault_names_the_other_reading() {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    c.write("f", b"x");
    c.vault(&["push", "f", &format!("{ALIAS}:v")])
        .assert()
        .success();
    // Written as an absolute URL by mistake: /v does not exist.
    let a = c
        .vault(&["ls", &format!("sftp://{ALIAS}/v")])
        .assert()
        .failure();
    let err = stderr(&a);
    assert!(
        err.contains(&format!("but there is a vault at sftp://{ALIAS}/~/v")),
        "{err}"
    );
    assert!(err.contains("did you mean"), "{err}");
    assert_eq!(err.lines().count(), 2, "an error and a hint: {err}");

    // The other way round: an absolute vault written scp style.
    let abs = sshd.server_root().join("a");
    let abs = abs.to_str().expect("utf-8");
    c.vault(&["push", "f", &format!("sftp://{ALIAS}{abs}")])
        .assert()
        .success();
    let rel = abs.trim_start_matches('/');
    let a = c
        .vault(&["ls", &format!("{ALIAS}:{rel}")])
        .assert()
        .failure();
    let err = stderr(&a);
    assert!(
        err.contains(&format!("but there is a vault at sftp://{ALIAS}{abs}")),
        "{err}"
    );

    // Neither reading holds one: said too.
    let a = c
        .vault(&["ls", &format!("{ALIAS}:nothing")])
        .assert()
        .failure();
    let err = stderr(&a);
    assert!(
        err.contains(&format!("there is none at sftp://{ALIAS}/nothing either")),
        "{err}"
    );
}
