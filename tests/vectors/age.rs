//! The C2SP CCTV age test vectors (`vectors/age/`), opened through the
//! library's public age API and the same payload path as `vault open`.
//!
//! Each vector is `key: value` lines, a blank line, then an age file
//! (zlib-compressed when `compressed: zlib`). A vector passes when opening
//! gives exactly its `expect:` class (one class per `CryptoError` variant, the
//! table in `vectors/age/README.md`), releases exactly the plaintext whose
//! SHA-256 is its `payload:` (nothing when it has none), unwraps its
//! `file key:`, and, whenever its header parses, the header re-serialises to
//! its own bytes; success vectors must also re-encrypt (STREAM) and re-armor
//! to the same bytes. Every vector runs with one payload thread and with
//! several, and both must agree.
//!
//! Every vector runs (X25519, scrypt and the post-quantum hybrid
//! `mlkem768x25519` alike); the test prints how many ran and passed, and a
//! vector that needs a feature this build lacks would be counted as skipped
//! and fail the test.

use std::io::{Read, Write};
use std::path::PathBuf;

use super::testkit::{self, Common, Tally, VectorFile};
use vault::crypto::age::{self, ArmoredReader, ArmoredWriter, Decryptor, Header};
use vault::crypto::{CopyError, CryptoError, FileKey, Identity, Passphrase, SealedFile, pipeline};

/// The CCTV expectations other than `success`.
const FAILURE_CLASSES: [&str; 5] = [
    "no match",
    "HMAC failure",
    "header failure",
    "armor failure",
    "payload failure",
];

/// The CCTV class of an error, or `None` for an error no file should cause.
fn class(e: &CryptoError) -> Option<&'static str> {
    Some(match e {
        CryptoError::InvalidHeader(_)
        | CryptoError::PassphraseNotAlone
        | CryptoError::WorkFactorTooHigh(_) => "header failure",
        CryptoError::HeaderMac => "HMAC failure",
        CryptoError::NoMatchingIdentity | CryptoError::WrongPassphrase => "no match",
        CryptoError::Truncated
        | CryptoError::DecryptFailed
        | CryptoError::CutOrDamaged
        | CryptoError::TrailingData => "payload failure",
        CryptoError::InvalidArmor(_) => "armor failure",
        _ => return None,
    })
}

fn vector_dir() -> PathBuf {
    testkit::vector_dir("age")
}

struct Vector {
    common: Common,
    passphrases: Vec<Passphrase>,
    armored: bool,
    body: Vec<u8>,
}

/// What a vector needs that this build lacks.
struct Skip(String);

fn parse(bytes: &[u8]) -> Result<Result<Vector, Skip>, String> {
    let file = VectorFile::parse(bytes)?;
    let mut v = Vector {
        common: Common::default(),
        passphrases: Vec::new(),
        armored: false,
        body: file.body,
    };
    for (key, value) in &file.fields {
        if v.common.field(key, value, &FAILURE_CLASSES)? {
            continue;
        }
        match key.as_str() {
            "passphrase" => v.passphrases.push(Passphrase::new(value.to_owned())),
            "armored" => v.armored = value == "yes",
            "compressed" if value == "zlib" => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&v.body[..])
                    .read_to_end(&mut out)
                    .map_err(|e| format!("zlib: {e}"))?;
                v.body = out;
            }
            _ => return Ok(Err(Skip(format!("unknown key {key:?}")))),
        }
    }
    if v.common.expect.is_empty() {
        return Err("no expect: line".into());
    }
    Ok(Ok(v))
}

/// What opening a vector did.
#[derive(Debug, PartialEq)]
struct Outcome {
    class: Result<(), String>,
    released: Vec<u8>,
    file_key: Option<Vec<u8>>,
}

/// Unwrap the file key as `vault open` does, trying the passphrases the way
/// age tries several scrypt identities: a wrong one moves on to the next.
fn file_key(d: &Decryptor<&[u8]>, v: &Vector) -> Result<FileKey, CryptoError> {
    let mut result = Err(CryptoError::NoMatchingIdentity);
    if !v.common.identities.is_empty() {
        let ids: Vec<&dyn Identity> = v.common.identities.iter().map(|i| &**i).collect();
        result = d.file_key(&ids);
    }
    for p in &v.passphrases {
        match &result {
            Err(CryptoError::NoMatchingIdentity | CryptoError::WrongPassphrase) => {
                result = d.file_key_with_passphrase(p);
            }
            _ => break,
        }
    }
    result
}

