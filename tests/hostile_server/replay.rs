//! Older versions of objects served again.

use std::fs;

use crate::support::*;
/// Rollbacks: the server puts back an older head (or object). An older
/// *authentic* version cannot be detected without state kept between
/// runs, but a pull must then return exactly that older version, never a
/// mix of one version's head and another's payload.
#[test]
fn replayed_versions_are_authentic_or_refused() {
    let fx = Fixture::new();
    let bob = Client::new(ClientHome::bare());
    fx.c.vault(&[
        "contacts",
        "add",
        "bob",
        &crate::common::cli::public_key(&bob),
    ])
    .assert()
    .success();
    let mut count = 0;

    // 1. An old head after share: undetectable; Alice still gets the true
    //    content, Bob silently loses access.
    let (dir, url, a, _) = fx.copy("r1");
    let before = fs::read(head_file(&dir, &a)).unwrap();
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    assert!(pull_is_safe(&bob, &url, "a.txt", &[&fx.a], "after share"));
    fs::write(head_file(&dir, &a), &before).unwrap();
    assert!(pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[&fx.a],
        "share rollback"
    ));
    assert!(!pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[],
        "share rollback, bob"
    ));
    count += 1;

    // 2. An old head after unshare: undetectable, and it gives the removed
    //    recipient access again (unshare never revoked the file key).
    let (dir, url, a, _) = fx.copy("r2");
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let shared = fs::read(head_file(&dir, &a)).unwrap();
    fx.c.vault(&["unshare", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    assert!(!pull_is_safe(&bob, &url, "a.txt", &[], "after unshare"));
    fs::write(head_file(&dir, &a), &shared).unwrap();
    assert!(pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[&fx.a],
        "unshare rollback"
    ));
    count += 1;

    // 3. An old head after `unshare --rekey`, beside the new payload: the
    //    old file key does not open the new payload.
    let (dir, url, a, _) = fx.copy("r3");
    fx.c.vault(&["share", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let shared = fs::read(head_file(&dir, &a)).unwrap();
    fx.c.vault(&["unshare", "--rekey", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let new = id_for(&fx.c, &url, "a.txt");
    fs::write(head_file(&dir, &new), &shared).unwrap();
    assert!(!pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[],
        "rekey: old head_file, bob"
    ));
    assert!(!pull_is_safe(&fx.c, &url, "a.txt", &[], "rekey: old head"));
    count += 1;

    // 4-6. push --force replaces a.txt by a new version of the same size.
    let v2 = pattern(SIZE, 7);
    let force = |tag: &str| {
        let (dir, url, a, _) = fx.copy(tag);
        let (old_h, old_p) = (
            fs::read(head_file(&dir, &a)).unwrap(),
            fs::read(payload_file(&dir, &a)).unwrap(),
        );
        fx.c.write("a.txt", &v2);
        fx.c.vault(&["push", "-q", "--force", "a.txt", &url])
            .assert()
            .success();
        let new = id_for(&fx.c, &url, "a.txt");
        assert!(!head_file(&dir, &a).exists());
        (dir, url, a, new, old_h, old_p)
    };
    // 4. The whole old object comes back: authentic, both versions listed,
    //    a pull gives one of them whole.
    let (dir, url, a, _, old_h, old_p) = force("r4");
    fs::write(head_file(&dir, &a), &old_h).unwrap();
    fs::write(payload_file(&dir, &a), &old_p).unwrap();
    assert!(pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[&fx.a, &v2],
        "old object back"
    ));
    count += 1;
    // 5. The old head over the new object's head: refused (no mix).
    let (dir, url, _, new, old_h, _) = force("r5");
    fs::write(head_file(&dir, &new), &old_h).unwrap();
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[],
        "old head_file, new payload"
    ));
    count += 1;
    // 6. The old payload under the new head: refused.
    let (dir, url, _, new, _, old_p) = force("r6");
    fs::write(payload_file(&dir, &new), &old_p).unwrap();
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "a.txt",
        &[],
        "new head_file, old payload"
    ));
    count += 1;
    // 7. The old head alone comes back (its payload is gone): reported,
    //    and the new version still pulls.
    let (dir, url, a, _, old_h, _) = force("r7");
    fs::write(head_file(&dir, &a), &old_h).unwrap();
    assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&v2], "old head alone"));
    count += 1;

    // 8. An old head after mv: the object is back under its old name; its
    //    content is authentic.
    let (dir, url, a, _) = fx.copy("r8");
    let before = fs::read(head_file(&dir, &a)).unwrap();
    fx.c.vault(&["mv", &url, "a.txt", "renamed.txt"])
        .assert()
        .success();
    fs::write(head_file(&dir, &a), &before).unwrap();
    assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], "mv rollback"));
    assert!(!pull_is_safe(
        &fx.c,
        &url,
        "renamed.txt",
        &[],
        "mv rollback"
    ));
    count += 1;

    eprintln!("hostile server: {count} replay cases");
}
