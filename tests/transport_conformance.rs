//! One conformance suite for every `Transport` backend: the local folder,
//! SFTP against a real OpenSSH server and S3 against a real SeaweedFS must
//! behave the same, because the layers above rely on these guarantees
//! (puts that refuse or atomically replace an existing file,
//! complete-or-absent files, multi-part uploads from several connections,
//! the staging sweep, error classes).
//!
//! Where backends differ by nature, the suite asks the backend's
//! [`Properties`] and checks the declared behaviour instead of skipping:
//! `has_folders` (file systems have folders of their own; object storage
//! has prefixes that exist while something is below them) and
//! `min_part_size` (the parts of a multi-part upload are sized from it).
//! Every check runs on every backend; [`conformance`] prints what it
//! adapted, and what it skipped and why (nothing, today).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::sshd::Sshd;
use common::{expect_err, get, pattern, put, put_mode};
use vault::transport::{
    ConnectOptions, Location, Properties, PutMode, Transport, TransportError, Upload,
};

/// Every check, each in its own sub-folder of the vault root.
fn conformance(t: &mut dyn Transport) {
    let p = t.properties();
    eprintln!(
        "conformance of {}: {}; multi-part uploads in parts of at least {} bytes; skipped: \
         nothing",
        t.describe(),
        if p.has_folders {
            "folders of its own"
        } else {
            "no folders (prefixes exist while something is below them)"
        },
        part_unit(&p),
    );
    t.mkdir_all("").expect("mkdir_all of the root");
    properties_are_sane(t);
    mkdir_all_is_idempotent(t);
    round_trips(t);
    list_and_stat(t);
    put_new_never_clobbers(t);
    put_replace_replaces(t);
    put_replace_is_atomic_for_readers(t);
    remove_and_not_found(t);
    bad_paths_are_refused(t);
    unfinished_writes_are_not_visible(t);
    spaces_and_unicode(t);
    reconnect_sees_the_same_files(t);
    uploads_from_several_connections(t);
    aborted_and_failed_uploads_leave_nothing(t);
    sweep_removes_only_old_staging_files(t);
}

/// A `what` (put or replace) to `path` in a folder that does not exist:
/// `NotFound` where folders exist on their own, else it lands.
fn put_in_missing_folder(
    t: &mut dyn Transport,
    path: &str,
    data: &[u8],
    mode: PutMode,
    what: &str,
) {
    let r = try_put(t, path, data, mode);
    if t.properties().has_folders {
        let e = expect_err(r, &format!("{what} in a missing folder"));
        assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
    } else {
        r.unwrap_or_else(|e| panic!("a {what} below a prefix that has nothing yet: {e:?}"));
        assert_eq!(get(t, path), data);
    }
}

/// Put `data` at `path` with `mode`, returning the first error (from the
/// put, the write or the finish).
fn try_put(
    t: &mut dyn Transport,
    path: &str,
    data: &[u8],
    mode: PutMode,
) -> Result<(), TransportError> {
    let mut w = t.put(path, mode)?;
    w.write_all(data)?;
    w.finish()
}

/// Write `data` as the part of `up` at `offset`, and finish the part.
fn write_part(t: &mut dyn Transport, up: &Upload, offset: u64, data: &[u8]) {
    let mut w = t.write_part(up, offset).expect("write_part");
    w.write_all(data).expect("write");
    w.finish().expect("finish");
}

/// How many leftovers unfinished puts and uploads left in staging (files
/// in `tmp/` on the file systems, incomplete multipart uploads on S3),
/// counted by removing them all with the sweep (whose own check is
/// [`sweep_removes_only_old_staging_files`]).
fn staged(t: &mut dyn Transport) -> usize {
    t.sweep_staging(now_secs() + 3600).expect("sweep_staging")
}

/// The size unit of multi-part checks: parts other than the last must be
/// at least the backend's minimum (S3: 5 MiB), and at least 1 MiB so that
/// parts span several write calls everywhere.
fn part_unit(p: &Properties) -> usize {
    usize::try_from(p.min_part_size)
        .expect("min_part_size fits")
        .max(1 << 20)
}

