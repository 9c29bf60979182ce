//! Known-answer vectors of remote object heads, format v2 (`vectors/head/`,
//! made by `examples/gen_head_vectors.rs`), opened through the codec every
//! reader of a head uses (`vault::remote::codec::head::open`).
//!
//! A vector is `key: value` lines, a blank line, then the head file's bytes.
//! `id` and `rev` say where the head is stored; `identity` opens it;
//! `expect` is `success`, `no match` (not sealed to the identity),
//! `incomplete` (ends early: being written) or `damaged`. A success vector
//! also gives the name, the recipient list, the size, the SHA-256 of the
//! plaintext (`payload`, checked against the inline payload when there is
//! one) and the file key.

use std::io::Read;
use std::path::Path;

use super::testkit::{VectorFile, unhex};
use vault::crypto::file::payload_key;
use vault::crypto::{Identity, StreamReader, X25519Identity};
use vault::remote::RemoteError;
use vault::remote::codec::head;

#[allow(dead_code)]
#[path = "../../examples/gen_head_vectors.rs"]
mod gen_head_vectors;

fn check(file: &VectorFile) -> Result<(), String> {
    let field = |k: &str| {
        file.fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("no {k}: line"))
    };
    let id = field("id")?;
    let rev: u64 = field("rev")?.parse().map_err(|e| format!("rev: {e}"))?;
    let who: X25519Identity = field("identity")?
        .parse()
        .map_err(|e| format!("identity: {e:?}"))?;
    let ids: [&dyn Identity; 1] = [&who];
    let got = head::open(&file.body, id, rev, true, &ids);
    let expect = field("expect")?;
    let h = match (expect, got) {
        ("success", Ok(Some(h))) => h,
        ("no match", Ok(None)) => return Ok(()),
        ("incomplete", Err(RemoteError::IncompleteHead)) => return Ok(()),
        ("damaged", Err(RemoteError::BadObject(_))) => return Ok(()),
        ("damaged", Ok(Some(h))) if h.meta.inline => {
            // Damage in an inline payload shows when it is read.
            match inline_plaintext(&file.body, &h) {
                Err(_) => return Ok(()),
                Ok(_) => return Err("damaged, but the payload opened".into()),
            }
        }
        (e, Ok(Some(_))) => return Err(format!("expected {e}, it opened")),
        (e, Ok(None)) => return Err(format!("expected {e}, got no match")),
        (e, Err(err)) => return Err(format!("expected {e}, got {err:?}")),
    };
    if h.meta.name != field("name")? {
        return Err(format!("name {:?}", h.meta.name));
    }
    if h.meta.recipients.join(",") != field("recipients")? {
        return Err(format!("recipients {:?}", h.meta.recipients));
    }
    if h.unverified != 0 {
        return Err(format!("{} recipients unverified", h.unverified));
    }
    if h.meta.size.to_string() != field("size")? {
        return Err(format!("size {}", h.meta.size));
    }
    if h.file_key.as_bytes() != unhex(field("file key")?)?.as_slice() {
        return Err("another file key".into());
    }
    let want = unhex(field("payload")?)?;
    if h.meta.sha256.map(|x| x.to_vec()) != Some(want.clone()) {
        return Err("the recorded SHA-256 differs".into());
    }
    if h.meta.inline {
        let plain = inline_plaintext(&file.body, &h)?;
        let sha: [u8; 32] =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&plain)).into();
        if sha.to_vec() != want {
            return Err("the inline payload differs".into());
        }
    }
    Ok(())
}

fn inline_plaintext(body: &[u8], h: &head::OpenedHead) -> Result<Vec<u8>, String> {
    let key = payload_key(h.header.suite, &h.file_key, &h.header.nonce);
    let mut r = StreamReader::new(key, &body[h.body_at..]);
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/head")
}

#[test]
fn head_vectors_open_as_expected() {
    let mut n = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir()).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let file = VectorFile::parse(&std::fs::read(e.path()).unwrap()).unwrap();
        if let Err(why) = check(&file) {
            failures.push(format!("{name}: {why}"));
        }
        n += 1;
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(n >= 14, "only {n} head vectors");
}

#[test]
fn head_vectors_match_their_generator() {
    let problems = gen_head_vectors::compare(&dir(), &gen_head_vectors::all());
    assert!(problems.is_empty(), "{problems:#?}");
}
