//! What both vector runners share: the vector file format, the checks every
//! vector gets, and the tally printed at the end.
//!
//! A vector file is `key: value` lines, a blank line, then the bytes to open
//! (`vectors/README.md`, `vectors/age/README.md`). A vector passes when
//! opening gives exactly its `expect:` class, releases exactly the plaintext
//! whose SHA-256 is its `payload:` (nothing when it has none) and unwraps
//! exactly its `file key:`; each runner adds its format's own checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vault::crypto::{Identity, parse_identity};

/// One vector file, split into its fields and its body.
pub struct VectorFile {
    /// The `key: value` lines, in order.
    pub fields: Vec<(String, String)>,
    /// The bytes after the blank line.
    pub body: Vec<u8>,
}

impl VectorFile {
    /// Split a vector file.
    pub fn parse(bytes: &[u8]) -> Result<VectorFile, String> {
        let split = bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or("no blank line after the header")?;
        let text = std::str::from_utf8(&bytes[..split]).map_err(|e| e.to_string())?;
        let mut fields = Vec::new();
        for line in text.lines() {
            let (key, value) = line
                .split_once(": ")
                .ok_or_else(|| format!("not a `key: value` line: {line:?}"))?;
            fields.push((key.to_owned(), value.to_owned()));
        }
        Ok(VectorFile {
            fields,
            body: bytes[split + 2..].to_vec(),
        })
    }
}

/// The `expect:` value among `success` and `failures`.
pub fn expectation(value: &str, failures: &[&'static str]) -> Result<&'static str, String> {
    std::iter::once("success")
        .chain(failures.iter().copied())
        .find(|c| *c == value)
        .ok_or_else(|| format!("unknown expect: {value:?}"))
}

/// Bytes from lower- or upper-case hex.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("not hex: {s:?}"));
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("checked hex"))
        .collect())
}

/// The fields every vector may have, whatever its format.
#[derive(Default)]
pub struct Common {
    /// The `expect:` class.
    pub expect: &'static str,
    /// The SHA-256 of the plaintext it releases.
    pub payload: Option<[u8; 32]>,
    /// The file key it unwraps.
    pub file_key: Option<Vec<u8>>,
    /// Its `identity:` lines, parsed.
    pub identities: Vec<Box<dyn Identity>>,
}

impl Common {
    /// Take `key: value` if it is one of the common fields; `Ok(false)` when
    /// it is the runner's to handle.
    pub fn field(
        &mut self,
        key: &str,
        value: &str,
        failures: &[&'static str],
    ) -> Result<bool, String> {
        match key {
            "expect" => self.expect = expectation(value, failures)?,
            "payload" => self.payload = Some(sha256_field(value)?),
            "file key" => self.file_key = Some(unhex(value)?),
            "identity" => self
                .identities
                .push(parse_identity(value).map_err(|e| format!("identity: {e}"))?),
            "comment" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A `payload:` value: the SHA-256 of the plaintext.
pub fn sha256_field(s: &str) -> Result<[u8; 32], String> {
    unhex(s)?
        .try_into()
        .map_err(|_| "payload is not 32 bytes".into())
}

/// The checks every vector gets: the class, the released plaintext, the
/// unwrapped file key.
pub fn check_common(
    expect: &str,
    got: &str,
    detail: &str,
    payload: Option<[u8; 32]>,
    released: &[u8],
    file_key: (Option<&[u8]>, Option<&[u8]>),
) -> Result<(), String> {
    if got != expect {
        return Err(format!("expected {expect:?}, got {got:?}{detail}"));
    }
    if let Some(want) = payload {
        let have: [u8; 32] = Sha256::digest(released).into();
        if have != want {
            return Err(format!(
                "released {} bytes whose SHA-256 is not payload:",
                released.len()
            ));
        }
    } else if !released.is_empty() {
        return Err(format!(
            "released {} bytes, but the vector has no payload:",
            released.len()
        ));
    }
    if let (Some(want), Some(have)) = file_key
        && have != want
    {
        return Err("unwrapped a file key other than file key:".into());
    }
    Ok(())
}

/// The folder `vectors/NAME` of this repository.
pub fn vector_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name)
}

/// The vector files of `dir`, sorted by name (README files left out).
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no vectors in {}", dir.display());
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// What a run found: per class, failures, skips.
#[derive(Default)]
pub struct Tally {
    /// Vectors run, by expected class.
    pub per_class: BTreeMap<&'static str, usize>,
    /// `name: what differs`.
    pub failures: Vec<String>,
    /// Skipped vectors, by reason.
    pub skipped: BTreeMap<String, Vec<String>>,
}

impl Tally {
    /// How many ran.
    pub fn ran(&self) -> usize {
        self.per_class.values().sum()
    }

    /// Print the counts (`what`: the name of the set) and fail on any
    /// failure.
    pub fn report(&self, what: &str, files: usize) {
        let ran = self.ran();
        let skipped: usize = self.skipped.values().map(Vec::len).sum();
        println!(
            "{what}: {ran} ran, {} passed, {skipped} skipped ({files} files)",
            ran - self.failures.len(),
        );
        for (class, n) in &self.per_class {
            println!("  {n:3} {class}");
        }
        for (why, list) in &self.skipped {
            println!("  skipped {} ({why}): {}", list.len(), list.join(", "));
        }
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
    }
}
