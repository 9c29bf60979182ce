//! Generates the known-answer vectors of remote object heads, format v2
//! (`vectors/head/`; `docs/FORMAT.md`, "Remote vault layout").
//!
//! ```text
//! cargo run --example gen_head_vectors -- vectors/head           # (re)write them
//! cargo run --example gen_head_vectors -- --check vectors/head   # compare only
//! ```
//!
//! Every head is made through the library's own code (`crypto::bound`
//! for the bound stanzas, `remote::codec::head::build` for the head,
//! `StreamWriter` for an inline payload) from a `ChaCha20Rng` seeded with
//! SHA-256 of `"vault head vectors v2/" || label`, so the output is
//! deterministic and adding a vector changes no other. Damaged vectors
//! build a real head from inconsistent parts (a recipient list that is not
//! the one the stanzas were bound to, a head stored under another id or
//! revision) or cut and flip bytes of a real one: exactly one thing is wrong
//! with each. `tests/vectors/head.rs` opens every file and also compares the
//! files with this generator's output.

// tests/vectors includes both generators, each with this module.
#[allow(clippy::duplicate_mod)]
#[path = "support/gen_cli.rs"]
mod gen_cli;

use std::path::Path;
use std::process::ExitCode;

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use vault::crypto::file::{FILE_KEY_LEN, payload_key};
use vault::crypto::header::NONCE_LEN;
use vault::crypto::stream::StreamWriter;
use vault::crypto::{FileKey, Recipient, Suite, X25519Identity, bound};
use vault::remote::Metadata;
use vault::remote::codec::head;

/// One vector: its fields (`key: value`) and the head bytes.
pub struct Vector {
    /// File name in `vectors/head/`.
    pub name: String,
    /// `key: value` lines, in order.
    pub fields: Vec<(String, String)>,
    /// The head file's bytes.
    pub body: Vec<u8>,
}

impl Vector {
    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.fields {
            out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }
}

fn seeded(label: &str) -> ChaCha20Rng {
    let seed: [u8; 32] = Sha256::digest(format!("vault head vectors v2/{label}")).into();
    ChaCha20Rng::from_seed(seed)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The people of the vectors: Alice opens them; Bob and Carol are other
/// recipients.
struct People {
    alice: X25519Identity,
    bob: X25519Identity,
    carol: X25519Identity,
}

/// What one head is made of.
struct Parts<'a> {
    /// Recipients the stanzas are bound to, in order.
    stanzas: Vec<&'a X25519Identity>,
    /// Recipients the record lists (normally the same).
    listed: Vec<&'a X25519Identity>,
    /// Id and revision sealed in the record.
    id: [u8; 16],
    rev: u64,
    /// Plaintext, inline when at most 64 KiB.
    plaintext: Vec<u8>,
}

const CREATED: u64 = 1_780_000_000;
const MTIME: u64 = 1_770_000_000;

