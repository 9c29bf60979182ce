//! The two readings of an SFTP path, through the real binary: an absolute
//! `sftp://host/path` and a login-folder-relative `host:path` (or
//! `sftp://host/~/path`) are different folders, and when there is no vault
//! at the one written, the error says whether there is one at the other.
//! The test server's login folder is a folder of its own
//! (`Sshd::login_folder`).

mod common;

use common::cli::{Client, stderr};
use common::sshd::{ALIAS, Sshd};

/// A test server and a user of it with a file `f` to push.
fn server_and_f() -> (Sshd, Client) {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    c.write("f", b"x");
    (sshd, c)
}

/// `vault push f URL`, which must succeed.
fn push_f(c: &Client, url: &str) {
    c.vault(&["push", "f", url]).assert().success();
}

/// `vault ls URL`, which must fail; what it said.
fn ls_fails(c: &Client, url: &str) -> String {
    stderr(&c.vault(&["ls", url]).assert().failure())
}

#[test]
fn relative_forms_land_in_the_login_folder() {
    let (sshd, c) = server_and_f();
    push_f(&c, &format!("{ALIAS}:rel"));
    assert!(sshd.login_folder().join("rel").is_dir());
    // The same folder in the URL form.
    assert_eq!(c.ls(&format!("sftp://{ALIAS}/~/rel")), vec!["f"]);
    assert_eq!(c.ls(&format!("{ALIAS}:~/rel")), vec!["f"]);
}

#[test]
fn a_missing_vault_names_the_other_reading() {
    let (sshd, c) = server_and_f();
    push_f(&c, &format!("{ALIAS}:v"));
    // Written as an absolute URL by mistake: /v does not exist.
    let err = ls_fails(&c, &format!("sftp://{ALIAS}/v"));
    assert!(
        err.contains(&format!("but there is a vault at sftp://{ALIAS}/~/v")),
        "{err}"
    );
    assert!(err.contains("did you mean"), "{err}");
    assert_eq!(err.lines().count(), 2, "an error and a hint: {err}");

    // The other way round: an absolute vault written scp style.
    let abs = sshd.server_root().join("a");
    let abs = abs.to_str().expect("utf-8");
    push_f(&c, &format!("sftp://{ALIAS}{abs}"));
    let rel = abs.trim_start_matches('/');
    let err = ls_fails(&c, &format!("{ALIAS}:{rel}"));
    assert!(
        err.contains(&format!("but there is a vault at sftp://{ALIAS}{abs}")),
        "{err}"
    );

    // Neither reading holds one: said too.
    let err = ls_fails(&c, &format!("{ALIAS}:nothing"));
    assert!(
        err.contains(&format!("there is none at sftp://{ALIAS}/nothing either")),
        "{err}"
    );
}
