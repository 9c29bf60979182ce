//! The remote vault's layout and the encoding of its objects, with no I/O:
//! what the files are called, what a head holds, how a metadata record is
//! encoded, which object names are allowed.
//!
//! ```text
//! VAULT              marker: "vault remote v1", so a typo in REMOTE does not
//!                    scatter objects into some other folder
//! objects/ID.h       head: the object's vault header || its sealed metadata
//! objects/ID.p       payload: STREAM[payload key](plaintext)
//! ```
//!
//! `ID` is 128 random bits in lower-case hex, so the server learns nothing
//! from names. Everything here is a pure function of bytes: the remote layer
//! ([`super`]), the fuzz harnesses and the hostile-server tests all build and
//! read objects through it, so what they test is what ships. Specified in
//! `docs/FORMAT.md` ("Remote vault layout").

pub mod head;
pub mod metadata;
pub mod names;

use rand_core::CryptoRng;

pub use head::{MAX_HEAD, OpenedHead};
pub use metadata::Metadata;

/// The marker file's name.
pub const MARKER: &str = "VAULT";
/// The marker file's contents.
pub const MARKER_TEXT: &[u8] = b"vault remote v1\n";
/// The folder holding every head and payload.
pub const OBJECTS: &str = "objects";

/// Bytes of randomness in an object id.
const ID_BYTES: usize = 16;

/// A fresh random object id (32 lower-case hex digits).
pub fn new_id<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut b = [0u8; ID_BYTES];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether `s` is an object id as [`new_id`] makes them.
pub fn is_id(s: &str) -> bool {
    s.len() == 2 * ID_BYTES
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// The path of an object's head.
pub fn head_path(id: &str) -> String {
    format!("{OBJECTS}/{id}.h")
}

/// The path of an object's payload.
pub fn payload_path(id: &str) -> String {
    format!("{OBJECTS}/{id}.p")
}

/// What a file name in `objects/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectFile<'a> {
    /// The head of object `id`.
    Head(&'a str),
    /// The payload of object `id`.
    Payload(&'a str),
}

impl<'a> ObjectFile<'a> {
    /// Classify a name listed in `objects/`; `None` for anything vault does
    /// not write there (ignored).
    pub fn parse(name: &'a str) -> Option<ObjectFile<'a>> {
        if let Some(id) = name.strip_suffix(".h").filter(|i| is_id(i)) {
            Some(ObjectFile::Head(id))
        } else {
            name.strip_suffix(".p")
                .filter(|i| is_id(i))
                .map(ObjectFile::Payload)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;

    #[test]
    fn ids_and_object_file_names_round_trip() {
        let id = new_id(&mut os_rng());
        assert!(is_id(&id));
        assert_eq!(
            ObjectFile::parse(head_path(&id).strip_prefix("objects/").unwrap()),
            Some(ObjectFile::Head(&id))
        );
        assert_eq!(
            ObjectFile::parse(payload_path(&id).strip_prefix("objects/").unwrap()),
            Some(ObjectFile::Payload(&id))
        );
        for other in [
            "x.h",
            "notes.txt",
            &format!("{}.h", id.to_uppercase()),
            &format!("{id}.tmp"),
        ] {
            assert_eq!(ObjectFile::parse(other), None, "{other}");
        }
    }
}
