//! Listing a vault: which objects exist, and what they are for the user.
//!
//! One directory listing of `objects/` is the authority on what exists
//! ([`Scan`]). What each head revision holds comes, in this order, from the
//! client cache (exact: (ID, REV) names immutable bytes), from the
//! server's packs (for heads the cache does not have, when there are
//! enough of them to be worth a pack read), and last from reading the head
//! files themselves, over several connections when there are many. Every
//! head is opened and checked by [`codec::head::open`] whichever way it
//! came. A listing that had to read many heads one by one leaves a pack
//! for the next client ([`super::packs`]).
//!
//! A command that names one object can skip the listing: see
//! [`RemoteVault::find_fast`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::cache::Known;
use super::codec::{self, OBJECTS, ObjectFile, OpenedHead, head_path, names};
use super::{Metadata, RemoteError, RemoteVault};
use crate::crypto::{FileKey, Header, Identity, Suite, as_identities};
use crate::transport::TransportError;

/// Heads to read one by one before the listing reads the packs instead.
pub(super) const PACK_READ_MIN: usize = 8;
/// Heads read one by one in a listing before it leaves a pack of them.
/// What reading one head gave, and its bytes if read whole (for a pack).
type HeadRead = (Outcome, Option<Vec<u8>>);

pub(super) const PACK_WRITE_MIN: usize = 32;
/// Heads read (and held in memory) at a time by a listing that reads head
/// files one by one (small in the unit tests, so that they cross batches).
#[cfg(not(test))]
const READ_BATCH: usize = 4096;
#[cfg(test)]
const READ_BATCH: usize = 40;
/// Heads per extra connection below which a listing reads on one.
const READS_PER_CONNECTION: usize = 16;

/// One object the user can open, as a listing shows it. No secrets: the
/// file key comes from [`RemoteVault::open_object`].
#[derive(Debug, Clone)]
pub struct Object {
    /// The opaque id on the server.
    pub id: String,
    /// The head revision.
    pub rev: u64,
    /// The head file's size.
    pub head_size: u64,
    /// The payload file's size as the listing showed it (`None` for an
    /// inline payload, or when the command did not list the folder).
    pub payload_size: Option<u64>,
    /// The payload cipher.
    pub suite: Suite,
    /// The decrypted metadata.
    pub meta: Metadata,
    /// Recipient entries that could not be checked against their stanza
    /// (objects of earlier vaults; kinds this build cannot recompute).
    pub unverified: usize,
}

/// An object opened for acting on: its metadata, and its head's secrets.
pub struct Opened {
    /// What the listing showed.
    pub obj: Object,
    /// The parsed header.
    pub header: Header,
    /// The file key (secret).
    pub file_key: FileKey,
    /// The head file's bytes; an inline payload starts at `body_at`.
    pub head: Vec<u8>,
    /// Where the inline payload starts in `head`.
    pub body_at: usize,
}

/// What a listing found.
#[derive(Default)]
pub struct Listing {
    /// Objects the user can open, sorted by name then newest first
    /// (shared with the cache's entries, not copies of them).
    pub objects: Vec<Arc<Object>>,
    /// Objects sealed to other keys.
    pub others: usize,
    /// Objects that could not be read (damaged heads, missing payloads).
    pub unreadable: Vec<(String, String)>,
    /// Heads being written right now, or cut off by a push that died:
    /// (id, rev).
    pub incomplete: Vec<(String, u64)>,
    /// Whether this is the whole vault (a listing of `objects/`) rather
    /// than the cached answer about some names ([`RemoteVault::find_fast`]).
    pub complete: bool,
}

impl Listing {
    /// The objects named `name`, newest first.
    pub fn named(&self, name: &str) -> Vec<&Object> {
        self.objects
            .iter()
            .filter(|o| o.meta.name == name)
            .map(|o| &**o)
            .collect()
    }

    /// The one object named `name` (or, with `id`, the one with that id or
    /// id prefix among them). More than one: [`RemoteError::Ambiguous`].
    pub fn one(&self, name: &str, id: Option<&str>) -> Result<&Object, RemoteError> {
        let all = self.named(name);
        if let Some(id) = id {
            let hits: Vec<&Object> = all.into_iter().filter(|o| o.id.starts_with(id)).collect();
            return match hits.as_slice() {
                [o] => Ok(o),
                [] => Err(RemoteError::NoSuchId(format!("{id} named {name:?}"))),
                _ => Err(RemoteError::Ambiguous {
                    name: name.to_owned(),
                    objects: hits.into_iter().cloned().collect(),
                }),
            };
        }
        match all.as_slice() {
            [o] => Ok(o),
            [] => Err(RemoteError::NoSuchName(name.to_owned())),
            _ => Err(RemoteError::Ambiguous {
                name: name.to_owned(),
                objects: all.into_iter().cloned().collect(),
            }),
        }
    }

