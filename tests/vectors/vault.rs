//! vault's own known-answer vectors (`vectors/vault/`, described in
//! `vectors/README.md`), opened through the library's public API.
//!
//! Besides the checks of [`super::testkit`], a vector passes when a reader
//! that failed keeps failing with the same class and (whenever its header
//! parses) the header re-serialises to the same bytes. A second test checks
//! that the checked-in generator still makes these exact files.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::testkit::{self, Common, Tally, VectorFile};
use vault::crypto::file::Decryptor;
use vault::crypto::{
    CryptoError, FileKey, Header, Passphrase, SealedFile, SshIdentity, as_identities,
};

#[allow(dead_code)]
#[path = "../../examples/gen_vectors.rs"]
mod gen_vectors;

/// Every `expect:` value but `success`, one per [`CryptoError`] variant a
/// reader can produce from a file.
const FAILURE_CLASSES: [&str; 13] = [
    "not a vault file",
    "age file",
    "unsupported version",
    "unknown suite",
    "header failure",
    "header mac",
    "no match",
    "wrong passphrase",
    "work factor",
    "passphrase not alone",
    "truncated",
    "payload failure",
    "trailing data",
];

/// The failure class of an error, or `None` for an error no file should
/// cause (I/O, key parsing, sealing-side misuse).
fn class(e: &CryptoError) -> Option<&'static str> {
    Some(match e {
        CryptoError::NotVaultFile => "not a vault file",
        CryptoError::AgeFile => "age file",
        CryptoError::UnsupportedVersion(_) => "unsupported version",
        CryptoError::UnknownSuite(_) => "unknown suite",
        CryptoError::InvalidHeader(_) => "header failure",
        CryptoError::HeaderMac => "header mac",
        CryptoError::NoMatchingIdentity => "no match",
        CryptoError::WrongPassphrase => "wrong passphrase",
        CryptoError::WorkFactorTooHigh(_) => "work factor",
        CryptoError::PassphraseNotAlone => "passphrase not alone",
        CryptoError::Truncated => "truncated",
        CryptoError::DecryptFailed | CryptoError::CutOrDamaged => "payload failure",
        CryptoError::TrailingData => "trailing data",
        _ => return None,
    })
}

fn vector_dir() -> PathBuf {
    testkit::vector_dir("vault")
}

/// A parsed vector file.
struct Vector {
    common: Common,
    passphrase: Option<Passphrase>,
    body: Vec<u8>,
}

fn parse(bytes: &[u8]) -> Result<Vector, String> {
    let file = VectorFile::parse(bytes)?;
    let mut v = Vector {
        common: Common::default(),
        passphrase: None,
        body: file.body,
    };
    for (key, value) in &file.fields {
        if v.common.field(key, value, &FAILURE_CLASSES)? {
            continue;
        }
        match key.as_str() {
            "ssh identity" => {
                use base64::Engine;
                let text = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|e| format!("ssh identity: {e}"))?;
                let id = SshIdentity::from_openssh(&text, "vector", None)
                    .map_err(|e| format!("ssh identity: {e}"))?;
                v.common.identities.push(Box::new(id));
            }
            "passphrase" => v.passphrase = Some(Passphrase::new(value.to_owned())),
            _ => return Err(format!("unknown key {key:?}")),
        }
    }
    if v.common.expect.is_empty() {
        return Err("no expect: line".into());
    }
    if v.common.identities.is_empty() == v.passphrase.is_none() {
        return Err("needs identities or a passphrase, not both".into());
    }
    if v.common.expect == "success" && (v.common.payload.is_none() || v.common.file_key.is_none()) {
        return Err("a success vector needs payload: and file key:".into());
    }
    Ok(v)
}

/// What opening a vector did.
struct Outcome {
    result: Result<(), CryptoError>,
    /// Plaintext released before the end or the failure.
    released: Vec<u8>,
    file_key: Option<FileKey>,
    /// What a second read after a payload failure gave, if not the same
    /// failure again.
    not_sticky: Option<String>,
}

