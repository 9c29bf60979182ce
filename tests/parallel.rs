//! The parallel payload path against the serial one: the same bytes when
//! sealing, the same plaintext and the same error class when opening, for
//! every size edge (chunk and batch boundaries), thread count, suite and
//! format, and for every way a payload can be damaged. Then through the
//! real binary with `--threads`.
//!
//! The serial path (`threads = 1`, `StreamWriter`/`StreamReader`) is the
//! reference: it has its own unit tests and the known-answer vectors.

mod common;

use std::fs;
use std::io::Write;
use std::mem::discriminant;

use assert_cmd::Command;
use vault::crypto::age::{self, ArmoredWriter};
use vault::crypto::pipeline::{self, BATCH_CHUNKS, Tuning};
use vault::crypto::stream::SEALED_CHUNK_SIZE;
use vault::crypto::suite::PayloadKey;
use vault::crypto::{
    CHUNK_SIZE, CopyError, CryptoError, FileKey, SealedFile, Suite, X25519Identity, os_rng,
};

const C: usize = CHUNK_SIZE;
const B: usize = BATCH_CHUNKS * CHUNK_SIZE;

fn key(suite: Suite) -> PayloadKey {
    PayloadKey::new(suite, &[0x5c; 32])
}

fn data(len: usize) -> Vec<u8> {
    common::pattern(len, 0x5c)
}

/// Small batches and pools that put batch edges (and a full pool) inside
/// small inputs. (The AEAD runs unoptimised in test builds of this crate,
/// so the big default batches get fewer and smaller inputs.)
fn small_batches(threads: &[usize]) -> Vec<Tuning> {
    let mut all = Vec::new();
    for &t in threads {
        for (batch_chunks, max_batches) in [(1, 1), (1, 3), (2, 2), (3, 5)] {
            all.push(Tuning {
                threads: t,
                batch_chunks,
                max_batches,
            });
        }
    }
    all
}

fn defaults(threads: &[usize]) -> Vec<Tuning> {
    threads.iter().map(|&t| Tuning::for_threads(t)).collect()
}

fn seal(suite: Suite, plain: &[u8], tuning: Tuning) -> Vec<u8> {
    let (n, out) =
        pipeline::seal_payload_tuned(key(suite), &mut &plain[..], Vec::new(), tuning).unwrap();
    assert_eq!(n, plain.len() as u64, "{tuning:?}");
    out
}

/// What opening released, and how it ended (the error class, if any).
fn open(suite: Suite, sealed: &[u8], tuning: Tuning) -> (Vec<u8>, Result<u64, CryptoError>) {
    let mut out = Vec::new();
    let r = pipeline::open_payload_tuned(key(suite), sealed, &mut out, tuning);
    let r = r.map_err(|e| match e {
        CopyError::Crypto(e) => e,
        CopyError::Read(e) => CryptoError::Io(e),
        CopyError::Write(e) => panic!("writing to a Vec failed: {e}"),
    });
    (out, r)
}

/// Sizes around chunk and default-batch edges, up to several MiB.
const SIZES: [usize; 10] = [
    0,
    1,
    C - 1,
    C,
    C + 1,
    B - 1,
    B,
    B + 1,
    2 * B + C + 1,
    3 * B + 12_345,
];

/// Sizes around the edges of the small batches of [`small_batches`].
const SMALL_SIZES: [usize; 10] = [
    0,
    1,
    C - 1,
    C,
    C + 1,
    2 * C,
    3 * C,
    3 * C + 1,
    6 * C - 1,
    7 * C + 5,
];

fn check_against_serial(suite: Suite, len: usize, tunings: &[Tuning]) {
    let plain = data(len);
    let serial = seal(suite, &plain, Tuning::for_threads(1));
    assert_eq!(
        serial.len() as u64,
        vault::crypto::stream::sealed_len(len as u64)
    );
    for &tuning in tunings {
        assert!(
            seal(suite, &plain, tuning) == serial,
            "{suite} len {len} {tuning:?}: sealed bytes differ"
        );
        let (out, r) = open(suite, &serial, tuning);
        assert_eq!(r.unwrap(), len as u64, "{suite} len {len} {tuning:?}");
        assert!(
            out == plain,
            "{suite} len {len} {tuning:?}: plaintext differs"
        );
    }
}

#[test]
fn parallel_seal_and_open_match_serial_at_every_edge() {
    for suite in Suite::ALL {
        for len in SIZES {
            check_against_serial(suite, len, &defaults(&[2, 3, 8]));
        }
        for len in SMALL_SIZES {
            check_against_serial(suite, len, &small_batches(&[2, 3, 8]));
        }
    }
}

