//! Driving the real `vault` binary as a user of a test sshd: a HOME with
//! `~/.ssh` set up for the server and a keystore of its own.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use super::sshd::ClientHome;

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

    pub fn ls(&self, url: &str) -> Vec<String> {
        let out = self.vault(&["ls", url]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
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
