//! libssh2's `chacha20-poly1305@openssh.com`, with RustCrypto's ChaCha20 and
//! Poly1305 underneath instead of libssh2's portable C.
//!
//! Why: on push and pull, libssh2's ChaCha20 and Poly1305 (portable C, one
//! 64-byte block at a time) took 54-58% of the client's CPU, about four
//! times the payload encryption, and made `vault push`/`pull` slower than
//! OpenSSH's `sftp`, whose ChaCha20 is OpenSSL's assembly
//! (docs/PERFORMANCE_SFTP.md). The `chacha20` and `poly1305` crates are the
//! same ones the payload uses, with AVX2/AVX-512 back ends chosen at run
//! time.
//!
//! How: libssh2 composes the SSH construction (`cipher-chachapoly.c`: the
//! packet-length key, the Poly1305 key from block 0, the payload from
//! block 1, tag over the encrypted length and payload) out of four C
//! functions, defined in its `chacha.c` and `poly1305.c`:
//! `chacha_keysetup`, `chacha_ivsetup`, `chacha_encrypt_bytes` and
//! `poly1305_auth`. libssh2 is linked statically, from an archive, and the
//! linker takes an archive member only for symbols still undefined, so the
//! definitions below, which are linked first (this crate comes before
//! `libssh2-sys` on the link line), replace those two members whole. The
//! SSH construction itself stays libssh2's; only the two primitives
//! change, and they must compute exactly what the C computes, on the same
//! state layout (`struct chacha_ctx { u32 input[16]; }`: constants, key,
//! 64-bit block counter, 64-bit nonce, all little-endian words).
//!
//! What guards it, so that a libssh2 change fails loudly instead of
//! corrupting packets or silently going slow:
//! - `libssh2-sys` is pinned to one exact version in Cargo.toml;
//! - `build.rs` compiles `ssh_cipher_check.c` against that version's own
//!   `chacha.h` and `poly1305.h`: static asserts on the four prototypes
//!   and on `struct chacha_ctx` fail the build if either changed (libssh2
//!   1.11.1 declared `u_int bytes` where 1.11.2 has `size_t`). Only after
//!   that check passes does `build.rs` set `cfg(vault_ssh_cipher)`, which
//!   compiles this module in; with a system libssh2
//!   (`LIBSSH2_SYS_USE_PKG_CONFIG`) there is nothing to check against, so
//!   the module is left out and libssh2's C runs;
//! - every call is counted ([`calls`]); `tests/ssh_cipher.rs` pushes over
//!   the test sshd (which allows only chacha20-poly1305) and fails unless
//!   the count grew by at least one per SSH packet, so if libssh2 renamed or
//!   hid these functions and its own C came back, a test fails;
//! - each SFTP test talks to the real OpenSSH `sshd` with this cipher,
//!   which checks it against an independent implementation; the unit tests
//!   below add known answers, libssh2's own C outputs
//!   (`vectors/ssh/libssh2_primitives.txt`) and the counter bookkeeping.
//!
//! The global C names are a cost of the approach: any other C code in the
//! same program that calls `chacha_keysetup` & co. gets these. vault links
//! no other C that defines or calls them (OpenSSL's ChaCha20 has other
//! names).
//!
//! What makes the linker take these: `SftpTransport::connect` refers to
//! [`LINKED`], so the object holding them is loaded from this crate's rlib
//! before libssh2's archive is searched (`#[used]` alone keeps them in an
//! object, not the object in the link).
//!
//! # Upgrading libssh2-sys
//! 1. Change the pin in Cargo.toml and `LIBSSH2_SYS_VERSION` in build.rs.
//! 2. Build: a failed static assert in `ssh_cipher_check.c` means the C
//!    interface changed; read the new `chacha.c`/`poly1305.c` and
//!    `cipher-chachapoly.c`, change the functions below to match, then the
//!    asserts.
//! 3. Diff `cipher-chachapoly.c` against the previous version even if the
//!    build passes: new calls, a 128-bit key, or counter use other than
//!    one block per 64 bytes must be reflected here.
//! 4. Regenerate `vectors/ssh/libssh2_primitives.txt` from the new C
//!    (`vectors/ssh/README.md` says how) and run `cargo test ssh_cipher` and
//!    `cargo test --test ssh_cipher` (the call counter over a real sshd).
//!
//! Unsafe code: each `extern "C"` definition is `unsafe` (C calls it with
//! raw pointers, under the contract in its `# Safety` section) and each
//! `unsafe` block says why it holds; the crate denies `unsafe_code`
//! elsewhere.

