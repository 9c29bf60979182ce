//! The S3 backend against a real SeaweedFS (tests/common/seaweedfs.rs): the
//! intent-based operations (conditional puts, multipart uploads from
//! several connections, ranged reads, listing, the staging sweep), the
//! credential chain, TLS trust, the plain-HTTP rule, and a volume server
//! lost in the middle of a read. No mocks of the S3 protocol.
//!
//! Until the transport trait is reshaped, these call `S3Transport`'s
//! inherent methods (the same names and meanings as the trait's version
//! 2); the shared conformance suite takes the backend over when the trait
//! lands.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::pattern;
use common::seaweedfs::{BUCKET, Weed};
use vault::transport::{
    ConnectOptions, Location, PutMode, S3Error, S3Target, S3Transport, TransportError,
};

/// One STREAM chunk as stored (64 KiB + 16).
const CHUNK: u64 = 65_552;

fn target(prefix: &str) -> S3Target {
    match Location::parse(&format!("s3://{BUCKET}/{prefix}")).expect("location") {
        Location::S3(t) => t,
        other => panic!("not an S3 location: {other:?}"),
    }
}

fn connect_env(prefix: &str, env: &HashMap<String, String>) -> Result<S3Transport, TransportError> {
    S3Transport::connect_with_env(&target(prefix), &ConnectOptions::default(), &|k: &str| {
        env.get(k).cloned()
    })
}

/// Connect and send a first request (a listing of the vault root):
/// connecting alone sends nothing, so refusals (authentication, TLS) show
/// only here.
fn reach(prefix: &str, env: &HashMap<String, String>) -> Result<S3Transport, TransportError> {
    let mut t = connect_env(prefix, env)?;
    t.list("")?;
    Ok(t)
}

fn connect(w: &Weed, prefix: &str) -> S3Transport {
    connect_env(prefix, &w.env()).unwrap_or_else(|e| panic!("connect: {e}\n{}", w.logs()))
}

fn put(
    t: &mut S3Transport,
    path: &str,
    data: &[u8],
    step: usize,
    mode: PutMode,
) -> Result<(), TransportError> {
    let mut w = t.put(path, mode)?;
    for c in data.chunks(step.max(1)) {
        w.write_all(c)?;
    }
    w.finish()
}

fn get(t: &mut S3Transport, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    t.read(path)
        .and_then(|mut r| r.read_to_end(&mut out))
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    out
}

