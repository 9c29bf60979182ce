//! The client's cache of a remote vault, so that commands after the first
//! read no heads they have read before, and a command that names one object
//! need not list the vault at all.
//!
//! ```text
//! $XDG_CACHE_HOME/vault/LOC/            LOC = hex SHA-256 of the location (32 digits), 0700
//!   heads/XX/ID.REV.h                   head files as the server holds them (XX = ID[..2])
//!   index.KEYS                          KEYS = hex SHA-256 of the identities' public keys
//! index = "VLTCACHE" || salt (16) || STREAM[HKDF-SHA256[salt, info = "vault/v1 cache " || location](identity secrets)](record)
//! ```
//!
//! The index records, for each head revision (ID, REV) the last listing
//! showed, what opening it gave: the object's metadata, size and cipher,
//! or "sealed to other keys", so that a warm listing does no public-key
//! operation and reads no head. It is sealed under a key only the user's
//! identities give, bound to the location; a file that does not open is
//! dropped and rebuilt. It also keeps the modification time of the
//! server's `objects/` folder when the listing was made, if the transport
//! reports one that changes with every entry ([`Properties::folder_mtime`]):
//! while it has not changed, the cached listing is the server's, and a
//! command naming one object checks only that object's head file.
//!
//! Why this cannot make vault act on the wrong object: (ID, REV) names
//! immutable bytes (a head is never rewritten in place), every cached head
//! is used only for an (ID, REV) the server's current listing shows (or,
//! on the one-object path, whose head file the server shows with that
//! size), and a head read back from the cache is opened and checked again
//! like one read from the server. A stale cache costs a re-read; a damaged
//! one is dropped. The one thing the folder time cannot see is an entry
//! added in the same second as the listing: a listing whose folder time is
//! that recent is not trusted for the one-object path (`docs/FORMAT.md`).
//!
//! Only objects the user can open have their heads here; for the others
//! the index holds their (ID, REV) and nothing else.
//!
//! [`Properties::folder_mtime`]: crate::transport::Properties::folder_mtime

use std::collections::HashMap;
use std::fs::{self, DirBuilder};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand_core::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Metadata;
use super::listing::Object;
use crate::crypto::primitives::hkdf_sha256;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{Identity, Suite, os_rng, pipeline};

const MAGIC: &[u8; 8] = b"VLTCACHE";
const RECORD: &[u8] = b"vault cache index v1\n";

/// What a listing learnt about one head revision.
#[derive(Debug, Clone)]
pub enum Known {
    /// An object the user can open.
    Mine(Box<Object>),
    /// Sealed to other keys.
    NotMine,
}

/// The cache of one vault for one set of identities.
pub struct Cache {
    dir: PathBuf,
    index: PathBuf,
    secret: Zeroizing<Vec<u8>>,
    location: String,
    /// What each (ID, REV) opened to.
    pub entries: HashMap<(String, u64), Known>,
    /// The `objects/` folder time of the listing the entries come from, if
    /// it can be trusted as "nothing changed since".
    pub snapshot: Option<u64>,
    dirty: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn private_dir(p: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(p)
}

/// Write `bytes` to `path` without syncing (the cache is disposable):
/// created fresh, mode 0600; a crash can leave a short file, which fails
/// its size or its authentication when read and is rewritten.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private(path)?.write_all(bytes)
}

