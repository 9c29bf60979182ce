//! Harnesses for remote vault objects: the head the server hands back, the
//! metadata record inside it, and object names.

/// The object id the seeds of `remote_head` are sealed for (at revision 1,
/// or 0 for the version 1 seeds).
pub const SEED_ID: &str = "5eed5eed5eed5eed5eed5eed5eed5eed";

use std::path::{Component, Path};

use super::{file_key, identity};
use crate::crypto::header::Header;
use crate::crypto::{Identity, os_rng};
use crate::remote::codec::head::{self, OpenedHead};
use crate::remote::codec::metadata::{MAX_NAME, Metadata};
use crate::remote::codec::names;

/// A head (`objects/ID.REV.h`: vault header || sealed metadata || inline
/// payload), through the codec's own reader ([`head::open`], what every
/// listing, pack and cache read uses) with the harness identity, as
/// revision 1 and 0 of [`SEED_ID`], whole and as a pack's prefix; and, so
/// that the record parser is reached whatever the stanzas say, the record
/// under a fixed key, bound to the header bytes.
pub fn remote_head(data: &[u8]) {
    let mut rest = data;
    let Ok(header) = Header::read_from(&mut rest) else {
        return;
    };
    let header_bytes = &data[..data.len() - rest.len()];
    assert_eq!(header.to_bytes(), header_bytes);
    if header.stanzas.len() <= 16 {
        for (rev, whole) in [(1, true), (1, false), (0, true)] {
            let opened = head::open(data, SEED_ID, rev, whole, &[&identity() as &dyn Identity]);
            if let Ok(Some(OpenedHead {
                header: h,
                meta,
                body_at,
                ..
            })) = opened
            {
                // What the codec accepts agrees with its header and where it is.
                assert_eq!(h, header);
                assert_eq!(meta.recipients.len(), header.stanzas.len());
                assert!(body_at <= data.len());
                assert!(meta.version == 1 || (meta.id == SEED_ID && meta.rev == rev));
                assert_eq!(meta.version == 1, rev == 0);
            }
        }
    }
    let key = file_key();
    let sealed_len = crate::crypto::record::sealed_len(rest).unwrap_or(0);
    let rest = rest.get(..sealed_len).unwrap_or(rest);
    let Ok(meta) = Metadata::open(rest, &key, header_bytes) else {
        return;
    };
    // What opened re-seals and opens again, bound to the same header only.
    let _ = names::check(&meta.name);
    let sealed = meta.seal(&mut os_rng(), &key, header_bytes);
    assert_eq!(Metadata::open(&sealed, &key, header_bytes).ok(), Some(meta));
    let mut other = header_bytes.to_vec();
    other.push(0);
    assert!(Metadata::open(&sealed, &key, &other).is_err());
}

/// The decrypted metadata record: decoding is strict, so what decodes
/// encodes to exactly the input.
pub fn remote_metadata(data: &[u8]) {
    let Some(meta) = Metadata::decode(data) else {
        return;
    };
    assert!(meta.name.len() <= MAX_NAME);
    assert_eq!(meta.encode(), data, "not the one encoding");
    let _ = names::check(&meta.name);
}

/// Object names: an accepted name has no control characters and maps onto
/// a relative path of plain segments under the target folder.
pub fn remote_name(data: &[u8]) {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let checked = names::check(name);
    let mapped = names::local_path(Path::new("/base/dir"), name);
    assert_eq!(checked.is_ok(), mapped.is_ok());
    let Ok(path) = mapped else { return };
    assert!(!name.is_empty() && name.len() <= MAX_NAME);
    assert!(!name.chars().any(char::is_control));
    let inside = path
        .strip_prefix("/base/dir")
        .expect("stays under the folder");
    let segments: Vec<&str> = name.split('/').collect();
    let components: Vec<Component<'_>> = inside.components().collect();
    assert_eq!(components.len(), segments.len(), "{name:?} -> {path:?}");
    for (c, s) in components.iter().zip(&segments) {
        assert_eq!(*c, Component::Normal(s.as_ref()), "{name:?} -> {path:?}");
    }
}
