//! Harnesses for the line-oriented files: identity files, contacts,
//! recipients files, ssh_config and known_hosts.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::crypto::{Decryptor, SealedFile, X25519Identity, age};
use crate::keystore::{KeystoreError, contacts as contacts_file, identity_file as id_file};
use crate::transport::sftp::config::{Query, resolve_text};
use crate::transport::sftp::glob::wildmatch;
use crate::transport::sftp::known_hosts::{self, ServerKey, Verdict};

/// The lines a key-per-line parser does not skip.
fn key_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Identity files as `-i` and the keystore read them, without asking for a
/// passphrase: sealed files go as far as their header and work factor.
/// Every key parsed re-encodes to a key with the same public key, and a
/// parse error never echoes the line (it may be a secret).
pub fn identity_file(data: &[u8]) {
    let origin = Path::new("fuzz-identity");
    if age::looks_like_age(data) {
        if let Ok(d) = age::Decryptor::new(data)
            && d.is_passphrase()
        {
            let _ = d.passphrase_work_factor();
        }
        return;
    }
    if id_file::is_protected(data) {
        if let Ok(d) = Decryptor::new(data) {
            let _ = d.is_passphrase();
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if crate::crypto::ssh::looks_like_private_key(data) {
        // An SSH private key file: decoding must not panic, whatever it is.
        let _ = id_file::decode(data, origin);
        return;
    }
    let parsed = id_file::parse(text, origin);
    assert_eq!(
        parsed.is_ok(),
        id_file::decode(data, origin).is_ok(),
        "decode and parse disagree on plain text"
    );
    match parsed {
        Ok(ids) => {
            assert_eq!(ids.len(), key_lines(text).count());
            for id in id_file::parse_x25519(text, origin).expect("parsed once") {
                let again: X25519Identity = id.to_secret_string().parse().expect("own encoding");
                assert_eq!(again.recipient(), id.recipient());
                let file = id_file::format(&id);
                let back = id_file::parse_x25519(&file, origin).expect("own file format");
                assert_eq!(back.len(), 1);
                assert_eq!(back[0].recipient(), id.recipient());
            }
        }
        Err(e) => {
            assert!(matches!(
                e,
                KeystoreError::MalformedIdentityFile { .. }
                    | KeystoreError::PublicKeyAsIdentity { .. }
            ));
            let shown = e.to_string();
            for line in key_lines(text).filter(|l| l.len() >= 64) {
                assert!(!shown.contains(line), "the error echoes a line: {shown}");
            }
        }
    }
}

/// The contacts file: what parses has valid, unique names, and formatting
/// it parses back to the same contacts.
pub fn contacts(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new("fuzz-contacts");
    let Ok(list) = contacts_file::parse(text, origin) else {
        return;
    };
    assert_eq!(list.len(), key_lines(text).count());
    for (i, c) in list.iter().enumerate() {
        assert!(contacts_file::check_name(&c.name).is_ok(), "{:?}", c.name);
        assert!(list[..i].iter().all(|o| o.name != c.name), "duplicate name");
    }
    let again = contacts_file::parse(&contacts_file::format(&list), origin);
    assert_eq!(again.ok(), Some(list));
}

/// Recipients files (`-R`): every key parsed prints in its canonical form,
/// which parses back to itself, and one per line in that form reads back
/// the same list; every key line is either a recipient or a skipped SSH key.
pub fn recipients(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = crate::keystore::recipients_file::parse(text, Path::new("fuzz-recipients"))
    else {
        return;
    };
    assert_eq!(
        list.recipients.len() + list.skipped.len(),
        key_lines(text).count()
    );
    let mut printed = String::new();
    for r in &list.recipients {
        let s = r.to_string();
        let again = crate::crypto::parse_recipient(&s).expect("canonical form parses");
        assert_eq!(again.to_string(), s);
        printed.push_str(&s);
        printed.push('\n');
    }
    let again =
        crate::keystore::recipients_file::parse(&printed, Path::new("again")).expect("own output");
    let strings = |l: &[crate::crypto::AnyRecipient]| -> Vec<String> {
        l.iter().map(|r| r.to_string()).collect()
    };
    assert_eq!(strings(&again.recipients), strings(&list.recipients));
    assert!(again.skipped.is_empty());
}

/// `wildmatch`, written the obvious way (dynamic programming) to check the
/// fast one against.
fn wildmatch_reference(pattern: &[char], s: &[char]) -> bool {
    // m[j]: pattern[..i] matches s[..j]
    let mut m = vec![false; s.len() + 1];
    m[0] = true;
    for &p in pattern {
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            next[j] = match p {
                '*' => m[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && m[j - 1],
                c => j > 0 && m[j - 1] && s[j - 1] == c,
            };
        }
        m = next;
    }
    m[s.len()]
}

/// `~/.ssh/config` resolution (without following `Include`): never panics,
/// the command line's user and port win, and the glob matcher agrees with
/// a reference implementation on the first two lines.
///
/// Input: the first line is the host alias, the rest the config text.
pub fn ssh_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (alias, config) = text.split_once('\n').unwrap_or((&text, ""));
    let home = Path::new("/home/fuzz");
    let q = Query {
        home,
        alias,
        user: None,
        port: None,
        local_user: "fuzzer",
    };
    let plain = resolve_text(config, &q);
    if let Ok(c) = &plain {
        assert!(c.port > 0);
        assert_eq!(c.alias, alias);
        let again = resolve_text(config, &q);
        assert_eq!(again.as_ref().ok(), Some(c), "not deterministic");
    }
    let cli = Query {
        user: Some("cli"),
        port: Some(2222),
        ..q
    };
    if let Ok(c) = resolve_text(config, &cli) {
        assert_eq!((c.user.as_str(), c.port), ("cli", 2222));
    }
    let mut lines = text.lines();
    if let (Some(p), Some(s)) = (lines.next(), lines.next()) {
        let (p, s): (Vec<char>, Vec<char>) =
            (p.chars().take(64).collect(), s.chars().take(64).collect());
        let (ps, ss): (String, String) = (p.iter().collect(), s.iter().collect());
        assert_eq!(
            wildmatch(&ps, &ss),
            wildmatch_reference(&p, &s),
            "wildmatch({ps:?}, {ss:?})"
        );
    }
}

/// A file for [`known_hosts`], made once per thread.
struct KnownHostsEnv {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

thread_local! {
    static KNOWN_HOSTS_ENV: RefCell<Option<KnownHostsEnv>> = const { RefCell::new(None) };
}

/// An ed25519 host key blob.
fn host_key() -> ServerKey {
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[7u8; 32]);
    ServerKey::new(&blob).expect("a valid key blob")
}

/// known_hosts checking: never panics; once the host's key is appended the
/// way `--accept-new` does, it is known (or still revoked); and the raw
/// bytes as a server key blob never panic either.
pub fn known_hosts(data: &[u8]) {
    if let Some(k) = ServerKey::new(data) {
        assert!(!k.type_name.is_empty());
        let _ = (k.fingerprint(), k.display_type());
    }
    KNOWN_HOSTS_ENV.with(|env| {
        let mut env = env.borrow_mut();
        let env = env.get_or_insert_with(|| {
            let dir = tempfile::tempdir().expect("a temporary folder");
            KnownHostsEnv {
                file: dir.path().join("known_hosts"),
                _dir: dir,
            }
        });
        let key = host_key();
        // One name an input (appending syncs the file: slow).
        let name = ["example.com", "[example.com]:2222"][data.len() % 2];
        std::fs::write(&env.file, data).expect("writing the temporary file");
        let files = std::slice::from_ref(&env.file);
        let before = known_hosts::check(files, name, &key);
        let _ = known_hosts::known_key_algorithms(files, name);
        // Hashed or not, the way `--accept-new` and `HashKnownHosts` do.
        known_hosts::append(&env.file, name, &key, data.len().is_multiple_of(3))
            .expect("appending");
        let _ = known_hosts::cert_authority(files, name);
        let _ = known_hosts::other_names(files, &key);
        let after = known_hosts::check(files, name, &key);
        match before {
            Verdict::Revoked { .. } => {
                assert!(matches!(after, Verdict::Revoked { .. }), "{after:?}")
            }
            _ => assert_eq!(after, Verdict::Known),
        }
        let algs = known_hosts::known_key_algorithms(files, name);
        assert!(algs.iter().any(|a| a == "ssh-ed25519"), "{algs:?}");
    });
}