/// Open `v` the way an application does: `Decryptor`, then a file key,
/// then the payload reader, read in small pieces.
fn open(v: &Vector) -> Outcome {
    let mut out = Outcome {
        result: Ok(()),
        released: Vec::new(),
        file_key: None,
        not_sticky: None,
    };
    let d = match Decryptor::new(&v.body[..]) {
        Ok(d) => d,
        Err(e) => {
            out.result = Err(e);
            return out;
        }
    };
    let key = match &v.passphrase {
        Some(p) => d.file_key_with_passphrase(p),
        None => d.file_key(&as_identities(&v.common.identities)),
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            out.result = Err(e);
            return out;
        }
    };
    let mut reader = d.into_reader(&key);
    out.file_key = Some(key);
    let mut buf = vec![0u8; 10_000];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.released.extend_from_slice(&buf[..n]),
            Err(e) => {
                let e = reader.failure().unwrap_or(CryptoError::Io(e));
                // A failed reader must keep failing, with the same class.
                let again = reader.read(&mut buf);
                match again.map_err(|e| reader.failure().unwrap_or(CryptoError::Io(e))) {
                    Err(again) if class(&again) == class(&e) => {}
                    other => out.not_sticky = Some(format!("{other:?}")),
                }
                out.result = Err(e);
                return out;
            }
        }
    }
}

/// Check one vector; `Err` says what differs.
fn check(v: &Vector) -> Result<(), String> {
    let outcome = open(v);
    let got = match &outcome.result {
        Ok(()) => "success",
        Err(e) => class(e).ok_or_else(|| format!("unexpected error: {e:?}"))?,
    };
    let detail = match &outcome.result {
        Err(e) => format!(" ({e})"),
        Ok(()) => String::new(),
    };
    testkit::check_common(
        v.common.expect,
        got,
        &detail,
        v.common.payload,
        &outcome.released,
        (
            v.common.file_key.as_deref(),
            outcome.file_key.as_ref().map(|k| k.as_bytes()),
        ),
    )?;
    if let Some(again) = &outcome.not_sticky {
        return Err(format!("after the failure, reading again gave {again}"));
    }
    if v.common.expect == "success" && outcome.file_key.is_none() {
        return Err("success without a file key".into());
    }
    // Canonical encoding: whenever the header parses, serialising it gives
    // back exactly the bytes it was parsed from.
    let mut rest = &v.body[..];
    match Header::read_from(&mut rest) {
        Ok(h) => {
            let consumed = &v.body[..v.body.len() - rest.len()];
            if h.to_bytes() != consumed {
                return Err("the header does not re-serialise to its own bytes".into());
            }
        }
        Err(e) if v.common.expect == "success" => {
            return Err(format!("header does not parse: {e}"));
        }
        Err(_) => {}
    }
    Ok(())
}

#[test]
fn every_vector_gives_its_expected_outcome() {
    let files = testkit::files(&vector_dir());
    let mut tally = Tally::default();
    for (name, bytes) in &files {
        let result = parse(bytes).and_then(|v| {
            *tally.per_class.entry(v.common.expect).or_default() += 1;
            check(&v)
        });
        if let Err(e) = result {
            tally.failures.push(format!("{name}: {e}"));
        }
    }
    assert_eq!(tally.ran(), files.len(), "every vault vector runs");
    tally.report("vault vectors", files.len());
    for class in std::iter::once("success").chain(FAILURE_CLASSES) {
        assert!(
            tally.per_class.contains_key(class),
            "no vector expects {class:?}"
        );
    }
}

#[test]
fn generator_reproduces_the_checked_in_vectors() {
    let problems = gen_vectors::compare(&vector_dir(), &gen_vectors::all());
    assert!(
        problems.is_empty(),
        "re-run `cargo run --example gen_vectors -- vectors/vault` only if the change is \
         intended:\n{}",
        problems.join("\n")
    );
}

#[test]
fn readme_lists_every_vector_with_its_expectation() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (_, tables) = readme
        .split_once("\n## The vectors\n")
        .expect("a '## The vectors' section");
    // Table rows: | `name` | expect | what it checks |
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for line in tables.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, name, expect, ..] = cells[..]
            && let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`'))
        {
            listed.insert(name.to_owned(), expect.to_owned());
        }
    }
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(vector_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(vector_dir().join(&name)).unwrap();
        let expect = parse(&bytes).map(|v| v.common.expect);
        match (listed.remove(&name), expect) {
            (Some(l), Ok(e)) if l == e => {}
            (Some(l), e) => problems.push(format!("{name}: README says {l:?}, file {e:?}")),
            (None, _) => problems.push(format!("{name}: not in {}", readme_path.display())),
        }
    }
    problems.extend(
        listed
            .keys()
            .map(|n| format!("{n}: in the README, not a vector")),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