fn properties_are_sane(t: &mut dyn Transport) {
    let p = t.properties();
    assert!(
        p.write_size > 0 && p.part_write_size > 0 && p.read_size > 0,
        "{p:?}"
    );
    assert!(p.max_connections >= 1, "{p:?}");
}

fn mkdir_all_is_idempotent(t: &mut dyn Transport) {
    t.mkdir_all("m/a/b/c").expect("mkdir_all");
    t.mkdir_all("m/a/b/c").expect("mkdir_all again");
    t.mkdir_all("m/a").expect("mkdir_all of a prefix");
    t.mkdir_all("").expect("mkdir_all of the root again");
    if t.properties().has_folders {
        let st = t.stat("m/a/b").expect("stat").expect("exists");
        assert!(st.is_dir);
        put(t, "m/file", b"x", 1);
        let e = expect_err(t.mkdir_all("m/file/sub"), "mkdir_all below a file");
        assert!(
            !matches!(e, TransportError::BadPath(_)),
            "a file in the way is not a bad path: {e}"
        );
    } else {
        // No folders: mkdir_all made nothing, and a prefix exists exactly
        // while a file is below it.
        assert!(t.stat("m/a/b").expect("stat").is_none(), "nothing below");
        put(t, "m/a/b/c/f", b"x", 1);
        for prefix in ["m", "m/a", "m/a/b", "m/a/b/c"] {
            let st = t
                .stat(prefix)
                .expect("stat")
                .expect("a prefix with a file below");
            assert!(st.is_dir, "{prefix}");
        }
        t.remove("m/a/b/c/f").expect("remove");
        assert!(t.stat("m/a").expect("stat").is_none(), "gone with its file");
        put(t, "m/file", b"x", 1);
    }
}

fn round_trips(t: &mut dyn Transport) {
    t.mkdir_all("rt").expect("mkdir");
    let sizes = [0usize, 1, 65_536 + 1, (5 << 20) + 3];
    for (i, &len) in sizes.iter().enumerate() {
        let data = pattern(len, i as u8);
        for (j, step) in [7_777usize, 1 << 20, len.max(1)].into_iter().enumerate() {
            let name = format!("rt/f{len}-{j}");
            put(t, &name, &data, step);
            assert_eq!(get(t, &name).len(), len, "{name}: length");
            assert!(get(t, &name) == data, "{name}: content differs");
            let st = t.stat(&name).expect("stat").expect("exists");
            assert_eq!(st.size, len as u64);
            assert!(!st.is_dir);
            assert!(st.mtime.is_some(), "mtime is known");
        }
    }
}

fn list_and_stat(t: &mut dyn Transport) {
    let folders = t.properties().has_folders;
    t.mkdir_all("ls/sub").expect("mkdir");
    if !folders {
        // A prefix is listed while something is below it.
        put(t, "ls/sub/x", b"x", 1);
    }
    put(t, "ls/a", b"aaa", 3);
    put(t, "ls/b", b"", 1);
    let mut items = t.list("ls").expect("list");
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<(&str, u64, bool)> = items
        .iter()
        .map(|e| (e.name.as_str(), e.size, e.is_dir))
        .collect();
    assert_eq!(got[..2], [("a", 3, false), ("b", 0, false)]);
    assert_eq!((got[2].0, got[2].2), ("sub", true));
    assert_eq!(got.len(), 3);
    if folders {
        assert!(t.list("ls/sub").expect("list empty").is_empty());
    } else {
        let sub = t.list("ls/sub").expect("list");
        assert_eq!(sub.len(), 1);
        assert_eq!((sub[0].name.as_str(), sub[0].size), ("x", 1));
    }
    assert!(t.stat("ls/nope").expect("stat missing").is_none());
    assert!(t.stat("nope/nope").expect("stat below missing").is_none());
    if folders {
        let e = expect_err(t.list("ls/nope"), "list of a missing folder");
        assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
    } else {
        let l = t
            .list("ls/nope")
            .expect("list of a prefix with nothing below");
        assert!(l.is_empty(), "{l:?}");
    }
    let root = t.list("").expect("list of the root");
    assert!(root.iter().any(|e| e.name == "ls" && e.is_dir));
    assert_eq!(
        t.stat("ls/a").expect("stat").map(|e| e.name),
        Some("ls/a".into())
    );
}