use chacha20::ChaCha20Legacy;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use poly1305::Poly1305;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use std::sync::atomic::{AtomicU64, Ordering};
use zeroize::Zeroize;

/// Calls into [`chacha_encrypt_bytes`] and [`poly1305_auth`] so far.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// How many times libssh2 called the ChaCha20 or Poly1305 defined here
/// (two to four per SSH packet with chacha20-poly1305@openssh.com).
pub fn calls() -> u64 {
    CALLS.load(Ordering::Relaxed)
}

/// libssh2's `struct chacha_ctx`.
#[repr(C)]
pub struct ChachaCtx {
    input: [u32; 16],
}

/// "expand 32-byte k" and "expand 16-byte k", as little-endian words.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
const TAU: [u32; 4] = [0x6170_7865, 0x3120_646e, 0x7962_2d36, 0x6b20_6574];

fn le_words(bytes: &[u8], out: &mut [u32]) {
    for (w, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// `chacha_keysetup`: constants and key into the state. libssh2 only ever
/// passes 256-bit keys; 128-bit keys are set up as the C does, but
/// [`chacha_encrypt_bytes`] refuses them (see there).
///
/// # Safety
/// `x` must point to a writable `struct chacha_ctx`, `k` to `kbits / 8`
/// readable bytes (32 or 16).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chacha_keysetup(x: *mut ChachaCtx, k: *const u8, kbits: u32) {
    // SAFETY: the caller's contract above.
    let (x, key) = unsafe {
        let len = if kbits == 256 { 32 } else { 16 };
        (&mut *x, std::slice::from_raw_parts(k, len))
    };
    le_words(&key[..16], &mut x.input[4..8]);
    if kbits == 256 {
        le_words(&key[16..32], &mut x.input[8..12]);
        x.input[..4].copy_from_slice(&SIGMA);
    } else {
        le_words(&key[..16], &mut x.input[8..12]);
        x.input[..4].copy_from_slice(&TAU);
    }
}

/// `chacha_ivsetup`: the 64-bit block counter (zero if `counter` is null)
/// and the 64-bit nonce.
///
/// # Safety
/// `x` must point to a writable `struct chacha_ctx`, `iv` to 8 readable
/// bytes, `counter` to 8 readable bytes or be null.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chacha_ivsetup(x: *mut ChachaCtx, iv: *const u8, counter: *const u8) {
    // SAFETY: the caller's contract above.
    let x = unsafe { &mut *x };
    if counter.is_null() {
        x.input[12] = 0;
        x.input[13] = 0;
    } else {
        // SAFETY: non-null, 8 bytes by the contract.
        le_words(
            unsafe { std::slice::from_raw_parts(counter, 8) },
            &mut x.input[12..14],
        );
    }
    // SAFETY: 8 bytes by the contract.
    le_words(
        unsafe { std::slice::from_raw_parts(iv, 8) },
        &mut x.input[14..16],
    );
}

