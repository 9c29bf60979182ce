//! Shared test harness: a real OpenSSH server on 127.0.0.1 with client
//! homes to match ([`sshd`]), and small helpers used across test binaries.

#![allow(dead_code)] // each test binary uses a different subset

/// `assert_err!(e => PATTERN, "{}")`: assert that the error `e` matches
/// the pattern, showing it with the format (`"{}"` or `"{:?}"`) if not.
#[macro_export]
macro_rules! assert_err {
    ($e:expr => $p:pat, $fmt:literal) => {
        assert!(matches!($e, $p), $fmt, $e)
    };
}

pub mod age_home;
pub mod cli;
pub mod cutproxy;
pub mod delayproxy;
pub mod env;
pub mod netns;
pub mod process;
pub mod pty;
pub mod seaweedfs;
pub mod sshd;

use vault::transport::{ConnectOptions, Location, PutMode, Transport, TransportError};

/// Deterministic, non-repeating-looking test bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Put `data` at `path` (refusing an existing file) in writes of `step`
/// bytes, and finish.
pub fn put(t: &mut dyn Transport, path: &str, data: &[u8], step: usize) {
    put_mode(t, path, data, step, PutMode::New);
}

/// Put `data` at `path` with `mode` in writes of `step` bytes, and finish.
pub fn put_mode(t: &mut dyn Transport, path: &str, data: &[u8], step: usize, mode: PutMode) {
    let mut w = t
        .put(path, mode)
        .unwrap_or_else(|e| panic!("put {path}: {e}"));
    for chunk in data.chunks(step.max(1)) {
        w.write_all(chunk)
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("finish {path}: {e}"));
}

/// Read a whole file.
pub fn get(t: &mut dyn Transport, path: &str) -> Vec<u8> {
    let mut r = t.read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    out
}

/// Connect to a remote given as a URL, as the command line does.
pub fn connect(url: &str, opts: &ConnectOptions) -> Result<Box<dyn Transport>, TransportError> {
    Location::parse(url).expect("parse").connect(opts)
}

/// Unwrap an error the test expects, with a useful panic otherwise.
pub fn expect_err<T>(r: Result<T, TransportError>, what: &str) -> TransportError {
    match r {
        Ok(_) => panic!("{what}: expected an error, got success"),
        Err(e) => e,
    }
}
