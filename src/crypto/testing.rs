//! Helpers shared by the unit tests of the two header formats (vault's binary
//! one and age's text one): both must reject every single-byte change and
//! both are probed with hand-damaged copies of a good header.

use super::keys::{FileKey, os_rng};

use super::recipient::{Identity, Recipient};
use super::x25519::{X25519Identity, X25519Recipient};
use super::{age, header};

/// Call `check(i, copy)` for a copy of `bytes` with byte `i` flipped, for
/// every `i`.
pub(crate) fn each_byte_flipped(bytes: &[u8], mut check: impl FnMut(usize, Vec<u8>)) {
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] ^= 0x01;
        check(i, b);
    }
}

/// Three fresh identities and the recipients of the first two: what is
/// sealed to those must open for them and not for the third.
pub(crate) fn two_of_three() -> (Vec<X25519Identity>, Vec<X25519Recipient>) {
    let mut rng = os_rng();
    let ids: Vec<X25519Identity> = (0..3).map(|_| X25519Identity::generate(&mut rng)).collect();
    let recips = ids[..2].iter().map(X25519Identity::recipient).collect();
    (ids, recips)
}

/// A header with a MAC over its encoding, as both formats have.
pub(crate) trait MacHeader: Sized {
    fn encode(&self) -> Vec<u8>;
    fn parse(bytes: &[u8]) -> Option<Self>;
    fn verify(&self, key: &FileKey) -> bool;
}

/// Both formats' headers spell the three the same way.
macro_rules! mac_header {
    ($($t:ty),*) => {$(
        impl MacHeader for $t {
            fn encode(&self) -> Vec<u8> {
                self.to_bytes()
            }
            fn parse(bytes: &[u8]) -> Option<Self> {
                Self::read_from(&mut &bytes[..]).ok()
            }
            fn verify(&self, key: &FileKey) -> bool {
                self.verify_mac(key)
            }
        }
    )*};
}
mac_header!(header::Header, age::header::Header);

/// Check a header's MAC: `h` verifies under `key`, not under `other`, and
/// no header parsed from its encoding with one byte flipped verifies under
/// `key`.
pub(crate) fn check_mac<H: MacHeader>(h: &H, [key, other]: &[FileKey; 2]) {
    assert!(h.verify(key));
    assert!(!h.verify(other));
    each_byte_flipped(&h.encode(), |i, b| {
        if let Some(p) = H::parse(&b) {
            assert!(!p.verify(key), "byte {i}");
        }
    });
}

/// A copy of `good` with the given bytes replaced.
pub(crate) fn patched(good: &[u8], changes: &[(usize, u8)]) -> Vec<u8> {
    let mut b = good.to_vec();
    for &(i, v) in changes {
        b[i] = v;
    }
    b
}

/// Wrap fresh file keys to `r` in both formats, check that `id` unwraps each
/// and `other` neither, and return the two stanzas for further checks.
pub(crate) fn stanzas_open_for_their_key_only(
    r: &dyn Recipient,
    id: &dyn Identity,
    other: &dyn Identity,
) -> (header::Stanza, age::Stanza) {
    let mut rng = os_rng();
    let fk = FileKey::generate(&mut rng, 32);
    let s = r.vault_stanza(&mut rng, &fk).unwrap();
    let got = id.unwrap_vault(&s).unwrap().expect("vault stanza opens");
    assert_eq!(got.as_bytes(), fk.as_bytes());
    assert!(other.unwrap_vault(&s).unwrap().is_none());
    let fk16 = FileKey::generate(&mut rng, 16);
    let a = r.age_stanza(&mut rng, &fk16).unwrap();
    let got = id.unwrap_age(&a).unwrap().expect("age stanza opens");
    assert_eq!(got.as_bytes(), fk16.as_bytes());
    assert!(other.unwrap_age(&a).unwrap().is_none());
    (s, a)
}

/// Serialise `h`, parse it back from the bytes followed by `tail`, and check
/// that the parse gives `h`, re-serialises to the same bytes and stops
/// exactly where the header ends. Returns the header's bytes.
pub(crate) fn parse_inverts_serialise<H: PartialEq + std::fmt::Debug>(
    h: &H,
    to_bytes: impl Fn(&H) -> Vec<u8>,
    read: impl Fn(&mut &[u8]) -> Result<H, super::CryptoError>,
    tail: &[u8],
) -> Vec<u8> {
    let bytes = to_bytes(h);
    let with_tail = [&bytes[..], tail].concat();
    let mut r = &with_tail[..];
    let parsed = read(&mut r).unwrap();
    assert_eq!(&parsed, h);
    assert_eq!(to_bytes(&parsed), bytes);
    assert_eq!(r, tail, "reads exactly the header");
    bytes
}
