//! Files vault did not write, in the vault folder.

use std::fs;

use crate::support::*;
/// Stray and unknown files in the vault are ignored or reported; they
/// never break `ls` or `pull` of good objects.
#[test]
fn stray_files_are_ignored() {
    let fx = Fixture::new();
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "README in objects/",
            Box::new(|d, _, _| fs::write(d.join("objects/README"), "hi").unwrap()),
        ),
        (
            "upper-case id",
            Box::new(|d, a, _| {
                fs::copy(
                    head_file(d, a),
                    d.join("objects").join(format!("{}.h", a.to_uppercase())),
                )
                .unwrap();
            }),
        ),
        (
            "short id",
            Box::new(|d, a, _| {
                fs::copy(head_file(d, a), d.join("objects/abc.h")).unwrap();
            }),
        ),
        (
            "traversal-looking file name",
            Box::new(|d, _, _| fs::write(d.join("objects/..h"), "x").unwrap()),
        ),
        (
            "a sub-folder in objects/",
            Box::new(|d, _, _| fs::create_dir_all(d.join("objects/sub/deeper")).unwrap()),
        ),
        (
            "an empty head with a payload",
            Box::new(|d, _, _| {
                let id = "0".repeat(32);
                fs::write(head_file(d, &id), b"").unwrap();
                fs::write(payload_file(d, &id), b"").unwrap();
            }),
        ),
        (
            "a random head with a payload",
            Box::new(|d, _, _| {
                let id = "1".repeat(32);
                fs::write(head_file(d, &id), pattern(500, 9)).unwrap();
                fs::write(payload_file(d, &id), pattern(500, 8)).unwrap();
            }),
        ),
        (
            "a copy of a's head under a new id",
            Box::new(|d, a, _| {
                let id = "2".repeat(32);
                fs::copy(head_file(d, a), head_file(d, &id)).unwrap();
                fs::copy(payload_file(d, a), payload_file(d, &id)).unwrap();
            }),
        ),
        (
            "an orphan payload",
            Box::new(|d, _, _| fs::write(payload_file(d, &"3".repeat(32)), b"x").unwrap()),
        ),
        (
            "junk in tmp/",
            Box::new(|d, _, _| fs::write(d.join("tmp/x.p.tmp"), pattern(1000, 3)).unwrap()),
        ),
        (
            "junk at the top",
            Box::new(|d, _, _| fs::write(d.join("notes.txt"), "x").unwrap()),
        ),
        (
            "a symlink to / in objects/",
            Box::new(|d, _, _| std::os::unix::fs::symlink("/", d.join("objects/root")).unwrap()),
        ),
    ];
    let n = cases.len();
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let (dir, url, a, b) = fx.copy(&format!("s{i}"));
        tamper(&dir, &a, &b);
        let listing = ls_is_safe(&fx.c, &url, what);
        assert!(listing.lines().any(|l| l == "b.txt"), "{what}: {listing}");
        // a.txt may appear twice (the copied object is authentic): either
        // copy is a.txt's true content.
        assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what), "{what}");
        assert!(pull_is_safe(&fx.c, &url, "b.txt", &[&fx.b], what), "{what}");
    }
    eprintln!("hostile server: {n} stray-file cases");
}