/// A put without replace refuses an existing file and leaves it as it was.
fn put_new_never_clobbers(t: &mut dyn Transport) {
    t.mkdir_all("x").expect("mkdir");
    put(t, "x/f", b"first", 5);
    let e = expect_err(
        try_put(t, "x/f", b"second", PutMode::New),
        "put New over an existing file",
    );
    assert!(matches!(e, TransportError::AlreadyExists(_)), "{e:?}");
    assert_eq!(get(t, "x/f"), b"first", "the existing file is untouched");
    try_put(t, "x/new", b"second", PutMode::New).expect("put New to a free name");
    assert_eq!(get(t, "x/new"), b"second");
    put_in_missing_folder(t, "x/missing-dir/f", b"f", PutMode::New, "put");
    assert_eq!(staged(t), 0, "refused puts leave nothing staged");
}

fn put_replace_replaces(t: &mut dyn Transport) {
    t.mkdir_all("rr").expect("mkdir");
    put(t, "rr/dst", b"old", 3);
    put_mode(t, "rr/dst", b"new", 3, PutMode::Replace);
    assert_eq!(get(t, "rr/dst"), b"new");
    put_mode(t, "rr/none", b"fresh", 5, PutMode::Replace);
    assert_eq!(get(t, "rr/none"), b"fresh", "replace onto a free name");
    put_in_missing_folder(t, "rr/missing-dir/dst", b"x", PutMode::Replace, "replace");
    {
        let mut w = t.put("rr/dst", PutMode::Replace).expect("put");
        w.write_all(b"half a new version").expect("write");
        // Dropped without finish.
    }
    assert_eq!(get(t, "rr/dst"), b"new", "target untouched");
    assert_eq!(staged(t), 0);
}

/// A reader on a second connection never sees the target missing or
/// partial while it is being replaced again and again.
fn put_replace_is_atomic_for_readers(t: &mut dyn Transport) {
    t.mkdir_all("at").expect("mkdir");
    let versions: Vec<Vec<u8>> = (0..4).map(|i| pattern(3000 + i, i as u8)).collect();
    put(t, "at/target", &versions[0], 4096);
    let mut reader = t.reconnect().expect("second connection");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let expected = versions.clone();
    let handle = std::thread::spawn(move || {
        let mut reads = 0u32;
        while !stop2.load(Ordering::Relaxed) || reads < 20 {
            let got = get(&mut *reader, "at/target");
            assert!(
                expected.contains(&got),
                "a reader saw a partial or unknown version ({} bytes)",
                got.len()
            );
            reads += 1;
        }
        reads
    });
    for round in 0..40 {
        let v = &versions[round % versions.len()];
        put_mode(t, "at/target", v, 4096, PutMode::Replace);
    }
    stop.store(true, Ordering::Relaxed);
    let reads = handle.join().expect("reader thread");
    assert!(reads >= 20);
}

fn remove_and_not_found(t: &mut dyn Transport) {
    t.mkdir_all("rm").expect("mkdir");
    put(t, "rm/f", b"1", 1);
    t.remove("rm/f").expect("remove");
    assert!(t.stat("rm/f").expect("stat").is_none());
    for e in [
        expect_err(t.remove("rm/f"), "remove missing"),
        expect_err(t.read("rm/f").map(|_| ()), "read missing"),
        expect_err(t.read("rm/nodir/f").map(|_| ()), "read below missing"),
    ] {
        assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
        assert!(e.to_string().contains("rm/"), "names the path: {e}");
    }
}

