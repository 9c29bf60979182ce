//! Harnesses for the file formats: vault header, STREAM payload, age header
//! and armor.

use std::io::{BufReader, Read, Write};

use super::{Trickle, class, file_key, identity};
use crate::crypto::age::{self, ArmoredReader, ArmoredWriter};
use crate::crypto::file::{Decryptor, file_key_for};
use crate::crypto::header::{Header, MAX_STANZAS};
use crate::crypto::stream::{
    CHUNK_SIZE, SEALED_CHUNK_SIZE, StreamReader, StreamWriter, sealed_len,
};
use crate::crypto::suite::{PayloadKey, Suite};
use crate::crypto::{CryptoError, FileKey, Identity, SealedFile};

/// Headers with more stanzas than this are not tried against the identity
/// (one X25519 operation each), to keep the fuzzer fast.
const MAX_UNWRAP: usize = 16;

/// The vault header parser: parse, then re-encode to the same bytes; the
/// parser consumes exactly the header, also from a reader that returns one
/// byte at a time; unwrapping and the MAC check never panic.
pub fn vault_header(data: &[u8]) {
    let mut rest = data;
    let parsed = Header::read_from(&mut rest);
    let used = data.len() - rest.len();
    let mut trickle = Trickle { data, step: 1 };
    let slow = Header::read_from(&mut trickle);
    match (&parsed, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "short reads change the parse"),
        (Err(a), Err(b)) => assert_eq!(class(a), class(b), "{a} / {b}"),
        _ => panic!("short reads change the outcome: {parsed:?} / {slow:?}"),
    }
    let Ok(header) = parsed else { return };
    assert_eq!(
        header.to_bytes(),
        &data[..used],
        "not the canonical encoding"
    );
    assert_eq!(
        trickle.data.len(),
        rest.len(),
        "consumed a different length"
    );
    assert!((1..=MAX_STANZAS).contains(&header.stanzas.len()));
    let _ = header.verify_mac(&file_key());
    if header.stanzas.len() <= MAX_UNWRAP {
        let _ = file_key_for(&header, &[&identity() as &dyn Identity]);
    }
    // The same bytes through the file-level API, then its payload reader
    // under a key that cannot be right: it must fail, never panic.
    let d = Decryptor::new(data).expect("Decryptor parses what Header parses");
    assert_eq!(d.header(), &header);
    let mut out = Vec::new();
    let res = d.into_reader(&file_key()).read_to_end(&mut out);
    assert!(out.is_empty() || res.is_ok() || out.len() % CHUNK_SIZE == 0);
}

fn suite(selector: u8) -> Suite {
    if selector & 1 == 0 {
        Suite::ChaCha20Poly1305
    } else {
        Suite::Aes256Gcm
    }
}

/// Open `sealed` under `key` three ways (`read_to_end`, `copy_to`, short
/// reads of both sides); all three must agree.
fn open_three_ways(
    key: impl Fn() -> PayloadKey,
    sealed: &[u8],
    step: usize,
) -> (Vec<u8>, Result<(), CryptoError>) {
    let mut r = StreamReader::new(key(), sealed);
    let mut out = Vec::new();
    let res = match r.read_to_end(&mut out) {
        Ok(_) => Ok(()),
        Err(e) => Err(r.failure().unwrap_or(CryptoError::Io(e))),
    };
    if res.is_err() {
        assert!(
            r.read(&mut [0u8; 16]).is_err(),
            "a failed reader must keep failing"
        );
    }
    let mut copied = Vec::new();
    let copy_res = StreamReader::new(key(), sealed)
        .copy_to(&mut copied)
        .map(|_| ())
        .map_err(CryptoError::from);
    assert_eq!(out, copied, "read and copy_to release different bytes");
    // Short reads, but not so short that large inputs crawl.
    let step = step.max(sealed.len() / 64);
    let mut slow = StreamReader::new(key(), Trickle { data: sealed, step });
    let mut slow_out = Vec::new();
    let mut buf = vec![0u8; step];
    let slow_res = loop {
        match slow.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => slow_out.extend_from_slice(&buf[..n]),
            Err(e) => break Err(slow.failure().unwrap_or(CryptoError::Io(e))),
        }
    };
    assert_eq!(out, slow_out, "short reads release different bytes");
    for other in [&copy_res, &slow_res] {
        match (&res, other) {
            (Ok(()), Ok(())) => {}
            (Err(a), Err(b)) => assert_eq!(class(a), class(b), "{a} / {b}"),
            _ => panic!("ways of reading disagree: {res:?} / {other:?}"),
        }
    }
    (out, res)
}

