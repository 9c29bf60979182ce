//! Hostile names and metadata values from a co-recipient.

use std::path::Path;

use crate::support::*;
use vault::crypto::{X25519Identity, X25519Recipient, os_rng};

/// A forged edit of an object's metadata.
type Edit = Box<dyn Fn(&mut Metadata)>;

/// The public key of someone nobody in the test knows.
fn stranger() -> X25519Recipient {
    X25519Identity::generate(&mut os_rng()).recipient()
}

/// A co-recipient pushes objects with hostile names. `ls` must stay safe;
/// pulling the name either fails cleanly or writes inside DIR.
#[test]
fn hostile_names_from_a_co_recipient() {
    let fx = Fixture::new();
    let (dir, url, _, _) = fx.copy("names");
    let names = hostile_names();
    for (_, name) in &names {
        forge(&dir, fx.me, name, b"forged");
    }
    let listing = ls_is_safe(&fx.c, &url, "hostile names");
    assert!(listing.lines().any(|l| l == "b.txt"), "{listing}");
    let json = run(&fx.c, &["ls", "--json", &url], "ls --json");
    assert!(json.ok && serde_json::from_slice::<serde_json::Value>(&json.stdout).is_ok());
    for (what, name) in &names {
        if name.contains('\0') {
            continue; // cannot be an argument; the listing case covers it
        }
        pull_is_safe(&fx.c, &url, name, &[b"forged"], what);
        if name.starts_with('/') {
            assert!(!Path::new(name).exists(), "{what}: wrote {name}");
        }
    }
    assert!(!fx.c.path("escaped").exists());
    // Each name also alone in a vault (so that the listing's other objects
    // do not hide anything).
    for (i, (what, name)) in names.iter().enumerate() {
        let d = fx.c.path(&format!("one-{i}"));
        copy_dir(&fx.pristine, &d);
        forge(&d, fx.me, name, b"forged");
        ls_is_safe(&fx.c, d.to_str().unwrap(), what);
    }
    eprintln!("hostile server: {} hostile-name cases", names.len());
}

/// A co-recipient forges metadata numbers: sizes and times at their
/// limits, a size that does not match the payload_file, a recipient list that
/// does not match the header. Listing (short and long) stays safe and a
/// pull fails cleanly or returns the authentic payload.
#[test]
fn hostile_metadata_values() {
    let fx = Fixture::new();
    let other = stranger();
    let cases: Vec<(&str, Edit)> = vec![
        ("size u64::MAX", Box::new(|m| m.size = u64::MAX)),
        ("size too small", Box::new(|m| m.size = 1)),
        ("size too large", Box::new(|m| m.size += 1)),
        ("size 0", Box::new(|m| m.size = 0)),
        ("mtime u64::MAX", Box::new(|m| m.mtime = u64::MAX)),
        (
            "mtime past year 9999",
            Box::new(|m| m.mtime = 253_402_300_800),
        ),
        ("mtime i64::MAX + 1", Box::new(|m| m.mtime = 1 << 63)),
        ("created u64::MAX", Box::new(|m| m.created = u64::MAX)),
        ("no recipients listed", Box::new(|m| m.recipients.clear())),
        (
            "two recipients listed",
            Box::new(move |m| m.recipients.push(other.to_string())),
        ),
        (
            "someone else listed",
            Box::new(move |m| m.recipients = vec![other.to_string()]),
        ),
    ];
    let data = pattern(70_000, 4);
    for (i, (what, edit)) in cases.iter().enumerate() {
        let (dir, url, _, _) = fx.copy(&format!("m{i}"));
        let name = format!("forged-{i}");
        forge_with(&dir, fx.me, &name, &data, edit);
        ls_is_safe(&fx.c, &url, what);
        pull_is_safe(&fx.c, &url, &name, &[&data], what);
        assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what));
    }
    eprintln!("hostile server: {} hostile-metadata cases", cases.len());
}

/// Issue 14, item 2: a co-recipient who holds the file key re-seals the
/// metadata with the recipient list changed (two entries swapped, or
/// someone else named for a stanza). The stanzas are bound to the list,
/// so the owner's client refuses the object instead of showing the wrong
/// people and letting `unshare` drop the wrong stanza.
#[test]
fn a_recipient_list_that_lies_about_the_stanzas_is_refused() {
    let fx = Fixture::new();
    let mallory = stranger();
    let bob = stranger();
    let carol = stranger();
    let cases: Vec<(&str, Edit)> = vec![
        ("entries swapped", Box::new(|m| m.recipients.swap(1, 2))),
        (
            "mallory's stanza listed as carol's",
            Box::new(move |m| m.recipients[1] = carol.to_string()),
        ),
    ];
    for (i, (what, edit)) in cases.iter().enumerate() {
        let (dir, url, _, _) = fx.copy(&format!("lie{i}"));
        let name = format!("lie-{i}");
        forge_for(&dir, &[fx.me, mallory, bob], &name, b"shared", edit);
        let r = run(&fx.c, &["ls", "--json", &url], what);
        assert!(r.ok, "{what}: {}", r.stderr);
        let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        let names: Vec<&str> = doc["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert!(
            !names.contains(&name.as_str()),
            "{what}: listed with a recipient list its stanzas do not match: {doc}"
        );
        assert!(r.stderr.contains("cannot be read"), "{what}: {}", r.stderr);
        let r = run(
            &fx.c,
            &["unshare", &url, &name, "-r", &mallory.to_string()],
            what,
        );
        assert!(!r.ok, "{what}: unshare acted on it: {}", r.stderr);
        assert!(pull_is_safe(&fx.c, &url, "a.txt", &[&fx.a], what));
    }
}