fn bad_paths_are_refused(t: &mut dyn Transport) {
    let bad = [
        "../x",
        "/etc/passwd",
        "a//b",
        "a/",
        ".",
        "a/./b",
        "a/../b",
        "a\\b",
        "a\0b",
    ];
    for p in bad {
        let up = |path: &str, token: &str| Upload {
            path: path.into(),
            token: token.into(),
        };
        let checks: Vec<(&str, Result<(), TransportError>)> = vec![
            ("mkdir_all", t.mkdir_all(p)),
            ("list", t.list(p).map(|_| ())),
            ("stat", t.stat(p).map(|_| ())),
            ("read", t.read(p).map(|_| ())),
            ("read_at", t.read_at(p, 0, 1).map(|_| ())),
            ("put", t.put(p, PutMode::New).map(|_| ())),
            ("put replace", t.put(p, PutMode::Replace).map(|_| ())),
            ("begin_upload", t.begin_upload(p).map(|_| ())),
            ("write_part", t.write_part(&up("ok", p), 0).map(|_| ())),
            (
                "finish_upload",
                t.finish_upload(up(p, "tmp/x.tmp"), 0, PutMode::New),
            ),
            ("remove", t.remove(p)),
        ];
        for (op, r) in checks {
            assert!(
                matches!(r, Err(TransportError::BadPath(_))),
                "{op}({p:?}) must be refused as a bad path, got {r:?}"
            );
        }
    }
    for (op, r) in [
        ("read", t.read("").map(|_| ())),
        ("put", t.put("", PutMode::New).map(|_| ())),
        ("begin_upload", t.begin_upload("").map(|_| ())),
        ("remove", t.remove("")),
    ] {
        assert!(
            matches!(r, Err(TransportError::BadPath(_))),
            "{op}(\"\") must be refused"
        );
    }
}

fn unfinished_writes_are_not_visible(t: &mut dyn Transport) {
    t.mkdir_all("uf").expect("mkdir");
    {
        // Past three minimum parts, so that a backend that sends large
        // puts in parts (S3) has started an upload it must abort.
        let len = 3 * part_unit(&t.properties()) + 10;
        let mut w = t.put("uf/partial", PutMode::New).expect("put");
        w.write_all(&pattern(len, 9)).expect("write");
        // Dropped without finish.
    }
    assert!(
        t.stat("uf/partial").expect("stat").is_none(),
        "an unfinished put leaves nothing visible"
    );
    assert_eq!(staged(t), 0, "and nothing staged");
    // The final name appears only complete, when the writer finishes.
    let data = pattern(300_000, 3);
    let mut other = t.reconnect().expect("second connection");
    let mut w = t.put("uf/final", PutMode::New).expect("put");
    w.write_all(&data).expect("write");
    assert!(other.stat("uf/final").expect("stat").is_none());
    w.finish().expect("finish");
    assert_eq!(get(t, "uf/final"), data);
}

fn spaces_and_unicode(t: &mut dyn Transport) {
    let dir = "names/a folder with spaces/ünïcødé 文件";
    t.mkdir_all(dir).expect("mkdir");
    let name = format!("{dir}/file name 😀 ü.bin");
    put(t, &name, b"hello", 2);
    assert_eq!(get(t, &name), b"hello");
    let items = t.list(dir).expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name, "file name 😀 ü.bin");
    let to = format!("{dir}/replaced ✓");
    put_mode(t, &to, b"hello", 2, PutMode::Replace);
    assert_eq!(get(t, &to), b"hello");
}

fn reconnect_sees_the_same_files(t: &mut dyn Transport) {
    let mut other = t.reconnect().expect("reconnect");
    assert_eq!(other.describe(), t.describe());
    assert_eq!(get(&mut *other, "rr/dst"), b"new");
    put(&mut *other, "rr/from-other", b"o", 1);
    assert_eq!(get(t, "rr/from-other"), b"o");
}