/// The payload reader under a fixed key (first byte: suite and read size).
/// What opens re-seals to exactly the input (STREAM is deterministic given
/// the key); what fails released only whole authenticated chunks.
pub fn payload_open(data: &[u8]) {
    let Some((&sel, sealed)) = data.split_first() else {
        return;
    };
    let suite = suite(sel);
    let key = || PayloadKey::new(suite, &super::PAYLOAD_KEY);
    let step = usize::from(sel >> 1) * 37 + 1;
    let (out, res) = open_three_ways(key, sealed, step);
    match res {
        Ok(()) => {
            assert_eq!(sealed_len(out.len() as u64), sealed.len() as u64);
            let mut w = StreamWriter::new(key(), Vec::new());
            w.write_all(&out).expect("writing to a Vec");
            assert_eq!(w.finish().expect("Vec"), sealed, "not the one encoding");
        }
        Err(CryptoError::Io(e)) => panic!("an I/O error from a slice: {e}"),
        Err(_) => assert_eq!(out.len() % CHUNK_SIZE, 0, "released part of a chunk"),
    }
}

/// Seal then open arbitrary data with arbitrary write sizes.
///
/// Input: suite byte, 2-byte length (in units of 4 bytes, so up to four
/// chunks), then bytes that are both the plaintext pattern and the write
/// sizes.
pub fn payload_roundtrip(data: &[u8]) {
    let [sel, hi, lo, body @ ..] = data else {
        return;
    };
    let suite = suite(*sel);
    let key = || PayloadKey::new(suite, &[0x5a; 32]);
    let len = usize::from(u16::from_be_bytes([*hi, *lo])) * 4;
    let plain: Vec<u8> = if body.is_empty() {
        vec![0; len]
    } else {
        body.iter().copied().cycle().take(len).collect()
    };
    let mut w = StreamWriter::new(key(), Vec::new());
    let mut sizes = body.iter().map(|&b| usize::from(b) * 521 + 1).cycle();
    let mut at = 0;
    while at < plain.len() {
        let n = sizes.next().unwrap_or(plain.len()).min(plain.len() - at);
        let wrote = w.write(&plain[at..at + n]).expect("writing to a Vec");
        assert!(wrote > 0 || n == 0);
        at += wrote;
        if n % 3 == 0 {
            w.flush().expect("flushing a Vec");
        }
    }
    let sealed = w.finish().expect("Vec");
    assert_eq!(sealed.len() as u64, sealed_len(plain.len() as u64));
    let mut w = StreamWriter::new(key(), Vec::new());
    let step = usize::from(*sel >> 1) * 101 + 1;
    w.copy_from(&mut Trickle { data: &plain, step })
        .expect("slice");
    assert_eq!(
        w.finish().expect("Vec"),
        sealed,
        "copy_from seals differently"
    );
    let (out, res) = open_three_ways(key, &sealed, step);
    assert!(res.is_ok(), "a sealed payload fails to open: {res:?}");
    assert_eq!(out, plain);
    // Cut at the last chunk boundary, or one byte more: never success.
    let cut = (sealed.len() - 1) / SEALED_CHUNK_SIZE * SEALED_CHUNK_SIZE;
    let mut r = StreamReader::new(key(), &sealed[..cut]);
    assert!(r.read_to_end(&mut Vec::new()).is_err(), "truncation opens");
    let mut longer = sealed.clone();
    longer.push(*sel);
    let mut r = StreamReader::new(key(), &longer[..]);
    assert!(
        r.read_to_end(&mut Vec::new()).is_err(),
        "trailing byte opens"
    );
}