/// `chacha_encrypt_bytes`: XOR `bytes` of keystream from the state's
/// counter into `c` (from `m`, which may be `c` itself), then advance the
/// counter past every block used, a partial last block included, as the C
/// does.
///
/// # Safety
/// `x` must point to a `struct chacha_ctx` set up by the two functions
/// above with a 256-bit key; `m` and `c` to `bytes` bytes, readable and
/// writable respectively, either the same buffer or not overlapping.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chacha_encrypt_bytes(
    x: *mut ChachaCtx,
    m: *const u8,
    c: *mut u8,
    bytes: usize,
) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    if bytes == 0 {
        return;
    }
    // SAFETY: the caller's contract above.
    let x = unsafe { &mut *x };
    // libssh2 only uses 256-bit keys; the crate has no 128-bit ChaCha20.
    // Aborting is the only answer that cannot produce wrong ciphertext.
    assert!(
        x.input[..4] == SIGMA,
        "chacha_encrypt_bytes: only 256-bit keys are supported"
    );
    let mut key = [0u8; 32];
    for (b, w) in key.chunks_exact_mut(4).zip(&x.input[4..12]) {
        b.copy_from_slice(&w.to_le_bytes());
    }
    let mut nonce = [0u8; 8];
    nonce[..4].copy_from_slice(&x.input[14].to_le_bytes());
    nonce[4..].copy_from_slice(&x.input[15].to_le_bytes());
    let block = u64::from(x.input[12]) | (u64::from(x.input[13]) << 32);
    let mut cipher = ChaCha20Legacy::new((&key).into(), &nonce.into());
    key.zeroize();
    cipher.seek(u128::from(block) * 64);
    if std::ptr::eq(m, c) {
        // SAFETY: one writable buffer of `bytes` bytes.
        cipher.apply_keystream(unsafe { std::slice::from_raw_parts_mut(c, bytes) });
    } else {
        // SAFETY: two buffers of `bytes` bytes that do not overlap; read
        // and written in one pass, without a copy first.
        let (input, output) = unsafe {
            (
                std::slice::from_raw_parts(m, bytes),
                std::slice::from_raw_parts_mut(c, bytes),
            )
        };
        cipher.apply_keystream_b2b(input, output);
    }
    let next = block.wrapping_add(bytes.div_ceil(64) as u64);
    x.input[12] = next as u32;
    x.input[13] = (next >> 32) as u32;
}

/// `poly1305_auth`: the one-shot Poly1305 tag of `inlen` bytes at `m`
/// under the 32-byte one-time `key`, written to `out`.
///
/// # Safety
/// `out` must point to 16 writable bytes, `m` to `inlen` readable bytes,
/// `key` to 32 readable bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poly1305_auth(out: *mut u8, m: *const u8, inlen: usize, key: *const u8) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the caller's contract above.
    let (msg, key) = unsafe {
        let msg: &[u8] = if inlen == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(m, inlen)
        };
        (msg, &*(key as *const [u8; 32]))
    };
    // Whole blocks through `update`, which takes the back end's parallel
    // path (`compute_unpadded` alone goes one block at a time); the tail
    // padded as the unpadded MAC wants.
    let (blocks, tail) = poly1305::Block::slice_as_chunks(msg);
    let mut mac = Poly1305::new(key.into());
    mac.update(blocks);
    let tag = mac.compute_unpadded(tail);
    // SAFETY: 16 writable bytes by the contract.
    unsafe { std::ptr::copy_nonoverlapping(tag.as_ptr(), out, 16) };
}

type KeySetup = unsafe extern "C" fn(*mut ChachaCtx, *const u8, u32);
type IvSetup = unsafe extern "C" fn(*mut ChachaCtx, *const u8, *const u8);
type EncryptBytes = unsafe extern "C" fn(*mut ChachaCtx, *const u8, *mut u8, usize);
type Poly1305Auth = unsafe extern "C" fn(*mut u8, *const u8, usize, *const u8);

/// The four definitions, referenced from [`super::SftpTransport::connect`]
/// so that the object holding them is always part of the link, ahead of
/// libssh2's archive (an unreferenced object in an rlib may be skipped).
#[used]
pub static LINKED: (KeySetup, IvSetup, EncryptBytes, Poly1305Auth) = (
    chacha_keysetup,
    chacha_ivsetup,
    chacha_encrypt_bytes,
    poly1305_auth,
);