fn open(v: &Vector, threads: usize) -> Result<Outcome, String> {
    let name = |e: CryptoError| match class(&e) {
        Some(c) => Ok(c.to_string()),
        None => Err(format!("an error no file should cause: {e:?}")),
    };
    let mut out = Outcome {
        class: Ok(()),
        released: Vec::new(),
        file_key: None,
    };
    let d = match Decryptor::new(&v.body[..]) {
        Ok(d) => d,
        Err(e) => {
            out.class = Err(name(e)?);
            return Ok(out);
        }
    };
    let key = match file_key(&d, v) {
        Ok(k) => k,
        Err(e) => {
            out.class = Err(name(e)?);
            return Ok(out);
        }
    };
    out.file_key = Some(key.as_bytes().to_vec());
    if let Err(e) = d.open_payload(&key, &mut out.released, threads) {
        out.class = Err(name(match e {
            CopyError::Crypto(e) => e,
            CopyError::Read(e) | CopyError::Write(e) => CryptoError::Io(e),
        })?);
    }
    Ok(out)
}

/// The decoded age file (the armor removed), if the armor decodes.
fn binary(v: &Vector) -> Option<Vec<u8>> {
    if !age::is_armored(&v.body) {
        return Some(v.body.clone());
    }
    let mut out = Vec::new();
    ArmoredReader::new(&v.body[..])
        .read_to_end(&mut out)
        .ok()
        .map(|_| out)
}

fn check(v: &Vector) -> Result<(), String> {
    let outcome = open(v, 1)?;
    let got = match &outcome.class {
        Ok(()) => "success",
        Err(c) => c.as_str(),
    };
    testkit::check_common(
        v.common.expect,
        got,
        "",
        v.common.payload,
        &outcome.released,
        (v.common.file_key.as_deref(), outcome.file_key.as_deref()),
    )?;
    if v.armored != age::is_armored(&v.body) {
        return Err("armored: disagrees with the armor detection".into());
    }
    if open(v, 4)? != outcome {
        return Err("four payload threads give another outcome than one".into());
    }
    // Canonical encodings: a header that parses re-serialises to its bytes.
    if let Some(plain) = binary(v) {
        let mut rest = &plain[..];
        if let Ok(h) = Header::read_from(&mut rest)
            && h.to_bytes() != plain[..plain.len() - rest.len()]
        {
            return Err("the header does not re-serialise to its own bytes".into());
        }
    }
    if v.common.expect == "success" {
        round_trips(v, &outcome)?;
    }
    Ok(())
}

/// A success vector's payload re-encrypts to the same bytes under its file
/// key and nonce, and its armor (if any) re-encodes to the same text up to
/// line ends and surrounding whitespace.
fn round_trips(v: &Vector, outcome: &Outcome) -> Result<(), String> {
    let plain = binary(v).ok_or("a success vector whose armor does not decode")?;
    let mut rest = &plain[..];
    Header::read_from(&mut rest).map_err(|e| e.to_string())?;
    let (nonce, payload) = rest.split_at(age::NONCE_LEN);
    let file_key = FileKey::from_bytes(outcome.file_key.as_deref().ok_or("no file key")?)
        .ok_or("file key length")?;
    let key = age::payload_key(&file_key, nonce.try_into().expect("16 bytes"));
    let (_, sealed) = pipeline::seal_payload(key, &mut &outcome.released[..], Vec::new(), 1)
        .map_err(|e| format!("{e:?}"))?;
    if sealed != payload {
        return Err("the payload does not re-encrypt to the same bytes".into());
    }
    if v.armored {
        let mut w = ArmoredWriter::new(Vec::new());
        w.write_all(&plain).map_err(|e| e.to_string())?;
        let ours = w.finish().map_err(|e| e.to_string())?;
        let normal = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace("\r\n", "\n")
                .trim()
                .to_string()
        };
        if normal(&ours) != normal(&v.body) {
            return Err("the armor does not re-encode to the same text".into());
        }
    }
    Ok(())
}

#[test]
fn cctv_age_vectors() {
    let files = testkit::files(&vector_dir());
    let mut tally = Tally::default();
    for (name, bytes) in &files {
        let result = match parse(bytes) {
            Err(e) => Err(e),
            Ok(Err(Skip(why))) => {
                tally.skipped.entry(why).or_default().push(name.clone());
                continue;
            }
            Ok(Ok(v)) => {
                *tally.per_class.entry(v.common.expect).or_default() += 1;
                check(&v)
            }
        };
        if let Err(e) = result {
            tally.failures.push(format!("{name}: {e}"));
        }
    }
    tally.report("age vectors", files.len());
    let (per_class, skipped) = (&tally.per_class, &tally.skipped);
    // The subset in `vectors/age/` has no `HMAC failure` vector; the header
    // MAC is covered by `crypto::age::header` unit tests and by
    // `tests/age_interop.rs` (an age-made file with its MAC changed).
    for class in std::iter::once("success").chain(FAILURE_CLASSES) {
        assert!(
            per_class.contains_key(class) || class == "HMAC failure",
            "no vector expects {class:?}"
        );
    }
    // Every vector runs, the post-quantum hybrid ones included.
    assert!(skipped.is_empty(), "unexpected skips: {skipped:?}");
}