/// A head from `parts`, and its file key.
fn make(label: &str, p: &Parts<'_>) -> (Vec<u8>, FileKey) {
    let mut rng = seeded(label);
    let file_key = FileKey::generate(&mut rng, FILE_KEY_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let rs: Vec<_> = p.stanzas.iter().map(|i| i.recipient()).collect();
    let list: Vec<&dyn Recipient> = rs.iter().map(|r| r as &dyn Recipient).collect();
    let suite = Suite::ChaCha20Poly1305;
    let header = bound::header(suite, &file_key, nonce, &list).expect("header");
    let inline = p.plaintext.len() <= head::INLINE_MAX as usize;
    let meta = Metadata {
        version: 2,
        id: hex(&p.id),
        rev: p.rev,
        inline,
        name: format!("docs/{label}.txt"),
        size: p.plaintext.len() as u64,
        mtime: MTIME,
        created: CREATED,
        sha256: Some(Sha256::digest(&p.plaintext).into()),
        recipients: p.listed.iter().map(|i| i.recipient().to_string()).collect(),
    };
    let body = inline.then(|| {
        let mut w = StreamWriter::new(payload_key(suite, &file_key, &header.nonce), Vec::new());
        std::io::Write::write_all(&mut w, &p.plaintext).expect("seal");
        w.finish().expect("seal")
    });
    let bytes = head::build(&mut rng, &header, &file_key, &meta, body.as_deref());
    (bytes, file_key)
}

#[allow(clippy::too_many_arguments)] // one vector's every field, named at the call
fn vector(
    name: &str,
    expect: &str,
    id: [u8; 16],
    rev: u64,
    who: &X25519Identity,
    p: &Parts<'_>,
    body: Vec<u8>,
    file_key: Option<&FileKey>,
    comment: &str,
) -> Vector {
    let mut fields = vec![
        ("expect".to_owned(), expect.to_owned()),
        ("id".to_owned(), hex(&id)),
        ("rev".to_owned(), rev.to_string()),
        (
            "identity".to_owned(),
            who.to_secret_string().as_str().to_owned(),
        ),
    ];
    if expect == "success" {
        fields.push(("name".to_owned(), format!("docs/{name}.txt")));
        fields.push((
            "recipients".to_owned(),
            p.listed
                .iter()
                .map(|i| i.recipient().to_string())
                .collect::<Vec<_>>()
                .join(","),
        ));
        fields.push(("size".to_owned(), p.plaintext.len().to_string()));
        fields.push(("payload".to_owned(), hex(&Sha256::digest(&p.plaintext))));
        if let Some(k) = file_key {
            fields.push(("file key".to_owned(), hex(k.as_bytes())));
        }
    }
    fields.push(("comment".to_owned(), comment.to_owned()));
    Vector {
        name: name.to_owned(),
        fields,
        body,
    }
}

/// Every vector, in a fixed order.
pub fn all() -> Vec<Vector> {
    let mut rng = seeded("people");
    let people = People {
        alice: X25519Identity::generate(&mut rng),
        bob: X25519Identity::generate(&mut rng),
        carol: X25519Identity::generate(&mut rng),
    };
    let p = &people;
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut other_id = [0u8; 16];
    rng.fill_bytes(&mut other_id);
    let mut text = vec![0u8; 100];
    seeded("plaintext").fill_bytes(&mut text);
    let mut big = vec![0u8; 70_000];
    seeded("plaintext big").fill_bytes(&mut big);
    let mut out = Vec::new();
    let mut ok =
        |name: &str, stanzas: Vec<&X25519Identity>, plaintext: &[u8], rev: u64, comment: &str| {
            let parts = Parts {
                listed: stanzas.clone(),
                stanzas,
                id,
                rev,
                plaintext: plaintext.to_vec(),
            };
            let (bytes, fk) = make(name, &parts);
            out.push(vector(
                name,
                "success",
                id,
                rev,
                &p.alice,
                &parts,
                bytes,
                Some(&fk),
                comment,
            ));
        };
    ok(
        "inline_one_recipient",
        vec![&p.alice],
        &text,
        1,
        "a small object: its payload inline",
    );
    ok(
        "inline_three_recipients",
        vec![&p.bob, &p.alice, &p.carol],
        &text,
        1,
        "three bound stanzas; the reader's is the second",
    );
    ok(
        "separate_payload",
        vec![&p.alice],
        &big,
        1,
        "over 64 KiB: the payload is objects/ID.p, not in the head",
    );
    ok(
        "revision_7",
        vec![&p.alice, &p.bob],
        &text,
        7,
        "a later revision (after mv or share)",
    );
    ok(
        "empty",
        vec![&p.alice],
        &[],
        1,
        "an empty object: one empty final chunk inline",
    );

    // Revision 2 of the 100-byte text, with these stanzas and this list.
    let rev2 = |stanzas, listed| Parts {
        stanzas,
        listed,
        id,
        rev: 2,
        plaintext: text.clone(),
    };
    let base = rev2(vec![&p.alice, &p.bob], vec![&p.alice, &p.bob]);
    let (good, _) = make("damaged base", &base);
    let bad = |name: &str,
               expect: &str,
               at_id: [u8; 16],
               at_rev: u64,
               parts: &Parts<'_>,
               body: Vec<u8>,
               comment: &str| {
        vector(
            name, expect, at_id, at_rev, &p.alice, parts, body, None, comment,
        )
    };
    out.push(bad(
        "stored_under_another_id",
        "damaged",
        other_id,
        2,
        &base,
        good.clone(),
        "the record names another object",
    ));
    out.push(bad(
        "stored_under_another_revision",
        "damaged",
        id,
        3,
        &base,
        good.clone(),
        "revision 2's bytes served as revision 3",
    ));
    // A head sealed as `parts` says, whose list and stanzas disagree.
    let disagreeing = |label: &str, name: &str, parts: &Parts<'_>, comment: &str| {
        let (b, _) = make(label, parts);
        bad(name, "damaged", id, 2, parts, b, comment)
    };
    out.push(disagreeing(
        "swapped",
        "recipients_swapped",
        &rev2(vec![&p.alice, &p.bob], vec![&p.bob, &p.alice]),
        "the list names the stanzas in the wrong order",
    ));
    out.push(disagreeing(
        "hidden",
        "stanza_hidden_under_another_name",
        &rev2(vec![&p.alice, &p.carol], vec![&p.alice, &p.bob]),
        "Carol's stanza listed as Bob",
    ));
    out.push(bad(
        "not_for_the_reader",
        "no match",
        id,
        2,
        &base,
        make("bob only", &rev2(vec![&p.bob], vec![&p.bob])).0,
        "sealed to Bob only",
    ));
    let mut cut = good.clone();
    cut.truncate(good.len() - 10);
    out.push(bad(
        "cut_in_the_inline_payload",
        "incomplete",
        id,
        2,
        &base,
        cut,
        "ten bytes short: ends early, as a head being written",
    ));
    let mut cut = good.clone();
    cut.truncate(200);
    out.push(bad(
        "cut_in_the_record",
        "incomplete",
        id,
        2,
        &base,
        cut,
        "ends inside the sealed record (being written)",
    ));
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 1] ^= 1;
    out.push(bad(
        "inline_tag_flipped",
        "damaged",
        id,
        2,
        &base,
        flipped,
        "the inline chunk's tag",
    ));
    let mut flipped = good.clone();
    flipped[300] ^= 1;
    out.push(bad(
        "record_flipped",
        "damaged",
        id,
        2,
        &base,
        flipped,
        "a byte of the sealed record",
    ));
    out
}

/// Differences between the files in `dir` and `vectors`.
pub fn compare(dir: &Path, vectors: &[Vector]) -> Vec<String> {
    gen_cli::compare(dir, vectors.iter().map(|v| (v.name.as_str(), v.bytes())))
}

/// Create `dir` and write every vector into it.
fn write(dir: &Path, vectors: &[Vector]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for v in vectors {
        std::fs::write(dir.join(&v.name), v.bytes()).map_err(|e| format!("{}: {e}", v.name))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    gen_cli::main(gen_cli::Generator {
        name: "gen_head_vectors",
        all,
        write,
        compare,
    })
}