/// `path` created fresh (whatever was there removed first), mode 0600.
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let _ = fs::remove_file(path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

impl Cache {
    /// The cache of `location` under `root` (`$XDG_CACHE_HOME/vault`) for
    /// `ids`, loaded if present and intact, else empty. Never fails: a
    /// cache that cannot be used is simply cold (and `None` if the folder
    /// cannot be made at all).
    pub fn open(root: &Path, location: &str, ids: &[Box<dyn Identity>]) -> Option<Cache> {
        let loc = hex(&Sha256::digest(location.as_bytes())[..16]);
        let dir = root.join(loc);
        private_dir(&dir.join("heads")).ok()?;
        // Keyed by the secrets of the identities that have one on this
        // machine, and named after every identity in the set (what the
        // cache says this set cannot open holds for this set only); with
        // no secret at all, or an identity that can be told apart by
        // nothing, no cache.
        let mut secrets: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut labels: Vec<Zeroizing<String>> = Vec::new();
        for i in ids {
            match (i.cache_secret(), i.cache_label()) {
                (Some(s), _) => secrets.push(s),
                (None, Some(l)) => labels.push(l),
                (None, None) => return None,
            }
        }
        if secrets.is_empty() {
            return None;
        }
        secrets.sort_by(|a, b| a.as_slice().cmp(b.as_slice()));
        labels.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut secret = Zeroizing::new(Vec::new());
        for s in &secrets {
            secret.extend_from_slice(s);
            secret.push(b'\n');
        }
        let mut named = Sha256::new();
        named.update(b"vault/v1 cache index name\n");
        named.update(&secret[..]);
        for l in &labels {
            named.update(l.as_bytes());
            named.update(b"\n");
        }
        let keys = hex(&named.finalize()[..16]);
        let mut c = Cache {
            index: dir.join(format!("index.{keys}")),
            dir,
            secret,
            location: location.to_owned(),
            entries: HashMap::new(),
            snapshot: None,
            dirty: false,
        };
        c.load();
        Some(c)
    }

    fn key(&self, salt: &[u8]) -> PayloadKey {
        let mut info = b"vault/v1 cache ".to_vec();
        info.extend_from_slice(self.location.as_bytes());
        let k = hkdf_sha256(salt, &self.secret, &info);
        PayloadKey::new(Suite::ChaCha20Poly1305, &k)
    }

    fn load(&mut self) {
        let Ok(bytes) = fs::read(&self.index) else {
            return;
        };
        let opened = (|| {
            let rest = bytes.strip_prefix(MAGIC)?;
            let (salt, sealed) = rest.split_at_checked(16)?;
            let mut plain = Vec::with_capacity(sealed.len());
            pipeline::open_payload(self.key(salt), sealed, &mut plain, 1).ok()?;
            drop(bytes);
            decode(&plain)
        })();
        match opened {
            Some((snapshot, entries)) => {
                self.snapshot = snapshot;
                self.entries = entries;
            }
            None => {
                // Damaged, or from another build: start again.
                let _ = fs::remove_file(&self.index);
            }
        }
    }

    /// Save the index if it changed. Best effort: the cache is an
    /// optimisation.
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let mut rng = os_rng();
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let plain = encode(self.snapshot, &self.entries);
        let tmp = self.dir.join(format!(".index.{}.tmp", hex(&salt[..8])));
        // Sealed straight into the file: the index is in memory once
        // (its plain encoding), not three times.
        let written = (|| -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(create_private(&tmp)?);
            f.write_all(MAGIC)?;
            f.write_all(&salt)?;
            let (_, f) = pipeline::seal_payload(self.key(&salt), &mut &plain[..], f, 1)
                .map_err(|_| std::io::Error::other("sealing the cache index"))?;
            f.into_inner().map_err(|e| e.into_error())?;
            Ok(())
        })();
        drop(plain);
        if written.is_ok() && fs::rename(&tmp, &self.index).is_ok() {
            self.dirty = false;
        } else {
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Mark the index changed (saved by [`Cache::save`]).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Replace what is known by `entries`, with `snapshot`; head files of
    /// revisions no longer listed are removed.
    pub fn replace(&mut self, entries: HashMap<(String, u64), Known>, snapshot: Option<u64>) {
        for ((id, rev), k) in &self.entries {
            if matches!(k, Known::Mine(_)) && !entries.contains_key(&(id.clone(), *rev)) {
                let _ = fs::remove_file(self.head_file(id, *rev));
            }
        }
        self.entries = entries;
        self.snapshot = snapshot;
        self.dirty = true;
    }

    /// Forget the folder time: the next command lists the vault.
    pub fn forget_snapshot(&mut self) {
        if self.snapshot.take().is_some() {
            self.dirty = true;
        }
    }

    /// Record one head revision (a push or a rewrite by this client).
    pub fn insert(&mut self, id: &str, rev: u64, k: Known) {
        self.entries.insert((id.to_owned(), rev), k);
        self.dirty = true;
    }

    /// Forget one head revision and its cached bytes.
    pub fn remove(&mut self, id: &str, rev: u64) {
        if self.entries.remove(&(id.to_owned(), rev)).is_some() {
            self.dirty = true;
        }
        let _ = fs::remove_file(self.head_file(id, rev));
    }

    fn head_file(&self, id: &str, rev: u64) -> PathBuf {
        let shard = id.get(..2).unwrap_or("00");
        self.dir
            .join("heads")
            .join(shard)
            .join(format!("{id}.{rev}.h"))
    }

    /// The cached bytes of head (ID, REV), if present with `size` bytes.
    pub fn head(&self, id: &str, rev: u64, size: u64) -> Option<Vec<u8>> {
        let b = fs::read(self.head_file(id, rev)).ok()?;
        (b.len() as u64 == size).then_some(b)
    }

    /// Keep the bytes of head (ID, REV). Best effort.
    pub fn put_head(&self, id: &str, rev: u64, bytes: &[u8]) {
        let p = self.head_file(id, rev);
        if let Some(d) = p.parent() {
            let _ = private_dir(d);
        }
        let _ = write_private(&p, bytes);
    }

    /// Drop a cached head that turned out bad.
    pub fn drop_head(&self, id: &str, rev: u64) {
        let _ = fs::remove_file(self.head_file(id, rev));
    }
}

// The index record: RECORD, snapshot (u8 flag, u64), count (u32), then per
// entry: id (16), rev (u64), kind (1 mine, 2 not mine), and for mine the
// object's fields. Private to this build: a record it cannot parse is
// dropped.

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode(snapshot: Option<u64>, entries: &HashMap<(String, u64), Known>) -> Vec<u8> {
    let mut out = RECORD.to_vec();
    out.push(u8::from(snapshot.is_some()));
    out.extend_from_slice(&snapshot.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for ((id, rev), k) in entries {
        put_str(&mut out, id);
        out.extend_from_slice(&rev.to_be_bytes());
        match k {
            Known::NotMine => out.push(2),
            Known::Mine(o) => {
                out.push(1);
                out.extend_from_slice(&o.head_size.to_be_bytes());
                out.push(u8::from(o.payload_size.is_some()));
                out.extend_from_slice(&o.payload_size.unwrap_or(0).to_be_bytes());
                out.push(o.suite.id());
                out.extend_from_slice(&(o.unverified as u32).to_be_bytes());
                let m = &o.meta;
                out.push(m.version);
                put_str(&mut out, &m.id);
                out.extend_from_slice(&m.rev.to_be_bytes());
                out.push(u8::from(m.inline));
                put_str(&mut out, &m.name);
                for v in [m.size, m.mtime, m.created] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.push(u8::from(m.sha256.is_some()));
                out.extend_from_slice(&m.sha256.unwrap_or([0; 32]));
                out.extend_from_slice(&(m.recipients.len() as u32).to_be_bytes());
                for r in &m.recipients {
                    put_str(&mut out, r);
                }
            }
        }
    }
    out
}

struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.b.split_at_checked(n)?;
        self.b = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

type Decoded = (Option<u64>, HashMap<(String, u64), Known>);

fn decode(b: &[u8]) -> Option<Decoded> {
    let mut r = Rd {
        b: b.strip_prefix(RECORD)?,
    };
    let has = r.u8()? == 1;
    let snap = r.u64()?;
    let n = r.u32()? as usize;
    let mut entries = HashMap::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let id = r.str()?;
        let rev = r.u64()?;
        let k = match r.u8()? {
            2 => Known::NotMine,
            1 => {
                let head_size = r.u64()?;
                let has_p = r.u8()? == 1;
                let p = r.u64()?;
                let suite = Suite::from_id(r.u8()?)?;
                let unverified = r.u32()? as usize;
                let version = r.u8()?;
                let mid = r.str()?;
                let mrev = r.u64()?;
                let inline = r.u8()? == 1;
                let name = r.str()?;
                let (size, mtime, created) = (r.u64()?, r.u64()?, r.u64()?);
                let has_sha = r.u8()? == 1;
                let sha: [u8; 32] = r.take(32)?.try_into().ok()?;
                let count = r.u32()? as usize;
                let mut recipients = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    recipients.push(r.str()?);
                }
                Known::Mine(Box::new(Object {
                    id: id.clone(),
                    rev,
                    head_size,
                    payload_size: has_p.then_some(p),
                    suite,
                    unverified,
                    meta: Metadata {
                        version,
                        id: mid,
                        rev: mrev,
                        inline,
                        name,
                        size,
                        mtime,
                        created,
                        sha256: has_sha.then_some(sha),
                        recipients,
                    },
                }))
            }
            _ => return None,
        };
        entries.insert((id, rev), k);
    }
    r.b.is_empty().then_some((has.then_some(snap), entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::X25519Identity;

    fn obj(id: &str) -> Object {
        Object {
            id: id.into(),
            rev: 2,
            head_size: 700,
            payload_size: None,
            suite: Suite::Aes256Gcm,
            unverified: 0,
            meta: Metadata {
                version: 2,
                id: id.into(),
                rev: 2,
                inline: true,
                name: "a/b ü".into(),
                size: 5,
                mtime: 6,
                created: 7,
                sha256: Some([3; 32]),
                recipients: vec!["age1x".into(), "ssh-ed25519 AAAA".into()],
            },
        }
    }

    #[test]
    fn the_index_round_trips_and_opens_only_with_the_same_keys() {
        let root = tempfile::tempdir().unwrap();
        let me: Box<dyn Identity> = Box::new(X25519Identity::generate(&mut os_rng()));
        let id = "00112233445566778899aabbccddeeff";
        let mut c = Cache::open(root.path(), "sftp://h/v", std::slice::from_ref(&me)).unwrap();
        c.insert(id, 2, Known::Mine(Box::new(obj(id))));
        c.insert("ff112233445566778899aabbccddeeff", 1, Known::NotMine);
        c.snapshot = Some(1234);
        c.save();
        c.put_head(id, 2, b"head bytes");
        let again = Cache::open(root.path(), "sftp://h/v", std::slice::from_ref(&me)).unwrap();
        assert_eq!(again.snapshot, Some(1234));
        assert_eq!(again.entries.len(), 2);
        match &again.entries[&(id.to_owned(), 2)] {
            Known::Mine(o) => assert_eq!(o.meta, obj(id).meta),
            Known::NotMine => panic!("lost"),
        }
        assert_eq!(again.head(id, 2, 10).as_deref(), Some(&b"head bytes"[..]));
        assert!(again.head(id, 2, 11).is_none(), "wrong size");
        // Another location, or other keys: a cold cache.
        assert!(
            Cache::open(root.path(), "sftp://h/w", std::slice::from_ref(&me))
                .unwrap()
                .entries
                .is_empty()
        );
        let other: Box<dyn Identity> = Box::new(X25519Identity::generate(&mut os_rng()));
        assert!(
            Cache::open(root.path(), "sftp://h/v", &[other])
                .unwrap()
                .entries
                .is_empty()
        );
        // A damaged index is dropped, not trusted.
        let idx = again.index.clone();
        let mut b = fs::read(&idx).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        fs::write(&idx, b).unwrap();
        assert!(
            Cache::open(root.path(), "sftp://h/v", &[me])
                .unwrap()
                .entries
                .is_empty()
        );
        assert!(!idx.exists());
    }
}
