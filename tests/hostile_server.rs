//! The server is the adversary: it changes, cuts, swaps, replays and
//! deletes stored objects, and a co-recipient (someone who may seal to us)
//! forges objects with hostile names. Every case must end in a clear
//! one-line error or a safe result: never a panic, never partial output,
//! never bytes that were not authenticated, never a write outside `-C DIR`,
//! never a raw control character on the terminal.
//!
//! Most cases tamper with a local-folder vault (the layout is the same as
//! on a server); `over_sftp` repeats a representative set through a real
//! sshd. Each test prints how many cases it ran.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::cli::{Client, copy_dir, files_under};
use common::pattern;
use common::sshd::{ClientHome, Sshd};
use vault::crypto::file::{new_header, payload_key};
use vault::crypto::{Suite, X25519Recipient, os_rng, pipeline};
use vault::remote::Metadata;

const SIZE: usize = 200_000;
/// Header length with one X25519 stanza: 12 + 83 + 48.
const HEADER_LEN: usize = 143;

/// `name -> id` from `vault ls --json`.
fn ids(c: &Client, url: &str) -> Vec<(String, String)> {
    let out = c.vault(&["ls", "--json", url]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn id_for(c: &Client, url: &str, name: &str) -> String {
    ids(c, url)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
        .1
}

/// What a command printed, checked for the rules every case shares: no
/// panic, every stderr line is vault's (`vault: ...`), no raw control
/// characters anywhere, at most one error line.
struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(c: &Client, args: &[&str], what: &str) -> Run {
    let out = c.vault(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{what}: exit {code:?} (a crash?): {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    for line in stderr.lines() {
        assert!(line.starts_with("vault: "), "{what}: stray line {line:?}");
        assert!(
            !line.chars().any(is_display_hazard),
            "{what}: raw control character in {line:?}"
        );
    }
    let errors = stderr
        .lines()
        .filter(|l| l.starts_with("vault: error:"))
        .count();
    if code == Some(0) {
        assert_eq!(errors, 0, "{what}: {stderr}");
    } else {
        assert_eq!(errors, 1, "{what}: want one error line: {stderr}");
    }
    Run {
        ok: code == Some(0),
        stdout: out.stdout,
        stderr,
    }
}

/// `ls` must never print a terminal control character (the only one
/// allowed is the newline ending each line) nor fail because of a bad
/// object.
fn ls_is_safe(c: &Client, url: &str, what: &str) -> String {
    let r = run(c, &["ls", url], &format!("{what}: ls"));
    assert!(r.ok, "{what}: ls failed: {}", r.stderr);
    let text = String::from_utf8(r.stdout).expect("ls prints UTF-8");
    for line in text.lines() {
        assert!(
            !line.chars().any(is_display_hazard),
            "{what}: ls printed {line:?}"
        );
    }
    let r = run(c, &["ls", "--long", url], &format!("{what}: ls --long"));
    assert!(r.ok);
    assert!(!String::from_utf8_lossy(&r.stdout).contains('\u{1b}'));
    text
}

/// Characters that must not reach a terminal raw: controls (C0, DEL, C1)
/// and the bidirectional overrides that can disguise a name.
fn is_display_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}'..='\u{200f}'
        )
}

/// Pull `name` into a fresh `-C DIR`; the result is either a failure that
/// leaves DIR empty or exactly one of the `allowed` contents. Returns
/// whether it succeeded.
fn pull_is_safe(c: &Client, url: &str, name: &str, allowed: &[&[u8]], what: &str) -> bool {
    let work = c.path(&format!("work-{}", rand_tag()));
    let out = work.join("out");
    fs::create_dir_all(&out).unwrap();
    let r = run(
        c,
        &["pull", url, name, "-C", out.to_str().unwrap()],
        &format!("{what}: pull"),
    );
    let files = files_under(&work);
    if r.ok {
        assert_eq!(files.len(), 1, "{what}: {files:?}");
        assert!(files[0].starts_with(&out), "{what}: wrote {:?}", files[0]);
        let got = fs::read(&files[0]).unwrap();
        assert!(
            allowed.contains(&got.as_slice()),
            "{what}: pulled bytes that are no authentic version ({} bytes)",
            got.len()
        );
    } else {
        assert!(files.is_empty(), "{what}: partial output {files:?}");
        // Nothing beside DIR either.
        let entries: Vec<_> = fs::read_dir(&work).unwrap().collect();
        assert_eq!(entries.len(), 1, "{what}");
    }
    fs::remove_dir_all(&work).unwrap();
    r.ok
}

fn rand_tag() -> String {
    let mut b = [0u8; 6];
    rand_core::Rng::fill_bytes(&mut os_rng(), &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A pristine vault with `a.txt` and `b.txt` (same size, different bytes),
/// pushed by `c` with the real binary.
struct Fixture {
    c: Client,
    pristine: PathBuf,
    a: Vec<u8>,
    b: Vec<u8>,
}

impl Fixture {
    fn new() -> Fixture {
        let c = Client::new(ClientHome::bare());
        let pristine = c.path("pristine");
        let url = pristine.to_str().unwrap().to_owned();
        let a = pattern(SIZE, 1);
        let b = pattern(SIZE, 2);
        c.write("a.txt", &a);
        c.write("b.txt", &b);
        c.vault(&["push", "-q", "a.txt", "b.txt", &url])
            .assert()
            .success();
        Fixture { c, pristine, a, b }
    }

    /// A copy of the pristine vault, its URL, and the ids of a and b.
    fn copy(&self, tag: &str) -> (PathBuf, String, String, String) {
        let dir = self.c.path(&format!("v-{tag}"));
        copy_dir(&self.pristine, &dir);
        let url = dir.to_str().unwrap().to_owned();
        let a = id_for(&self.c, &url, "a.txt");
        let b = id_for(&self.c, &url, "b.txt");
        (dir, url, a, b)
    }
}

fn head(dir: &Path, id: &str) -> PathBuf {
    dir.join("objects").join(format!("{id}.h"))
}

fn payload(dir: &Path, id: &str) -> PathBuf {
    dir.join("objects").join(format!("{id}.p"))
}

fn edit(p: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(p).unwrap();
    f(&mut b);
    fs::write(p, b).unwrap();
}

type Tamper = Box<dyn Fn(&Path, &str, &str)>;

fn flip(at: fn(usize) -> usize, which: fn(&Path, &str) -> PathBuf) -> Tamper {
    Box::new(move |dir, a, _| {
        edit(&which(dir, a), |b| {
            let i = at(b.len());
            b[i] ^= 0x01;
        })
    })
}

fn cut(to: fn(usize) -> usize, which: fn(&Path, &str) -> PathBuf) -> Tamper {
    Box::new(move |dir, a, _| edit(&which(dir, a), |b| b.truncate(to(b.len()))))
}

/// Byte-level tampering with `a.txt`'s object: every case must fail to
/// pull `a.txt` (or, where marked, be harmless), with one error line and
/// no output; `b.txt` must still pull.
#[test]
fn tampered_objects_fail_cleanly() {
    let fx = Fixture::new();
    let m = HEADER_LEN; // first byte of the sealed metadata
    let cases: Vec<(&str, Tamper)> = vec![
        ("payload: flip first byte", flip(|_| 0, payload)),
        ("payload: flip a byte in chunk 2", flip(|_| 70_000, payload)),
        ("payload: flip last byte (tag)", flip(|n| n - 1, payload)),
        ("payload: cut to 0", cut(|_| 0, payload)),
        ("payload: cut one chunk", cut(|n| n - 65_552, payload)),
        ("payload: cut 1 byte", cut(|n| n - 1, payload)),
        ("payload: cut the last tag", cut(|n| n - 16, payload)),
        (
            "payload: extend by a byte",
            Box::new(|d, a, _| edit(&payload(d, a), |b| b.push(0))),
        ),
        (
            "payload: duplicate the first chunk",
            Box::new(|d, a, _| {
                edit(&payload(d, a), |b| {
                    let first = b[..65_552].to_vec();
                    b.splice(0..0, first);
                })
            }),
        ),
        (
            "payload: same size, other content",
            Box::new(|d, a, _| {
                let n = fs::metadata(payload(d, a)).unwrap().len() as usize;
                fs::write(payload(d, a), vec![0u8; n]).unwrap();
            }),
        ),
        ("head: flip magic", flip(|_| 0, head)),
        ("head: flip version", flip(|_| 8, head)),
        ("head: flip suite", flip(|_| 9, head)),
        ("head: flip stanza count", flip(|_| 11, head)),
        ("head: flip stanza kind", flip(|_| 12, head)),
        ("head: flip stanza length", flip(|_| 14, head)),
        ("head: flip ephemeral share", flip(|_| 20, head)),
        ("head: flip wrapped file key", flip(|_| 80, head)),
        ("head: flip header nonce", flip(|_| 100, head)),
        ("head: flip header mac", flip(|_| 130, head)),
        ("head: flip metadata salt", flip(|_| HEADER_LEN + 3, head)),
        (
            "head: flip metadata length",
            flip(|_| HEADER_LEN + 19, head),
        ),
        (
            "head: flip metadata record",
            flip(|_| HEADER_LEN + 40, head),
        ),
        ("head: flip metadata tag", flip(|n| n - 1, head)),
        ("head: cut to 0", cut(|_| 0, head)),
        ("head: cut into the header", cut(|_| 60, head)),
        (
            "head: cut to the header (no metadata)",
            cut(|_| HEADER_LEN, head),
        ),
        (
            "head: cut the header by a byte",
            cut(|_| HEADER_LEN - 1, head),
        ),
        ("head: cut 1 byte", cut(|n| n - 1, head)),
        ("head: cut the metadata tag", cut(|n| n - 16, head)),
        (
            "head: extend by a byte",
            Box::new(|d, a, _| edit(&head(d, a), |b| b.push(0))),
        ),
        (
            "head: over 256 KiB",
            Box::new(|d, a, _| edit(&head(d, a), |b| b.resize(256 * 1024 + 1, 0))),
        ),
        (
            "swap payloads",
            Box::new(|d, a, b| {
                let (pa, pb) = (payload(d, a), payload(d, b));
                let tmp = d.join("swap");
                fs::rename(&pa, &tmp).unwrap();
                fs::rename(&pb, &pa).unwrap();
                fs::rename(&tmp, &pb).unwrap();
            }),
        ),
        (
            "swap heads",
            Box::new(|d, a, b| {
                let (ha, hb) = (head(d, a), head(d, b));
                let tmp = d.join("swap");
                fs::rename(&ha, &tmp).unwrap();
                fs::rename(&hb, &ha).unwrap();
                fs::rename(&tmp, &hb).unwrap();
            }),
        ),
        (
            "a's header with b's sealed metadata",
            Box::new(move |d, a, b| {
                let hb = fs::read(head(d, b)).unwrap();
                edit(&head(d, a), |h| {
                    h.truncate(m);
                    h.extend_from_slice(&hb[m..]);
                })
            }),
        ),
        (
            "b's header with a's sealed metadata",
            Box::new(move |d, a, b| {
                let ha = fs::read(head(d, a)).unwrap();
                edit(&head(d, a), |h| {
                    let hb = fs::read(head(d, b)).unwrap();
                    *h = hb[..m].to_vec();
                    h.extend_from_slice(&ha[m..]);
                })
            }),
        ),
        (
            "delete the payload",
            Box::new(|d, a, _| fs::remove_file(payload(d, a)).unwrap()),
        ),
        (
            "delete the head",
            Box::new(|d, a, _| fs::remove_file(head(d, a)).unwrap()),
        ),
        (
            "payload replaced by a folder",
            Box::new(|d, a, _| {
                fs::remove_file(payload(d, a)).unwrap();
                fs::create_dir(payload(d, a)).unwrap();
            }),
        ),
        (
            "head replaced by a folder",
            Box::new(|d, a, _| {
                fs::remove_file(head(d, a)).unwrap();
                fs::create_dir(head(d, a)).unwrap();
            }),
        ),
        (
            "head is a symlink to a system file",
            Box::new(|d, a, _| {
                fs::remove_file(head(d, a)).unwrap();
                std::os::unix::fs::symlink("/etc/passwd", head(d, a)).unwrap();
            }),
        ),
    ];
    let n = cases.len();
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, a, b) = fx.copy(&i.to_string());
        tamper(&dir, &a, &b);
        ls_is_safe(&fx.c, &url, what);
        let ok = pull_is_safe(&fx.c, &url, "a.txt", &[], what);
        assert!(!ok, "{what}: pulled");
        // The untouched object is unaffected, unless the case swapped it.
        if !what.starts_with("swap") && !what.starts_with("b's") {
            assert!(
                pull_is_safe(&fx.c, &url, "b.txt", &[&fx.b], what),
                "{what}: b.txt"
            );
        }
    }
    eprintln!("hostile server: {n} tampering cases");
}

/// Stray and unknown files in the vault are ignored or reported; they
/// never break `ls` or `pull` of good objects.
#[test]
fn stray_files_are_ignored() {
    let fx = Fixture::new();
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "README in objects/",
            Box::new(|d, _, _| fs::write(d.join("objects/README"), "hi").unwrap()),
        ),
        (
            "upper-case id",
            Box::new(|d, a, _| {
                fs::copy(
                    head(d, a),
                    d.join("objects").join(format!("{}.h", a.to_uppercase())),
                )
                .unwrap();
            }),
        ),
        (
            "short id",
            Box::new(|d, a, _| {
                fs::copy(head(d, a), d.join("objects/abc.h")).unwrap();
            }),
        ),
        (
            "traversal-looking file name",
            Box::new(|d, _, _| fs::write(d.join("objects/..h"), "x").unwrap()),
        ),
        (
            "a sub-folder in objects/",
            Box::new(|d, _, _| fs::create_dir_all(d.join("objects/sub/deeper")).unwrap()),
        ),
        (
            "an empty head with a payload",
            Box::new(|d, _, _| {
                let id = "0".repeat(32);
                fs::write(head(d, &id), b"").unwrap();
                fs::write(payload(d, &id), b"").unwrap();
            }),
        ),
        (
            "a random head with a payload",
            Box::new(|d, _, _| {
                let id = "1".repeat(32);
                fs::write(head(d, &id), pattern(500, 9)).unwrap();
                fs::write(payload(d, &id), pattern(500, 8)).unwrap();
            }),
        ),
        (
            "a copy of a's head under a new id",
            Box::new(|d, a, _| {
                let id = "2".repeat(32);
                fs::copy(head(d, a), head(d, &id)).unwrap();
                fs::copy(payload(d, a), payload(d, &id)).unwrap();
            }),
        ),
        (
            "an orphan payload",
            Box::new(|d, _, _| fs::write(payload(d, &"3".repeat(32)), b"x").unwrap()),
        ),
        (
            "junk in tmp/",
            Box::new(|d, _, _| fs::write(d.join("tmp/x.p.tmp"), pattern(1000, 3)).unwrap()),
        ),
        (
            "junk at the top",
            Box::new(|d, _, _| fs::write(d.join("notes.txt"), "x").unwrap()),
        ),
        (
            "a symlink to / in objects/",
            Box::new(|d, _, _| std::os::unix::fs::symlink("/", d.join("objects/root")).unwrap()),
        ),
    ];
    let n = cases.len();
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, a, b) = fx.copy(&format!("s{i}"));
        tamper(&dir, &a, &b);
        let listing = ls_is_safe(&fx.c, &url, what);
        assert!(listing.lines().any(|l| l == "b.txt"), "{what}: {listing}");
        // a.txt may appear twice (the copied object is authentic): either
        // copy is a.txt's true content.
        assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what), "{what}");
        assert!(pull_is_safe(&fx.c, &url, "b.txt", &[&fx.b], what), "{what}");
    }
    eprintln!("hostile server: {n} stray-file cases");
}

