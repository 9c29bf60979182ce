//! A representative set of cases on a real SeaweedFS: the store changes,
//! cuts, swaps and deletes objects, and its listing names a head whose
//! payload is gone (or a payload whose head is). The client is configured
//! the way a user would, through `~/.aws/credentials` and `~/.aws/config`;
//! the tampering goes through the S3 API itself, as the store's operator
//! (or anyone holding the bucket's keys) can.

use std::collections::HashMap;

use crate::common::seaweedfs::{BUCKET, REGION, Weed};
use crate::support::*;
use vault::remote::codec;
use vault::transport::{ConnectOptions, Location, PutMode, S3Transport};

/// A user whose only S3 settings are the profile files of its HOME.
fn s3_client(w: &Weed) -> Client {
    let home = ClientHome::bare();
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            w.access_key(),
            w.secret_key()
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[default]\nregion = {REGION}\nendpoint_url = {}\n",
            w.endpoint()
        ),
    )
    .unwrap();
    Client::new(home)
}

/// The store's side: the objects of the vault at `prefix`.
struct Store {
    t: S3Transport,
}

impl Store {
    fn open(w: &Weed, prefix: &str) -> Store {
        let env: HashMap<String, String> = w.env();
        let Location::S3(target) = Location::parse(&format!("s3://{BUCKET}/{prefix}")).unwrap()
        else {
            panic!("not s3")
        };
        let t = S3Transport::connect_with_env(&target, &ConnectOptions::default(), &|k: &str| {
            env.get(k).cloned()
        })
        .unwrap();
        Store { t }
    }

    fn get(&mut self, path: &str) -> Vec<u8> {
        let mut out = Vec::new();
        self.t
            .read(path)
            .and_then(|mut r| r.read_to_end(&mut out))
            .unwrap_or_else(|e| panic!("get {path}: {e}"));
        out
    }

    fn set(&mut self, path: &str, data: &[u8]) {
        self.t.remove(path).unwrap();
        let mut w = self.t.put(path, PutMode::New).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
    }

    fn edit(&mut self, path: &str, f: impl FnOnce(&mut Vec<u8>)) {
        let mut b = self.get(path);
        f(&mut b);
        self.set(path, &b);
    }
}

type S3Tamper = Box<dyn Fn(&mut Store, &str, &str)>;

#[test]
fn over_s3() {
    let w = Weed::start();
    let c = s3_client(&w);
    let (a, b) = (pattern(SIZE, 1), pattern(SIZE, 2));
    c.write("a.txt", &a);
    c.write("b.txt", &b);
    // Freshly pushed: every head is at revision 1.
    let head = |id: &str| codec::head_path(id, 1);
    let payload = |id: &str| codec::payload_path(id);
    let cases: Vec<(&str, S3Tamper)> = vec![
        (
            "payload: flip a byte",
            Box::new(move |s, a, _| s.edit(&payload(a), |b| b[70_000] ^= 1)),
        ),
        (
            "payload: cut 1 byte",
            Box::new(move |s, a, _| s.edit(&payload(a), |b| b.truncate(b.len() - 1))),
        ),
        (
            "payload: cut to nothing",
            Box::new(move |s, a, _| s.set(&payload(a), b"")),
        ),
        (
            "head: flip metadata",
            Box::new(move |s, a, _| {
                s.edit(&head(a), |b| {
                    let n = b.len();
                    b[n - 1] ^= 1
                })
            }),
        ),
        (
            "head: cut to the header",
            Box::new(move |s, a, _| s.edit(&head(a), |b| b.truncate(HEADER_LEN))),
        ),
        (
            "swap heads",
            Box::new(move |s, a, b| {
                let (x, y) = (s.get(&head(a)), s.get(&head(b)));
                s.set(&head(a), &y);
                s.set(&head(b), &x);
            }),
        ),
        (
            "payload of the other object",
            Box::new(move |s, a, b| {
                let y = s.get(&payload(b));
                s.set(&payload(a), &y);
            }),
        ),
        (
            "listed head, deleted payload",
            Box::new(move |s, a, _| s.t.remove(&payload(a)).unwrap()),
        ),
        (
            "payload without its head",
            Box::new(move |s, a, _| s.t.remove(&head(a)).unwrap()),
        ),
    ];
    let mut count = 0;
    for (i, (what, tamper)) in cases.into_iter().enumerate() {
        let prefix = format!("t{i}");
        let url = format!("s3://{BUCKET}/{prefix}");
        c.vault(&["push", "-q", "a.txt", "b.txt", &url])
            .assert()
            .success();
        let (ia, ib) = (id_for(&c, &url, "a.txt"), id_for(&c, &url, "b.txt"));
        let mut store = Store::open(&w, &prefix);
        tamper(&mut store, &ia, &ib);
        // A warm cache holds the authentic head: authentic or refused.
        pull_is_safe(&c, &url, "a.txt", &[&a], what);
        cold(&c);
        ls_is_safe(&c, &url, what);
        assert!(!pull_is_safe(&c, &url, "a.txt", &[], what), "{what}");
        // The other object is untouched by a's damage (except where the
        // case swapped it too).
        if !what.starts_with("swap") {
            assert!(pull_is_safe(&c, &url, "b.txt", &[&b], what), "{what}: b");
        }
        count += 1;
    }
    eprintln!("hostile server: {count} cases over s3");
}
