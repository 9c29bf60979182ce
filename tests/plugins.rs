//! age plugins, run for real: `age-plugin-vaulttest` is
//! `examples/age_plugin_test.rs`, built on the `age-plugin` crate (the
//! reference implementation of the plugin side), put on `PATH` under its
//! plugin name. vault seals to and opens with it in both formats, with the
//! real `age` on either side, passes its prompts to the terminal, and turns
//! a plugin that fails, exits, hangs or sends malformed messages into one
//! clear error with no output file and no hang.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::age_home::{Home, text};

/// A Home with the test plugin on PATH, its identity file `plugin.id` and
/// its recipient.
struct PluginHome {
    h: Home,
    recipient: String,
    path: String,
}

fn plugin_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_vault"));
    let p = bin.parent().unwrap().join("examples/age_plugin_test");
    assert!(
        p.exists(),
        "{} is missing: `cargo test` builds the examples",
        p.display()
    );
    p
}

impl PluginHome {
    fn new() -> PluginHome {
        let h = Home::new();
        let bin = h.path("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(plugin_binary(), bin.join("age-plugin-vaulttest")).unwrap();
        let out = std::process::Command::new(bin.join("age-plugin-vaulttest"))
            .args(["--keygen", "00112233445566778899aabbccddeeff"])
            .output()
            .unwrap();
        let keys = text(&out.stdout);
        h.write("plugin.id", keys.as_bytes());
        let recipient = keys
            .lines()
            .find_map(|l| l.strip_prefix("# recipient: "))
            .unwrap()
            .to_string();
        assert!(recipient.starts_with("age1vaulttest1"), "{keys}");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        PluginHome { h, recipient, path }
    }

    fn vault(&self, args: &[&str], mode: &str) -> std::process::Command {
        let mut c = self.h.vault(args);
        c.env("PATH", &self.path)
            .env("VAULTTEST_MODE", mode)
            .env("VAULT_PLUGIN_TIMEOUT", "2");
        c
    }

    fn age(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.h.cmd("age", args);
        c.env("PATH", &self.path);
        c
    }
}

#[test]
fn seal_and_open_with_a_plugin_in_both_formats_and_with_age() {
    let p = PluginHome::new();
    let h = &p.h;
    let plain = common::pattern(80_000, 5);
    h.write("f", &plain);
    // vault files: kind 06, a bridge key wrapped by the plugin.
    let o = h.ok(&mut p.vault(&["seal", "--no-self", "-r", &p.recipient, "-f", "f"], "ok"));
    assert!(
        text(&o.stderr).contains("touch the test token"),
        "{}",
        text(&o.stderr)
    );
    let o = h.ok(&mut p.vault(&["open", "-i", "plugin.id", "f.vault", "-o", "-"], "ok"));
    assert_eq!(o.stdout, plain);
    // age files, both ways with the real age.
    h.ok(&mut p.vault(
        &["seal", "--age", "--no-self", "-r", &p.recipient, "-f", "f"],
        "ok",
    ));
    assert!(text(&h.read("f.age")[..80]).contains("-> vaulttest xor"));
    let o = h.ok(&mut p.age(&["-d", "-i", "plugin.id", "f.age"]));
    assert_eq!(o.stdout, plain, "age opens vault's plugin file");
    h.ok(&mut p.age(&["-r", &p.recipient, "-o", "a.age", "f"]));
    let o = h.ok(&mut p.vault(&["open", "-i", "plugin.id", "a.age", "-o", "-"], "ok"));
    assert_eq!(o.stdout, plain, "vault opens age's plugin file");
    // Beside a classic recipient (no labels on either) is fine.
    h.ok(&mut p.vault(&["seal", "-r", &p.recipient, "-f", "f"], "ok"));
    let o = h.ok(&mut h.vault(&["open", "f.vault", "-o", "-"]));
    assert_eq!(o.stdout, plain, "the keystore opens it without the plugin");
}

#[test]
fn broken_plugins_fail_clearly_leave_nothing_and_never_hang() {
    let p = PluginHome::new();
    let h = &p.h;
    h.write("f", b"secret");
    h.ok(&mut p.vault(
        &[
            "seal",
            "--age",
            "--no-self",
            "-r",
            &p.recipient,
            "-o",
            "good.age",
            "f",
        ],
        "ok",
    ));
    let cases = [
        ("fail", "refused"),
        ("exit", "exited"),
        ("hang", "did not answer within 2 s"),
        ("garbage", "broke the plugin protocol"),
    ];
    for (mode, want) in cases {
        for age in [false, true] {
            let mut args = vec!["seal", "--no-self", "-r", &p.recipient, "f", "-o", "out"];
            if age {
                args.push("--age");
            }
            let started = Instant::now();
            let err = h.fails(&mut p.vault(&args, mode));
            assert!(started.elapsed() < Duration::from_secs(15), "{mode}: slow");
            assert!(
                err.contains("age-plugin-vaulttest") && err.contains(want),
                "{mode}: {err}"
            );
            assert_eq!(
                err.lines().filter(|l| l.contains("error:")).count(),
                1,
                "{err}"
            );
            assert!(!h.path("out").exists(), "{mode}: output left");
        }
        let started = Instant::now();
        let err =
            h.fails(&mut p.vault(&["open", "-i", "plugin.id", "good.age", "-o", "out"], mode));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{mode}: slow open"
        );
        assert!(err.contains("age-plugin-vaulttest"), "{mode}: {err}");
        assert!(!h.path("out").exists(), "{mode}: open left output");
    }
    // Not installed.
    let mut c = h.vault(&["seal", "--no-self", "-r", &p.recipient, "f", "-o", "out"]);
    let err = h.fails(&mut c);
    assert!(err.contains("not found on PATH"), "{err}");
}

#[test]
fn plugin_prompts_reach_the_terminal() {
    let p = PluginHome::new();
    let h = &p.h;
    h.write("f", b"pin protected");
    // No terminal: the request fails, and the plugin's own error shows.
    let err = h.fails(&mut p.vault(&["seal", "--no-self", "-r", &p.recipient, "f"], "pin"));
    assert!(err.contains("wrong PIN"), "{err}");
    // On a terminal (script gives vault one), the PIN typed reaches it.
    let vault = env!("CARGO_BIN_EXE_vault");
    let cmdline = format!("{vault} seal --no-self -r {} -o f.vault f", p.recipient);
    let mut c = h.cmd("script", &["-qec", &cmdline, "/dev/null"]);
    c.env("PATH", &p.path)
        .env("VAULTTEST_MODE", "pin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::{Read, Write};
    // Type the PIN once the prompt is up, as a person would: the prompt
    // turns echo off with TCSAFLUSH, as OpenSSH's readpassphrase does,
    // which drops anything typed ahead of it.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !text(&seen).contains("PIN for the test token") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", text(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    child.stdin.take().unwrap().write_all(b"1234\n").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let out = std::process::Output {
        stdout: seen,
        ..out
    };
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("PIN for the test token"), "{shown}");
    let o = h.ok(&mut p.vault(&["open", "-i", "plugin.id", "f.vault", "-o", "-"], "ok"));
    assert_eq!(o.stdout, b"pin protected");
}

#[test]
fn plugin_labels_are_checked() {
    let p = PluginHome::new();
    let h = &p.h;
    h.write("f", b"x");
    let mut c = p.vault(&["seal", "-r", &p.recipient, "f", "-o", "out"], "ok");
    c.env("VAULTTEST_LABELS", "postquantum");
    let err = h.fails(&mut c);
    assert!(err.contains("cannot be mixed"), "{err}");
    assert!(!h.path("out").exists());
}