    /// Names held by more than one object.
    pub fn duplicates(&self) -> HashSet<&str> {
        let mut seen = HashSet::new();
        let mut dup = HashSet::new();
        for o in &self.objects {
            if !seen.insert(o.meta.name.as_str()) {
                dup.insert(o.meta.name.as_str());
            }
        }
        dup
    }

    fn sort(&mut self) {
        self.objects.sort_by(|a, b| {
            a.meta
                .name
                .cmp(&b.meta.name)
                .then(b.meta.created.cmp(&a.meta.created))
                .then(a.id.cmp(&b.id))
        });
    }
}

/// One head file as `objects/` lists it.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeadFile {
    pub rev: u64,
    pub size: u64,
    pub mtime: Option<u64>,
}

/// What a listing of `objects/` shows.
#[derive(Default)]
pub struct Scan {
    /// The newest head revision of each id.
    pub(super) heads: HashMap<String, HeadFile>,
    /// Lower revisions beside a newer one: (id, rev, the newer one's mtime).
    pub(super) leftovers: Vec<(String, u64, Option<u64>)>,
    /// Payload files: id -> (size, mtime).
    pub(super) payloads: HashMap<String, (u64, Option<u64>)>,
    /// The folder's modification time, read just before it was listed.
    pub(super) folder_mtime: Option<u64>,
    /// The client's clock when that time was read.
    pub(super) listed_at: u64,
}

impl Scan {
    /// Whether the vault holds no object at all.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// How many objects (of anyone) the vault holds.
    pub fn len(&self) -> usize {
        self.heads.len()
    }
}

/// What became of one head that was read.
pub(super) enum Outcome {
    Mine(Arc<Object>, Vec<u8>),
    NotMine,
    Incomplete,
    Bad(String),
    Gone,
}

/// Open head `bytes` of (id, rev) with `ids` into an [`Outcome`].
pub(super) fn judge(
    bytes: Vec<u8>,
    id: &str,
    f: HeadFile,
    whole: bool,
    payload: Option<u64>,
    ids: &[Box<dyn Identity>],
) -> Outcome {
    match codec::head::open(&bytes, id, f.rev, whole, &as_identities(ids)) {
        Ok(Some(OpenedHead {
            header,
            meta,
            unverified,
            ..
        })) => {
            if names::check(&meta.name).is_err() {
                return Outcome::Bad("its name is not allowed".into());
            }
            if !meta.inline && payload.is_none() {
                return Outcome::Bad("its payload is missing".into());
            }
            let obj = Object {
                id: id.to_owned(),
                rev: f.rev,
                head_size: f.size,
                payload_size: if meta.inline { None } else { payload },
                suite: header.suite,
                meta,
                unverified,
            };
            Outcome::Mine(Arc::new(obj), bytes)
        }
        Ok(None) => Outcome::NotMine,
        Err(RemoteError::IncompleteHead) => Outcome::Incomplete,
        Err(RemoteError::Transport(TransportError::NotFound(_))) => Outcome::Gone,
        Err(e) => Outcome::Bad(e.to_string()),
    }
}

