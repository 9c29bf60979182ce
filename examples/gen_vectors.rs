//! Generates vault's known-answer test vectors, `vectors/vault/`.
//!
//! ```text
//! cargo run --example gen_vectors -- vectors/vault           # (re)write them
//! cargo run --example gen_vectors -- --check vectors/vault   # compare only
//! ```
//!
//! Every vector is made through the library's own sealing code
//! (`file::new_header`, `x25519::stanza`, `passphrase::stanza_with`,
//! `Header::seal_mac`, `StreamWriter`, `PayloadKey::seal_chunk`), from a
//! `ChaCha20Rng` seeded with SHA-256 of a label (usually the vector's name):
//! the output is deterministic, and adding a vector does not change the
//! others. Damaged vectors start from a real sealed file and change bytes at
//! known offsets, or assemble a header from the library's `Header`/`Stanza`
//! types; nothing here encodes the format by hand.
//!
//! `tests/vectors/vault.rs` includes this file as a module and runs the same
//! comparison as `--check`, so the generator cannot drift from the checked-in
//! files. The file shape and the failure classes are in `vectors/README.md`.

// tests/vectors includes both generators, each with this module.
#[allow(clippy::duplicate_mod)]
#[path = "support/gen_cli.rs"]
mod gen_cli;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use vault::crypto::file::{new_header, payload_key};
use vault::crypto::header::{
    Header, KIND_PASSPHRASE, KIND_X25519, MAC_LEN, MAX_STANZAS, MAX_UNKNOWN_BODY, NONCE_LEN, Stanza,
};
use vault::crypto::passphrase::{self, MAX_LANES, MAX_MEMORY_KIB, MAX_TIME, Passphrase};
use vault::crypto::stream::{CHUNK_SIZE, SEALED_CHUNK_SIZE, StreamWriter};
use vault::crypto::{
    FileKey, PqIdentity, Recipient, SshIdentity, Suite, X25519Identity, X25519Recipient,
    as_recipients, x25519,
};

// The `expect:` values (see `vectors/README.md`).
const SUCCESS: &str = "success";
const NOT_VAULT: &str = "not a vault file";
const AGE_FILE: &str = "age file";
const VERSION: &str = "unsupported version";
const SUITE: &str = "unknown suite";
const HEADER: &str = "header failure";
const HEADER_MAC: &str = "header mac";
const NO_MATCH: &str = "no match";
const WRONG_PASSPHRASE: &str = "wrong passphrase";
const WORK_FACTOR: &str = "work factor";
const NOT_ALONE: &str = "passphrase not alone";
const TRUNCATED: &str = "truncated";
const PAYLOAD: &str = "payload failure";
const TRAILING: &str = "trailing data";

/// The passphrase of the passphrase vectors.
const PASSPHRASE: &str = "correct horse battery staple";
/// Argon2id costs `(m KiB, t, p)` of the passphrase vectors: tiny, so that
/// the test is fast. They travel in the stanza, so readers must honour them.
const TINY_ARGON2: (u32, u32, u32) = (64, 1, 1);

// Offsets in a header with one stanza.
const AT_VERSION: usize = 8;
const AT_SUITE: usize = 9;
const AT_COUNT: usize = 10;
const AT_KIND: usize = 12;
const AT_LEN: usize = 13;
const AT_BODY: usize = 15;
// ... and in an X25519 stanza's body, and after it.
const AT_EPK: usize = AT_BODY;
const AT_WRAPPED: usize = AT_EPK + 32;
const AT_NONCE: usize = AT_BODY + x25519::BODY_LEN;
const AT_MAC: usize = AT_NONCE + NONCE_LEN;
const X25519_HEADER_LEN: usize = AT_MAC + MAC_LEN;

const NOTHING: Option<&[u8]> = Some(&[]);

/// One vector: its header fields and the bytes handed to the reader.
pub struct Vector {
    /// File name in `vectors/vault/`.
    pub name: String,
    /// `success` or a failure class.
    pub expect: &'static str,
    /// The plaintext the reader must release: all of it on success, the
    /// chunks that authenticated before a payload failure.
    pub payload: Option<Vec<u8>>,
    /// The file key, when the file has one.
    pub file_key: Option<Vec<u8>>,
    /// Identities to open with (`AGE-SECRET-KEY-1...`,
    /// `AGE-SECRET-KEY-PQ-1...`).
    pub identities: Vec<String>,
    /// SSH private keys to open with: base64 of the OpenSSH key file.
    pub ssh_identities: Vec<String>,
    /// Passphrase to open with.
    pub passphrase: Option<String>,
    /// What the vector checks.
    pub comment: String,
    /// The (possibly damaged) sealed file.
    pub body: Vec<u8>,
}

impl Vector {
    /// The vector file: `key: value` lines, a blank line, the raw bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = String::new();
        let mut line = |k: &str, v: &str| writeln!(text, "{k}: {v}").expect("String writes");
        line("expect", self.expect);
        if let Some(p) = &self.payload {
            line("payload", &hex(&Sha256::digest(p)));
        }
        if let Some(k) = &self.file_key {
            line("file key", &hex(k));
        }
        for id in &self.identities {
            line("identity", id);
        }
        for id in &self.ssh_identities {
            line("ssh identity", id);
        }
        if let Some(p) = &self.passphrase {
            line("passphrase", p);
        }
        line("comment", &self.comment);
        let mut out = text.into_bytes();
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }
}

/// A vector before it is told how to open it: name, expected outcome,
/// plaintext released, comment, bytes.
struct Case<'a>(String, &'static str, Option<&'a [u8]>, &'a str, Vec<u8>);

fn case<'a>(
    name: impl Into<String>,
    expect: &'static str,
    released: Option<&'a [u8]>,
    comment: &'a str,
    body: Vec<u8>,
) -> Case<'a> {
    Case(name.into(), expect, released, comment, body)
}

/// How a vector is opened, and the file key the file was sealed with.
#[derive(Clone, Copy)]
struct Opener<'a> {
    identities: &'a [&'a X25519Identity],
    passphrase: Option<&'a str>,
    file_key: Option<&'a FileKey>,
}

