//! Every fuzzing seed and every input that ever crashed a fuzz target,
//! replayed through the same harnesses under plain `cargo test` (the
//! library's unit tests), without a sanitizer or cargo-fuzz.
//!
//! Inputs live in `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`;
//! `scripts/fuzz` copies new crashes into the latter. A harness that panics
//! on any of them fails the test, naming the file.
//!
//! `cargo test --lib -- --ignored --exact fuzzing::regressions::write_seeds`
//! (what `scripts/fuzz-seeds` runs) rewrites `fuzz/seeds/` from `vectors/`
//! and [`super::seeds`].

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use super::{Harness, TARGETS, seeds};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Files in `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.expect("reading a folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Run `harness` on every file in `dir`; the files it panicked on.
fn replay(harness: Harness, dir: &Path) -> (usize, Vec<PathBuf>) {
    let mut failed = Vec::new();
    let inputs = files(dir);
    for path in &inputs {
        let data = fs::read(path).expect("reading an input");
        if catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            failed.push(path.clone());
        }
    }
    (inputs.len(), failed)
}

/// Replay one kind of input (`seeds` or `regressions`) for every target.
fn replay_all(kind: &str) -> usize {
    let root = fuzz_dir().join(kind);
    // A folder that names no target would be silently skipped: refuse it.
    for dir in fs::read_dir(&root).into_iter().flatten() {
        let name = dir.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/{kind}/{name} is not a fuzz target"
        );
    }
    let mut total = 0;
    let mut failed = Vec::new();
    for (name, harness) in TARGETS {
        let (n, f) = replay(*harness, &root.join(name));
        total += n;
        failed.extend(f);
    }
    assert!(failed.is_empty(), "harnesses panicked on {failed:#?}");
    total
}

#[test]
fn every_seed_passes_its_harness() {
    for (name, _) in TARGETS {
        let n = files(&fuzz_dir().join("seeds").join(name)).len();
        assert!(n > 0, "no seeds for {name} (run scripts/fuzz-seeds)");
    }
    assert!(replay_all("seeds") > 0);
}

#[test]
fn every_past_crash_passes_its_harness() {
    replay_all("regressions");
}

#[test]
fn every_harness_has_a_fuzz_target() {
    for (name, _) in TARGETS {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text.contains(&format!("vault::fuzzing::{name}(")),
            "{} must call vault::fuzzing::{name}",
            path.display()
        );
    }
}

#[test]
fn a_panicking_harness_fails_the_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("input"), b"x").expect("write");
    let (n, failed) = replay(|_| panic!("deliberate"), dir.path());
    assert_eq!((n, failed.len()), (1, 1));
    let (n, failed) = replay(|_| {}, dir.path());
    assert_eq!((n, failed.len()), (1, 0));
}

/// The raw bytes of a vector file (after its text header and blank line),
/// or `None` for compressed ones.
fn vector_body(path: &Path) -> Option<Vec<u8>> {
    let bytes = fs::read(path).ok()?;
    let at = bytes.windows(2).position(|w| w == b"\n\n")?;
    if bytes[..at].windows(10).any(|w| w == b"compressed") {
        return None;
    }
    Some(bytes[at + 2..].to_vec())
}

/// The vector files of `dir` with the bytes each one opens.
fn vector_bodies(dir: &Path) -> impl Iterator<Item = (String, Vec<u8>)> {
    files(dir).into_iter().filter_map(|path| {
        let name = path.file_name()?.to_string_lossy().into_owned();
        Some((name, vector_body(&path)?))
    })
}

#[test]
#[ignore = "rewrites fuzz/seeds; run by scripts/fuzz-seeds"]
fn write_seeds() {
    let root = fuzz_dir().join("seeds");
    let _ = fs::remove_dir_all(&root);
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(name), bytes).expect("write seed");
    };
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    for (name, body) in vector_bodies(&vectors.join("vault")) {
        write("vault_header", &name, &body[..body.len().min(512)]);
        if name.contains("passphrase") {
            write(
                "identity_file",
                &format!("vault_{name}"),
                &body[..body.len().min(512)],
            );
        }
    }
    for (name, body) in vector_bodies(&vectors.join("age")) {
        let cut = &body[..body.len().min(2048)];
        if name.starts_with("armor") {
            write("age_armor", &name, cut);
        }
        write("age_header", &name, cut);
        if name == "scrypt" {
            write("identity_file", "age_scrypt", cut);
        }
    }
    for (target, name, bytes) in seeds::generated() {
        write(target, &name, &bytes);
    }
}