/// Rollbacks: the server puts back an older head (or object). An older
/// *authentic* version cannot be detected without state kept between
/// runs, but a pull must then return exactly that older version, never a
/// mix of one version's head and another's payload.
#[test]
fn replayed_versions_are_authentic_or_refused() {
    let fx = Fixture::new();
    let bob = Client::new(ClientHome::bare());
    fx.c.vault(&["contacts", "add", "bob", &common::cli::public_key(&bob)])
        .assert()
        .success();
    let mut count = 0;

    // 1. An old head after share: undetectable; Alice still gets the true
    //    content, Bob silently loses access.
    let (dir, url, a, _) = fx.copy("r1");
    let before = fs::read(head(&dir, &a)).unwrap();
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    assert!(pull_is_safe(&bob, &url, "a.txt", &[&fx.a], "after share"));
    fs::write(head(&dir, &a), &before).unwrap();
    assert!(pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[&fx.a],
        "share rollback"
    ));
    assert!(!pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[],
        "share rollback, bob"
    ));
    count += 1;

    // 2. An old head after unshare: undetectable, and it gives the removed
    //    recipient access again (unshare never revoked the file key).
    let (dir, url, a, _) = fx.copy("r2");
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let shared = fs::read(head(&dir, &a)).unwrap();
    fx.c.vault(&["unshare", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    assert!(!pull_is_safe(&bob, &url, "a.txt", &[], "after unshare"));
    fs::write(head(&dir, &a), &shared).unwrap();
    assert!(pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[&fx.a],
        "unshare rollback"
    ));
    count += 1;

    // 3. An old head after `unshare --rekey`, beside the new payload: the
    //    old file key does not open the new payload.
    let (dir, url, a, _) = fx.copy("r3");
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let shared = fs::read(head(&dir, &a)).unwrap();
    fx.c.vault(&["unshare", "--rekey", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let new = id_for(&fx.c, &url, "a.txt");
    fs::write(head(&dir, &new), &shared).unwrap();
    assert!(!pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[],
        "rekey: old head, bob"
    ));
    assert!(!pull_is_safe(&fx.c, &url, "a.txt", &[], "rekey: old head"));
    count += 1;

    // 4-6. push --force replaces a.txt by a new version of the same size.
    let v2 = pattern(SIZE, 7);
    let force = |tag: &str| {
        let (dir, url, a, _) = fx.copy(tag);
        let (old_h, old_p) = (
            fs::read(head(&dir, &a)).unwrap(),
            fs::read(payload(&dir, &a)).unwrap(),
        );
        fx.c.write("a.txt", &v2);
        fx.c.vault(&["push", "-q", "--force", "a.txt", &url])
            .assert()
            .success();
        let new = id_for(&fx.c, &url, "a.txt");
        assert!(!head(&dir, &a).exists());
        (dir, url, a, new, old_h, old_p)
    };
    // 4. The whole old object comes back: authentic, both versions listed,
    //    a pull gives one of them whole.
    let (dir, url, a, _, old_h, old_p) = force("r4");
    fs::write(head(&dir, &a), &old_h).unwrap();
    fs::write(payload(&dir, &a), &old_p).unwrap();
    assert!(pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[&fx.a, &v2],
        "old object back"
    ));
    count += 1;
    // 5. The old head over the new object's head: refused (no mix).
    let (dir, url, _, new, old_h, _) = force("r5");
    fs::write(head(&dir, &new), &old_h).unwrap();
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[],
        "old head, new payload"
    ));
    count += 1;
    // 6. The old payload under the new head: refused.
    let (dir, url, _, new, _, old_p) = force("r6");
    fs::write(payload(&dir, &new), &old_p).unwrap();
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[],
        "new head, old payload"
    ));
    count += 1;
    // 7. The old head alone comes back (its payload is gone): reported,
    //    and the new version still pulls.
    let (dir, url, a, _, old_h, _) = force("r7");
    fs::write(head(&dir, &a), &old_h).unwrap();
    assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&v2], "old head alone"));
    count += 1;

    // 8. An old head after mv: the object is back under its old name; its
    //    content is authentic.
    let (dir, url, a, _) = fx.copy("r8");
    let before = fs::read(head(&dir, &a)).unwrap();
    fx.c.vault(&["mv", &url, "a.txt", "renamed.txt"])
        .assert()
        .success();
    fs::write(head(&dir, &a), &before).unwrap();
    assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], "mv rollback"));
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "renamed.txt",
        &[],
        "mv rollback"
    ));
    count += 1;

    eprintln!("hostile server: {count} replay cases");
}

