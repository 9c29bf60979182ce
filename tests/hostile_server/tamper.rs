//! Byte-level tampering with stored objects.

use std::fs;

use crate::support::*;
/// Byte-level tampering with `a.txt`'s object: every case must fail to
/// pull `a.txt` (or, where marked, be harmless), with one error line and
/// no output; `b.txt` must still pull.
#[test]
fn tampered_objects_fail_cleanly() {
    let fx = Fixture::new();
    let m = HEADER_LEN; // first byte of the sealed metadata
    let cases: Vec<(&str, Tamper)> = vec![
        ("payload: flip first byte", flip(|_| 0, payload_file)),
        (
            "payload: flip a byte in chunk 2",
            flip(|_| 70_000, payload_file),
        ),
        (
            "payload: flip last byte (tag)",
            flip(|n| n - 1, payload_file),
        ),
        ("payload: cut to 0", cut(|_| 0, payload_file)),
        ("payload: cut one chunk", cut(|n| n - 65_552, payload_file)),
        ("payload: cut 1 byte", cut(|n| n - 1, payload_file)),
        ("payload: cut the last tag", cut(|n| n - 16, payload_file)),
        (
            "payload: extend by a byte",
            Box::new(|d, a, _| edit(&payload_file(d, a), |b| b.push(0))),
        ),
        (
            "payload: duplicate the first chunk",
            Box::new(|d, a, _| {
                edit(&payload_file(d, a), |b| {
                    let first = b[..65_552].to_vec();
                    b.splice(0..0, first);
                })
            }),
        ),
        (
            "payload: same size, other content",
            Box::new(|d, a, _| {
                let n = fs::metadata(payload_file(d, a)).unwrap().len() as usize;
                fs::write(payload_file(d, a), vec![0u8; n]).unwrap();
            }),
        ),
        ("head: flip magic", flip(|_| 0, head_file)),
        ("head: flip version", flip(|_| 8, head_file)),
        ("head: flip suite", flip(|_| 9, head_file)),
        ("head: flip stanza count", flip(|_| 11, head_file)),
        ("head: flip stanza kind", flip(|_| 12, head_file)),
        ("head: flip stanza length", flip(|_| 14, head_file)),
        ("head: flip ephemeral share", flip(|_| 20, head_file)),
        ("head: flip wrapped file key", flip(|_| 80, head_file)),
        ("head: flip header nonce", flip(|_| 100, head_file)),
        ("head: flip header mac", flip(|_| 130, head_file)),
        (
            "head: flip metadata salt",
            flip(|_| HEADER_LEN + 3, head_file),
        ),
        (
            "head: flip metadata length",
            flip(|_| HEADER_LEN + 19, head_file),
        ),
        (
            "head: flip metadata record",
            flip(|_| HEADER_LEN + 40, head_file),
        ),
        ("head: flip metadata tag", flip(|n| n - 1, head_file)),
        ("head: cut to 0", cut(|_| 0, head_file)),
        ("head: cut into the header", cut(|_| 60, head_file)),
        (
            "head: cut to the header (no metadata)",
            cut(|_| HEADER_LEN, head_file),
        ),
        (
            "head: cut the header by a byte",
            cut(|_| HEADER_LEN - 1, head_file),
        ),
        ("head: cut 1 byte", cut(|n| n - 1, head_file)),
        ("head: cut the metadata tag", cut(|n| n - 16, head_file)),
        (
            "head: extend by a byte",
            Box::new(|d, a, _| edit(&head_file(d, a), |b| b.push(0))),
        ),
        (
            "head: over 256 KiB",
            Box::new(|d, a, _| edit(&head_file(d, a), |b| b.resize(256 * 1024 + 1, 0))),
        ),
        ("swap payloads", swap(payload_file)),
        ("swap heads", swap(head_file)),
        (
            "a's header with b's sealed metadata",
            Box::new(move |d, a, b| {
                let hb = fs::read(head_file(d, b)).unwrap();
                edit(&head_file(d, a), |h| {
                    h.truncate(m);
                    h.extend_from_slice(&hb[m..]);
                })
            }),
        ),
        (
            "b's header with a's sealed metadata",
            Box::new(move |d, a, b| {
                let ha = fs::read(head_file(d, a)).unwrap();
                edit(&head_file(d, a), |h| {
                    let hb = fs::read(head_file(d, b)).unwrap();
                    *h = hb[..m].to_vec();
                    h.extend_from_slice(&ha[m..]);
                })
            }),
        ),
        (
            "delete the payload",
            Box::new(|d, a, _| fs::remove_file(payload_file(d, a)).unwrap()),
        ),
        (
            "delete the head",
            Box::new(|d, a, _| fs::remove_file(head_file(d, a)).unwrap()),
        ),
        (
            "payload replaced by a folder",
            Box::new(|d, a, _| {
                fs::remove_file(payload_file(d, a)).unwrap();
                fs::create_dir(payload_file(d, a)).unwrap();
            }),
        ),
        (
            "head replaced by a folder",
            Box::new(|d, a, _| {
                fs::remove_file(head_file(d, a)).unwrap();
                fs::create_dir(head_file(d, a)).unwrap();
            }),
        ),
        (
            "head is a symlink to a system file",
            Box::new(|d, a, _| {
                fs::remove_file(head_file(d, a)).unwrap();
                std::os::unix::fs::symlink("/etc/passwd", head_file(d, a)).unwrap();
            }),
        ),
    ];
    let n = cases.len();
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, a, b) = fx.copy(&i.to_string());
        tamper(&dir, &a, &b);
        // A warm cache holds the authentic head (a head is never rewritten
        // in place): the pull gives the authentic bytes or fails cleanly.
        pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what);
        cold(&fx.c);
        ls_is_safe(&fx.c, &url, what);
        let ok = pull_is_safe(&fx.c, &url, "a.txt", &[], what);
        assert!(!ok, "{what}: pulled");
        // The untouched object is unaffected, unless the case swapped it.
        if !what.starts_with("swap") && !what.starts_with("b's") {
            assert!(
                pull_is_safe(&fx.c, &url, "b.txt", &[&fx.b], what),
                "{what}: b.txt"
            );
        }
    }
    eprintln!("hostile server: {n} tampering cases");
}