/// The age header parser and the file-level age reader (sniffing, armor,
/// header, nonce). Parse then re-encode gives the same bytes; stanza checks
/// and key unwrapping never panic.
pub fn age_header(data: &[u8]) {
    let mut rest = data;
    let parsed = age::Header::read_from(&mut rest);
    if let Ok(h) = &parsed {
        let used = data.len() - rest.len();
        assert_eq!(h.to_bytes(), &data[..used], "not the canonical encoding");
        assert!(!h.stanzas.is_empty() && h.stanzas.len() <= age::header::MAX_STANZAS);
        let key16 = FileKey::from_bytes(&[0x24; 16]).expect("16 bytes");
        let _ = h.verify_mac(&key16);
        for s in &h.stanzas {
            assert!(!s.kind().is_empty());
            if s.kind() == age::scrypt::SCRYPT {
                let _ = age::scrypt::scrypt_params(s);
            }
        }
    }
    let Ok(d) = age::Decryptor::new(data) else {
        return;
    };
    if let Ok(h) = &parsed {
        assert_eq!(d.header(), h, "the file reader parses another header");
    }
    if d.is_passphrase() {
        // Never run scrypt here: only its parameter checks.
        let _ = d.passphrase_work_factor();
        return;
    }
    if d.header().stanzas.len() <= MAX_UNWRAP {
        let _ = d.file_key(&[&identity() as &dyn Identity]);
    }
    let key16 = FileKey::from_bytes(&[0x24; 16]).expect("16 bytes");
    let mut out = Vec::new();
    let res = d.into_reader(&key16).read_to_end(&mut out);
    assert!(out.is_empty() || res.is_ok() || out.len() % CHUNK_SIZE == 0);
}

/// The canonical armor of an input the armor reader accepted: leading
/// whitespace lines dropped, CR LF as LF, trailing whitespace as one LF.
fn normalise_armor(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let text = data.trim_ascii();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(text[i]);
        i += 1;
    }
    out.push(b'\n');
    out
}

fn decode_armor(data: &[u8], step: usize) -> (Vec<u8>, Result<(), CryptoError>) {
    let mut r = ArmoredReader::new(BufReader::with_capacity(step, data));
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert!(
                    r.read(&mut buf).is_err(),
                    "a failed reader must keep failing"
                );
                return (out, Err(r.failure().unwrap_or(CryptoError::Io(e))));
            }
        }
    }
}

/// age's armor: decoding with any read size agrees; what decodes re-encodes
/// to the input (up to the whitespace the armor allows around it); and any
/// data armors and decodes back.
pub fn age_armor(data: &[u8]) {
    let (out, res) = decode_armor(data, 4096);
    let step = data.first().map_or(1, |&b| usize::from(b % 67) + 1);
    let (slow, slow_res) = decode_armor(data, step);
    assert_eq!(out, slow, "read sizes change the decoded bytes");
    match (&res, &slow_res) {
        (Ok(()), Ok(())) => {}
        (Err(CryptoError::InvalidArmor(_)), Err(CryptoError::InvalidArmor(_))) => {}
        _ => panic!("read sizes change the outcome: {res:?} / {slow_res:?}"),
    }
    if res.is_ok() {
        let mut w = ArmoredWriter::new(Vec::new());
        w.write_all(&out).expect("Vec");
        let armored = w.finish().expect("Vec");
        assert_eq!(armored, normalise_armor(data), "not the one encoding");
    }
    let mut w = ArmoredWriter::new(Vec::new());
    w.write_all(data).expect("Vec");
    let armored = w.finish().expect("Vec");
    let (back, back_res) = decode_armor(&armored, 4096);
    assert!(back_res.is_ok(), "own armor refused: {back_res:?}");
    assert_eq!(back, data);
}
