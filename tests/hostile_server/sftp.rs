//! A representative set of cases through a real sshd.

use std::fs;
use std::path::Path;

use crate::support::*;
use vault::crypto::X25519Recipient;

/// A representative set through a real sshd.
#[test]
fn over_sftp() {
    let sshd = Sshd::start();
    let c = Client::new(sshd.home());
    let me: X25519Recipient = crate::common::cli::public_key(&c).parse().unwrap();
    let (a, b) = (pattern(SIZE, 1), pattern(SIZE, 2));
    c.write("a.txt", &a);
    c.write("b.txt", &b);
    let mut count = 0;
    let setup = |sub: &str| {
        let url = sshd.url(sub);
        c.vault(&["push", "-q", "a.txt", "b.txt", &url])
            .assert()
            .success();
        let dir = sshd.server_root().join(sub);
        let ia = id_for(&c, &url, "a.txt");
        let ib = id_for(&c, &url, "b.txt");
        (dir, url, ia, ib)
    };
    let cases: Vec<(&str, Tamper)> = vec![
        ("payload: flip a byte", flip(|_| 70_000, payload_file)),
        ("payload: cut 1 byte", cut(|n| n - 1, payload_file)),
        ("head: flip metadata", flip(|n| n - 1, head_file)),
        ("head: cut to the header", cut(|_| HEADER_LEN, head_file)),
        (
            "swap heads",
            Box::new(|d, a, b| {
                let (ha, hb) = (head_file(d, a), head_file(d, b));
                let (x, y) = (fs::read(&ha).unwrap(), fs::read(&hb).unwrap());
                fs::write(&ha, y).unwrap();
                fs::write(&hb, x).unwrap();
            }),
        ),
        (
            "delete the payload",
            Box::new(|d, a, _| fs::remove_file(payload_file(d, a)).unwrap()),
        ),
    ];
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, ia, ib) = setup(&format!("t{i}"));
        tamper(&dir, &ia, &ib);
        // A warm cache holds the authentic head: authentic or refused.
        pull_is_safe(&c, &url, "a.txt", &[&a], what);
        cold(&c);
        ls_is_safe(&c, &url, what);
        assert!(!pull_is_safe(&c, &url, "a.txt", &[], what), "{what}");
        count += 1;
    }
    let (dir, url, _, _) = setup("names");
    for (what, name) in [
        ("escape", "../escaped"),
        ("OSC", "\u{1b}]0;owned\u{7}"),
        ("absolute", "/tmp/vault-hostile-sftp"),
    ] {
        forge(&dir, me, name, b"forged");
        ls_is_safe(&c, &url, what);
        pull_is_safe(&c, &url, name, &[b"forged"], what);
        count += 1;
    }
    assert!(!Path::new("/tmp/vault-hostile-sftp").exists());
    eprintln!("hostile server: {count} cases over sftp");
}