/// Several connections write disjoint parts of one upload (out of order,
/// leaving a hole until the earlier part lands), the file appears only when
/// the upload is finished, and ranges read back.
fn uploads_from_several_connections(t: &mut dyn Transport) {
    t.mkdir_all("rg").expect("mkdir");
    // The first part is just over the minimum; the second, longer one
    // arrives in writes that do not divide it.
    let unit = part_unit(&t.properties());
    let data = pattern(3 * unit + 12_345, 7);
    let cut = unit + 17;
    let mut other = t.reconnect().expect("second connection");
    let up = t.begin_upload("rg/f").expect("begin_upload");
    {
        // The later part first, on the second connection.
        let mut w = other.write_part(&up, cut as u64).expect("write_part");
        for c in data[cut..].chunks(100_003) {
            w.write_all(c).expect("write");
        }
        w.finish().expect("finish");
    }
    write_part(t, &up, 0, &data[..cut]);
    assert!(
        t.stat("rg/f").expect("stat").is_none(),
        "nothing is visible before the upload is finished"
    );
    t.finish_upload(up, data.len() as u64, PutMode::New)
        .expect("finish_upload");
    assert!(get(t, "rg/f") == data, "parts assemble the file");
    assert_eq!(staged(t), 0);

    for (from, len) in [
        (0usize, 10usize),
        (cut - 3, 70_000),
        (data.len() - 5, 5),
        (17, 2 << 20),
    ] {
        let mut r = other
            .read_at("rg/f", from as u64, len as u64)
            .expect("read_at");
        let mut got = Vec::new();
        r.read_to_end(&mut got).expect("read");
        assert!(got == data[from..from + len], "range {from}+{len}");
    }
    // Past the end: a short read, not an error.
    let mut r = t
        .read_at("rg/f", data.len() as u64 - 3, 100)
        .expect("read_at");
    let mut got = Vec::new();
    r.read_to_end(&mut got).expect("read");
    assert_eq!(got, data[data.len() - 3..]);
    drop(r);

    // Finishing without replace refuses an existing file, untouched.
    let up = t.begin_upload("rg/f").expect("begin_upload");
    write_part(&mut *other, &up, 0, b"xyz");
    let e = expect_err(
        t.finish_upload(up, 3, PutMode::New),
        "finishing onto an existing file",
    );
    assert!(matches!(e, TransportError::AlreadyExists(_)), "{e:?}");
    assert!(get(t, "rg/f") == data, "the existing file is untouched");
    // With replace it is replaced.
    let up = t.begin_upload("rg/f").expect("begin_upload");
    write_part(&mut *other, &up, 0, b"xyz");
    t.finish_upload(up, 3, PutMode::Replace)
        .expect("finish_upload with replace");
    assert_eq!(get(t, "rg/f"), b"xyz");
    assert_eq!(staged(t), 0);

    let e = expect_err(
        t.read_at("rg/missing", 0, 1).map(|_| ()),
        "read_at of a missing file",
    );
    assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
}

