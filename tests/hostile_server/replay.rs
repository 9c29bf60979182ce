//! Older versions of objects served again.

use std::fs;

use crate::support::*;
/// Rollbacks: the server puts back an older head revision (or object). A
/// client whose cache saw a newer revision refuses it; a cold client
/// cannot detect an older *authentic* version, but a pull must then return
/// exactly that older version, never a mix of one version's head and
/// another's payload.
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
    let share_with_bob = |url: &str| {
        fx.c.vault(&["share", url, "a.txt", "-r", "bob"])
            .assert()
            .success();
    };
    // A copy of the vault with a.txt shared with Bob, and the shared head.
    let shared_copy = |tag: &str| {
        let (dir, url, a, _) = fx.copy(tag);
        share_with_bob(&url);
        let (p, shared) = head_of(&dir, &a);
        (dir, url, a, p, shared)
    };
    // After a rollback of a.txt to an older authentic head: our client,
    // whose cache saw the newer revision, refuses it; once cold, it cannot
    // tell, and gets the older version.
    let refused_warm_authentic_cold = |url: &str, what: &str| {
        let warm = format!("{what}, warm");
        assert!(!pull_is_safe(&fx.c, url, "a.txt", &[&fx.a], &warm));
        cold(&fx.c);
        let cold = format!("{what}, cold");
        assert!(pull_is_safe(&fx.c, url, "a.txt", &[&fx.a], &cold));
    };
    // Neither an older version nor anything else of a.txt pulls.
    let refused = |c: &Client, url: &str, what: &str| {
        assert!(!pull_is_safe(c, url, "a.txt", &[], what));
    };
    let mut count = 0;

    // 1. A real rollback after share: revision 2 removed, revision 1 put
    //    back. A client that saw revision 2 (its cache) refuses it; a cold
    //    client cannot tell and gets the older, authentic version; Bob
    //    silently loses access.
    let (dir, url, a, _) = fx.copy("r1");
    let (p1, before) = head_of(&dir, &a);
    share_with_bob(&url);
    assert!(pull_is_safe(&bob, &url, "a.txt", &[&fx.a], "after share"));
    let (p2, shared) = head_of(&dir, &a);
    assert_ne!(p1, p2, "share writes a new revision");
    roll_back(&p2, &p1, &before);
    refused_warm_authentic_cold(&url, "share rollback");
    refused(&bob, &url, "share rollback, bob");
    count += 1;

    // 1b. Revision 1's bytes served as revision 2: the revision sealed in
    //     the head does not match its file name.
    fs::remove_file(&p1).unwrap();
    fs::write(&p2, &before).unwrap();
    cold(&fx.c);
    refused(&fx.c, &url, "revision renamed");
    let _ = shared;
    count += 1;

    // 2. A rollback after `unshare --keep-key`: undetectable by a cold
    //    client, and it gives the removed recipient access again (the file
    //    key was kept: the command's warning says so).
    let (dir, url, a, p2, shared) = shared_copy("r2");
    fx.c.vault(&["unshare", "--keep-key", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    refused(&bob, &url, "after unshare");
    let (p3, _) = head_of(&dir, &a);
    roll_back(&p3, &p2, &shared);
    cold(&bob);
    assert!(pull_is_safe(
        &bob,
        &url,
        "a.txt",
        &[&fx.a],
        "unshare rollback"
    ));
    count += 1;

    // 3. After a default unshare (a new file key), the old head beside the
    //    new payload: it names another object, and its key opens nothing.
    let (dir, url, a, _, shared) = shared_copy("r3");
    fx.c.vault(&["unshare", &url, "a.txt", "-r", "bob"])
        .assert()
        .success();
    let new = id_for(&fx.c, &url, "a.txt");
    assert_ne!(new, a);
    fs::write(head_file(&dir, &new), &shared).unwrap();
    cold(&bob);
    cold(&fx.c);
    refused(&bob, &url, "rekey: old head, bob");
    refused(&fx.c, &url, "rekey: old head");
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
    // 4. The whole old object comes back: authentic; two objects have the
    //    name, so a pull by name is refused (--id picks one).
    let (dir, url, a, _, old_h, old_p) = force("r4");
    fs::write(head_file(&dir, &a), &old_h).unwrap();
    fs::write(payload_file(&dir, &a), &old_p).unwrap();
    refused(&fx.c, &url, "old object back");
    count += 1;
    // 5. The old head over the new object's head: refused (no mix).
    let (dir, url, _, new, old_h, _) = force("r5");
    fs::write(head_file(&dir, &new), &old_h).unwrap();
    cold(&fx.c);
    refused(&fx.c, &url, "old head_file, new payload");
    count += 1;
    // 6. The old payload under the new head: refused.
    let (dir, url, _, new, _, old_p) = force("r6");
    fs::write(payload_file(&dir, &new), &old_p).unwrap();
    refused(&fx.c, &url, "new head_file, old payload");
    count += 1;
    // 7. The old head alone comes back (its payload is gone): reported,
    //    and the new version still pulls.
    let (dir, url, a, _, old_h, _) = force("r7");
    fs::write(head_file(&dir, &a), &old_h).unwrap();
    assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&v2], "old head alone"));
    count += 1;

    // 8. A rollback after mv: a cold client sees the object under its old
    //    name, with authentic content; a warm one refuses it.
    let (dir, url, a, _) = fx.copy("r8");
    let (p1, before) = head_of(&dir, &a);
    fx.c.vault(&["mv", &url, "a.txt", "renamed.txt"])
        .assert()
        .success();
    let (p2, _) = head_of(&dir, &a);
    roll_back(&p2, &p1, &before);
    refused_warm_authentic_cold(&url, "mv rollback");
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

/// The newest head file of `id` and its bytes.
fn head_of(dir: &std::path::Path, id: &str) -> (std::path::PathBuf, Vec<u8>) {
    let p = head_file(dir, id);
    let b = fs::read(&p).unwrap();
    (p, b)
}

/// The server removes the newest revision `now` and puts `old` back at
/// its own path.
fn roll_back(now: &std::path::Path, old_path: &std::path::Path, old: &[u8]) {
    fs::remove_file(now).unwrap();
    fs::write(old_path, old).unwrap();
}