/// Ways to damage a payload of `n` chunks, each with the class the serial
/// reader reports for it.
fn damages(sealed: &[u8], suite: Suite) -> Vec<(String, Vec<u8>, CryptoError)> {
    let s = SEALED_CHUNK_SIZE;
    let chunks = sealed.len().div_ceil(s);
    let mut cases = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>, class: CryptoError| {
        cases.push((name, bytes, class));
    };
    for at in [0, chunks / 2, BATCH_CHUNKS, BATCH_CHUNKS - 1, chunks - 1] {
        let mut b = sealed.to_vec();
        b[at * s + 77] ^= 0x10;
        add(
            format!("bit flip in chunk {at}"),
            b,
            CryptoError::DecryptFailed,
        );
    }
    let mut b = sealed.to_vec();
    *b.last_mut().unwrap() ^= 1;
    add(
        "bit flip in the last tag".into(),
        b,
        CryptoError::DecryptFailed,
    );
    for k in [1, 2, BATCH_CHUNKS, BATCH_CHUNKS + 1, chunks - 1] {
        add(
            format!("cut after {k} chunks"),
            sealed[..k * s].to_vec(),
            CryptoError::Truncated,
        );
    }
    add("cut to nothing".into(), Vec::new(), CryptoError::Truncated);
    add(
        "cut to less than a tag".into(),
        sealed[..10].to_vec(),
        CryptoError::Truncated,
    );
    for at in [s / 2, BATCH_CHUNKS * s + 1000, sealed.len() - 1] {
        add(
            format!("cut mid-chunk at {at}"),
            sealed[..at].to_vec(),
            CryptoError::CutOrDamaged,
        );
    }
    add(
        "dropped last chunk".into(),
        sealed[..(chunks - 1) * s].to_vec(),
        CryptoError::Truncated,
    );
    let mut b = sealed.to_vec();
    b.push(0);
    add("one extra byte".into(), b, CryptoError::TrailingData);
    let mut b = sealed.to_vec();
    b.extend_from_slice(&sealed[s..2 * s]);
    add("an extra chunk".into(), b, CryptoError::TrailingData);
    for (i, j) in [(0, 1), (3, 4), (BATCH_CHUNKS - 1, BATCH_CHUNKS)] {
        let mut b = sealed.to_vec();
        let (x, y) = b.split_at_mut(j * s);
        x[i * s..(i + 1) * s].swap_with_slice(&mut y[..s]);
        add(
            format!("chunks {i} and {j} swapped"),
            b,
            CryptoError::DecryptFailed,
        );
    }
    // A full middle chunk, then a stub shorter than a tag where the next
    // chunk should be.
    let mut b = sealed[..4 * s].to_vec();
    b.push(1);
    add(
        "a middle chunk followed by one byte".into(),
        b,
        CryptoError::Truncated,
    );
    let k = key(suite);
    // An empty final chunk after full ones is refused.
    let mut b = sealed[..2 * s].to_vec();
    let mut empty = [0u8; 16];
    k.seal_chunk(2, true, &mut empty, 0);
    b.extend_from_slice(&empty);
    add(
        "empty final chunk after data".into(),
        b,
        CryptoError::DecryptFailed,
    );
    cases
}

#[test]
fn every_damage_fails_the_same_way_with_the_same_bytes_released() {
    // Ends on a full chunk, so that cuts at boundaries prove a missing end.
    let plain = data(B + 5 * C);
    for suite in Suite::ALL {
        let sealed = seal(suite, &plain, Tuning::for_threads(1));
        for (name, bytes, expected) in damages(&sealed, suite) {
            let (serial_out, serial) = open(suite, &bytes, Tuning::for_threads(1));
            let serial = serial.expect_err(&name);
            assert_eq!(
                discriminant(&serial),
                discriminant(&expected),
                "{suite} {name}: serial reports {serial}"
            );
            assert!(plain.starts_with(&serial_out), "{suite} {name}");
            let tunings = defaults(&[2, 8])
                .into_iter()
                .chain([small_batches(&[3])[1], small_batches(&[2])[3]]);
            for tuning in tunings {
                let (out, r) = open(suite, &bytes, tuning);
                let err = r.expect_err(&format!("{suite} {name} {tuning:?}"));
                assert_eq!(
                    discriminant(&err),
                    discriminant(&serial),
                    "{suite} {name} {tuning:?}: {err} instead of {serial}"
                );
                assert!(
                    out == serial_out,
                    "{suite} {name} {tuning:?}: released {} bytes, serial {}",
                    out.len(),
                    serial_out.len()
                );
            }
        }
    }
}

#[test]
fn a_full_chunk_that_proves_a_cut_is_released_on_every_path() {
    let plain = data(3 * C);
    let suite = Suite::ChaCha20Poly1305;
    let sealed = seal(suite, &plain, Tuning::for_threads(1));
    for tuning in defaults(&[1, 2]).into_iter().chain(small_batches(&[2, 3])) {
        let (out, r) = open(suite, &sealed[..2 * SEALED_CHUNK_SIZE], tuning);
        assert!(matches!(r, Err(CryptoError::Truncated)), "{tuning:?}");
        assert!(out == plain[..2 * C], "{tuning:?}");
    }
}

/// age's payload key from a fixed file key and nonce, so that two seals
/// can be compared byte for byte.
fn age_key() -> PayloadKey {
    age::payload_key(&FileKey::from_bytes(&[7u8; 16]).unwrap(), &[3u8; 16])
}

