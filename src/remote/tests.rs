//! The remote layer against a local-folder transport.

use std::fs::File;
use std::io::Read;

use super::codec::{MARKER, head_path, payload_path};
use super::vault::MIN_SEGMENT;
use super::*;
use crate::crypto::os_rng;
use crate::crypto::{CryptoError, Identity, Recipient, Suite, X25519Identity};
use crate::transport::LocalTransport;

fn vault(dir: &std::path::Path) -> RemoteVault {
    RemoteVault::open_or_create(Box::new(LocalTransport::new(dir, None).unwrap())).unwrap()
}

/// A new vault at `v` in a fresh temporary folder (gone when the returned
/// guard drops), and the vault's root.
fn fresh_vault() -> (tempfile::TempDir, std::path::PathBuf, RemoteVault) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("v");
    let v = vault(&root);
    (dir, root, v)
}

/// A fresh key, and a copy of it as the boxed identity a keystore hands out.
fn person() -> (X25519Identity, Box<dyn Identity>) {
    let key = X25519Identity::generate(&mut os_rng());
    let id = Box::new(key.to_secret_string().parse::<X25519Identity>().unwrap());
    (key, id)
}

#[test]
fn push_list_pull_rename_remove() {
    let (_dir, root, mut v) = fresh_vault();
    let (alice, alice_id) = person();
    let (_, bob_id) = person();
    let me = alice.recipient();
    let recipients: [&(dyn Recipient + Sync); 1] = [&me];
    for (len, inline) in [(100_000, false), (4_000, true), (0, true), (65_536, true)] {
        let data = vec![7u8; len];
        let spec = PushSpec {
            name: "docs/a.txt",
            mtime: 5,
            suite: Suite::Aes256Gcm,
            recipients: &recipients,
        };
        let pushed = v.push(&mut os_rng(), &mut &data[..], &spec).unwrap();
        assert_eq!(pushed.meta.inline, inline, "{len}");
        assert_eq!(root.join(payload_path(&pushed.id)).exists(), !inline);
        let l = v.list(std::slice::from_ref(&alice_id)).unwrap();
        assert_eq!(l.objects.len(), 1);
        assert_eq!(l.objects[0].meta.name, "docs/a.txt");
        assert_eq!(l.objects[0].meta.size, len as u64);
        let lb = v.list(std::slice::from_ref(&bob_id)).unwrap();
        assert_eq!((lb.objects.len(), lb.others), (0, 1));
        let o = v
            .open_object(&l.objects[0], std::slice::from_ref(&alice_id))
            .unwrap();
        let mut out = Vec::new();
        v.pull(&o, &mut out).unwrap();
        assert_eq!(out, data);

        let moved = v
            .rewrite(
                &mut os_rng(),
                &o,
                &Change {
                    name: "b.txt",
                    recipients: &o.obj.meta.recipients,
                },
            )
            .unwrap();
        assert_eq!(moved.rev, 2);
        assert!(!root.join(head_path(&o.obj.id, 1)).exists());
        // A second rewrite from the old revision is refused, not lost.
        let again = v.rewrite(
            &mut os_rng(),
            &o,
            &Change {
                name: "c.txt",
                recipients: &o.obj.meta.recipients,
            },
        );
        assert!(matches!(again, Err(RemoteError::Conflict(_))), "{len}");
        let l = v.list(std::slice::from_ref(&alice_id)).unwrap();
        assert!(l.named("b.txt").len() == 1 && l.named("docs/a.txt").is_empty());
        let o = v
            .open_object(&l.objects[0], std::slice::from_ref(&alice_id))
            .unwrap();
        let mut out = Vec::new();
        v.pull(&o, &mut out).unwrap();
        assert_eq!(out, data, "the payload survives a rewrite");
        v.remove(&l.objects[0]).unwrap();
        assert!(
            v.list(std::slice::from_ref(&alice_id))
                .unwrap()
                .objects
                .is_empty()
        );
    }
    // Nothing on disk names the object.
    for e in walk(&root) {
        assert!(!e.contains("a.txt") && !e.contains("docs"), "{e}");
    }
}

