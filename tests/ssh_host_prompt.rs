//! An unknown host key on a terminal: vault asks OpenSSH's question on a
//! real pseudo-terminal (`common::pty`), accepts `yes` or the fingerprint,
//! records the key (hashed under `HashKnownHosts yes`, in the form
//! `ssh-keygen -F` finds), refuses on `no` or Ctrl-C without writing
//! anything, never asks when `StrictHostKeyChecking yes` says not to, and
//! leaves the terminal's modes as it found them every time.

mod common;

use std::fs;
use std::process::{Command, Stdio};

use common::cli::Client;
use common::pty::{Modes, Pty, wait};
use common::sshd::{Sshd, fingerprint};

const QUESTION: &str = "Are you sure you want to continue connecting (yes/no/[fingerprint])?";

/// A server holding a vault with one file `f`, and its client that no
/// longer knows the server's key, with `extra` added to its `Host *` block.
fn setup(extra: &str) -> (Sshd, Client, String) {
    let sshd = Sshd::start();
    let url = sshd.url("v");
    let c = Client::new(sshd.home_unknown_host());
    // The vault is made while the key is known, then the key forgotten.
    fs::write(
        c.home.known_hosts(),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("kh");
    c.write("f", b"hello");
    c.vault(&["push", "f", &url]).assert().success();
    fs::remove_file(c.home.known_hosts()).expect("forget the key");
    c.home.edit_config(|text| format!("{text}{extra}"));
    (sshd, c, url)
}

/// `vault ls URL` on `pty`, its listing going to the file `out`.
fn ls_on(pty: &Pty, c: &Client, url: &str) -> std::process::Child {
    let out = fs::File::create(c.path("out")).expect("out");
    let mut cmd = c.command();
    cmd.args(["ls", url]).stdout(Stdio::from(out));
    pty.spawn(&mut cmd)
}

/// `ls_on` a new terminal, once vault asks the host-key question: the
/// terminal, its modes before, and vault.
fn asked(c: &Client, url: &str) -> (Pty, Modes, std::process::Child) {
    let pty = Pty::open();
    let before = pty.modes();
    let mut child = ls_on(&pty, c, url);
    pty.wait_for(QUESTION, &mut child);
    (pty, before, child)
}

#[test]
fn asked_on_the_terminal_then_recorded_hashed() {
    let (sshd, c, url) = setup("  HashKnownHosts yes\n");
    let (pty, before, mut child) = asked(&c, &url);
    let screen = pty.screen();
    let fp = fingerprint(&sshd.host_pub_file());
    assert!(
        screen.contains(&format!(
            "The authenticity of host 'vaulttest ({})' can't be established.",
            sshd.known_hosts_name()
        )),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("ED25519 key fingerprint is {fp}.")),
        "{screen}"
    );
    assert!(pty.modes().echo(), "the answer is visible, as in ssh");
    // Anything but yes/no/the fingerprint asks again.
    pty.type_text("maybe\r");
    pty.wait_for("Please type 'yes', 'no' or the fingerprint: ", &mut child);
    let st = pty.answer(&mut child, &format!("{fp}\r"));
    assert!(st.success(), "{st}; screen:\n{}", pty.screen());
    assert_eq!(fs::read_to_string(c.path("out")).expect("out"), "f\n");
    assert_eq!(pty.modes(), before);

    let kh = fs::read_to_string(c.home.known_hosts()).expect("recorded");
    assert!(kh.starts_with("|1|"), "hashed: {kh}");
    assert!(!kh.contains("127.0.0.1"), "no plain name: {kh}");
    let found = Command::new("ssh-keygen")
        .arg("-F")
        .arg(sshd.known_hosts_name())
        .arg("-f")
        .arg(c.home.known_hosts())
        .output()
        .expect("ssh-keygen");
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("ssh-ed25519"),
        "ssh-keygen -F finds the hashed entry: {found:?}"
    );
    // Known now: no question, even without a terminal.
    assert_eq!(c.ls(&url), vec!["f"]);
}

#[test]
fn answering_no_refuses_and_records_nothing() {
    let (_sshd, c, url) = setup("");
    let (pty, before, mut child) = asked(&c, &url);
    let st = pty.answer(&mut child, "no\r");
    assert!(!st.success(), "screen:\n{}", pty.screen());
    assert!(
        pty.shows("host key verification failed"),
        "{}",
        pty.screen()
    );
    assert!(!c.home.known_hosts().exists(), "nothing recorded");
    assert_eq!(pty.modes(), before);
}

#[test]
fn ctrl_c_at_the_question_leaves_the_terminal_as_found() {
    let (_sshd, c, url) = setup("");
    let (pty, before, mut child) = asked(&c, &url);
    let st = pty.answer(&mut child, "ye\x03");
    assert_eq!(st.code(), Some(130), "screen:\n{}", pty.screen());
    assert!(!c.home.known_hosts().exists(), "nothing recorded");
    assert_eq!(pty.modes(), before);
}

#[test]
fn strict_host_key_checking_yes_refuses_without_asking() {
    let (_sshd, c, url) = setup("  StrictHostKeyChecking yes\n");
    let pty = Pty::open();
    let mut child = ls_on(&pty, &c, &url);
    let st = wait(&mut child, || pty.screen());
    let screen = pty.screen();
    assert!(!st.success(), "{screen}");
    assert!(!screen.contains("Are you sure"), "{screen}");
    assert!(
        screen.contains("StrictHostKeyChecking is yes in") && screen.contains("line 9"),
        "names where it is set: {screen}"
    );
    assert!(!c.home.known_hosts().exists());
}