#[test]
fn age_payloads_match_serial_and_age_files_open_on_every_thread_count() {
    let id = X25519Identity::generate(&mut os_rng());
    for len in [0, C, B + 1, 2 * B + 999] {
        let plain = data(len);
        let run = |t: Tuning| {
            pipeline::seal_payload_tuned(age_key(), &mut &plain[..], Vec::new(), t)
                .unwrap()
                .1
        };
        let serial = run(Tuning::for_threads(1));
        for tuning in defaults(&[2, 3]).into_iter().chain(small_batches(&[2])) {
            assert!(run(tuning) == serial, "age payload, len {len} {tuning:?}");
        }
        for threads in [1, 3] {
            for armored in [false, true] {
                let (head, key) = age::seal_header(&mut os_rng(), &[&id.recipient()]).unwrap();
                let file = if armored {
                    let mut w = ArmoredWriter::new(Vec::new());
                    w.write_all(&head).unwrap();
                    let (_, w) = pipeline::seal_payload(key, &mut &plain[..], w, threads).unwrap();
                    w.finish().unwrap()
                } else {
                    pipeline::seal_payload(key, &mut &plain[..], head, threads)
                        .unwrap()
                        .1
                };
                let d = age::Decryptor::new(&file[..]).unwrap();
                let file_key = d.file_key(&[&id]).unwrap();
                let (key, payload) = d.into_payload(&file_key);
                let mut out = Vec::new();
                pipeline::open_payload(key, payload, &mut out, threads).unwrap();
                assert!(
                    out == plain,
                    "age len {len} threads {threads} armored {armored}"
                );
            }
        }
    }
}

/// A user with a keystore in a temporary folder, driving the real binary.
struct User {
    dir: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        let u = User {
            dir: tempfile::tempdir().unwrap(),
        };
        u.vault(&["keygen", "--no-passphrase"]).assert().success();
        u
    }

    fn vault(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("vault").unwrap();
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("VAULT_HOME", self.dir.path().join("keystore"))
            .env_remove("VAULT_THREADS")
            .env_remove("VAULT_PASSPHRASE_FILE")
            .env_remove("VAULT_PASSPHRASE_COMMAND")
            .args(args);
        c
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn cli_threads_open_what_serial_seals_and_refuse_damage_without_output() {
    let u = User::new();
    let plain = data(3 * B + 4321);
    fs::write(u.path("big"), &plain).unwrap();
    for cipher in ["chacha20poly1305", "aes256gcm"] {
        u.vault(&[
            "seal",
            "--threads",
            "1",
            "--cipher",
            cipher,
            "-f",
            "-o",
            "s1",
            "big",
        ])
        .assert()
        .success();
        u.vault(&[
            "seal",
            "--threads",
            "4",
            "--cipher",
            cipher,
            "-f",
            "-o",
            "s4",
            "big",
        ])
        .assert()
        .success();
        for (sealed, threads) in [("s1", "4"), ("s4", "1"), ("s4", "2")] {
            u.vault(&["open", "--threads", threads, "-f", "-o", "out", sealed])
                .assert()
                .success();
            assert!(
                fs::read(u.path("out")).unwrap() == plain,
                "{cipher} {sealed}"
            );
            fs::remove_file(u.path("out")).unwrap();
        }
        let mut bad = fs::read(u.path("s4")).unwrap();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x40;
        fs::write(u.path("bad"), &bad).unwrap();
        let a = u
            .vault(&["open", "--threads", "4", "-o", "out", "bad"])
            .assert()
            .failure()
            .code(1);
        let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(stderr.contains("damaged or was modified"), "{stderr}");
        assert!(!u.path("out").exists(), "no output after a failed open");
        let leftovers: Vec<_> = fs::read_dir(u.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("out"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
    // The age format through the binary, on the parallel path both ways.
    u.vault(&["seal", "--age", "--threads", "3", "-o", "a.age", "big"])
        .assert()
        .success();
    u.vault(&["open", "--threads", "3", "-o", "a.out", "a.age"])
        .env("VAULT_THREADS", "junk") // the flag wins over the variable
        .assert()
        .success();
    assert!(fs::read(u.path("a.out")).unwrap() == plain);
}

#[test]
fn cli_thread_counts_are_validated() {
    let u = User::new();
    fs::write(u.path("f"), b"x").unwrap();
    for bad in ["0", "abc", "-1", "2.5", "", "100000"] {
        for cmd in ["seal", "open"] {
            let flag = format!("--threads={bad}");
            let a = u.vault(&[cmd, &flag, "f"]).assert().failure().code(2);
            let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
            assert!(
                stderr.starts_with("vault: error: --threads must be a whole number"),
                "{cmd} {bad:?}: {stderr}"
            );
        }
    }
    let a = u
        .vault(&["seal", "-o", "f.vault", "f"])
        .env("VAULT_THREADS", "0")
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(stderr.contains("VAULT_THREADS must be"), "{stderr}");
    assert!(!u.path("f.vault").exists());
    u.vault(&["seal", "-o", "f.vault", "f"])
        .env("VAULT_THREADS", "2")
        .assert()
        .success();
    u.vault(&["open", "-o", "f.out", "f.vault"])
        .assert()
        .success();
    assert_eq!(fs::read(u.path("f.out")).unwrap(), b"x");
}