fn get_range(
    t: &mut S3Transport,
    path: &str,
    off: u64,
    len: u64,
) -> Result<Vec<u8>, TransportError> {
    let mut out = Vec::new();
    t.read_at(path, off, len)?.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn puts_reads_lists_and_conditions() {
    let w = Weed::start();
    let mut t = connect(&w, "v1");
    let p = t.properties();
    assert!(p.atomic_create_new && p.atomic_replace);
    assert_eq!(p.min_part_size, 5 << 20);

    // Sizes around the single-PUT limit: one PUT, or parts (a last part
    // of one byte, of a whole part, of less than a part).
    let one = vault::transport::s3::SINGLE_PUT_MAX;
    for (i, len) in [
        0usize,
        1,
        65_537,
        one - 1,
        one,
        one + 1,
        2 * one,
        (21 << 20) + 5,
    ]
    .into_iter()
    .enumerate()
    {
        let data = pattern(len, i as u8);
        let name = format!("objects/f{len}");
        put(&mut t, &name, &data, 1 << 20, PutMode::New).expect("put new");
        assert!(get(&mut t, &name) == data, "{name}: content");
        let st = t.stat(&name).expect("stat").expect("exists");
        assert_eq!((st.size, st.is_dir), (len as u64, false));
        assert!(st.mtime.is_some());
        // New never replaces, and leaves the object as it was.
        let e = put(&mut t, &name, b"other", 5, PutMode::New).expect_err("second New");
        assert!(matches!(e, TransportError::AlreadyExists(_)), "{e}");
        assert!(get(&mut t, &name) == data, "{name}: untouched");
    }

    // Ranges: inside, across the end, past the end, empty (on the object
    // of one PUT and a one-byte part, written above as number 5).
    let big = pattern(one + 1, 5);
    let name = format!("objects/f{}", big.len());
    let at = 5 * CHUNK;
    assert_eq!(
        get_range(&mut t, &name, at, CHUNK).unwrap(),
        &big[at as usize..(at + CHUNK) as usize]
    );
    let end = big.len() as u64;
    assert_eq!(
        get_range(&mut t, &name, end - 3, 100).unwrap(),
        &big[big.len() - 3..]
    );
    assert!(get_range(&mut t, &name, end, 10).unwrap().is_empty());
    assert!(get_range(&mut t, &name, 0, 0).unwrap().is_empty());
    let e = get_range(&mut t, "objects/nope", 0, 10).expect_err("missing");
    assert!(matches!(e, TransportError::NotFound(_)), "{e}");

    // Listing: objects and prefixes as folders, nothing outside the vault.
    let mut other = connect(&w, "v2");
    put(&mut other, "objects/elsewhere", b"x", 1, PutMode::New).unwrap();
    put(&mut t, "objects/sub/deeper", b"d", 1, PutMode::New).unwrap();
    let mut names: Vec<(String, bool)> = t
        .list("objects")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "eight objects and one folder: {names:?}");
    assert!(names.contains(&("sub".into(), true)));
    assert!(!names.iter().any(|(n, _)| n == "elsewhere"));
    let root = t.list("").unwrap();
    assert!(
        root.iter().any(|e| e.name == "objects" && e.is_dir),
        "{root:?}"
    );
    assert!(t.stat("objects/sub").unwrap().is_some_and(|e| e.is_dir));
    assert!(t.stat("objects/none").unwrap().is_none());
    assert!(
        t.list("nothing/here").unwrap().is_empty(),
        "no folders on S3: empty, not NotFound"
    );

    // Replace: If-Match on the ETag this location saw; a rewrite by
    // someone else in between is refused, and nothing is written.
    put(&mut t, "heads/h", b"v1", 2, PutMode::New).unwrap();
    let mut b = connect(&w, "v1");
    assert!(b.stat("heads/h").unwrap().is_some());
    put(&mut t, "heads/h", b"v2", 2, PutMode::Replace).expect("replace over what t wrote");
    let e = put(&mut b, "heads/h", b"v3-from-b", 9, PutMode::Replace).expect_err("stale replace");
    assert!(matches!(e, TransportError::S3(S3Error::Changed(_))), "{e}");
    assert_eq!(get(&mut b, "heads/h"), b"v2");
    put(&mut b, "heads/h", b"v3-from-b", 9, PutMode::Replace).expect("replace after reading");
    assert_eq!(get(&mut t, "heads/h"), b"v3-from-b");
    // Without a known ETag the replace is unconditional.
    let mut fresh = connect(&w, "v1");
    put(&mut fresh, "heads/h", b"v4", 2, PutMode::Replace).unwrap();
    put(&mut fresh, "heads/new", b"n", 1, PutMode::Replace).unwrap();

    // Remove.
    t.remove("heads/new").unwrap();
    let e = t.remove("heads/new").expect_err("remove missing");
    assert!(matches!(e, TransportError::NotFound(_)), "{e}");
    for bad in ["../x", "/a", "a//b", "a/"] {
        let e = t.put(bad, PutMode::New).err().expect("bad path");
        assert!(matches!(e, TransportError::BadPath(_)), "{e}");
    }
}

#[test]
fn listing_pages_past_a_thousand() {
    let w = Weed::start();
    let t = connect(&w, "many");
    std::thread::scope(|s| {
        for k in 0..4 {
            let mut c = t.reconnect().unwrap();
            s.spawn(move || {
                for i in (k..1005).step_by(4) {
                    put(&mut c, &format!("o/{i:04}"), b"", 1, PutMode::New).unwrap();
                }
            });
        }
    });
    let mut t = t;
    let mut got: Vec<String> = t.list("o").unwrap().into_iter().map(|e| e.name).collect();
    got.sort();
    let want: Vec<String> = (0..1005).map(|i| format!("{i:04}")).collect();
    assert_eq!(got, want);
}