/// Write an object sealed to `to` with any name, bypassing every check, as
/// a co-recipient (anyone who knows our public key) can.
fn forge(dir: &Path, to: X25519Recipient, name: &str, data: &[u8]) {
    forge_with(dir, to, name, data, |_| {});
}

/// [`forge`], with the sealed metadata changed by `edit` first.
fn forge_with(
    dir: &Path,
    to: X25519Recipient,
    name: &str,
    data: &[u8],
    edit: impl FnOnce(&mut Metadata),
) {
    let mut rng = os_rng();
    let suite = Suite::ChaCha20Poly1305;
    let (header, fk) = new_header(&mut rng, suite, &[&to]).unwrap();
    let hb = header.to_bytes();
    let meta = Metadata {
        name: name.to_owned(),
        size: data.len() as u64,
        mtime: 0,
        created: vault::remote::now(),
        recipients: vec![to],
    };
    let mut meta = meta;
    edit(&mut meta);
    let mut h = hb.clone();
    h.extend_from_slice(&meta.seal(&mut rng, &fk, &hb));
    let key = payload_key(suite, &fk, &header.nonce);
    let (_, p) = pipeline::seal_payload(key, &mut &data[..], Vec::new(), 1).unwrap();
    let id = format!("{}{}", rand_tag(), "f".repeat(20));
    fs::write(head(dir, &id), h).unwrap();
    fs::write(payload(dir, &id), p).unwrap();
}