#[cfg(test)]
#[allow(unsafe_code)] // calls the definitions above as libssh2 would
mod tests {
    use super::*;

    fn ctx(key: &[u8; 32], nonce: &[u8; 8], counter: Option<u64>) -> ChachaCtx {
        let mut x = ChachaCtx { input: [0; 16] };
        let ctr = counter.map(u64::to_le_bytes);
        unsafe {
            chacha_keysetup(&mut x, key.as_ptr(), 256);
            chacha_ivsetup(
                &mut x,
                nonce.as_ptr(),
                ctr.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            );
        }
        x
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn chacha20_known_answers_with_64_bit_nonce() {
        // draft-agl-tls-chacha20poly1305-04 / draft-strombergson-chacha-test-vectors
        // (TC1 and TC8 of the latter, 256-bit keys, 20 rounds).
        let cases: [(&str, &str, &str); 2] = [
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000",
                "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                 da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
            ),
            (
                "c46ec1b18ce8a878725a37e780dfb735\
                 1f68ed2e194c79fbc6aebee1a667975d",
                "1ada31d5cf688221",
                "f63a89b75c2271f9368816542ba52f06ed49241792302b00b5e8f80ae9a473af\
                 c25b218f519af0fdd406362e8d69de7f54c604a6e00f353f110f771bdca8ab92",
            ),
        ];
        for (k, n, want) in cases {
            let key: [u8; 32] = hex(k).try_into().unwrap();
            let nonce: [u8; 8] = hex(n).try_into().unwrap();
            let mut x = ctx(&key, &nonce, None);
            let mut buf = [0u8; 64];
            unsafe { chacha_encrypt_bytes(&mut x, buf.as_ptr(), buf.as_mut_ptr(), 64) };
            assert_eq!(buf.to_vec(), hex(want));
            assert_eq!(
                (x.input[12], x.input[13]),
                (1, 0),
                "counter advanced one block"
            );
        }
    }

    #[test]
    fn counter_bookkeeping_matches_the_c() {
        // The C advances one block per 64 bytes or part of it, and a call
        // always starts at a block boundary; so encrypting 100 bytes then
        // 64 equals the keystream at blocks 0..2 then 2.
        let key = [9u8; 32];
        let nonce = [3u8; 8];
        let mut whole = [0u8; 192];
        let mut x = ctx(&key, &nonce, None);
        unsafe { chacha_encrypt_bytes(&mut x, whole.as_ptr(), whole.as_mut_ptr(), 192) };

        let mut x = ctx(&key, &nonce, None);
        let mut a = [0u8; 100];
        let src = [0u8; 64];
        let mut b = [0u8; 64];
        unsafe {
            chacha_encrypt_bytes(&mut x, a.as_ptr(), a.as_mut_ptr(), 100);
            chacha_encrypt_bytes(&mut x, src.as_ptr(), b.as_mut_ptr(), 64);
        }
        assert_eq!(a[..], whole[..100]);
        assert_eq!(b[..], whole[128..192]);
        assert_eq!((x.input[12], x.input[13]), (3, 0));

        // The counter argument of ivsetup is little-endian and 64-bit,
        // carrying into the high word.
        let x = ctx(&key, &nonce, Some(0x1_0000_0002));
        assert_eq!((x.input[12], x.input[13]), (2, 1));
        let mut x = ctx(&key, &nonce, Some(2));
        let mut c = [0u8; 64];
        unsafe { chacha_encrypt_bytes(&mut x, c.as_ptr(), c.as_mut_ptr(), 64) };
        assert_eq!(c[..], whole[128..192]);
    }