impl RemoteVault {
    /// List `objects/` (the authority on what exists).
    pub fn scan(&mut self) -> Result<Scan, RemoteError> {
        let listed_at = super::now();
        let folder_mtime = if self.t.properties().folder_mtime {
            self.t.stat(OBJECTS)?.and_then(|e| e.mtime)
        } else {
            None
        };
        let entries = match self.t.list(OBJECTS) {
            Ok(e) => e,
            Err(TransportError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut scan = Scan {
            folder_mtime,
            listed_at,
            ..Scan::default()
        };
        let mut all: HashMap<String, Vec<HeadFile>> = HashMap::new();
        for e in entries {
            if e.is_dir {
                continue; // never an object file; a server that puts one there is ignored
            }
            match ObjectFile::parse(&e.name) {
                Some(ObjectFile::Payload(id)) => {
                    scan.payloads.insert(id.to_owned(), (e.size, e.mtime));
                }
                Some(ObjectFile::Head(id, rev)) => {
                    all.entry(id.to_owned()).or_default().push(HeadFile {
                        rev,
                        size: e.size,
                        mtime: e.mtime,
                    });
                }
                None => {}
            }
        }
        self.leftovers.clear();
        for (id, mut revs) in all {
            revs.sort_by_key(|h| h.rev);
            let newest = revs.pop().expect("at least one");
            for r in revs {
                scan.leftovers.push((id.clone(), r.rev, newest.mtime));
                self.leftovers.entry(id.clone()).or_default().push(r.rev);
            }
            scan.heads.insert(id, newest);
        }
        Ok(scan)
    }

    /// Every object, opened where `ids` can (see the module documentation).
    pub fn list(&mut self, ids: &[Box<dyn Identity>]) -> Result<Listing, RemoteError> {
        let scan = self.scan()?;
        self.list_scanned(&scan, ids)
    }

    /// [`RemoteVault::list`] from a [`Scan`] already made.
    pub fn list_scanned(
        &mut self,
        scan: &Scan,
        ids: &[Box<dyn Identity>],
    ) -> Result<Listing, RemoteError> {
        let mut out = Listing {
            complete: true,
            ..Listing::default()
        };
        let mut known: HashMap<(String, u64), Known> = HashMap::with_capacity(scan.heads.len());
        // Whether the cache's entries need rewriting: a payload size moved,
        // or (below) a head was learnt from the packs or the server.
        let mut changed = false;
        let mut missing: Vec<(String, HeadFile)> = Vec::new();
        // What the cache knows is moved, not copied, into `known` (a
        // vault of 100,000 objects holds three copies otherwise); what is
        // left goes back for the rollback check and the clean-up in
        // `Cache::replace`.
        let mut cached = self
            .cache
            .as_mut()
            .map(|c| std::mem::take(&mut c.entries))
            .unwrap_or_default();
        for (id, f) in &scan.heads {
            let key = (id.clone(), f.rev);
            let payload = scan.payloads.get(id).map(|p| p.0);
            match cached.remove(&key) {
                Some(Known::NotMine) => {
                    known.insert(key, Known::NotMine);
                }
                Some(Known::Mine(mut o)) if o.head_size == f.size => {
                    let shown = if o.meta.inline { None } else { payload };
                    if o.payload_size != shown {
                        // Not shared yet: no copy is made.
                        Arc::make_mut(&mut o).payload_size = shown;
                        changed = true;
                    }
                    if !o.meta.inline && payload.is_none() {
                        out.unreadable
                            .push((id.clone(), "its payload is missing".into()));
                        cached.insert(key, Known::Mine(o));
                        continue;
                    }
                    known.insert(key, Known::Mine(o));
                }
                other => {
                    if let Some(k) = other {
                        cached.insert(key, k);
                    }
                    missing.push((id.clone(), *f));
                }
            }
        }
        if let Some(c) = self.cache.as_mut() {
            c.entries = cached;
        }
        let from_cache = known.len();
        self.check_rollbacks(&mut missing, &mut out);
        // The packs, when enough heads are missing to be worth reading them.
        if missing.len() >= PACK_READ_MIN {
            let want: HashMap<String, HeadFile> = missing.iter().cloned().collect();
            let got = self.read_packs(&want, scan, ids)?;
            for (id, outcome) in got.found {
                let f = want[&id];
                self.settle(&id, f, outcome, &mut known, &mut out);
            }
            missing.retain(|(id, _)| !known.contains_key(&(id.clone(), want[id].rev)));
            if got.consolidate {
                self.consolidate_packs(scan, &got.packs);
            }
        }
        // The rest, one by one, over several connections if many; in
        // batches, so that memory holds one batch of head bytes, not every
        // head of the vault (each batch leaves its own pack).
        for batch in missing.chunks(READ_BATCH) {
            let read = self.read_heads(batch, scan, ids)?;
            let mut fresh = Vec::new();
            for ((id, f), (outcome, bytes)) in batch.iter().zip(read) {
                if let Some(b) = bytes {
                    fresh.push((id.clone(), f.rev, b));
                }
                self.settle(id, *f, outcome, &mut known, &mut out);
            }
            if fresh.len() >= PACK_WRITE_MIN {
                // A hint for the next client without a cache: best effort.
                let _ = self.write_pack(&fresh);
            }
        }
        changed |= known.len() != from_cache;
        out.objects.reserve_exact(
            known
                .values()
                .filter(|k| matches!(k, Known::Mine(_)))
                .count(),
        );
        for k in known.values() {
            match k {
                Known::Mine(o) => out.objects.push(Arc::clone(o)),
                Known::NotMine => out.others += 1,
            }
        }
        out.sort();
        let snapshot = scan.folder_mtime.filter(|&m| !racy(m, scan.listed_at));
        if let Some(c) = self.cache.as_mut() {
            c.replace(known, snapshot, changed);
        }
        Ok(out)
    }

    /// Record what reading one head gave.
    fn settle(
        &mut self,
        id: &str,
        f: HeadFile,
        outcome: Outcome,
        known: &mut HashMap<(String, u64), Known>,
        out: &mut Listing,
    ) {
        match outcome {
            Outcome::Mine(obj, bytes) => {
                if let Some(c) = self.cache.as_ref()
                    && bytes.len() as u64 == f.size
                {
                    c.put_head(id, f.rev, &bytes);
                }
                known.insert((id.to_owned(), f.rev), Known::Mine(obj));
            }
            Outcome::NotMine => {
                known.insert((id.to_owned(), f.rev), Known::NotMine);
            }
            Outcome::Incomplete => out.incomplete.push((id.to_owned(), f.rev)),
            // Removed between the listing and the read (a concurrent rm).
            Outcome::Gone => {}
            Outcome::Bad(why) => out.unreadable.push((id.to_owned(), why)),
        }
    }

    /// Heads whose revision is lower than one this cache saw for the same
    /// id: the server rolled the object back (an honest server never does:
    /// revisions only grow, and `rm` removes an object whole). They are
    /// reported, not shown.
    fn check_rollbacks(&self, missing: &mut Vec<(String, HeadFile)>, out: &mut Listing) {
        let Some(c) = self.cache.as_ref() else {
            return;
        };
        let mut seen: HashMap<&str, u64> = HashMap::new();
        for ((id, rev), k) in &c.entries {
            if matches!(k, Known::Mine(_)) {
                let e = seen.entry(id.as_str()).or_insert(0);
                *e = (*e).max(*rev);
            }
        }
        missing.retain(|(id, f)| match seen.get(id.as_str()) {
            Some(&max) if f.rev < max => {
                out.unreadable.push((
                    id.clone(),
                    format!(
                        "the server shows revision {} of its head, older than revision {max} seen before (rolled back)",
                        f.rev
                    ),
                ));
                false
            }
            _ => true,
        });
    }

    /// Read and judge the heads of `missing`, in order, over as many
    /// connections as are worth it. Returns each outcome and, for heads
    /// read whole, their bytes (for a pack).
    fn read_heads(
        &mut self,
        missing: &[(String, HeadFile)],
        scan: &Scan,
        ids: &[Box<dyn Identity>],
    ) -> Result<Vec<HeadRead>, RemoteError> {
        let k = (missing.len() / READS_PER_CONNECTION)
            .clamp(1, self.transfers)
            .min(self.t.properties().max_connections.max(1));
        let items: Vec<(String, HeadFile, Option<u64>)> = missing
            .iter()
            .map(|(id, f)| (id.clone(), *f, scan.payloads.get(id).map(|p| p.0)))
            .collect();
        // The connections only fetch; the heads are judged here, on this
        // thread, because identities (an SSH key unlocked on first use, a
        // plugin) need not be shareable between threads.
        let fetched = self.on_connections(k, items, |t, (id, f, payload)| {
            match read_exact(t, &head_path(&id, f.rev), f.size) {
                Ok(bytes) => Ok((id, f, payload, Ok(Some(bytes)))),
                Err(RemoteError::Transport(TransportError::NotFound(_))) => {
                    Ok((id, f, payload, Ok(None)))
                }
                Err(e @ RemoteError::Transport(_)) => Err(e),
                Err(e) => Ok((id, f, payload, Err(e.to_string()))),
            }
        })?;
        let results = fetched
            .into_iter()
            .map(|(id, f, payload, got)| match got {
                Ok(Some(bytes)) => {
                    let whole = bytes.clone();
                    let o = judge(bytes, &id, f, true, payload, ids);
                    let keep = matches!(o, Outcome::Mine(..) | Outcome::NotMine);
                    (o, keep.then_some(whole))
                }
                Ok(None) => (Outcome::Gone, None),
                Err(why) => (Outcome::Bad(why), None),
            })
            .collect();
        Ok(results)
    }
}

/// Read exactly the `size` bytes a listing gave for `path` (at most
/// [`codec::MAX_HEAD`]): one open, one read, one close. Fewer bytes (the
/// file shrank) are returned as they are; the head parser says what that
/// means.
pub(super) fn read_exact(
    t: &mut dyn crate::transport::Transport,
    path: &str,
    size: u64,
) -> Result<Vec<u8>, RemoteError> {
    if size > codec::MAX_HEAD {
        return Err(RemoteError::BadObject("head is too large".into()));
    }
    let mut buf = Vec::with_capacity(size as usize);
    let mut r = t.read_at(path, 0, size)?;
    r.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Whether a folder time `m`, read when the client's clock said `at`, is
/// too recent to rule out an entry added in the same second after the
/// listing: the time is in whole seconds, so the listing must have started
/// at least a second after it, and the client's clock stands in for the
/// server's, with another second of slack.
pub(super) fn racy(m: u64, at: u64) -> bool {
    m + 2 >= at
}
