//! The terminal is left exactly as vault found it, on every path: after a
//! passphrase typed right, typed wrong, Ctrl-C at the prompt, and when
//! another program (a pager) changes the terminal while vault is asking.
//! Each test runs the real binary on a real pseudo-terminal
//! (`common::pty`) and compares the terminal's modes before and after.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::pty::{Modes, Pty, wait};

const PASS: &str = "correct horse battery staple";

/// A HOME with a passphrase-protected keystore and `f.vault` sealed to it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = Home { dir };
        fs::write(h.path("pass"), PASS).expect("pass");
        fs::write(h.path("f"), b"the secret file").expect("f");
        for args in [&["keygen"][..], &["seal", "f"]] {
            let out = h
                .vault()
                .args(args)
                .env("VAULT_PASSPHRASE_FILE", h.path("pass"))
                .stdin(Stdio::null())
                .output()
                .expect("vault");
            assert!(out.status.success(), "{args:?}: {out:?}");
        }
        h
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn vault(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("vault"));
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .env_remove("VAULT_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("VAULT_PASSPHRASE_FILE")
            .env_remove("VAULT_PASSPHRASE_COMMAND")
            .stdout(Stdio::null());
        c
    }

    /// `vault open f.vault -o OUT` on the terminal, as a user would.
    fn open_on(&self, pty: &Pty, out: &Path) -> std::process::Child {
        let mut c = self.vault();
        c.args(["open", "f.vault", "-o"]).arg(out);
        pty.spawn(&mut c)
    }

    /// [`Home::open_on`] a new terminal into `out`, once vault asks for the
    /// passphrase: the terminal, its modes before, and vault.
    fn asked(&self) -> (Pty, Modes, std::process::Child) {
        let pty = Pty::open();
        let before = pty.modes();
        let mut child = self.open_on(&pty, &self.path("out"));
        pty.wait_for("Passphrase", &mut child);
        (pty, before, child)
    }
}

#[test]
fn right_passphrase_leaves_the_terminal_as_found() {
    let h = Home::new();
    let (pty, before, mut child) = h.asked();
    assert!(!pty.modes().echo(), "echo is off while asking");
    let st = pty.answer(&mut child, &format!("{PASS}\r"));
    assert!(st.success(), "{st}; screen:\n{}", pty.screen());
    assert_eq!(fs::read(h.path("out")).expect("out"), b"the secret file");
    assert_eq!(pty.modes(), before);
    assert!(
        !pty.screen().contains(PASS),
        "the passphrase was not echoed"
    );
}

#[test]
fn wrong_passphrase_leaves_the_terminal_as_found() {
    let h = Home::new();
    let pty = Pty::open();
    let before = pty.modes();
    let mut child = h.open_on(&pty, &h.path("out"));
    // Three tries on a terminal, as ssh gives; each one wrong.
    for n in 1..=3 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while pty.screen().matches("Passphrase for").count() < n {
            assert!(
                std::time::Instant::now() < deadline && child.try_wait().expect("wait").is_none(),
                "prompt {n} never came; screen:\n{}",
                pty.screen()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        pty.type_text("not it\r");
    }
    let st = wait(&mut child, || pty.screen());
    assert_eq!(st.code(), Some(1), "screen:\n{}", pty.screen());
    assert_eq!(pty.screen().matches("Passphrase for").count(), 3);
    assert!(!h.path("out").exists());
    assert_eq!(pty.modes(), before);
}

#[test]
fn ctrl_c_at_the_prompt_leaves_the_terminal_as_found() {
    let h = Home::new();
    let (pty, before, mut child) = h.asked();
    assert!(!pty.modes().echo());
    let st = pty.answer(&mut child, "half typed\x03");
    assert_eq!(st.code(), Some(130), "screen:\n{}", pty.screen());
    assert_eq!(pty.modes(), before, "echo and the rest are back");
    assert!(!h.path("out").exists());
}

/// `vault pull ... -o - | less` once left the terminal raw: less made it
/// raw before vault asked, and restored it before vault's prompt ended;
/// vault then wrote back the raw modes it had found, and Ctrl-C no longer
/// interrupted anything.
#[test]
fn a_pager_taking_the_terminal_meanwhile_is_not_undone() {
    let h = Home::new();
    let pty = Pty::open();
    let before = pty.modes();
    assert!(before.isig() && before.icanon() && before.echo());
    // The pager starts first: raw mode.
    let raw = libc::ICANON | libc::ISIG | libc::ECHO;
    pty.set_lflags(raw, 0);
    let mut child = h.open_on(&pty, &h.path("out"));
    pty.wait_for("Passphrase", &mut child);
    // The pager quits and puts the terminal back as it found it.
    pty.set_lflags(0, raw);
    let st = pty.answer(&mut child, &format!("{PASS}\r"));
    assert!(st.success(), "{st}; screen:\n{}", pty.screen());
    let after = pty.modes();
    assert!(after.isig() && after.icanon() && after.echo(), "{after:?}");
    assert_eq!(after, before);
}