#[test]
fn multipart_from_several_connections() {
    let w = Weed::start();
    let mut t = connect(&w, "mp");
    // Three ranges of whole chunks, the last shorter, written at once.
    let data = Arc::new(pattern((230 * CHUNK + 77) as usize, 9));
    let ranges = [
        (0u64, 100 * CHUNK),
        (100 * CHUNK, 100 * CHUNK),
        (200 * CHUNK, 30 * CHUNK + 77),
    ];
    let up = t.begin_upload("objects/big.p").unwrap();
    std::thread::scope(|s| {
        for (off, len) in ranges {
            let mut c = t.reconnect().unwrap();
            let (up, data) = (up.clone(), Arc::clone(&data));
            s.spawn(move || {
                let mut pw = c.write_part(&up, off).unwrap();
                for piece in data[off as usize..(off + len) as usize].chunks(1 << 20) {
                    pw.write_all(piece).unwrap();
                }
                pw.finish().unwrap();
            });
        }
    });
    assert!(
        t.stat("objects/big.p").unwrap().is_none(),
        "invisible before finish"
    );
    t.finish_upload(up, data.len() as u64, PutMode::New)
        .unwrap();
    assert!(get(&mut t, "objects/big.p") == *data);

    // Ranges of 17 MB: two parts each, so part numbers have gaps (1, 2, 4,
    // 5, 7, ...); the completion must name each part by its own number.
    let data2 = Arc::new(pattern((3 * 260 * CHUNK) as usize, 11));
    let up = t.begin_upload("objects/gaps.p").unwrap();
    std::thread::scope(|s| {
        for k in 0..3u64 {
            let mut c = t.reconnect().unwrap();
            let (up, data2) = (up.clone(), Arc::clone(&data2));
            s.spawn(move || {
                let (off, len) = (k * 260 * CHUNK, 260 * CHUNK);
                let mut pw = c.write_part(&up, off).unwrap();
                for piece in data2[off as usize..(off + len) as usize].chunks(1 << 20) {
                    pw.write_all(piece).unwrap();
                }
                pw.finish().unwrap();
            });
        }
    });
    t.finish_upload(up, data2.len() as u64, PutMode::New)
        .unwrap();
    assert!(
        get(&mut t, "objects/gaps.p") == *data2,
        "regression: parts with gaps in their numbers"
    );

    // A second upload to the same name with New: refused, nothing replaced,
    // and the upload is aborted (the sweep finds nothing).
    let up = t.begin_upload("objects/big.p").unwrap();
    let mut pw = t.write_part(&up, 0).unwrap();
    pw.write_all(b"intruder").unwrap();
    pw.finish().unwrap();
    let e = t
        .finish_upload(up, 8, PutMode::New)
        .expect_err("New over an object");
    assert!(matches!(e, TransportError::AlreadyExists(_)), "{e}");
    assert_eq!(
        t.stat("objects/big.p").unwrap().unwrap().size,
        data.len() as u64
    );

    // Parts that do not add up are refused (and aborted).
    let up = t.begin_upload("objects/short.p").unwrap();
    let mut pw = t.write_part(&up, 0).unwrap();
    pw.write_all(&data[..1000]).unwrap();
    pw.finish().unwrap();
    let e = t.finish_upload(up, 2000, PutMode::New).expect_err("short");
    assert!(
        matches!(
            e,
            TransportError::S3(S3Error::UploadIncomplete {
                got: 1000,
                want: 2000,
                ..
            })
        ),
        "{e}"
    );
    assert!(t.stat("objects/short.p").unwrap().is_none());

    // An empty object through the multipart path.
    let up = t.begin_upload("objects/empty.p").unwrap();
    t.finish_upload(up, 0, PutMode::New).unwrap();
    assert_eq!(t.stat("objects/empty.p").unwrap().unwrap().size, 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        t.sweep_staging(now + 3600).unwrap(),
        0,
        "nothing left behind"
    );
}

#[test]
fn interrupted_uploads_leave_nothing_visible_and_the_sweep_aborts_them() {
    let w = Weed::start();
    let mut t = connect(&w, "cut");
    let data = pattern(30 << 20, 3);
    // A whole-object writer dropped after it started sending parts.
    {
        let mut wr = t.put("objects/a.p", PutMode::New).unwrap();
        wr.write_all(&data).unwrap();
        drop(wr);
    }
    assert!(t.stat("objects/a.p").unwrap().is_none());
    // A multipart upload whose owner vanished after writing parts.
    let up = t.begin_upload("objects/b.p").unwrap();
    let mut pw = t.write_part(&up, 0).unwrap();
    pw.write_all(&data).unwrap();
    drop(pw); // unfinished part writer: its buffered tail is dropped
    let mut pw = t.write_part(&up, 0).unwrap();
    pw.write_all(&data[..6 << 20]).unwrap();
    pw.finish().unwrap();
    drop(up);
    assert!(t.stat("objects/b.p").unwrap().is_none());
    assert!(t.list("objects").unwrap().is_empty());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        t.sweep_staging(now.saturating_sub(3600)).unwrap(),
        0,
        "too young to sweep"
    );
    assert_eq!(
        t.sweep_staging(now + 60).unwrap(),
        1,
        "the abandoned upload"
    );
    assert_eq!(t.sweep_staging(now + 60).unwrap(), 0, "aborted");
    // Other vaults' uploads in the same bucket are not ours to sweep.
    let mut other = connect(&w, "other");
    let _keep = other.begin_upload("objects/c.p").unwrap();
    assert_eq!(t.sweep_staging(now + 60).unwrap(), 0);
    assert_eq!(other.sweep_staging(now + 60).unwrap(), 1);
}

