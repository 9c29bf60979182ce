//! The remote vault's layout and the encoding of its objects, with no I/O:
//! what the files are called, what a head holds, how a metadata record and
//! a pack of heads are encoded, which object names are allowed.
//!
//! ```text
//! VAULT              marker: "vault remote v1", so a typo in REMOTE does not
//!                    scatter objects into some other folder
//! objects/ID.REV.h   head revision REV (1, 2, ...): the object's vault header
//!                    || its sealed metadata [|| its payload, when inline]
//! objects/ID.h       a head of an earlier vault (read as revision 0)
//! objects/ID.p       payload: STREAM[payload key](plaintext), unless inline
//! packs/HEX.pack     copies of many heads, so that a client without a cache
//!                    reads a few files instead of one per object (hints only)
//! ```
//!
//! `ID` is 128 random bits in lower-case hex, so the server learns nothing
//! from names. A head file is never rewritten: a change (`mv`, `share`,
//! `unshare --keep-key`) writes revision REV+1 beside it, refusing an
//! existing file, then removes REV; the newest revision of an ID is its
//! head. So (ID, REV) names immutable bytes, which is what the client cache
//! and the packs key on. Everything here is a pure function of bytes: the
//! remote layer ([`super`]), the fuzz harnesses and the hostile-server
//! tests all build and read objects through it, so what they test is what
//! ships. Specified in `docs/FORMAT.md` ("Remote vault layout").

pub mod head;
pub mod metadata;
pub mod names;
pub mod pack;

use rand_core::CryptoRng;

use crate::crypto::Recipient;

pub use head::{INLINE_MAX, MAX_HEAD, OpenedHead};
pub use metadata::Metadata;

/// The marker file's name.
pub const MARKER: &str = "VAULT";
/// The marker file's contents.
pub const MARKER_TEXT: &[u8] = b"vault remote v1\n";
/// The folder holding every head and payload.
pub const OBJECTS: &str = "objects";
/// The folder holding packs of heads.
pub const PACKS: &str = "packs";

/// Bytes of randomness in an object id.
const ID_BYTES: usize = 16;

/// `n` random bytes in lower-case hex.
pub fn random_hex<R: CryptoRng + ?Sized>(rng: &mut R, n: usize) -> String {
    let mut b = vec![0u8; n];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh random object id (32 lower-case hex digits).
pub fn new_id<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    random_hex(rng, ID_BYTES)
}

/// Whether `s` is an object id as [`new_id`] makes them.
pub fn is_id(s: &str) -> bool {
    s.len() == 2 * ID_BYTES
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// The path of revision `rev` of an object's head (revision 0 is the
/// unnumbered head of an earlier vault).
pub fn head_path(id: &str, rev: u64) -> String {
    if rev == 0 {
        format!("{OBJECTS}/{id}.h")
    } else {
        format!("{OBJECTS}/{id}.{rev}.h")
    }
}

/// The path of an object's payload.
pub fn payload_path(id: &str) -> String {
    format!("{OBJECTS}/{id}.p")
}

/// The path of a pack named `name` (a [`random_hex`] of 16 bytes).
pub fn pack_path(name: &str) -> String {
    format!("{PACKS}/{name}.pack")
}

/// The name of a pack file listed in `packs/`, if it is one.
pub fn parse_pack(file: &str) -> Option<&str> {
    file.strip_suffix(".pack").filter(|n| is_id(n))
}

/// What a file name in `objects/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectFile<'a> {
    /// Revision `rev` of the head of object `id`.
    Head(&'a str, u64),
    /// The payload of object `id`.
    Payload(&'a str),
}

impl<'a> ObjectFile<'a> {
    /// Classify a name listed in `objects/`; `None` for anything vault does
    /// not write there (ignored). Revision numbers are canonical decimal
    /// (no sign, no leading zero), from 1 to 2^63.
    pub fn parse(name: &'a str) -> Option<ObjectFile<'a>> {
        if let Some(stem) = name.strip_suffix(".h") {
            if is_id(stem) {
                return Some(ObjectFile::Head(stem, 0));
            }
            let (id, rev) = stem.split_once('.')?;
            let canonical = !rev.is_empty()
                && !rev.starts_with('0')
                && rev.len() <= 19
                && rev.bytes().all(|b| b.is_ascii_digit());
            let rev: u64 = rev.parse().ok().filter(|_| canonical)?;
            return (is_id(id) && rev <= 1 << 63).then_some(ObjectFile::Head(id, rev));
        }
        name.strip_suffix(".p")
            .filter(|i| is_id(i))
            .map(ObjectFile::Payload)
    }
}

/// A recipient from its canonical public string, if this build can
/// recompute its stanza (X25519, SSH and post-quantum keys; not plugin
/// recipients, whose stanzas only the plugin makes): exactly the entries a
/// reader can check against the header's bound stanzas.
pub fn parse_recipient(s: &str) -> Option<crate::crypto::AnyRecipient> {
    crate::crypto::parse_recipient(s)
        .ok()
        .filter(|r| r.reproducible() && r.to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn ids_and_object_file_names_round_trip() {
        let id = new_id(&mut os_rng());
        assert!(is_id(&id));
        for rev in [0, 1, 2, 10, 1 << 40] {
            assert_eq!(
                ObjectFile::parse(head_path(&id, rev).strip_prefix("objects/").unwrap()),
                Some(ObjectFile::Head(&id, rev))
            );
        }
        assert_eq!(
            ObjectFile::parse(payload_path(&id).strip_prefix("objects/").unwrap()),
            Some(ObjectFile::Payload(&id))
        );
        for other in [
            "x.h".to_owned(),
            "notes.txt".into(),
            format!("{}.h", id.to_uppercase()),
            format!("{id}.tmp"),
            format!("{id}.0.h"),
            format!("{id}.01.h"),
            format!("{id}.+1.h"),
            format!("{id}..h"),
            format!("{id}.1.2.h"),
            format!("{id}.99999999999999999999.h"),
        ] {
            assert_eq!(ObjectFile::parse(&other), None, "{other}");
        }
        let pack = random_hex(&mut os_rng(), 16);
        let p = pack_path(&pack);
        assert_eq!(parse_pack(p.strip_prefix("packs/").unwrap()), Some(&*pack));
        assert_eq!(parse_pack("x.pack"), None);
    }
}