/// Push and pull over several (local) connections, in segments that do
/// not end on chunk boundaries of the file, and failures found by the
/// workers: a flipped byte, a payload cut or extended after the listing.
#[test]
fn parallel_push_and_pull_round_trip_and_detect_damage() {
    let (dir, root, mut v) = fresh_vault();
    v.set_connections(3);
    let (alice, alice_id) = person();
    let len = 3 * MIN_SEGMENT as usize + 12_345;
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    let src = dir.path().join("src");
    std::fs::write(&src, &data).unwrap();
    let me = alice.recipient();
    let recipients: [&(dyn Recipient + Sync); 1] = [&me];
    let spec = PushSpec {
        name: "big",
        mtime: 1,
        suite: Suite::ChaCha20Poly1305,
        recipients: &recipients,
    };
    let f = File::open(&src).unwrap();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let count = |n: u64| {
        seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    v.push_file(&mut os_rng(), &f, len as u64, &spec, &count, &|| Ok(()))
        .unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), len as u64);
    assert_eq!(v.extra.len(), 2, "three connections were used");
    assert!(
        std::fs::read_dir(root.join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );

    let l = v.list(std::slice::from_ref(&alice_id)).unwrap();
    let obj = &v
        .open_object(&l.objects[0], std::slice::from_ref(&alice_id))
        .unwrap();
    use sha2::Digest;
    let sha: [u8; 32] = sha2::Sha256::digest(&data).into();
    assert_eq!(
        obj.obj.meta.sha256,
        Some(sha),
        "hashed beside the connections"
    );
    let pull = |v: &mut RemoteVault| {
        let out = tempfile::tempfile().unwrap();
        let r = v.pull_to_file(obj, &out, &|_| {});
        r.map(|_| {
            let mut back = Vec::new();
            (&out).read_to_end(&mut back).unwrap();
            back
        })
    };
    assert!(pull(&mut v).unwrap() == data);
    // The serial reader opens what the workers sealed.
    let mut serial = Vec::new();
    v.pull(obj, &mut serial).unwrap();
    assert!(serial == data);

    let p = root.join(payload_path(&obj.obj.id));
    let good = std::fs::read(&p).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    assert!(matches!(
        pull(&mut v),
        Err(RemoteError::Crypto(CryptoError::DecryptFailed))
    ));
    std::fs::write(&p, &good[..good.len() - 1]).unwrap();
    assert!(matches!(
        pull(&mut v),
        Err(RemoteError::Crypto(CryptoError::Truncated))
    ));
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&p, &longer).unwrap();
    assert!(matches!(
        pull(&mut v),
        Err(RemoteError::Crypto(CryptoError::TrailingData))
    ));
    // The serial reader, given a listing made before the change (so the
    // size check passes), tells a cut from a changed last chunk by the
    // size the metadata promises, where a lone file could not.
    let serial = |v: &mut RemoteVault| v.pull(obj, &mut Vec::new());
    std::fs::write(&p, &good[..good.len() - 1]).unwrap();
    let r = serial(&mut v);
    assert!(
        matches!(r, Err(RemoteError::Crypto(CryptoError::Truncated))),
        "{r:?}"
    );
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let r = serial(&mut v);
    assert!(
        matches!(r, Err(RemoteError::Crypto(CryptoError::DecryptFailed))),
        "{r:?}"
    );
    std::fs::write(&p, &longer).unwrap();
    let r = serial(&mut v);
    assert!(
        matches!(r, Err(RemoteError::Crypto(CryptoError::TrailingData))),
        "{r:?}"
    );
}

#[test]
fn a_non_empty_folder_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), b"x").unwrap();
    let t = Box::new(LocalTransport::new(dir.path(), None).unwrap());
    assert!(matches!(
        RemoteVault::open_or_create(t),
        Err(RemoteError::NotEmpty(_))
    ));
    let t = Box::new(LocalTransport::new(dir.path(), None).unwrap());
    assert!(matches!(
        RemoteVault::open(t),
        Err(RemoteError::NotAVault(_))
    ));
}