impl<'a> Opener<'a> {
    fn ids(identities: &'a [&'a X25519Identity], file_key: Option<&'a FileKey>) -> Self {
        Opener {
            identities,
            passphrase: None,
            file_key,
        }
    }

    fn pass(passphrase: &'a str, file_key: Option<&'a FileKey>) -> Self {
        Opener {
            identities: &[],
            passphrase: Some(passphrase),
            file_key,
        }
    }

    fn push(&self, out: &mut Vec<Vector>, Case(name, expect, released, comment, body): Case) {
        assert!(!out.iter().any(|v| v.name == name), "duplicate {name}");
        out.push(Vector {
            name,
            expect,
            payload: released.map(<[u8]>::to_vec),
            file_key: self.file_key.map(|k| k.as_bytes().to_vec()),
            identities: self.identities.iter().map(|id| secret(id)).collect(),
            ssh_identities: Vec::new(),
            passphrase: self.passphrase.map(str::to_owned),
            comment: comment.to_owned(),
            body,
        });
    }

    fn push_all<'c>(&self, out: &mut Vec<Vector>, cases: impl IntoIterator<Item = Case<'c>>) {
        cases.into_iter().for_each(|c| self.push(out, c));
    }
}

/// The people of the vectors: Alice opens them, Bob and Carol are others.
struct People {
    alice: X25519Identity,
    bob: X25519Identity,
    carol: X25519Identity,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// ChaCha20 keyed with SHA-256 of a fixed prefix and `label`.
fn seeded(label: &str) -> ChaCha20Rng {
    let seed: [u8; 32] = Sha256::digest(format!("vault test vectors v1/{label}")).into();
    ChaCha20Rng::from_seed(seed)
}

fn secret(id: &X25519Identity) -> String {
    id.to_secret_string().as_str().to_owned()
}

/// `len` deterministic plaintext bytes (a prefix of one fixed stream).
fn plaintext(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    seeded("plaintext").fill_bytes(&mut out);
    out
}

fn flip(mut b: Vec<u8>, at: usize, mask: u8) -> Vec<u8> {
    b[at] ^= mask;
    b
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A sealed file, with what went into it.
struct Sealed {
    header: Header,
    file_key: FileKey,
    plaintext: Vec<u8>,
    payload: Vec<u8>,
}

impl Sealed {
    fn bytes(&self) -> Vec<u8> {
        concat(&[&self.header.to_bytes(), &self.payload])
    }

    /// Offset in [`Sealed::bytes`] of sealed chunk `i`.
    fn chunk_at(&self, i: usize) -> usize {
        self.header.to_bytes().len() + i * SEALED_CHUNK_SIZE
    }
}

/// `STREAM[payload key](plaintext)` through the library's writer.
fn stream(suite: Suite, file_key: &FileKey, nonce: &[u8; NONCE_LEN], plaintext: &[u8]) -> Vec<u8> {
    let mut w = StreamWriter::new(payload_key(suite, file_key, nonce), Vec::new());
    w.write_all(plaintext).expect("Vec writes");
    w.finish().expect("Vec writes")
}

/// Seal `plaintext` to `recipients` as `crypto::seal` does, keeping the file
/// key, and check the result against `crypto::seal` with the same seed.
fn seal_to(
    label: &str,
    suite: Suite,
    recipients: &[X25519Recipient],
    plaintext: Vec<u8>,
) -> Sealed {
    seal_dyn(label, suite, &as_recipients(recipients), plaintext)
}

/// [`seal_to`] for the base file of a family of damaged copies: 100 bytes
/// under ChaCha20-Poly1305 to one recipient.
fn base_to(label: &str, recipient: &X25519Recipient) -> Sealed {
    seal_to(
        label,
        Suite::ChaCha20Poly1305,
        std::slice::from_ref(recipient),
        plaintext(100),
    )
}

/// A file whose header holds `stanzas`, a fresh nonce and the MAC under
/// `file_key`. (`Header::seal_mac` refuses 0 or over 1024 stanzas: then the
/// MAC stays zero, which a reader must refuse before checking.)
fn seal_stanzas(
    rng: &mut ChaCha20Rng,
    suite: Suite,
    stanzas: Vec<Stanza>,
    file_key: FileKey,
    plaintext: Vec<u8>,
) -> Sealed {
    let mut header = Header {
        suite,
        stanzas,
        nonce: [0; NONCE_LEN],
        mac: [0; MAC_LEN],
    };
    rng.fill_bytes(&mut header.nonce);
    if (1..=MAX_STANZAS).contains(&header.stanzas.len()) {
        header.seal_mac(&file_key).unwrap();
    }
    let payload = stream(suite, &file_key, &header.nonce, &plaintext);
    Sealed {
        header,
        file_key,
        plaintext,
        payload,
    }
}

/// A file sealed to `stanzas(rng, file key)`, ChaCha20-Poly1305, 100 bytes.
fn seal_custom(
    label: &str,
    stanzas: impl FnOnce(&mut ChaCha20Rng, &FileKey) -> Vec<Stanza>,
) -> Sealed {
    let mut rng = seeded(label);
    let file_key = FileKey::generate(&mut rng, 32);
    let stanzas = stanzas(&mut rng, &file_key);
    let suite = Suite::ChaCha20Poly1305;
    seal_stanzas(&mut rng, suite, stanzas, file_key, plaintext(100))
}

/// A file sealed to [`PASSPHRASE`] with [`TINY_ARGON2`] costs, with the
/// stanzas `extra` returns before and after the passphrase stanza.
fn seal_passphrase(
    label: &str,
    suite: Suite,
    extra: impl FnOnce(&mut ChaCha20Rng, &FileKey) -> (Vec<Stanza>, Vec<Stanza>),
) -> Sealed {
    let mut rng = seeded(label);
    let file_key = FileKey::generate(&mut rng, 32);
    let stanza = passphrase_stanza(&mut rng, &file_key);
    let (before, after) = extra(&mut rng, &file_key);
    let stanzas = before.into_iter().chain([stanza]).chain(after).collect();
    seal_stanzas(&mut rng, suite, stanzas, file_key, plaintext(100))
}

fn passphrase_stanza(rng: &mut ChaCha20Rng, file_key: &FileKey) -> Stanza {
    let pass = Passphrase::new(PASSPHRASE.into());
    passphrase::stanza_with(rng, &pass, file_key, TINY_ARGON2).unwrap()
}

fn no_extra(_: &mut ChaCha20Rng, _: &FileKey) -> (Vec<Stanza>, Vec<Stanza>) {
    (vec![], vec![])
}

/// A stanza of `kind` with `len` random body bytes.
fn opaque_stanza(rng: &mut ChaCha20Rng, kind: u8, len: usize) -> Stanza {
    let mut body = vec![0u8; len];
    rng.fill_bytes(&mut body);
    Stanza { kind, body }
}

/// Every vector, in a fixed order.
pub fn all() -> Vec<Vector> {
    let people = People {
        alice: X25519Identity::generate(&mut seeded("identity/alice")),
        bob: X25519Identity::generate(&mut seeded("identity/bob")),
        carol: X25519Identity::generate(&mut seeded("identity/carol")),
    };
    let mut out = Vec::new();
    positives(&mut out, &people);
    header_fields(&mut out, &people);
    stanza_framing(&mut out, &people);
    x25519_stanzas(&mut out, &people);
    passphrase_stanzas(&mut out, &people);
    for suite in Suite::ALL {
        payload_per_suite(&mut out, &people, suite);
    }
    payload_more(&mut out, &people);
    other_key_types(&mut out, &people);
    out
}

/// A seal to any recipient types, as `crypto::seal` does it (checked).
fn seal_to_any(label: &str, recipients: &[&dyn Recipient]) -> Sealed {
    seal_dyn(label, Suite::ChaCha20Poly1305, recipients, plaintext(100))
}

/// Seal `plaintext` from the seed `label` twice, by hand (header, then
/// STREAM) and through `crypto::seal`, and check that both agree.
fn seal_dyn(
    label: &str,
    suite: Suite,
    recipients: &[&dyn Recipient],
    plaintext: Vec<u8>,
) -> Sealed {
    let (header, file_key) = new_header(&mut seeded(label), suite, recipients).unwrap();
    let payload = stream(suite, &file_key, &header.nonce, &plaintext);
    let sealed = Sealed {
        header,
        file_key,
        plaintext,
        payload,
    };
    let mut w = vault::crypto::seal(&mut seeded(label), suite, recipients, Vec::new()).unwrap();
    w.write_all(&sealed.plaintext).unwrap();
    assert!(
        w.finish().unwrap() == sealed.bytes(),
        "{label}: differs from crypto::seal"
    );
    sealed
}

/// An SSH key and its OpenSSH private key file, base64 (one vector line).
struct SshKey {
    identity: SshIdentity,
    file_b64: String,
}

fn ssh_key(key: ssh_key::PrivateKey) -> SshKey {
    use base64::Engine;
    let text = key.to_openssh(ssh_key::LineEnding::LF).unwrap();
    SshKey {
        identity: SshIdentity::from_openssh(text.as_bytes(), "vector", None).unwrap(),
        file_b64: base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
    }
}

fn ssh_ed25519(label: &str) -> SshKey {
    let mut seed = [0u8; 32];
    seeded(label).fill_bytes(&mut seed);
    ssh_key(ssh_key::PrivateKey::from(
        ssh_key::private::Ed25519Keypair::from_seed(&seed),
    ))
}

fn ssh_rsa(label: &str) -> SshKey {
    let k = rsa::PrivateKey::new(&mut seeded(label), 2048).unwrap();
    let kp = ssh_key::private::RsaKeypair::try_from(k).unwrap();
    ssh_key(ssh_key::PrivateKey::from(kp))
}

/// The stanza kinds of the other key types (ssh-ed25519, ssh-rsa,
/// mlkem768x25519), opened by Alice's keys of those types.
fn other_key_types(out: &mut Vec<Vector>, p: &People) {
    let alice_ed = ssh_ed25519("identity/alice ssh-ed25519");
    let bob_ed = ssh_ed25519("identity/bob ssh-ed25519");
    let alice_rsa = ssh_rsa("identity/alice ssh-rsa");
    let alice_pq = PqIdentity::generate(&mut seeded("identity/alice mlkem768x25519"));
    let bob_pq = PqIdentity::generate(&mut seeded("identity/bob mlkem768x25519"));
    let push =
        |out: &mut Vec<Vector>, c: Case, s: &Sealed, ssh: Option<&SshKey>, ids: Vec<String>| {
            let Case(name, expect, released, comment, body) = c;
            assert!(!out.iter().any(|v| v.name == name), "duplicate {name}");
            out.push(Vector {
                name,
                expect,
                payload: released.map(<[u8]>::to_vec),
                file_key: Some(s.file_key.as_bytes().to_vec()),
                identities: ids,
                ssh_identities: ssh.map(|k| k.file_b64.clone()).into_iter().collect(),
                passphrase: None,
                comment: comment.to_owned(),
                body,
            });
        };
    let ed = seal_to_any("ssh_ed25519", &[alice_ed.identity.recipient()]);
    let at_tag = AT_BODY;
    let at_share = AT_BODY + 4;
    let at_wrapped = at_share + 32;
    #[rustfmt::skip]
    let cases = [
        case("ssh_ed25519", SUCCESS, Some(&ed.plaintext[..]), "an ssh-ed25519 stanza (kind 3) for Alice's SSH key", ed.bytes()),
        case("ssh_ed25519_tag_flipped", NO_MATCH, None, "the key tag's first byte flipped: the stanza names another key, so it is not tried", flip(ed.bytes(), at_tag, 0x01)),
        case("ssh_ed25519_wrapped_flipped", HEADER, None, "a bit of the wrapped file key flipped: the tag says the stanza is for Alice, so the file is damaged", flip(ed.bytes(), at_wrapped + 3, 0x01)),
        case("ssh_ed25519_share_low_order", HEADER, None, "the ephemeral share replaced by zero (low order): refused", {
            let mut b = ed.bytes();
            b[at_share..at_share + 32].fill(0);
            b
        }),
    ];
    for c in cases {
        push(out, c, &ed, Some(&alice_ed), vec![]);
    }
    let to_bob = seal_to_any("ssh_ed25519_other_key", &[bob_ed.identity.recipient()]);
    push(
        out,
        case(
            "ssh_ed25519_other_key",
            NO_MATCH,
            None,
            "sealed to Bob's SSH key; Alice's has another tag",
            to_bob.bytes(),
        ),
        &to_bob,
        Some(&alice_ed),
        vec![],
    );

    let r = seal_to_any("ssh_rsa", &[alice_rsa.identity.recipient()]);
    #[rustfmt::skip]
    let cases = [
        case("ssh_rsa", SUCCESS, Some(&r.plaintext[..]), "an ssh-rsa stanza (kind 4, RSA-OAEP-SHA256) for Alice's 2048-bit SSH key", r.bytes()),
        case("ssh_rsa_ciphertext_flipped", HEADER, None, "a bit of the OAEP ciphertext flipped: the tag matches, so the file is damaged", flip(r.bytes(), AT_BODY + 4 + 100, 0x01)),
    ];
    for c in cases {
        push(out, c, &r, Some(&alice_rsa), vec![]);
    }
    let short = seal_custom("ssh_rsa_short", |rng, key| {
        let mut s = alice_rsa
            .identity
            .recipient()
            .vault_stanza(rng, key)
            .unwrap();
        s.body.pop();
        vec![s]
    });
    push(
        out,
        case(
            "ssh_rsa_short",
            HEADER,
            None,
            "an ssh-rsa stanza of 259 bytes (the least is 4 + 256)",
            short.bytes(),
        ),
        &short,
        Some(&alice_rsa),
        vec![],
    );

    let pq = seal_to_any("mlkem768x25519", &[&alice_pq.recipient()]);
    let pq_secret = alice_pq.to_secret_string().as_str().to_owned();
    let at_ct = AT_BODY + vault::crypto::pq::ENC_LEN;
    #[rustfmt::skip]
    let cases = [
        case("mlkem768x25519", SUCCESS, Some(&pq.plaintext[..]), "an mlkem768x25519 stanza (kind 5, HPKE with X-Wing) for Alice's post-quantum key", pq.bytes()),
        case("mlkem768x25519_enc_flipped", NO_MATCH, None, "a bit of the ML-KEM ciphertext flipped: implicit rejection, the AEAD tag fails, not for this key", flip(pq.bytes(), AT_BODY + 5, 0x01)),
        case("mlkem768x25519_ct_flipped", NO_MATCH, None, "a bit of the sealed file key flipped: the AEAD tag fails", flip(pq.bytes(), at_ct + 1, 0x01)),
    ];
    for c in cases {
        push(out, c, &pq, None, vec![pq_secret.clone()]);
    }
    let to_bob = seal_to_any("mlkem768x25519_other_key", &[&bob_pq.recipient()]);
    push(
        out,
        case(
            "mlkem768x25519_other_key",
            NO_MATCH,
            None,
            "sealed to Bob's post-quantum key",
            to_bob.bytes(),
        ),
        &to_bob,
        None,
        vec![pq_secret.clone()],
    );
    let long = seal_custom("mlkem768x25519_long", |rng, key| {
        let mut s = alice_pq.recipient().vault_stanza(rng, key).unwrap();
        s.body.push(0);
        vec![s]
    });
    push(
        out,
        case(
            "mlkem768x25519_long",
            HEADER,
            None,
            "an mlkem768x25519 stanza of 1169 bytes (must be 1168)",
            long.bytes(),
        ),
        &long,
        None,
        vec![pq_secret.clone()],
    );
    // Writers refuse to mix; readers do not check, and open either way.
    let alice = p.alice.recipient();
    let mixed = seal_custom("mixed_pq_and_x25519", |rng, key| {
        vec![
            alice_pq.recipient().vault_stanza(rng, key).unwrap(),
            x25519::stanza(rng, &alice, key).unwrap(),
        ]
    });
    push(
        out,
        case(
            "mixed_pq_and_x25519",
            SUCCESS,
            Some(&mixed.plaintext[..]),
            "a post-quantum and an X25519 stanza (writers refuse to mix them; readers open such a file)",
            mixed.bytes(),
        ),
        &mixed,
        None,
        vec![secret(&p.alice)],
    );
}

/// Files that open, for each suite.
fn positives(out: &mut Vec<Vector>, p: &People) {
    let alice = p.alice.recipient();
    for suite in Suite::ALL {
        #[rustfmt::skip]
        let sizes = [
            ("empty", 0, "empty plaintext: one empty final chunk"),
            ("one_byte", 1, "one byte: one short final chunk"),
            ("full_chunk", CHUNK_SIZE, "exactly 65536 bytes: one full final chunk"),
            ("full_chunk_plus_one", CHUNK_SIZE + 1, "65537 bytes: a full chunk, then a 1-byte final chunk"),
            ("three_chunks", 2 * CHUNK_SIZE + 500, "2*65536+500 bytes: two full chunks, then a 500-byte final chunk"),
        ];
        for (what, len, comment) in sizes {
            let name = format!("{suite}_{what}");
            let s = seal_to(&name, suite, &[alice], plaintext(len));
            let c = case(name, SUCCESS, Some(&s.plaintext), comment, s.bytes());
            Opener::ids(&[&p.alice], Some(&s.file_key)).push(out, c);
        }

        let name = format!("{suite}_three_recipients");
        let recipients = [p.bob.recipient(), alice, p.carol.recipient()];
        let s = seal_to(&name, suite, &recipients, plaintext(100));
        let comment = "three X25519 stanzas (Bob, Alice, Carol); the identity is the second";
        let c = case(name, SUCCESS, Some(&s.plaintext), comment, s.bytes());
        Opener::ids(&[&p.alice], Some(&s.file_key)).push(out, c);

        let name = format!("{suite}_passphrase");
        let s = seal_passphrase(&name, suite, no_extra);
        let comment = "one passphrase stanza, Argon2id m=64 KiB t=1 p=1";
        let c = case(name, SUCCESS, Some(&s.plaintext), comment, s.bytes());
        Opener::pass(PASSPHRASE, Some(&s.file_key)).push(out, c);
    }

    let suite = Suite::ChaCha20Poly1305;
    let s = seal_to("x25519_second_identity", suite, &[alice], plaintext(100));
    let comment = "two identities are given (Bob, Alice); the second matches";
    let c = case(
        "x25519_second_identity",
        SUCCESS,
        Some(&s.plaintext),
        comment,
        s.bytes(),
    );
    Opener::ids(&[&p.bob, &p.alice], Some(&s.file_key)).push(out, c);
}

/// Not vault files, and damage to the fixed fields, the nonce and the MAC.
fn header_fields(out: &mut Vec<Vector>, p: &People) {
    let alice = p.alice.recipient();
    let ids: &[&X25519Identity] = &[&p.alice];

    #[rustfmt::skip]
    let foreign: [(&str, &'static str, &str, &[u8]); 4] = [
        ("header_empty_file", NOT_VAULT, "an empty file", b""),
        ("header_not_vault", NOT_VAULT, "a text file", b"hello, world\n"),
        ("header_age_file", AGE_FILE, "a binary age file", b"age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n"),
        ("header_age_armored", AGE_FILE, "an armored age file", b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"),
    ];
    let cases = foreign
        .map(|(name, expect, comment, body)| case(name, expect, None, comment, body.to_vec()));
    Opener::ids(ids, None).push_all(out, cases);

    let base = base_to("header_base", &alice);
    let b = base.bytes();
    assert_eq!(base.chunk_at(0), X25519_HEADER_LEN);
    let f = |at, mask| flip(b.clone(), at, mask);
    let mut crlf = b.clone();
    crlf.remove(4);
    let mut other_mac = base.header.clone();
    other_mac
        .seal_mac(&FileKey::generate(&mut seeded("header_other_key"), 32))
        .unwrap();
    let other_mac = concat(&[&other_mac.to_bytes(), &base.payload]);
    #[rustfmt::skip]
    let cases = [
        case("header_magic_flipped", NOT_VAULT, None, "the first magic byte 0x89 flipped to 0x88 (as by a 7-bit transfer)", f(0, 0x01)),
        case("header_magic_crlf", NOT_VAULT, None, "the magic's CR LF turned into LF (as by a newline-translating transfer)", crlf),
        case("header_version_flipped", VERSION, None, "version byte 1 flipped to 0", f(AT_VERSION, 0x01)),
        case("header_version_2", VERSION, None, "version byte 2, a future format", f(AT_VERSION, 0x03)),
        case("header_suite_zero", SUITE, None, "suite byte 1 flipped to 0", f(AT_SUITE, 0x01)),
        case("header_suite_unknown", SUITE, None, "suite byte 3, unassigned", f(AT_SUITE, 0x02)),
        case("header_suite_swapped", HEADER_MAC, None, "suite byte 1 changed to 2: a valid suite, but the MAC covers it", f(AT_SUITE, 0x03)),
        case("header_count_flipped_to_zero", HEADER, None, "stanza count 1 flipped to 0", f(AT_COUNT + 1, 0x01)),
        case("header_count_flipped_high", HEADER, None, "stanza count 1 flipped to 0x0401 = 1025 (limit 1024)", f(AT_COUNT, 0x04)),
        case("header_nonce_flipped", HEADER_MAC, None, "a bit of the header nonce flipped", f(AT_NONCE + 7, 0x10)),
        case("header_mac_flipped_first", HEADER_MAC, None, "the first MAC byte flipped", f(AT_MAC, 0x01)),
        case("header_mac_flipped_last", HEADER_MAC, None, "the last MAC byte flipped", f(AT_MAC + MAC_LEN - 1, 0x80)),
        case("header_mac_other_key", HEADER_MAC, None, "a well-formed MAC of this header under another file key", other_mac),
        case("header_truncated_magic", TRUNCATED, None, "the file ends inside the magic", b[..5].to_vec()),
        case("header_truncated_after_magic", TRUNCATED, None, "the file is the magic alone", b[..8].to_vec()),
        case("header_truncated_count", TRUNCATED, None, "the file ends inside the stanza count", b[..AT_COUNT + 1].to_vec()),
        case("header_truncated_stanza", TRUNCATED, None, "the file ends inside the X25519 stanza body", b[..AT_WRAPPED].to_vec()),
        case("header_truncated_nonce", TRUNCATED, None, "the file ends inside the header nonce", b[..AT_NONCE + 5].to_vec()),
        case("header_truncated_mac", TRUNCATED, None, "the file ends one byte before the end of the MAC", b[..X25519_HEADER_LEN - 1].to_vec()),
        case("payload_missing", TRUNCATED, NOTHING, "a whole, valid header and no payload at all", b[..X25519_HEADER_LEN].to_vec()),
    ];
    Opener::ids(ids, Some(&base.file_key)).push_all(out, cases);

    // Three stanzas, Alice's second: damage that parses, caught by the MAC.
    let recipients = [p.bob.recipient(), alice, p.carol.recipient()];
    let three = seal_to(
        "header_three_base",
        Suite::ChaCha20Poly1305,
        &recipients,
        plaintext(100),
    );
    let f = |at, mask| flip(three.bytes(), at, mask);
    #[rustfmt::skip]
    let cases = [
        case("header_count_flipped_lower", HEADER_MAC, None, "stanza count 3 flipped to 2: Carol's stanza is read as nonce and MAC; Alice unwraps, the MAC fails", f(AT_COUNT + 1, 0x01)),
        case("stanza_kind_flipped_other_recipient", HEADER_MAC, None, "Bob's stanza (first of three) flipped to unknown kind 0x81 and skipped; Alice unwraps, the MAC fails", f(AT_KIND, 0x80)),
    ];
    Opener::ids(ids, Some(&three.file_key)).push_all(out, cases);
}

/// Stanza kinds, lengths and counts.
fn stanza_framing(out: &mut Vec<Vector>, p: &People) {
    let alice = p.alice.recipient();
    let ids: &[&X25519Identity] = &[&p.alice];
    let to_alice = |rng: &mut ChaCha20Rng, key: &FileKey| x25519::stanza(rng, &alice, key).unwrap();

    let base = base_to("stanza_base", &alice);
    let f = |at, mask| flip(base.bytes(), at, mask);
    #[rustfmt::skip]
    let cases = [
        case("stanza_kind_flipped_to_zero", HEADER, None, "the X25519 stanza's kind 1 flipped to 0, which is invalid", f(AT_KIND, 0x01)),
        case("stanza_kind_flipped_to_passphrase", HEADER, None, "the X25519 stanza's kind 1 changed to 2: a passphrase stanza of the wrong length", f(AT_KIND, 0x03)),
        case("stanza_kind_flipped_to_unknown", NO_MATCH, None, "the only stanza's kind 1 flipped to 0x81: an unknown kind, skipped, so nothing matches", f(AT_KIND, 0x80)),
        case("stanza_length_flipped", HEADER, None, "the X25519 stanza's length 80 flipped to 81", f(AT_LEN + 1, 0x01)),
        case("stanza_length_flipped_high", HEADER, None, "the X25519 stanza's length 0x0050 flipped to 0x0150", f(AT_LEN, 0x01)),
    ];
    Opener::ids(ids, Some(&base.file_key)).push_all(out, cases);

    // Headers assembled from stanzas: (name, expect, comment, stanzas).
    type Stanzas<'a> = Box<dyn FnOnce(&mut ChaCha20Rng, &FileKey) -> Vec<Stanza> + 'a>;
    let unknown_then_alice = |kind: u8, len: usize| -> Stanzas {
        Box::new(move |rng, key| vec![opaque_stanza(rng, kind, len), to_alice(rng, key)])
    };
    let resized = |kind: u8, len: usize| -> Stanzas {
        Box::new(move |rng, key| {
            let mut s = if kind == KIND_X25519 {
                to_alice(rng, key)
            } else {
                passphrase_stanza(rng, key)
            };
            s.body.resize(len, 0);
            vec![s]
        })
    };
    let many = |count: usize| -> Stanzas {
        Box::new(move |rng, key| {
            let mut v: Vec<Stanza> = (0..count - 1)
                .map(|_| opaque_stanza(rng, 0x10, 1))
                .collect();
            v.push(to_alice(rng, key));
            v
        })
    };
    #[rustfmt::skip]
    let assembled: [(&str, &'static str, &str, Stanzas); 11] = [
        ("stanza_unknown_kind_skipped", SUCCESS, "an unknown stanza kind (0x7f, 37 bytes) before Alice's stanza is skipped", unknown_then_alice(0x7f, 37)),
        ("stanza_unknown_kind_empty_body", SUCCESS, "an unknown stanza kind (0xff) with an empty body is skipped", unknown_then_alice(0xff, 0)),
        ("stanza_unknown_kind_max_body", SUCCESS, "an unknown stanza kind (0x83) with the longest allowed body, 4096 bytes", unknown_then_alice(0x83, MAX_UNKNOWN_BODY)),
        ("stanza_unknown_kind_too_long", HEADER, "an unknown stanza kind with a 4097-byte body (limit 4096)", unknown_then_alice(0x83, MAX_UNKNOWN_BODY + 1)),
        ("stanza_kind_zero", HEADER, "a stanza of kind 0 (invalid) before Alice's stanza", unknown_then_alice(0, x25519::BODY_LEN)),
        ("stanza_x25519_short", HEADER, "an X25519 stanza with a 79-byte body (must be 80)", resized(KIND_X25519, x25519::BODY_LEN - 1)),
        ("stanza_x25519_long", HEADER, "an X25519 stanza with an 81-byte body (must be 80)", resized(KIND_X25519, x25519::BODY_LEN + 1)),
        ("stanza_passphrase_long", HEADER, "a passphrase stanza with a 77-byte body (must be 76)", resized(KIND_PASSPHRASE, passphrase::BODY_LEN + 1)),
        ("stanza_count_zero", HEADER, "a header with no stanzas (count 0)", Box::new(|_, _| vec![])),
        ("stanza_count_max", SUCCESS, "1024 stanzas (the limit): 1023 of an unknown kind, then Alice's", many(MAX_STANZAS)),
        ("stanza_count_over_max", HEADER, "1025 stanzas (limit 1024): 1024 of an unknown kind, then Alice's", many(MAX_STANZAS + 1)),
    ];
    for (name, expect, comment, stanzas) in assembled {
        let s = seal_custom(name, stanzas);
        let released = (expect == SUCCESS).then_some(&s.plaintext[..]);
        let c = case(name, expect, released, comment, s.bytes());
        Opener::ids(ids, Some(&s.file_key)).push(out, c);
    }
}

/// The X25519 stanza: damage to its body, low-order shares, no match.
fn x25519_stanzas(out: &mut Vec<Vector>, p: &People) {
    let alice = p.alice.recipient();
    let ids: &[&X25519Identity] = &[&p.alice];
    let base = base_to("x25519_base", &alice);
    let f = |at, mask| flip(base.bytes(), at, mask);
    #[rustfmt::skip]
    let cases = [
        case("x25519_ephemeral_flipped", NO_MATCH, None, "a bit of the ephemeral share flipped", f(AT_EPK, 0x01)),
        case("x25519_ephemeral_high_bit", NO_MATCH, None, "the ephemeral share's top bit flipped: X25519 ignores it, the HKDF salt does not", f(AT_EPK + 31, 0x80)),
        case("x25519_wrapped_key_flipped", NO_MATCH, None, "a bit of the wrapped file key flipped", f(AT_WRAPPED, 0x01)),
        case("x25519_tag_flipped", NO_MATCH, None, "a bit of the wrapped file key's tag flipped", f(AT_WRAPPED + 47, 0x01)),
    ];
    Opener::ids(ids, Some(&base.file_key)).push_all(out, cases);

    let others = [p.bob.recipient(), p.carol.recipient()];
    let s = seal_to(
        "x25519_no_match",
        Suite::ChaCha20Poly1305,
        &others,
        plaintext(100),
    );
    let c = case(
        "x25519_no_match",
        NO_MATCH,
        None,
        "sealed to Bob and Carol, opened by Alice",
        s.bytes(),
    );
    Opener::ids(ids, Some(&s.file_key)).push(out, c);

    // Low-order shares make the shared secret all zero.
    let order8: [u8; 32] =
        unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
            .try_into()
            .unwrap();
    let low_order = |point: [u8; 32]| {
        move |rng: &mut ChaCha20Rng, _: &FileKey| {
            let mut s = opaque_stanza(rng, KIND_X25519, x25519::BODY_LEN);
            s.body[..32].copy_from_slice(&point);
            s
        }
    };
    let zero = seal_custom("x25519_low_order_zero", |rng, key| {
        vec![low_order([0; 32])(rng, key)]
    });
    let comment = "the only stanza's ephemeral share is 0, a low-order point";
    let c = case("x25519_low_order_zero", HEADER, None, comment, zero.bytes());
    Opener::ids(ids, Some(&zero.file_key)).push(out, c);
    let eight = seal_custom("x25519_low_order_order8", |rng, key| {
        vec![
            low_order(order8)(rng, key),
            x25519::stanza(rng, &alice, key).unwrap(),
        ]
    });
    let comment = "a stanza whose ephemeral share has order 8, before Alice's valid stanza";
    let c = case(
        "x25519_low_order_order8",
        HEADER,
        None,
        comment,
        eight.bytes(),
    );
    Opener::ids(ids, Some(&eight.file_key)).push(out, c);
}

/// The passphrase stanza: wrong passphrase, not alone, work factors.
fn passphrase_stanzas(out: &mut Vec<Vector>, p: &People) {
    let suite = Suite::ChaCha20Poly1305;
    let alice = p.alice.recipient();

    let s = seal_passphrase("passphrase_base", suite, no_extra);
    let key = Some(&s.file_key);
    let comment = "a passphrase file opened with an identity";
    Opener::ids(&[&p.alice], key).push(
        out,
        case(
            "passphrase_given_identity",
            NO_MATCH,
            None,
            comment,
            s.bytes(),
        ),
    );
    let comment = "opened with another passphrase";
    Opener::pass("Tr0ub4dor&3", key).push(
        out,
        case(
            "passphrase_wrong",
            WRONG_PASSPHRASE,
            None,
            comment,
            s.bytes(),
        ),
    );
    #[rustfmt::skip]
    let cases = [
        case("passphrase_salt_flipped", WRONG_PASSPHRASE, None, "a bit of the Argon2id salt flipped", flip(s.bytes(), AT_BODY + 3, 0x01)),
        case("passphrase_wrapped_flipped", WRONG_PASSPHRASE, None, "a bit of the wrapped file key flipped", flip(s.bytes(), AT_BODY + 16 + 12 + 5, 0x01)),
    ];
    Opener::pass(PASSPHRASE, key).push_all(out, cases);

    let x = seal_to("x25519_given_passphrase", suite, &[alice], plaintext(100));
    let comment = "an X25519 file opened with a passphrase";
    let c = case(
        "x25519_given_passphrase",
        NO_MATCH,
        None,
        comment,
        x.bytes(),
    );
    Opener::pass(PASSPHRASE, Some(&x.file_key)).push(out, c);

    let with_x25519 = seal_passphrase("passphrase_with_x25519", suite, |rng, key| {
        (vec![x25519::stanza(rng, &alice, key).unwrap()], vec![])
    });
    let twice = seal_passphrase("passphrase_twice", suite, |rng, key| {
        (vec![], vec![passphrase_stanza(rng, key)])
    });
    let with_unknown = seal_passphrase("passphrase_with_unknown", suite, |rng, _| {
        (vec![], vec![opaque_stanza(rng, 0x42, 10)])
    });
    #[rustfmt::skip]
    let not_alone = [
        ("passphrase_with_x25519", "an X25519 stanza for Alice, then a passphrase stanza", with_x25519),
        ("passphrase_twice", "two passphrase stanzas for the same file key", twice),
        ("passphrase_with_unknown", "a passphrase stanza, then a stanza of an unknown kind", with_unknown),
    ];
    for (name, comment, s) in not_alone {
        let c = case(name, NOT_ALONE, None, comment, s.bytes());
        Opener::pass(PASSPHRASE, Some(&s.file_key)).push(out, c);
    }

    // Work factors: a real stanza whose m, t or p is then replaced, with the
    // header MAC re-sealed, so only the costs are wrong.
    let (m, t, p) = TINY_ARGON2;
    #[rustfmt::skip]
    let costs = [
        ("passphrase_memory_too_high", (MAX_MEMORY_KIB + 1, t, p), WORK_FACTOR, "Argon2id m = 1 GiB + 1 KiB (limit 1 GiB)"),
        ("passphrase_time_too_high", (m, MAX_TIME + 1, p), WORK_FACTOR, "Argon2id t = 17 (limit 16)"),
        ("passphrase_lanes_too_high", (m, t, MAX_LANES + 1), WORK_FACTOR, "Argon2id p = 9 (limit 8)"),
        ("passphrase_time_zero", (m, 0, p), WORK_FACTOR, "Argon2id t = 0 (at least 1)"),
        ("passphrase_lanes_zero", (m, t, 0), WORK_FACTOR, "Argon2id p = 0 (at least 1)"),
        ("passphrase_memory_too_low", (7, t, p), HEADER, "Argon2id m = 7 KiB, below Argon2's minimum of 8 KiB per lane"),
    ];
    for (name, (m, t, p), expect, comment) in costs {
        let mut s = seal_passphrase(name, suite, no_extra);
        let body = &mut s.header.stanzas[0].body;
        for (i, word) in [m, t, p].into_iter().enumerate() {
            body[16 + 4 * i..20 + 4 * i].copy_from_slice(&word.to_be_bytes());
        }
        s.header.seal_mac(&s.file_key).unwrap();
        let c = case(name, expect, None, comment, s.bytes());
        Opener::pass(PASSPHRASE, Some(&s.file_key)).push(out, c);
    }
}

/// Payload damage, for one suite.
fn payload_per_suite(out: &mut Vec<Vector>, p: &People, suite: Suite) {
    let alice = p.alice.recipient();
    let ids: &[&X25519Identity] = &[&p.alice];
    let s = seal_to(
        &format!("{suite}_stream_base"),
        suite,
        &[alice],
        plaintext(2 * CHUNK_SIZE + 500),
    );
    let b = s.bytes();
    let f = |at, mask| flip(b.clone(), at, mask);
    let (c0, c01) = (
        Some(&s.plaintext[..CHUNK_SIZE]),
        Some(&s.plaintext[..2 * CHUNK_SIZE]),
    );
    let n = |what: &str| format!("{suite}_stream_{what}");
    #[rustfmt::skip]
    let cases = [
        case(n("flip_first_chunk"), PAYLOAD, NOTHING, "a bit of the first of three chunks flipped; nothing is released", f(s.chunk_at(0) + 100, 0x01)),
        case(n("flip_last_chunk"), PAYLOAD, c01, "a bit of the last of three chunks flipped; the first two are released", f(s.chunk_at(2) + 100, 0x01)),
        case(n("truncated_after_first_chunk"), TRUNCATED, c0, "cut at the first chunk boundary: a full chunk not marked last (released), then the end", b[..s.chunk_at(1)].to_vec()),
        case(n("truncated_after_second_chunk"), TRUNCATED, c01, "cut at the second chunk boundary; both chunks are released", b[..s.chunk_at(2)].to_vec()),
        case(n("truncated_mid_chunk"), PAYLOAD, c0, "cut 1000 bytes into the second chunk; the first chunk is released", b[..s.chunk_at(1) + 1000].to_vec()),
    ];
    Opener::ids(ids, Some(&s.file_key)).push_all(out, cases);

    let name = n("trailing_after_full_chunk");
    let s = seal_to(&name, suite, &[alice], plaintext(CHUNK_SIZE));
    let body = concat(&[&s.bytes(), &[0]]);
    let c = case(
        name,
        TRAILING,
        Some(&s.plaintext[..]),
        "one byte after a full final chunk (released)",
        body,
    );
    Opener::ids(ids, Some(&s.file_key)).push(out, c);
}

/// More payload damage, ChaCha20-Poly1305 only.
fn payload_more(out: &mut Vec<Vector>, p: &People) {
    let suite = Suite::ChaCha20Poly1305;
    let alice = p.alice.recipient();
    let ids: &[&X25519Identity] = &[&p.alice];
    let three = seal_to(
        "stream_three_base",
        suite,
        &[alice],
        plaintext(2 * CHUNK_SIZE + 500),
    );
    let b = three.bytes();
    let c0 = Some(&three.plaintext[..CHUNK_SIZE]);

    let mut reordered = b.clone();
    let (first, rest) = reordered[three.chunk_at(0)..].split_at_mut(SEALED_CHUNK_SIZE);
    first.swap_with_slice(&mut rest[..SEALED_CHUNK_SIZE]);
    // Another file to Alice with the same plaintext (so another file key).
    let other = seal_to(
        "stream_other_file",
        suite,
        &[alice],
        three.plaintext.clone(),
    );
    let mut swapped = b.clone();
    let (at, oat) = (three.chunk_at(1), other.chunk_at(1));
    swapped[at..at + SEALED_CHUNK_SIZE]
        .copy_from_slice(&other.bytes()[oat..oat + SEALED_CHUNK_SIZE]);
    #[rustfmt::skip]
    let cases = [
        case("stream_chunks_reordered", PAYLOAD, NOTHING, "the first two chunks swapped", reordered),
        case("stream_truncated_in_tag", PAYLOAD, Some(&three.plaintext[..2 * CHUNK_SIZE]), "the file's last byte (in the last tag) cut off; two chunks are released", b[..b.len() - 1].to_vec()),
        case("stream_truncated_short_chunk", TRUNCATED, c0, "cut 10 bytes into the second chunk: less than a tag where a chunk must be", b[..three.chunk_at(1) + 10].to_vec()),
        case("stream_chunk_from_other_file", PAYLOAD, c0, "the second chunk replaced by the second chunk of another file with the same plaintext", swapped),
    ];
    Opener::ids(ids, Some(&three.file_key)).push_all(out, cases);
    let franken = concat(&[&other.header.to_bytes(), &three.payload]);
    let comment = "the header of another file to Alice on this payload: the payload key differs";
    let c = case(
        "stream_header_from_other_file",
        PAYLOAD,
        NOTHING,
        comment,
        franken,
    );
    Opener::ids(ids, Some(&other.file_key)).push(out, c);

    // Chunk sequences the writer never makes, sealed with PayloadKey::seal_chunk.
    let (header, file_key) = new_header(&mut seeded("stream_handmade"), suite, &[&alice]).unwrap();
    let key = payload_key(suite, &file_key, &header.nonce);
    let data = plaintext(CHUNK_SIZE + 100);
    let (full, tail) = data.split_at(CHUNK_SIZE);
    let chunk = |index: u64, last: bool, plain: &[u8]| {
        let mut buf = concat(&[plain, &[0; 16]]);
        let n = key.seal_chunk(index, last, &mut buf, plain.len());
        assert_eq!(n, buf.len());
        buf
    };
    let file = |chunks: &[&[u8]]| concat(&[&header.to_bytes(), &chunks.concat()]);
    let empty_cut = file(&[&chunk(0, true, &[])[..15]]);
    #[rustfmt::skip]
    let cases = [
        case("stream_empty_final_chunk", PAYLOAD, Some(full), "a full chunk, then an empty final chunk (allowed only as the only chunk)", file(&[&chunk(0, false, full), &chunk(1, true, &[])])),
        case("stream_two_final_chunks", TRAILING, Some(full), "a full chunk marked last (released), then another chunk marked last", file(&[&chunk(0, true, full), &chunk(1, true, tail)])),
        case("stream_no_final_chunk_short", PAYLOAD, NOTHING, "a single short chunk not marked last", file(&[&chunk(0, false, tail)])),
        case("stream_skipped_index", PAYLOAD, Some(full), "chunk indices 0 then 2: a chunk was dropped from the middle", file(&[&chunk(0, false, full), &chunk(2, true, tail)])),
        case("stream_trailing_after_short_chunk", PAYLOAD, NOTHING, "one byte after a short final chunk: the chunk no longer authenticates", file(&[&chunk(0, true, tail), &[0]])),
        case("stream_trailing_after_empty_chunk", PAYLOAD, NOTHING, "one byte after the empty final chunk of an empty file", file(&[&chunk(0, true, &[]), &[0]])),
        case("stream_trailing_long", TRAILING, Some(full), "40 bytes after a full final chunk (released)", file(&[&chunk(0, true, full), &[0x55; 40]])),
        case("stream_empty_payload_cut", TRUNCATED, NOTHING, "the empty final chunk of an empty file cut to 15 bytes", empty_cut),
    ];
    Opener::ids(ids, Some(&file_key)).push_all(out, cases);
}

/// Compare `vectors` with the files in `dir`; returns the differences.
pub fn compare(dir: &Path, vectors: &[Vector]) -> Vec<String> {
    gen_cli::compare(dir, vectors.iter().map(|v| (v.name.as_str(), v.encode())))
}

/// Write `vectors` into `dir`, removing files the generator no longer makes.
fn write(dir: &Path, vectors: &[Vector]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if !vectors.iter().any(|v| Some(&v.name) == name.as_ref()) {
            eprintln!("gen_vectors: removing {}", path.display());
            std::fs::remove_file(&path)?;
        }
    }
    for v in vectors {
        std::fs::write(dir.join(&v.name), v.encode())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    gen_cli::main(gen_cli::Generator {
        name: "gen_vectors",
        all,
        write: |dir, vectors| write(dir, vectors).map_err(|e| format!("{}: {e}", dir.display())),
        compare,
    })
}