#[test]
fn credentials_from_a_profile_file() {
    let w = Weed::start();
    let home = w.home();
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n[test]\n\
             aws_access_key_id = {}\naws_secret_access_key = {}\n",
            w.access_key(),
            w.secret_key()
        ),
    )
    .unwrap();
    std::fs::write(
        home.join(".aws/config"),
        format!(
            "[profile test]\nregion = us-east-1\nendpoint_url = {}\n",
            w.endpoint()
        ),
    )
    .unwrap();
    let mut env = HashMap::new();
    env.insert("HOME".to_owned(), home.display().to_string());
    env.insert("AWS_PROFILE".to_owned(), "test".to_owned());
    let mut t = connect_env("prof", &env).unwrap_or_else(|e| panic!("profile: {e}"));
    put(&mut t, "x", b"via profile", 4, PutMode::New).unwrap();
    assert_eq!(get(&mut t, "x"), b"via profile");
    // The default profile holds a wrong key: a clear auth error.
    env.remove("AWS_PROFILE");
    env.insert("AWS_ENDPOINT_URL".to_owned(), w.endpoint());
    let e = reach("prof", &env).err().expect("wrong key");
    assert_err!(e => TransportError::S3(S3Error::AuthFailed { .. }), "{}");
}

#[test]
fn a_wrong_secret_key_is_a_clear_auth_error_without_the_secret() {
    let w = Weed::start();
    let mut env = w.env();
    let wrong = "thisisnotthesecretkeyatall0123456789abcd".to_owned();
    env.insert("AWS_SECRET_ACCESS_KEY".into(), wrong.clone());
    let e = reach("auth", &env).err().expect("refused");
    assert!(
        matches!(e, TransportError::S3(S3Error::AuthFailed { .. })),
        "{e:?}"
    );
    let m = e.to_string();
    assert!(m.contains("authentication refused by 127.0.0.1"), "{m}");
    assert!(
        !m.contains(&wrong) && !format!("{e:?}").contains(&wrong),
        "{m}"
    );
    assert!(!m.contains('\n'));
    // A session token that does not belong is never echoed either.
    let mut env = w.env();
    env.insert("AWS_SESSION_TOKEN".into(), "TOKEN-SECRET-123".into());
    if let Err(e) = reach("auth", &env) {
        assert!(
            !e.to_string().contains("TOKEN-SECRET-123")
                && !format!("{e:?}").contains("TOKEN-SECRET-123")
        );
    }
}

#[test]
fn tls_with_the_runs_ca_through_aws_ca_bundle() {
    let w = Weed::start_tls(false);
    let mut t = connect(&w, "tls");
    put(&mut t, "x", b"over tls", 3, PutMode::New).unwrap();
    assert_eq!(get(&mut t, "x"), b"over tls");
    // Without the bundle the system roots do not know the run's CA.
    let mut env = w.env();
    env.remove("AWS_CA_BUNDLE");
    let e = reach("tls", &env).err().expect("untrusted");
    assert_err!(e => TransportError::S3(S3Error::CertificateUntrusted { .. }), "{}");
    assert!(e.to_string().contains("AWS_CA_BUNDLE"), "{e}");
    // A bundle that is not PEM is its own error.
    let bogus = w.home().join("bogus.pem");
    std::fs::write(&bogus, b"not a certificate").unwrap();
    env.insert("AWS_CA_BUNDLE".into(), bogus.display().to_string());
    let e = reach("tls", &env).err().expect("bad bundle");
    assert_err!(e => TransportError::S3(S3Error::BadCaBundle { .. }), "{}");
}