fn hostile_names() -> Vec<(&'static str, String)> {
    let abs = std::env::temp_dir().join(format!("vault-hostile-{}", rand_tag()));
    vec![
        ("parent escape", "../escaped".into()),
        ("deep parent escape", "a/../../escaped".into()),
        ("absolute path", abs.to_str().unwrap().to_owned()),
        ("NUL", "a\0b".into()),
        ("carriage return", "report.pdf\rinnocent".into()),
        ("newline", "a\nvault: error: fake".into()),
        ("ANSI colour", "\u{1b}[31mred".into()),
        ("ANSI clear screen", "\u{1b}[2J\u{1b}[H".into()),
        ("OSC title", "\u{1b}]0;owned\u{7}x".into()),
        ("OSC 52 clipboard", "\u{1b}]52;c;ZWNobyBoaQ==\u{7}".into()),
        ("C1 CSI", "\u{9b}31mx".into()),
        ("DEL", "a\u{7f}b".into()),
        ("bell", "a\u{7}b".into()),
        ("too long (1025 bytes)", "n".repeat(1025)),
        ("long segment (1000 bytes)", "n".repeat(1000)),
        ("dot", ".".into()),
        ("dot-dot", "..".into()),
        ("dot segment", "a/./b".into()),
        ("dot-dot segment", "a/../b".into()),
        ("empty segment", "a//b".into()),
        ("trailing slash", "a/".into()),
        ("empty", String::new()),
        ("backslashes", "..\\..\\escaped".into()),
        ("right-to-left override", "invoice\u{202e}fdp.exe".into()),
        ("right-to-left isolate", "a\u{2067}b\u{2069}".into()),
        ("line separator", "a\u{2028}vault: error: fake".into()),
        ("a folder of an existing name", "b.txt/inside".into()),
    ]
}

