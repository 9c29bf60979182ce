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
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Metadata;
use super::listing::Object;
use crate::crypto::primitives::hkdf_sha256;
use crate::crypto::suite::PayloadKey;
use crate::crypto::{Identity, StreamReader, StreamWriter, Suite, os_rng};

const MAGIC: &[u8; 8] = b"VLTCACHE";
const RECORD: &[u8] = b"vault cache index v1\n";

/// What a listing learnt about one head revision.
#[derive(Debug, Clone)]
pub enum Known {
    /// An object the user can open (shared with the listings that show
    /// it, so that a vault of 100,000 objects is in memory once).
    Mine(Arc<Object>),
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
        let Ok(f) = fs::File::open(&self.index) else {
            return;
        };
        // Opened and decoded as a stream: the index is never in memory as
        // a whole, only what it decodes to.
        let opened = (|| {
            let mut f = std::io::BufReader::new(f);
            let mut head = [0u8; MAGIC.len() + 16];
            f.read_exact(&mut head).ok()?;
            let (magic, salt) = head.split_at(MAGIC.len());
            if magic != MAGIC {
                return None;
            }
            let plain = StreamReader::new(self.key(salt), f);
            decode(std::io::BufReader::new(plain))
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
        let tmp = self.dir.join(format!(".index.{}.tmp", hex(&salt[..8])));
        // Encoded and sealed straight into the file: the index is never in
        // memory as a whole (for 100,000 objects it is tens of MiB).
        let written = (|| -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(create_private(&tmp)?);
            f.write_all(MAGIC)?;
            f.write_all(&salt)?;
            let mut sealed = std::io::BufWriter::new(StreamWriter::new(self.key(&salt), f));
            encode(self.snapshot, &self.entries, &mut sealed)?;
            let sealed = sealed.into_inner().map_err(|e| e.into_error())?;
            sealed.finish()?.into_inner().map_err(|e| e.into_error())?;
            Ok(())
        })();
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
    /// revisions no longer listed are removed. `changed` says whether
    /// `entries` differ from what the cache held (the entries it still
    /// holds are those `entries` dropped): the index is rewritten only then,
    /// or when the snapshot moved, so a warm listing of an unchanged vault
    /// writes nothing.
    pub fn replace(
        &mut self,
        entries: HashMap<(String, u64), Known>,
        snapshot: Option<u64>,
        changed: bool,
    ) {
        for ((id, rev), k) in &self.entries {
            if matches!(k, Known::Mine(_)) && !entries.contains_key(&(id.clone(), *rev)) {
                let _ = fs::remove_file(self.head_file(id, *rev));
            }
        }
        if changed || !self.entries.is_empty() || snapshot != self.snapshot {
            self.dirty = true;
        }
        self.entries = entries;
        self.snapshot = snapshot;
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

fn put_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    out.write_all(&(s.len() as u32).to_be_bytes())?;
    out.write_all(s.as_bytes())
}

fn encode(
    snapshot: Option<u64>,
    entries: &HashMap<(String, u64), Known>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    out.write_all(RECORD)?;
    out.write_all(&[u8::from(snapshot.is_some())])?;
    out.write_all(&snapshot.unwrap_or(0).to_be_bytes())?;
    out.write_all(&(entries.len() as u32).to_be_bytes())?;
    for ((id, rev), k) in entries {
        put_str(out, id)?;
        out.write_all(&rev.to_be_bytes())?;
        match k {
            Known::NotMine => out.write_all(&[2])?,
            Known::Mine(o) => {
                out.write_all(&[1])?;
                out.write_all(&o.head_size.to_be_bytes())?;
                out.write_all(&[u8::from(o.payload_size.is_some())])?;
                out.write_all(&o.payload_size.unwrap_or(0).to_be_bytes())?;
                out.write_all(&[o.suite.id()])?;
                out.write_all(&(o.unverified as u32).to_be_bytes())?;
                let m = &o.meta;
                out.write_all(&[m.version])?;
                put_str(out, &m.id)?;
                out.write_all(&m.rev.to_be_bytes())?;
                out.write_all(&[u8::from(m.inline)])?;
                put_str(out, &m.name)?;
                for v in [m.size, m.mtime, m.created] {
                    out.write_all(&v.to_be_bytes())?;
                }
                out.write_all(&[u8::from(m.sha256.is_some())])?;
                out.write_all(&m.sha256.unwrap_or([0; 32]))?;
                out.write_all(&(m.recipients.len() as u32).to_be_bytes())?;
                for r in &m.recipients {
                    put_str(out, r)?;
                }
            }
        }
    }
    Ok(())
}

/// Longest string field the index record may hold.
const STR_MAX: usize = 1 << 20;

/// Reads the fields of the index record; `None` at the first short read
/// or stream failure (a damaged or cut index).
struct Rd<R: Read> {
    r: R,
}

impl<R: Read> Rd<R> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).ok()?;
        Some(b)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        // Every string here (a name, an id, a recipient) is far shorter;
        // a longer one means a record of another build.
        if n > STR_MAX {
            return None;
        }
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b).ok()?;
        String::from_utf8(b).ok()
    }
    /// Whether the record ends here (which also authenticates its last
    /// chunk).
    fn at_end(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0))
    }
}

type Decoded = (Option<u64>, HashMap<(String, u64), Known>);

fn decode(input: impl Read) -> Option<Decoded> {
    let mut r = Rd { r: input };
    let mut record = [0u8; RECORD.len()];
    r.r.read_exact(&mut record).ok()?;
    if record != *RECORD {
        return None;
    }
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
                let sha: [u8; 32] = r.array()?;
                let count = r.u32()? as usize;
                let mut recipients = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    recipients.push(r.str()?);
                }
                Known::Mine(Arc::new(Object {
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
    r.at_end().then_some((has.then_some(snap), entries))
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
        c.insert(id, 2, Known::Mine(Arc::new(obj(id))));
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