/// An aborted upload, one with a part writer dropped unfinished, and one
/// of the wrong size leave nothing, visible or staged.
fn aborted_and_failed_uploads_leave_nothing(t: &mut dyn Transport) {
    t.mkdir_all("ab").expect("mkdir");
    let up = t.begin_upload("ab/f").expect("begin_upload");
    {
        let mut w = t.write_part(&up, 0).expect("write_part");
        w.write_all(&pattern(200_000, 4)).expect("write");
        // Dropped without finish: the upload stays, its owner aborts it.
    }
    let kept = up.clone();
    t.abort_upload(up);
    assert!(t.stat("ab/f").expect("stat").is_none());
    assert_eq!(staged(t), 0, "abort removes what the upload staged");
    let e = expect_err(
        t.write_part(&kept, 0).map(|_| ()),
        "write_part of an aborted upload",
    );
    assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");

    let up = t.begin_upload("ab/g").expect("begin_upload");
    write_part(t, &up, 0, b"12345");
    expect_err(
        t.finish_upload(up, 6, PutMode::New),
        "finish_upload with the wrong size",
    );
    assert!(t.stat("ab/g").expect("stat").is_none());
    assert_eq!(staged(t), 0);
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The sweep removes what unfinished uploads staged before its cutoff, and
/// nothing else (not newer uploads, not older files outside staging).
fn sweep_removes_only_old_staging_files(t: &mut dyn Transport) {
    t.mkdir_all("sw").expect("mkdir");
    put(t, "sw/object", b"keep me", 7);
    let old = t.begin_upload("sw/a").expect("begin_upload");
    // Past the next whole second twice, so that modification times in
    // seconds tell the two uploads apart.
    std::thread::sleep(Duration::from_millis(2100));
    let cutoff = now_secs();
    let new = t.begin_upload("sw/b").expect("begin_upload");
    assert_eq!(t.sweep_staging(cutoff).expect("sweep"), 1);
    let e = expect_err(t.write_part(&old, 0).map(|_| ()), "a swept upload");
    assert!(matches!(e, TransportError::NotFound(_)), "{e:?}");
    // The newer upload stays.
    write_part(t, &new, 0, b"b");
    t.finish_upload(new, 1, PutMode::New)
        .expect("finish_upload");
    assert_eq!(get(t, "sw/b"), b"b");
    assert_eq!(get(t, "sw/object"), b"keep me");
    assert_eq!(t.sweep_staging(now_secs() + 10).expect("sweep"), 0);
    assert_eq!(get(t, "sw/object"), b"keep me", "only staging is swept");
}

/// Files 0600, folders 0700, checked on the storage side.
fn check_modes(root: &Path) {
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&root.join("x/f")), 0o600, "file mode");
    assert_eq!(mode(&root.join("m/a/b/c")), 0o700, "folder mode");
    assert_eq!(mode(&root.join("rr/dst")), 0o600, "renamed file mode");
}

#[test]
fn local_backend_conforms() {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path().join("vault");
    let loc = Location::parse(&root.to_string_lossy()).expect("parse");
    let mut t = loc.connect(&ConnectOptions::default()).expect("connect");
    conformance(&mut *t);
    check_modes(&root);
    // The file:/// form reaches the same folder.
    let url = format!("file://{}", root.display());
    let mut t2 = Location::parse(&url)
        .expect("parse")
        .connect(&ConnectOptions::default())
        .expect("connect");
    assert_eq!(get(&mut *t2, "x/f"), b"first");
}

#[test]
fn sftp_backend_conforms() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let loc = Location::parse(&sshd.url("vault")).expect("parse");
    let mut t = loc.connect(&home.options()).unwrap_or_else(|e| {
        panic!("connect: {e}\nsshd log:\n{}", sshd.log());
    });
    conformance(&mut *t);
    check_modes(&sshd.server_root().join("vault"));
}

#[test]
fn sftp_relative_root_is_under_the_login_folder() {
    // scp style with a relative path: resolved by the server against the
    // login folder, which for this test user is its real home, so only
    // a stat of the login folder itself is done here.
    let sshd = Sshd::start();
    let home = sshd.home();
    let loc = Location::parse(&format!("{}:", common::sshd::ALIAS)).expect("parse");
    let mut t = loc.connect(&home.options()).expect("connect");
    let st = t.stat("").expect("stat").expect("login folder exists");
    assert!(st.is_dir);
    assert!(
        t.describe().ends_with(&format!(":{}", sshd.port())),
        "{}",
        t.describe()
    );
}

/// S3 (a real SeaweedFS): the whole suite, with object storage's
/// declared differences (no folders, 5 MiB parts). File modes are a file
/// system's; the store's side is checked in tests/s3.rs.
#[test]
fn s3_backend_conforms() {
    let w = common::seaweedfs::Weed::start();
    let env = w.env();
    let loc = Location::parse(&format!("s3://{}/vault", common::seaweedfs::BUCKET)).expect("parse");
    let Location::S3(target) = loc else {
        panic!("not an S3 location")
    };
    let mut s3 = vault::transport::S3Transport::connect_with_env(
        &target,
        &ConnectOptions::default(),
        &|k: &str| env.get(k).cloned(),
    )
    .unwrap_or_else(|e| panic!("connect: {e}\n{}", w.logs()));
    conformance(&mut s3);
}