/// A co-recipient pushes objects with hostile names. `ls` must stay safe;
/// pulling the name either fails cleanly or writes inside DIR.
#[test]
fn hostile_names_from_a_co_recipient() {
    let fx = Fixture::new();
    let me: X25519Recipient = common::cli::public_key(&fx.c).parse().unwrap();
    let (dir, url, _, _) = fx.copy("names");
    let names = hostile_names();
    for (_, name) in &names {
        forge(&dir, me, name, b"forged");
    }
    let listing = ls_is_safe(&fx.c, &url, "hostile names");
    assert!(listing.lines().any(|l| l == "b.txt"), "{listing}");
    let json = run(&fx.c, &["ls", "--json", &url], "ls --json");
    assert!(json.ok && serde_json::from_slice::<serde_json::Value>(&json.stdout).is_ok());
    for (what, name) in &names {
        if name.contains('\0') {
            continue; // cannot be an argument; the listing case covers it
        }
        pull_is_safe(&fx.c, &url, name, &[b"forged"], what);
        if name.starts_with('/') {
            assert!(!Path::new(name).exists(), "{what}: wrote {name}");
        }
    }
    assert!(!fx.c.path("escaped").exists());
    // Each name also alone in a vault (so that the listing's other objects
    // do not hide anything).
    for (i, (what, name)) in names.iter().enumerate() {
        let d = fx.c.path(&format!("one-{i}"));
        copy_dir(&fx.pristine, &d);
        forge(&d, me, name, b"forged");
        ls_is_safe(&fx.c, d.to_str().unwrap(), what);
    }
    eprintln!("hostile server: {} hostile-name cases", names.len());
}