#[test]
fn tls_certificate_for_another_name_is_refused() {
    let w = Weed::start_tls(true);
    let e = reach("tls", &w.env()).err().expect("wrong name");
    assert!(
        matches!(
            e,
            TransportError::S3(S3Error::CertificateNameMismatch { .. })
        ),
        "{e:?}"
    );
    let m = e.to_string();
    assert!(m.contains("127.0.0.1") && !m.contains('\n'), "{m}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_without_the_flag() {
    // Refused before any connection is tried (the name does not resolve
    // anyway: nothing leaves the machine).
    let mut env = HashMap::new();
    env.insert("AWS_ACCESS_KEY_ID".to_owned(), "k".to_owned());
    env.insert("AWS_SECRET_ACCESS_KEY".to_owned(), "s".to_owned());
    env.insert(
        "AWS_ENDPOINT_URL".to_owned(),
        "http://s3.example.invalid:9000".to_owned(),
    );
    env.insert("HOME".to_owned(), "/nonexistent".to_owned());
    let e = connect_env("p", &env).err().expect("refused");
    assert_err!(e => TransportError::S3(S3Error::InsecureHttp { .. }), "{}");
    let mut opts = ConnectOptions::default();
    opts.insecure_plain_http = true;
    let e = S3Transport::connect_with_env(&target("p"), &opts, &|k: &str| env.get(k).cloned())
        .and_then(|mut t| t.list(""))
        .expect_err("does not resolve");
    assert!(
        !matches!(e, TransportError::S3(S3Error::InsecureHttp { .. })),
        "{e}"
    );
}

/// Stop one of the two volume servers while a large object is being read
/// in ranges: with replication 001 every chunk has a copy on the other
/// server. The read must either deliver exactly the stored bytes or fail
/// with a clean error; it must never deliver other bytes.
#[test]
fn cluster_read_survives_or_fails_cleanly_when_a_volume_server_stops() {
    let mut w = Weed::start_cluster();
    let mut t = connect(&w, "cl");
    let data = pattern(48 << 20, 5);
    put(&mut t, "objects/big.p", &data, 4 << 20, PutMode::New)
        .unwrap_or_else(|e| panic!("{e}\n{}", w.logs()));
    for i in 0..2 {
        assert!(
            w.volume_bytes(i) >= data.len() as u64,
            "volume server {i} holds a copy"
        );
    }
    let step = 4 << 20;
    let mut got = Vec::new();
    let mut outcome = Ok(());
    for (i, off) in (0..data.len()).step_by(step).enumerate() {
        if i == 2 {
            w.stop_volume(1);
        }
        match get_range(&mut t, "objects/big.p", off as u64, step as u64) {
            Ok(b) => got.extend_from_slice(&b),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    match outcome {
        Ok(()) => {
            assert!(
                got == data,
                "every range read, and the bytes are the stored ones"
            );
            eprintln!("every range read with a volume server down");
        }
        Err(e) => {
            assert!(data.starts_with(&got), "bytes before the failure are right");
            assert!(!e.to_string().contains('\n'), "{e}");
            eprintln!("read with a volume server down failed cleanly: {e}");
        }
    }
    // With one server left, a fresh whole read still works (the replica).
    assert!(
        get(&mut t, "objects/big.p") == data,
        "the replica serves the object"
    );
}

/// The remote commands end to end through the real binary, configured
/// only through the environment the AWS tools use.
#[test]
fn cli_push_pull_ls_mv_rm_over_s3() {
    let w = Weed::start();
    let home = w.home();
    let vault = |args: &[&str]| {
        let mut c = assert_cmd::Command::cargo_bin("vault").expect("vault binary");
        c.current_dir(&home)
            .env_remove("VAULT_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("VAULT_PASSPHRASE_FILE")
            .env_remove("VAULT_PASSPHRASE_COMMAND")
            .envs(w.env())
            .args(args);
        c
    };
    vault(&["keygen", "--no-passphrase"]).assert().success();
    let big = pattern(40 << 20, 21);
    std::fs::write(home.join("big.bin"), &big).unwrap();
    std::fs::write(home.join("note.txt"), b"a small note").unwrap();
    let url = format!("s3://{BUCKET}/cli");
    vault(&["push", "--threads", "3", "big.bin", &url])
        .assert()
        .success();
    vault(&["push", "note.txt", &url]).assert().success();
    let out = vault(&["ls", &url]).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listing.contains("big.bin") && listing.contains("note.txt"),
        "{listing}"
    );
    vault(&["pull", "--threads", "3", &url, "big.bin", "-o", "big.back"])
        .assert()
        .success();
    assert!(std::fs::read(home.join("big.back")).unwrap() == big);
    vault(&["push", "note.txt", &url]).assert().failure();
    vault(&["mv", &url, "note.txt", "renamed.txt"])
        .assert()
        .success();
    vault(&["pull", &url, "renamed.txt", "-o", "-"])
        .assert()
        .success()
        .stdout("a small note");
    vault(&["rm", &url, "renamed.txt"]).assert().success();
    let out = vault(&["ls", &url]).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !listing.contains("renamed.txt") && listing.contains("big.bin"),
        "{listing}"
    );
}
