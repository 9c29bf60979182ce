//! A HOME for driving the real `vault`, `age`, `age-keygen` and
//! `ssh-keygen` side by side (the age interoperability tests). age 1.1
//! reads passphrases only from a terminal, so [`Home::age_on_terminal`]
//! runs it under `script` (util-linux), which gives it a pseudo-terminal and
//! types what the test writes. Missing binaries fail the test: skipping
//! would hide that nothing was checked.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The passphrase the tests type and put in `pw`.
pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn need(cmd: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()));
    assert!(
        found,
        "`{cmd}` is missing: run .ci/run (it installs the Debian packages `age` and `bsdutils`)"
    );
}

/// A HOME with a keystore, an age-keygen key file, and helpers to run both
/// tools in it.
pub struct Home {
    pub dir: TempDir,
    /// Public key of the keystore identity.
    pub me: String,
}

impl Home {
    pub fn new() -> Home {
        for cmd in ["age", "age-keygen", "script"] {
            need(cmd);
        }
        let mut h = Home {
            dir: tempfile::tempdir().unwrap(),
            me: String::new(),
        };
        let out = h.vault(&["keygen", "--no-passphrase"]).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        h.me = text(&out.stdout).trim().to_string();
        h.write("pw", format!("{PASSPHRASE}\n").as_bytes());
        h
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        fs::write(self.path(name), data).unwrap();
        self.path(name)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    pub fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut c = super::env::isolated(program, self.dir.path());
        c.args(args);
        c
    }

    pub fn vault(&self, args: &[&str]) -> Command {
        self.cmd(env!("CARGO_BIN_EXE_vault"), args)
    }

    /// `vault args` with its passphrase read from the file `pw` (which
    /// holds [`PASSPHRASE`]).
    pub fn vault_pw(&self, args: &[&str]) -> Command {
        let mut c = self.vault(args);
        c.env("VAULT_PASSPHRASE_FILE", self.path("pw"));
        c
    }

    /// Run `vault args` given a wrong passphrase (in
    /// `VAULT_PASSPHRASE_FILE`): it must fail, saying so.
    pub fn refuses_wrong_passphrase(&self, args: &[&str]) {
        let wrong = self.write("wrong", b"not it\n");
        let err = self.fails(self.vault(args).env("VAULT_PASSPHRASE_FILE", wrong));
        assert!(err.contains("wrong passphrase"), "{err}");
    }

    /// Protect the keystore identity with [`PASSPHRASE`] (a new one, the
    /// passphrase read from the file `pw`) and seal `plain` to it as
    /// `f.vault`.
    pub fn protect_and_seal(&self, plain: &[u8]) {
        self.ok(&mut self.vault_pw(&["keygen", "--force"]));
        self.write("f", plain);
        self.ok(&mut self.vault(&["seal", "f"]));
    }

    /// Run and require success.
    pub fn ok(&self, c: &mut Command) -> Output {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{c:?} failed: {}", text(&out.stderr));
        out
    }

    /// Run and require failure; returns stderr.
    pub fn fails(&self, c: &mut Command) -> String {
        let out = c.output().unwrap();
        assert!(!out.status.success(), "{c:?} succeeded");
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        err
    }

    /// A new age-keygen key file; returns its public key.
    pub fn age_keygen(&self, name: &str) -> String {
        let out = self.ok(&mut self.cmd("age-keygen", &["-o", name]));
        let err = text(&out.stderr);
        err.trim()
            .strip_prefix("Public key: ")
            .unwrap_or_else(|| panic!("age-keygen said {err:?}"))
            .to_string()
    }

    /// Run `command_line` (a shell command) on a pseudo-terminal through
    /// `script`, typing `typed` line by line, with a pause before each line
    /// as a person would, so that each prompt reads its own line.
    pub fn on_terminal(&self, command_line: &str, typed: &str) -> Output {
        let mut child = self
            .cmd("script", &["-qec", command_line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for line in typed.split_inclusive('\n') {
            std::thread::sleep(std::time::Duration::from_millis(300));
            stdin.write_all(line.as_bytes()).unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    /// Run `age args` on a pseudo-terminal, typing `typed` into it; it must
    /// succeed. Returns what the terminal showed.
    pub fn age_on_terminal(&self, args: &str, typed: &str) -> String {
        let out = self.on_terminal(&format!("age {args}"), typed);
        let shown = text(&out.stdout);
        assert!(out.status.success(), "age {args}: {shown}");
        shown
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