/// A co-recipient forges metadata numbers: sizes and times at their
/// limits, a size that does not match the payload, a recipient list that
/// does not match the header. Listing (short and long) stays safe and a
/// pull fails cleanly or returns the authentic payload.
#[test]
fn hostile_metadata_values() {
    let fx = Fixture::new();
    let me: X25519Recipient = common::cli::public_key(&fx.c).parse().unwrap();
    let other = vault::crypto::X25519Identity::generate(&mut os_rng()).recipient();
    type Edit = Box<dyn Fn(&mut Metadata)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("size u64::MAX", Box::new(|m| m.size = u64::MAX)),
        ("size too small", Box::new(|m| m.size = 1)),
        ("size too large", Box::new(|m| m.size += 1)),
        ("size 0", Box::new(|m| m.size = 0)),
        ("mtime u64::MAX", Box::new(|m| m.mtime = u64::MAX)),
        (
            "mtime past year 9999",
            Box::new(|m| m.mtime = 253_402_300_800),
        ),
        ("mtime i64::MAX + 1", Box::new(|m| m.mtime = 1 << 63)),
        ("created u64::MAX", Box::new(|m| m.created = u64::MAX)),
        ("no recipients listed", Box::new(|m| m.recipients.clear())),
        (
            "two recipients listed",
            Box::new(move |m| m.recipients.push(other)),
        ),
        (
            "someone else listed",
            Box::new(move |m| m.recipients = vec![other]),
        ),
    ];
    let data = pattern(70_000, 4);
    for (i, (what, edit)) in cases.iter().enumerate() {
        let (dir, url, _, _) = fx.copy(&format!("m{i}"));
        let name = format!("forged-{i}");
        forge_with(&dir, me, &name, &data, edit);
        ls_is_safe(&fx.c, &url, what);
        pull_is_safe(&fx.c, &url, &name, &[&data], what);
        assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what));
    }
    eprintln!("hostile server: {} hostile-metadata cases", cases.len());
}