#[test]
fn a_vault_whose_creation_was_cut_is_completed_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("v");
    std::fs::create_dir_all(root.join("objects")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(root.join("tmp/marker.0123456789abcdef.tmp"), b"vault").unwrap();
    vault(&root);
    assert!(root.join(MARKER).exists());
    // Anything else in tmp/ or objects/ is someone's data: refused.
    for junk in ["tmp/notes.txt", "objects/x"] {
        let d = dir.path().join(junk.replace('/', "-"));
        std::fs::create_dir_all(d.join("objects")).unwrap();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        std::fs::write(d.join(junk), b"mine").unwrap();
        let t = Box::new(LocalTransport::new(&d, None).unwrap());
        assert!(matches!(
            RemoteVault::open_or_create(t),
            Err(RemoteError::NotEmpty(_))
        ));
    }
}

fn walk(p: &std::path::Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        v.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            v.extend(walk(&e.path()));
        }
    }
    v
}

/// A listing without cache or pack reads the heads in batches (of 40 in
/// unit tests) and leaves one pack per batch of at least PACK_WRITE_MIN;
/// every object is listed either way, and a second cold client finds them
/// through those packs.
#[test]
fn a_cold_listing_reads_in_batches_and_leaves_a_pack_per_batch() {
    let (_dir, root, mut v) = fresh_vault();
    let (me, id) = person();
    let r = me.recipient();
    let recipients: [&(dyn Recipient + Sync); 1] = [&r];
    for i in 0..100 {
        let name = format!("f{i:03}");
        let spec = PushSpec {
            name: &name,
            mtime: 5,
            suite: Suite::ChaCha20Poly1305,
            recipients: &recipients,
        };
        v.push(&mut os_rng(), &mut &b"small"[..], &spec).unwrap();
    }
    let packs = || {
        std::fs::read_dir(root.join(super::codec::PACKS))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(packs(), 0);
    let l = vault(&root).list(std::slice::from_ref(&id)).unwrap();
    assert_eq!(l.objects.len(), 100);
    // Batches of 40, 40 and 20: the last is too small for a pack.
    assert_eq!(packs(), 2);
    let l = vault(&root).list(std::slice::from_ref(&id)).unwrap();
    let mut names: Vec<&str> = l.objects.iter().map(|o| o.meta.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 100);
}

/// The cache index is rewritten only when a listing learnt something: a
/// warm listing of an unchanged vault leaves it as it was (for 100,000
/// objects the rewrite cost seconds and tens of MiB), while a push or a
/// removal by another client is recorded at the next listing.
#[test]
fn a_warm_listing_of_an_unchanged_vault_leaves_the_cache_index_alone() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("v");
    let cache = dir.path().join("cache");
    let me = X25519Identity::generate(&mut os_rng());
    let ids: Vec<Box<dyn Identity>> = vec![Box::new(
        me.to_secret_string().parse::<X25519Identity>().unwrap(),
    )];
    let r = me.recipient();
    let recipients: [&(dyn Recipient + Sync); 1] = [&r];
    let push = |name: &str| {
        let spec = PushSpec {
            name,
            mtime: 5,
            suite: Suite::ChaCha20Poly1305,
            recipients: &recipients,
        };
        vault(&root)
            .push(&mut os_rng(), &mut &b"small"[..], &spec)
            .unwrap();
    };
    for i in 0..3 {
        push(&format!("f{i}"));
    }
    // One command: a listing through the cache, then the cache saved.
    let listed = || {
        let mut v = vault(&root);
        v.attach_cache(&cache, &ids);
        let l = v.list(&ids).unwrap();
        v.save_cache();
        l.objects.len()
    };
    let index = || {
        let loc = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap();
        let found: Vec<std::path::PathBuf> = std::fs::read_dir(loc.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("index.")
            })
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        let m = std::fs::metadata(&found[0]).unwrap();
        (m.ino(), m.mtime_nsec(), m.mtime())
    };
    assert_eq!(listed(), 3);
    let first = index();
    assert_eq!(listed(), 3);
    assert_eq!(index(), first, "an unchanged vault rewrote the index");
    push("f3");
    assert_eq!(listed(), 4);
    let second = index();
    assert_ne!(second, first, "a new object was not recorded");
    let mut v = vault(&root);
    let l = v.list(&ids).unwrap();
    let gone = l.one("f0", None).unwrap().clone();
    v.remove(&gone).unwrap();
    assert_eq!(listed(), 3);
    assert_ne!(index(), second, "a removal was not recorded");
}
