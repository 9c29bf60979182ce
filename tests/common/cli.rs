//! Driving the real `vault` binary as a user of a test sshd: a HOME with
//! `~/.ssh` set up for the server and a keystore of its own.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use super::sshd::{ClientHome, Sshd};

/// One user: a HOME with ~/.ssh set up for the server and a keystore.
pub struct Client {
    pub home: ClientHome,
}

impl Client {
    pub fn new(home: ClientHome) -> Client {
        let c = Client { home };
        c.vault(&["keygen", "--no-passphrase"]).assert().success();
        c
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    pub fn command(&self) -> std::process::Command {
        super::env::isolated(assert_cmd::cargo::cargo_bin("vault"), self.home.path())
    }

    pub fn vault(&self, args: &[&str]) -> Command {
        let mut c = Command::from_std(self.command());
        c.args(args);
        c
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Run `vault args`, which must succeed (`what` and its stderr are
    /// shown if not), and return its standard output.
    pub fn stdout_of(&self, args: &[&str], what: &str) -> Vec<u8> {
        let out = self.vault(args).output().unwrap();
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Run `vault args`, which must fail, and return its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        stderr(&self.vault(args).assert().failure())
    }

    pub fn ls(&self, url: &str) -> Vec<String> {
        String::from_utf8(self.stdout_of(&["ls", url], "ls"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The document `vault ls --json url` prints (the command must succeed).
    pub fn ls_json(&self, url: &str, what: &str) -> serde_json::Value {
        serde_json::from_slice(&self.stdout_of(&["ls", "--json", url], what)).unwrap()
    }

    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.path(name);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(&p, data).unwrap();
        p
    }
}

/// A test server and a user of it who pushed `data` as `name` to the
/// server's vault `dir` (`vault push ARGS name URL`, which must succeed):
/// the server, the user and the vault's URL.
pub fn pushed(dir: &str, name: &str, data: &[u8], args: &[&str]) -> (Sshd, Client, String) {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    let url = sshd.url(dir);
    c.write(name, data);
    c.vault(&["push"])
        .args(args)
        .args([name, url.as_str()])
        .assert()
        .success();
    (sshd, c, url)
}

pub fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn objects_visible(vault: &Path) -> usize {
    files_under(&vault.join("objects"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "h"))
        .count()
}

pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn total_size(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Copy the folder `from` to `to`, recursively (a snapshot of a vault).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// The public key `vault id` prints for this client.
pub fn public_key(c: &Client) -> String {
    let out = c.vault(&["id"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