    #[test]
    fn poly1305_known_answer() {
        // RFC 8439, section 2.5.2.
        let key: [u8; 32] = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
            .try_into()
            .unwrap();
        let msg = b"Cryptographic Forum Research Group";
        let mut tag = [0u8; 16];
        unsafe { poly1305_auth(tag.as_mut_ptr(), msg.as_ptr(), msg.len(), key.as_ptr()) };
        assert_eq!(tag.to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
    }

    #[test]
    fn poly1305_split_into_blocks_and_tail_is_the_unpadded_mac() {
        // The fast path feeds whole blocks and the tail separately; every
        // length around the block and the back end's 4-block boundaries
        // must give the one-shot unpadded tag.
        let key = [0x5au8; 32];
        let msg: Vec<u8> = (0..200u8).collect();
        for len in 0..msg.len() {
            let mut tag = [0u8; 16];
            unsafe { poly1305_auth(tag.as_mut_ptr(), msg.as_ptr(), len, key.as_ptr()) };
            let want = Poly1305::new((&key).into()).compute_unpadded(&msg[..len]);
            assert_eq!(tag[..], want[..], "length {len}");
        }
    }

    #[test]
    fn encrypt_out_of_place_equals_in_place() {
        let key = [1u8; 32];
        let nonce = [2u8; 8];
        let src: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let mut a = src.clone();
        let mut b = vec![0u8; src.len()];
        let mut x = ctx(&key, &nonce, Some(1));
        let mut y = ctx(&key, &nonce, Some(1));
        unsafe {
            chacha_encrypt_bytes(&mut x, a.as_ptr(), a.as_mut_ptr(), a.len());
            chacha_encrypt_bytes(&mut y, src.as_ptr(), b.as_mut_ptr(), src.len());
        }
        assert_eq!(a, b);
        assert_ne!(a, src);
        assert_eq!(x.input, y.input);
    }

    /// Every line of `vectors/ssh/libssh2_primitives.txt` (outputs of
    /// libssh2's C `chacha.c` and `poly1305.c`), through the definitions
    /// above, in place and out of place.
    #[test]
    fn libssh2_c_known_answers() {
        let text = include_str!("../../../vectors/ssh/libssh2_primitives.txt");
        let unhex = |s: &str| if s == "-" { Vec::new() } else { hex(s) };
        let (mut chacha, mut poly) = (0, 0);
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let f: Vec<&str> = line.split(' ').collect();
            match f[0] {
                "chacha" => {
                    let key: [u8; 32] = hex(f[1]).try_into().unwrap();
                    let nonce: [u8; 8] = hex(f[2]).try_into().unwrap();
                    let counter =
                        (f[3] != "-").then(|| u64::from_le_bytes(hex(f[3]).try_into().unwrap()));
                    let lens: Vec<usize> = f[4].split(',').map(|n| n.parse().unwrap()).collect();
                    let (input, want) = (unhex(f[5]), unhex(f[6]));
                    let next: u64 = f[7].parse().unwrap();
                    for in_place in [false, true] {
                        let mut x = ctx(&key, &nonce, counter);
                        let mut out = if in_place {
                            input.clone()
                        } else {
                            vec![0u8; input.len()]
                        };
                        let mut off = 0;
                        for &n in &lens {
                            let dst = out[off..].as_mut_ptr();
                            let src = if in_place {
                                dst.cast_const()
                            } else {
                                input[off..].as_ptr()
                            };
                            unsafe { chacha_encrypt_bytes(&mut x, src, dst, n) };
                            off += n;
                        }
                        assert_eq!(out, want, "{line:.80}");
                        let got = u64::from(x.input[12]) | (u64::from(x.input[13]) << 32);
                        assert_eq!(got, next, "counter after {line:.80}");
                    }
                    chacha += 1;
                }
                "poly1305" => {
                    let key: [u8; 32] = hex(f[1]).try_into().unwrap();
                    let msg = unhex(f[2]);
                    let mut tag = [0u8; 16];
                    unsafe {
                        poly1305_auth(tag.as_mut_ptr(), msg.as_ptr(), msg.len(), key.as_ptr())
                    };
                    assert_eq!(tag.to_vec(), hex(f[3]), "{line:.80}");
                    poly += 1;
                }
                other => panic!("unknown record {other}"),
            }
        }
        assert_eq!((chacha, poly), (48, 40), "every record was checked");
    }
}