/// A representative set through a real sshd.
#[test]
fn over_sftp() {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    let me: X25519Recipient = common::cli::public_key(&c).parse().unwrap();
    let (a, b) = (pattern(SIZE, 1), pattern(SIZE, 2));
    c.write("a.txt", &a);
    c.write("b.txt", &b);
    let mut count = 0;
    let setup = |sub: &str| {
        let url = sshd.url(sub);
        c.vault(&["push", "-q", "a.txt", "b.txt", &url])
            .assert()
            .success();
        let dir = sshd.server_root().join(sub);
        let ia = id_for(&c, &url, "a.txt");
        let ib = id_for(&c, &url, "b.txt");
        (dir, url, ia, ib)
    };
    let cases: Vec<(&str, Tamper)> = vec![
        ("payload: flip a byte", flip(|_| 70_000, payload)),
        ("payload: cut 1 byte", cut(|n| n - 1, payload)),
        ("head: flip metadata", flip(|n| n - 1, head)),
        ("head: cut to the header", cut(|_| HEADER_LEN, head)),
        (
            "swap heads",
            Box::new(|d, a, b| {
                let (ha, hb) = (head(d, a), head(d, b));
                let (x, y) = (fs::read(&ha).unwrap(), fs::read(&hb).unwrap());
                fs::write(&ha, y).unwrap();
                fs::write(&hb, x).unwrap();
            }),
        ),
        (
            "delete the payload",
            Box::new(|d, a, _| fs::remove_file(payload(d, a)).unwrap()),
        ),
    ];
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, ia, ib) = setup(&format!("t{i}"));
        tamper(&dir, &ia, &ib);
        ls_is_safe(&c, &url, what);
        assert!(!pull_is_safe(&c, &url, "a.txt", &[], what), "{what}");
        count += 1;
    }
    let (dir, url, _, _) = setup("names");
    for (what, name) in [
        ("escape", "../escaped"),
        ("OSC", "\u{1b}]0;owned\u{7}"),
        ("absolute", "/tmp/vault-hostile-sftp"),
    ] {
        forge(&dir, me, name, b"forged");
        ls_is_safe(&c, &url, what);
        pull_is_safe(&c, &url, name, &[b"forged"], what);
        count += 1;
    }
    assert!(!Path::new("/tmp/vault-hostile-sftp").exists());
    eprintln!("hostile server: {count} cases over sftp");
}
