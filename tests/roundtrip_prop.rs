//! Property tests: any plaintext, written in any step sizes, opens to itself
//! under either suite; any single-byte change to the sealed file is caught.

use std::io::{Read, Write};

use proptest::prelude::*;
use vault::crypto::file::Decryptor;
use vault::crypto::{CHUNK_SIZE, SealedFile, Suite, X25519Identity, os_rng, seal};

#[path = "common/lengths.rs"]
mod lengths;

fn suite() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::ChaCha20Poly1305), Just(Suite::Aes256Gcm)]
}

fn length() -> impl Strategy<Value = usize> {
    lengths::around_chunks(3)
}

fn sealed(id: &X25519Identity, suite: Suite, plain: &[u8], step: usize) -> Vec<u8> {
    let mut w = seal(&mut os_rng(), suite, &[&id.recipient()], Vec::new()).unwrap();
    for piece in plain.chunks(step) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

fn opened(id: &X25519Identity, bytes: &[u8], read_step: usize) -> Result<Vec<u8>, std::io::Error> {
    let d = Decryptor::new(bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let key = d
        .file_key(&[id])
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut r = d.into_reader(&key);
    let mut out = Vec::new();
    let mut buf = vec![0u8; read_step];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(suite in suite(), len in length(), seed in any::<u8>(),
                  step in 1usize..100_000, read_step in 1usize..100_000) {
        let id = X25519Identity::generate(&mut os_rng());
        let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let bytes = sealed(&id, suite, &plain, step);
        prop_assert_eq!(opened(&id, &bytes, read_step).unwrap(), plain);
    }

    #[test]
    fn any_flipped_byte_is_caught(suite in suite(), len in 0usize..(2 * CHUNK_SIZE + 10),
                                  pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let id = X25519Identity::generate(&mut os_rng());
        let plain = vec![0x5au8; len];
        let mut bytes = sealed(&id, suite, &plain, 4096);
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(opened(&id, &bytes, 65536).is_err(), "flip at {} of {}", i, bytes.len());
    }
}
