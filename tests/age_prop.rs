//! Property tests of the age format code: the header parser and the armor
//! reader accept exactly one encoding of anything they accept (so an age file
//! is not malleable through them) and never panic, and any plaintext sealed
//! as an age file opens to itself while any changed byte is caught.

use std::io::{Read, Write};

use proptest::prelude::*;
use vault::crypto::age::{self, ArmoredReader, ArmoredWriter, Decryptor, Header, Stanza};
use vault::crypto::{
    CopyError, CryptoError, FileKey, SealedFile, X25519Identity, os_rng, pipeline,
};

#[path = "common/lengths.rs"]
mod lengths;

/// A valid header with a few stanza shapes (short, empty, 64-column body).
fn sample_header() -> Vec<u8> {
    let stanza = |args: &[&str], body: Vec<u8>| Stanza {
        args: args.iter().map(|s| s.to_string()).collect(),
        body,
    };
    let mut h = Header {
        stanzas: vec![
            stanza(
                &["X25519", "TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc"],
                vec![1; 32],
            ),
            stanza(&["grease", "~!"], vec![]),
            stanza(&["other"], vec![2; 48]),
        ],
        mac: [0; 32],
    };
    h.seal_mac(&FileKey::from_bytes(&[3; 16]).unwrap()).unwrap();
    h.to_bytes()
}

/// `base` with a few bytes replaced, inserted or removed.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    // Places and bytes that matter to the grammar (around line ends and
    // spaces), often; anywhere and anything, sometimes.
    let edges: Vec<usize> = (0..len)
        .filter(|&i| matches!(base[i], b'\n' | b' ') || (i > 0 && base[i - 1] == b'\n'))
        .collect();
    let at = prop_oneof![prop::sample::select(edges), 0..len];
    let byte = prop_oneof![prop::sample::select(b" \n\r->=A/+".to_vec()), any::<u8>()];
    proptest::collection::vec((at, byte, 0u8..3), 1..4).prop_map(move |edits| {
        let mut b = base.clone();
        for (at, byte, kind) in edits {
            let at = at.min(b.len().saturating_sub(1));
            match kind {
                0 if !b.is_empty() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if !b.is_empty() => {
                    b.remove(at);
                }
                _ => {}
            }
        }
        b
    })
}

fn armored(data: &[u8]) -> Vec<u8> {
    let mut w = ArmoredWriter::new(Vec::new());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// The text of an armored file with CR LF made LF and outer whitespace cut:
/// the freedoms the armor allows.
fn normal(b: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(b).replace("\r\n", "\n");
    s.trim_ascii().as_bytes().to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn headers_have_one_encoding(bytes in prop_oneof![
        mutated(sample_header()),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]) {
        let mut rest = &bytes[..];
        if let Ok(h) = Header::read_from(&mut rest) {
            let consumed = &bytes[..bytes.len() - rest.len()];
            prop_assert_eq!(h.to_bytes(), consumed);
        }
    }

    #[test]
    fn armor_has_one_encoding(bytes in prop_oneof![
        mutated(armored(&[0x5a; 100])),
        mutated(armored(&[0x00; 96])),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]) {
        let mut out = Vec::new();
        if ArmoredReader::new(&bytes[..]).read_to_end(&mut out).is_ok() {
            prop_assert_eq!(normal(&armored(&out)), normal(&bytes));
        }
    }
}

fn length() -> impl Strategy<Value = usize> {
    lengths::around_chunks(2)
}

fn open(id: &X25519Identity, file: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let d = Decryptor::new(file)?;
    let key = d.file_key(&[id])?;
    let (key, payload) = d.into_payload(&key);
    let mut out = Vec::new();
    pipeline::open_payload(key, payload, &mut out, 1).map_err(|e| match e {
        CopyError::Crypto(e) => e,
        CopyError::Read(e) | CopyError::Write(e) => CryptoError::Io(e),
    })?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn age_files_open_to_their_plaintext_and_catch_any_change(
        len in length(),
        armor in any::<bool>(),
        flip_at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let id = X25519Identity::generate(&mut os_rng());
        let plain: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
        let (head, key) = age::seal_header(&mut os_rng(), &[&id.recipient()]).unwrap();
        let file = if armor {
            let mut w = ArmoredWriter::new(Vec::new());
            w.write_all(&head).unwrap();
            let (_, w) = pipeline::seal_payload(key, &mut &plain[..], w, 1).unwrap();
            w.finish().unwrap()
        } else {
            pipeline::seal_payload(key, &mut &plain[..], head, 1).unwrap().1
        };
        prop_assert_eq!(&open(&id, &file).unwrap(), &plain);
        let mut bad = file.clone();
        let at = flip_at.index(bad.len());
        bad[at] ^= mask;
        // Armor tolerates CR before LF and whitespace around it; nothing else.
        let harmless = armor && (normal(&bad) == normal(&file));
        if !harmless {
            prop_assert!(open(&id, &bad).is_err(), "byte {} ^ {:#x} went unnoticed", at, mask);
        }
    }
}
