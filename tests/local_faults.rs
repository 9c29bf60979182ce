//! Local faults: an output folder that cannot be written, a full disk, an
//! input that changes while it is sealed, and symbolic links where outputs
//! go. Each must fail with one error line and leave no partial file, or
//! (for links) do the documented safe thing.
//!
//! The tests run as root here (CI too), and root ignores permission bits,
//! so "not writable" uses `chattr +i` (or a read-only bind mount), and
//! "disk full" a 1 MiB tmpfs; where the machine does not allow that, the
//! test says why on stderr and checks what it can.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::cli::{Client, files_under};
use common::pattern;
use common::sshd::ClientHome;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and touches no memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}

/// Run and check the failure shape: exit 1, one `vault: error:` line, all
/// stderr lines vault's, no panic. Returns stderr.
fn fails(c: &Client, args: &[&str]) -> String {
    let out = c.vault(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("vault: error:"))
            .count(),
        1,
        "{args:?}: {err}"
    );
    assert!(err.lines().all(|l| l.starts_with("vault: ")), "{err}");
    err
}

fn ok(c: &Client, args: &[&str]) {
    let out = c.vault(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sh(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A user with a sealed file `big.vault` (of `len` bytes of plaintext) and
/// a local vault `v` holding it as `big`.
fn setup(len: usize) -> (Client, Vec<u8>, String) {
    let c = Client::new(ClientHome::bare());
    let data = pattern(len, 3);
    c.write("big", &data);
    ok(&c, &["seal", "big"]);
    let v = c.path("v").to_str().unwrap().to_owned();
    ok(&c, &["push", "-q", "big", &v]);
    fs::remove_file(c.path("big")).unwrap();
    (c, data, v)
}

/// Undoes a lock on a folder when dropped.
struct Unlock(Vec<(&'static str, Vec<String>)>);

impl Drop for Unlock {
    fn drop(&mut self) {
        for (cmd, args) in &self.0 {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sh(cmd, &args);
        }
    }
}

/// Make `dir` unwritable even for root. Returns the guard, or why not.
fn lock_dir(dir: &Path) -> Result<Unlock, String> {
    let d = dir.to_str().unwrap().to_owned();
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
        return Ok(Unlock(vec![("chmod", vec!["755".into(), d])]));
    }
    if sh("chattr", &["+i", &d]) {
        return Ok(Unlock(vec![("chattr", vec!["-i".into(), d])]));
    }
    if sh("mount", &["--bind", &d, &d]) {
        let guard = Unlock(vec![("umount", vec!["-l".into(), d.clone()])]);
        if sh("mount", &["-o", "remount,ro,bind", &d]) {
            return Ok(guard);
        }
    }
    Err("neither chattr +i nor a read-only bind mount works here".into())
}

#[test]
fn an_unwritable_output_folder_fails_cleanly() {
    let (c, data, v) = setup(200_000);
    let ro = c.path("ro");
    fs::create_dir(&ro).unwrap();
    let _guard = match lock_dir(&ro) {
        Ok(g) => g,
        Err(why) => {
            eprintln!("skipped: cannot make a folder unwritable as root: {why}");
            return;
        }
    };
    // The lock really holds (else the test would prove nothing).
    assert!(
        fs::write(ro.join("probe"), b"x").is_err(),
        "folder is writable"
    );
    let out = ro.join("big").to_str().unwrap().to_owned();
    let err = fails(&c, &["open", "big.vault", "-o", &out]);
    assert!(err.contains("writing"), "{err}");
    c.write("plain", &data);
    fails(&c, &["seal", "plain", "-o", &format!("{out}.vault")]);
    fails(&c, &["pull", &v, "big", "-C", ro.to_str().unwrap()]);
    fails(&c, &["pull", &v, "big", "-o", &out]);
    // A vault in the locked folder cannot be created or pushed to.
    fails(
        &c,
        &["push", "-q", "plain", ro.join("vault").to_str().unwrap()],
    );
    assert!(files_under(&ro).is_empty(), "{:?}", files_under(&ro));
}

/// Mounts a small tmpfs; unmounted on drop.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if !sh("umount", &[self.0.to_str().unwrap()]) {
            sh("umount", &["-l", self.0.to_str().unwrap()]);
        }
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_leaves_nothing() {
    let (c, data, v) = setup(3 << 20);
    let mnt = c.path("tiny");
    fs::create_dir(&mnt).unwrap();
    let m = mnt.to_str().unwrap().to_owned();
    if !sh("mount", &["-t", "tmpfs", "-o", "size=1m", "tmpfs", &m]) {
        eprintln!("skipped: cannot mount a 1 MiB tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    }
    let _mount = Tmpfs(mnt.clone());
    let out = mnt.join("big").to_str().unwrap().to_owned();
    let err = fails(&c, &["open", "big.vault", "-o", &out]);
    assert!(err.contains("no space left"), "{err}");
    assert!(files_under(&mnt).is_empty(), "{:?}", files_under(&mnt));
    fails(&c, &["pull", &v, "big", "-C", &m]);
    assert!(files_under(&mnt).is_empty(), "{:?}", files_under(&mnt));
    c.write("plain", &data);
    fails(&c, &["seal", "plain", "-o", &format!("{out}.vault")]);
    assert!(files_under(&mnt).is_empty());
    // A vault on the full disk: the push fails and leaves no visible object.
    let vm = mnt.join("vault").to_str().unwrap().to_owned();
    fails(&c, &["push", "-q", "plain", &vm]);
    let heads = files_under(&mnt.join("vault"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "h"))
        .count();
    assert_eq!(heads, 0);
    // A small file still fits afterwards: nothing was left taking space.
    c.write("small", b"fits");
    ok(&c, &["push", "-q", "small", &vm]);
    ok(
        &c,
        &[
            "pull",
            &vm,
            "small",
            "-o",
            mnt.join("small").to_str().unwrap(),
        ],
    );
    assert_eq!(fs::read(mnt.join("small")).unwrap(), b"fits");
}

/// Keep appending to `path` (a little at a time) until `stop`.
fn keep_appending(path: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) && n < 20_000 {
            f.write_all(&[b'x'; 512]).unwrap();
            n += 1;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        n
    })
}

#[test]
fn an_input_that_changes_while_sealing_fails() {
    let c = Client::new(ClientHome::bare());
    let v = c.path("v").to_str().unwrap().to_owned();
    for (what, args) in [
        ("seal", vec!["seal", "growing", "-o", "growing.vault"]),
        ("push", vec!["push", "-q", "growing", v.as_str()]),
    ] {
        c.write("growing", &pattern(8 << 20, 5));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = keep_appending(c.path("growing"), stop.clone());
        let out = c.vault(&args).output().unwrap();
        stop.store(true, Ordering::Relaxed);
        let appended = writer.join().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(appended > 0);
        assert_eq!(out.status.code(), Some(1), "{what}: succeeded: {err}");
        assert!(
            err.contains("changed while it was being read"),
            "{what}: {err}"
        );
        assert!(!c.path("growing.vault").exists(), "{what}");
    }
    // Nothing visible in the vault (the push was the first, so it may not
    // even exist).
    let heads = files_under(&c.path("v/objects"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "h"))
        .count();
    assert_eq!(heads, 0);
    // A stable file seals fine.
    ok(&c, &["seal", "growing", "-o", "growing.vault"]);
}

#[test]
fn a_symlink_at_the_output_is_replaced_only_with_force() {
    let (c, data, v) = setup(100_000);
    let elsewhere = c.path("elsewhere");
    let link = c.path("link");
    c.write("plain", &data);
    for (what, args) in [
        ("open", vec!["open", "big.vault", "-o", "link"]),
        ("seal", vec!["seal", "plain", "-o", "link"]),
        ("pull", vec!["pull", &v, "big", "-o", "link"]),
    ] {
        for dangling in [false, true] {
            let _ = fs::remove_file(&link);
            let _ = fs::remove_file(&elsewhere);
            if !dangling {
                fs::write(&elsewhere, b"keep me").unwrap();
            }
            std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
            let err = fails(&c, &args);
            assert!(err.contains("already exists"), "{what}: {err}");
            let mut forced = args.clone();
            forced.push("--force");
            ok(&c, &forced);
            assert!(
                fs::symlink_metadata(&link).unwrap().is_file(),
                "{what}: the link itself is replaced"
            );
            if dangling {
                assert!(!elsewhere.exists(), "{what}: followed a dangling link");
            } else {
                assert_eq!(fs::read(&elsewhere).unwrap(), b"keep me", "{what}");
            }
        }
    }
}

#[test]
fn pull_into_a_folder_never_follows_links_inside_it() {
    let c = Client::new(ClientHome::bare());
    let v = c.path("v").to_str().unwrap().to_owned();
    c.write("f", b"payload");
    for name in ["docs/f", "null", "dev/null", "f"] {
        ok(&c, &["push", "-q", "--name", name, "f", &v]);
    }
    let dir = c.path("out");
    let outside = c.path("outside");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let d = dir.to_str().unwrap();

    // A symlinked folder matching the name's folder part: refused, even
    // with --force, and nothing lands outside.
    std::os::unix::fs::symlink(&outside, dir.join("docs")).unwrap();
    for force in [false, true] {
        let mut args = vec!["pull", &v, "docs/f", "-C", d];
        if force {
            args.push("--force");
        }
        let err = fails(&c, &args);
        assert!(err.contains("symbolic link"), "{err}");
        assert!(files_under(&outside).is_empty());
    }

    // A link to a device in the folder position: refused (it would
    // otherwise be written in place, as a special file).
    std::os::unix::fs::symlink("/dev", dir.join("dev")).unwrap();
    let err = fails(&c, &["pull", &v, "dev/null", "-C", d]);
    assert!(err.contains("symbolic link"), "{err}");

    // A link at the file position, to a device or to a file elsewhere:
    // refused without --force; with --force the link itself is replaced.
    std::os::unix::fs::symlink("/dev/null", dir.join("null")).unwrap();
    fs::write(outside.join("target"), b"keep me").unwrap();
    std::os::unix::fs::symlink(outside.join("target"), dir.join("f")).unwrap();
    for name in ["null", "f"] {
        let err = fails(&c, &["pull", &v, name, "-C", d]);
        assert!(err.contains("already exists"), "{err}");
        ok(&c, &["pull", &v, name, "-C", d, "--force"]);
        let p = dir.join(name);
        assert!(fs::symlink_metadata(&p).unwrap().is_file(), "{name}");
        assert_eq!(fs::read(&p).unwrap(), b"payload");
    }
    assert_eq!(fs::read(outside.join("target")).unwrap(), b"keep me");
    assert_eq!(files_under(&outside).len(), 1);

    // A real folder of the same name works.
    fs::remove_file(dir.join("docs")).unwrap();
    ok(&c, &["pull", &v, "docs/f", "-C", d]);
    assert_eq!(fs::read(dir.join("docs/f")).unwrap(), b"payload");
}
