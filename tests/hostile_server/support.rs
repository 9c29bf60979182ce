//! What every hostile-server case shares: running the binary and checking
//! the rules every outcome must follow, a pristine vault to tamper with, and
//! forged objects built through the real codec (`vault::remote::codec`), so
//! that what the cases forge is what vault itself would write.

use std::fs;
use std::path::{Path, PathBuf};

pub use crate::common::cli::{Client, copy_dir, files_under};
pub use crate::common::pattern;
pub use crate::common::sshd::{ClientHome, Sshd};
use rand_core::Rng;
use vault::crypto::file::{FILE_KEY_LEN, payload_key};
use vault::crypto::header::NONCE_LEN;
use vault::crypto::{FileKey, Suite, X25519Recipient, bound, os_rng, pipeline};
pub use vault::remote::Metadata;
use vault::remote::codec::{self, head};

pub const SIZE: usize = 200_000;
/// Header length with one X25519 stanza: 12 + 83 + 48.
pub const HEADER_LEN: usize = 143;

/// `name -> id` from `vault ls --json`.
pub fn ids(c: &Client, url: &str) -> Vec<(String, String)> {
    c.ls_json(url, "ls --json")["objects"]
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

pub fn id_for(c: &Client, url: &str, name: &str) -> String {
    ids(c, url)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
        .1
}

/// What a command printed, checked for the rules every case shares: no
/// panic, every stderr line is vault's (`vault: ...`), no raw control
/// characters anywhere, at most one error line.
pub struct Run {
    pub ok: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

pub fn run(c: &Client, args: &[&str], what: &str) -> Run {
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
pub fn ls_is_safe(c: &Client, url: &str, what: &str) -> String {
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
pub fn is_display_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}'..='\u{200f}'
        )
}

/// Pull `name` into a fresh `-C DIR`; the result is either a failure that
/// leaves DIR empty or exactly one of the `allowed` contents. Returns
/// whether it succeeded.
pub fn pull_is_safe(c: &Client, url: &str, name: &str, allowed: &[&[u8]], what: &str) -> bool {
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

pub fn rand_tag() -> String {
    let mut b = [0u8; 6];
    rand_core::Rng::fill_bytes(&mut os_rng(), &mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A pristine vault with `a.txt` and `b.txt` (same size, different bytes),
/// pushed by `c` with the real binary.
pub struct Fixture {
    pub c: Client,
    /// `c`'s public key, which a co-recipient can forge objects to.
    pub me: X25519Recipient,
    pub pristine: PathBuf,
    pub a: Vec<u8>,
    pub b: Vec<u8>,
}

impl Fixture {
    pub fn new() -> Fixture {
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
        let me = crate::common::cli::public_key(&c).parse().unwrap();
        Fixture {
            c,
            me,
            pristine,
            a,
            b,
        }
    }

    /// A copy of the pristine vault, its URL, and the ids of a and b.
    pub fn copy(&self, tag: &str) -> (PathBuf, String, String, String) {
        let dir = self.c.path(&format!("v-{tag}"));
        copy_dir(&self.pristine, &dir);
        let url = dir.to_str().unwrap().to_owned();
        let a = id_for(&self.c, &url, "a.txt");
        let b = id_for(&self.c, &url, "b.txt");
        (dir, url, a, b)
    }
}

/// Where object `id`'s head is in the vault folder `dir`: its newest
/// revision present (the codec's path), or revision 1 if none is.
pub fn head_file(dir: &Path, id: &str) -> PathBuf {
    let newest = fs::read_dir(dir.join("objects"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            match codec::ObjectFile::parse(&n) {
                Some(codec::ObjectFile::Head(i, rev)) if i == id => Some(rev),
                _ => None,
            }
        })
        .max()
        .unwrap_or(1);
    dir.join(codec::head_path(id, newest))
}

/// Where object `id`'s payload is in the vault folder `dir`.
pub fn payload_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(codec::payload_path(id))
}

/// Forget what client `c` cached (its next command is a cold one).
pub fn cold(c: &Client) {
    let _ = fs::remove_dir_all(c.path(".cache/vault"));
}

pub fn edit(p: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(p).unwrap();
    f(&mut b);
    fs::write(p, b).unwrap();
}

pub type Tamper = Box<dyn Fn(&Path, &str, &str)>;

pub fn flip(at: fn(usize) -> usize, which: fn(&Path, &str) -> PathBuf) -> Tamper {
    Box::new(move |dir, a, _| {
        edit(&which(dir, a), |b| {
            let i = at(b.len());
            b[i] ^= 0x01;
        })
    })
}

pub fn cut(to: fn(usize) -> usize, which: fn(&Path, &str) -> PathBuf) -> Tamper {
    Box::new(move |dir, a, _| edit(&which(dir, a), |b| b.truncate(to(b.len()))))
}

/// Swap a's and b's files of one kind (`which`: heads or payloads).
pub fn swap(which: fn(&Path, &str) -> PathBuf) -> Tamper {
    Box::new(move |dir, a, b| {
        let (fa, fb) = (which(dir, a), which(dir, b));
        let tmp = dir.join("swap");
        fs::rename(&fa, &tmp).unwrap();
        fs::rename(&fb, &fa).unwrap();
        fs::rename(&tmp, &fb).unwrap();
    })
}

/// Write an object sealed to `to` with any name, bypassing every check, as
/// a co-recipient (anyone who knows our public key) can.
pub fn forge(dir: &Path, to: X25519Recipient, name: &str, data: &[u8]) {
    forge_with(dir, to, name, data, |_| {});
}

/// [`forge`], with the sealed metadata changed by `edit` first.
pub fn forge_with(
    dir: &Path,
    to: X25519Recipient,
    name: &str,
    data: &[u8],
    edit: impl FnOnce(&mut Metadata),
) {
    forge_for(dir, &[to], name, data, edit);
}

/// [`forge_with`], sealed to every recipient in `to` (bound stanzas, in
/// that order, and that list in the metadata before `edit`).
pub fn forge_for(
    dir: &Path,
    to: &[X25519Recipient],
    name: &str,
    data: &[u8],
    edit: impl FnOnce(&mut Metadata),
) {
    let mut rng = os_rng();
    let suite = Suite::ChaCha20Poly1305;
    let fk = FileKey::generate(&mut rng, FILE_KEY_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let list: Vec<&dyn vault::crypto::Recipient> = to
        .iter()
        .map(|r| r as &dyn vault::crypto::Recipient)
        .collect();
    let header = bound::header(suite, &fk, nonce, &list).unwrap();
    let id = codec::new_id(&mut rng);
    let meta = Metadata {
        version: 2,
        id: id.clone(),
        rev: 1,
        inline: false,
        name: name.to_owned(),
        size: data.len() as u64,
        mtime: 0,
        created: vault::remote::now(),
        sha256: None,
        recipients: to.iter().map(ToString::to_string).collect(),
    };
    let mut meta = meta;
    edit(&mut meta);
    let h = head::build(&mut rng, &header, &fk, &meta, None);
    let key = payload_key(suite, &fk, &header.nonce);
    let (_, p) = pipeline::seal_payload(key, &mut &data[..], Vec::new(), 1).unwrap();
    fs::write(dir.join(codec::head_path(&id, 1)), h).unwrap();
    fs::write(payload_file(dir, &id), p).unwrap();
}

pub fn hostile_names() -> Vec<(&'static str, String)> {
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
