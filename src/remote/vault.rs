//! A vault on a transport: opening or creating it, the connections it
//! moves data over, its cache, finding one object without a listing,
//! opening an object's head, removing objects and sweeping what
//! interrupted pushes left.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::cache::{Cache, Known};
use super::codec::{self, MARKER, MARKER_TEXT, OBJECTS, head_path, payload_path};
use super::listing::{Listing, Object, Opened, read_exact};
use super::{RemoteError, Scan};
use crate::crypto::{Identity, as_identities};
use crate::transport::{PutMode, Transport, TransportError};

/// Staging leftovers, orphaned payloads, incomplete heads and superseded
/// head revisions older than this are removed.
const STALE_SECS: u64 = 3600;
/// Smallest plaintext moved per connection: below this, opening another
/// SSH connection (key exchange, authentication: tens of milliseconds)
/// costs more than it saves. (Unit tests use small segments to stay quick.)
#[cfg(not(test))]
pub(super) const MIN_SEGMENT: u64 = 16 << 20;
#[cfg(test)]
pub(super) const MIN_SEGMENT: u64 = 1 << 20;
/// Transfers (connections) for many small pieces of work by default.
pub const DEFAULT_TRANSFERS: usize = 4;

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a folder without a marker may become a vault: it is empty, or
/// holds only what an interrupted creation leaves (an empty `objects/`, and
/// what the transport staged for the marker), so that a push cut during
/// creation can simply be run again. Anything else is someone's data.
fn is_empty_or_half_made(t: &mut dyn Transport) -> Result<bool, RemoteError> {
    for e in t.list("")? {
        let ok = if e.is_dir && e.name == OBJECTS {
            t.list(OBJECTS)?.is_empty()
        } else {
            t.is_staging_leftover(&e)?
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A vault on a transport.
pub struct RemoteVault {
    pub(super) t: Box<dyn Transport>,
    /// Extra connections for parallel work, opened on first use.
    pub(super) extra: Vec<Box<dyn Transport>>,
    /// Most connections one large transfer may use.
    connections: usize,
    /// Connections for many small pieces of work.
    pub(super) transfers: usize,
    /// The client cache, once attached.
    pub(super) cache: Option<Cache>,
    /// Head revisions the last scan found below an object's newest.
    pub(super) leftovers: std::collections::HashMap<String, Vec<u64>>,
}

impl RemoteVault {
    /// An existing vault; fails if the folder is missing or not a vault.
    pub fn open(mut t: Box<dyn Transport>) -> Result<RemoteVault, RemoteError> {
        match t.stat(MARKER)? {
            Some(_) => Ok(RemoteVault::with(t)),
            None => match t.stat("")? {
                Some(_) => Err(RemoteError::NotAVault(t.describe())),
                None => Err(RemoteError::NoVault(t.describe())),
            },
        }
    }

    /// An existing vault, or a new one in a missing or empty folder.
    pub fn open_or_create(mut t: Box<dyn Transport>) -> Result<RemoteVault, RemoteError> {
        if t.stat(MARKER)?.is_some() {
            return Ok(RemoteVault::with(t));
        }
        t.mkdir_all("")?;
        if !is_empty_or_half_made(t.as_mut())? {
            return Err(RemoteError::NotEmpty(t.describe()));
        }
        t.mkdir_all(OBJECTS)?;
        let mut w = t.put(MARKER, PutMode::New)?;
        w.write_all(MARKER_TEXT)?;
        match w.finish() {
            // Someone else created the vault at the same moment: fine.
            Err(TransportError::AlreadyExists(_)) => {}
            other => other?,
        }
        Ok(RemoteVault::with(t))
    }

    fn with(t: Box<dyn Transport>) -> RemoteVault {
        RemoteVault {
            t,
            extra: Vec::new(),
            connections: 1,
            transfers: DEFAULT_TRANSFERS,
            cache: None,
            leftovers: std::collections::HashMap::new(),
        }
    }

    /// Let one push or pull of a large regular file use up to `n`
    /// connections in parallel (at least 1; 1 is the default).
    pub fn set_connections(&mut self, n: usize) {
        self.connections = n.max(1);
    }

    /// Let work on many objects (a folder, the heads a listing misses) use
    /// up to `n` connections at once (at least 1).
    pub fn set_transfers(&mut self, n: usize) {
        self.transfers = n.max(1);
    }

    /// The connections work on many objects uses.
    pub fn transfers(&self) -> usize {
        self.transfers
            .min(self.t.properties().max_connections)
            .max(1)
    }

    /// Use the client cache under `root` (`$XDG_CACHE_HOME/vault`) for
    /// `ids`. Without one every command lists the vault and reads what it
    /// needs.
    pub fn attach_cache(&mut self, root: &Path, ids: &[Box<dyn Identity>]) {
        self.cache = Cache::open(root, &self.t.describe(), ids);
    }

    /// Save the cache (call at the end of a command; best effort).
    pub fn save_cache(&mut self) {
        if let Some(c) = self.cache.as_mut() {
            c.save();
        }
    }

    /// How many connections a payload of `len` plaintext bytes is moved
    /// over.
    pub(super) fn fan_out(&self, len: u64) -> usize {
        let by_size = usize::try_from(len / MIN_SEGMENT).unwrap_or(usize::MAX);
        let useful = self.t.properties().max_connections;
        self.connections.min(by_size).min(useful).max(1)
    }

    /// The main connection and `k - 1` extra ones (opened if needed, in
    /// parallel).
    pub(super) fn connections_for(
        &mut self,
        k: usize,
    ) -> Result<Vec<&mut (dyn Transport + 'static)>, RemoteError> {
        let need = k.saturating_sub(self.extra.len() + 1);
        if need > 0 {
            for c in self.t.reconnect_many(need) {
                self.extra.push(c?);
            }
        }
        let mut v: Vec<&mut (dyn Transport + 'static)> = vec![self.t.as_mut()];
        v.extend(self.extra.iter_mut().take(k - 1).map(|c| c.as_mut()));
        Ok(v)
    }

    /// The transport's location, for messages.
    pub fn describe(&self) -> String {
        self.t.describe()
    }

    /// The underlying transport.
    pub fn transport(&mut self) -> &mut dyn Transport {
        self.t.as_mut()
    }

    /// The objects named `names`, from the cache alone when the transport
    /// shows that `objects/` has not changed since the cached listing
    /// (then only each found object's head file is checked, one request
    /// each); otherwise from a full listing. A name the cache does not know
    /// is absent only if the cached listing can be trusted; the result's
    /// `complete` says whether it is a full listing.
    pub fn find_fast(
        &mut self,
        names: &[&str],
        ids: &[Box<dyn Identity>],
    ) -> Result<Listing, RemoteError> {
        if let Some(l) = self.try_fast(names)? {
            return Ok(l);
        }
        self.list(ids)
    }

    fn try_fast(&mut self, names: &[&str]) -> Result<Option<Listing>, RemoteError> {
        if !self.t.properties().folder_mtime {
            return Ok(None);
        }
        let Some(snapshot) = self.cache.as_ref().and_then(|c| c.snapshot) else {
            return Ok(None);
        };
        let now_m = self.t.stat(OBJECTS)?.and_then(|e| e.mtime);
        if now_m != Some(snapshot) {
            return Ok(None);
        }
        let cache = self.cache.as_ref().expect("checked");
        let mut found: Vec<Arc<Object>> = Vec::new();
        for k in cache.entries.values() {
            if let Known::Mine(o) = k
                && names.contains(&o.meta.name.as_str())
            {
                found.push(Arc::clone(o));
            }
        }
        // The head files are the authority: each must still be there,
        // with the size the cache knew.
        for o in &mut found {
            match self.t.stat(&head_path(&o.id, o.rev))? {
                Some(e) if e.size == o.head_size => {}
                _ => return Ok(None),
            }
            if !o.meta.inline {
                match self.t.stat(&payload_path(&o.id))? {
                    Some(e) => Arc::make_mut(o).payload_size = Some(e.size),
                    None => return Ok(None),
                }
            }
        }
        let mut l = Listing {
            objects: found,
            ..Listing::default()
        };
        l.objects.sort_by(|a, b| {
            a.meta
                .name
                .cmp(&b.meta.name)
                .then(b.meta.created.cmp(&a.meta.created))
        });
        Ok(Some(l))
    }

    /// Open an object a listing showed: its head from the cache or the
    /// server, checked again.
    pub fn open_object(
        &mut self,
        obj: &Object,
        ids: &[Box<dyn Identity>],
    ) -> Result<Opened, RemoteError> {
        let cached = self
            .cache
            .as_ref()
            .and_then(|c| c.head(&obj.id, obj.rev, obj.head_size));
        let from_cache = cached.is_some();
        let bytes = match cached {
            Some(b) => b,
            None => read_exact(self.t.as_mut(), &head_path(&obj.id, obj.rev), obj.head_size)?,
        };
        let opened = codec::head::open(&bytes, &obj.id, obj.rev, true, &as_identities(ids));
        match opened {
            Ok(Some(h)) => {
                if !from_cache && let Some(c) = self.cache.as_ref() {
                    c.put_head(&obj.id, obj.rev, &bytes);
                }
                let mut o = obj.clone();
                o.meta = h.meta;
                Ok(Opened {
                    obj: o,
                    header: h.header,
                    file_key: h.file_key,
                    head: bytes,
                    body_at: h.body_at,
                })
            }
            other => {
                if from_cache {
                    // A cached copy that no longer opens: read the server's.
                    if let Some(c) = self.cache.as_mut() {
                        c.drop_head(&obj.id, obj.rev);
                        c.remove(&obj.id, obj.rev);
                    }
                    return self.open_object(obj, ids);
                }
                match other {
                    Ok(None) => Err(RemoteError::BadObject(format!(
                        "{:?}: its head no longer opens with your keys",
                        obj.meta.name
                    ))),
                    Err(e) => Err(e),
                    Ok(Some(_)) => unreachable!(),
                }
            }
        }
    }

    /// Remove an object: the lower revisions the last listing found beside
    /// its head first (so that none can become its head again), then the
    /// head (so it disappears at once), then its payload. If the head is
    /// gone already, another client removed or rewrote it:
    /// [`RemoteError::Conflict`] (nothing else is removed then).
    pub fn remove(&mut self, obj: &Object) -> Result<(), RemoteError> {
        let left = self.leftovers.remove(&obj.id).unwrap_or_default();
        remove_on(self.t.as_mut(), obj, &left)?;
        if let Some(c) = self.cache.as_mut() {
            c.remove(&obj.id, obj.rev);
            c.forget_snapshot();
        }
        Ok(())
    }

    /// Remove what interrupted pushes and rewrites left, once older than an
    /// hour: staging leftovers; and, given this command's listing of
    /// `objects/` (`scan`, and the `listing` made from it, if any),
    /// payloads without a head, heads that stayed incomplete, and head
    /// revisions superseded by a newer one (older than an hour, so that a
    /// rewrite in progress is never disturbed). Returns how many files were
    /// removed. Best effort.
    pub fn sweep(&mut self, scan: Option<&Scan>, listing: Option<&Listing>) -> usize {
        let cutoff = now().saturating_sub(STALE_SECS);
        let old = |m: Option<u64>| m.is_some_and(|m| m < cutoff);
        let mut removed = self.t.sweep_staging(cutoff).unwrap_or(0);
        let Some(scan) = scan else {
            return removed;
        };
        for (id, (_, mtime)) in &scan.payloads {
            if !scan.heads.contains_key(id)
                && old(*mtime)
                && self.t.remove(&payload_path(id)).is_ok()
            {
                removed += 1;
            }
        }
        for (id, rev, newer) in &scan.leftovers {
            if old(*newer) && self.t.remove(&head_path(id, *rev)).is_ok() {
                removed += 1;
            }
        }
        for (id, rev) in listing.map(|l| l.incomplete.as_slice()).unwrap_or_default() {
            let stale = scan
                .heads
                .get(id)
                .is_some_and(|f| f.rev == *rev && old(f.mtime));
            if stale && self.t.remove(&head_path(id, *rev)).is_ok() {
                removed += 1;
                if self.t.remove(&payload_path(id)).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
}

/// [`RemoteVault::remove`] on connection `t`, with the lower revisions
/// `leftovers` removed first.
pub(super) fn remove_on(
    t: &mut dyn Transport,
    obj: &Object,
    leftovers: &[u64],
) -> Result<(), RemoteError> {
    for rev in leftovers {
        match t.remove(&head_path(&obj.id, *rev)) {
            Ok(()) | Err(TransportError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match t.remove(&head_path(&obj.id, obj.rev)) {
        Ok(()) => {}
        Err(TransportError::NotFound(_)) => {
            return Err(RemoteError::Conflict(obj.meta.name.clone()));
        }
        Err(e) => return Err(e.into()),
    }
    if !obj.meta.inline {
        match t.remove(&payload_path(&obj.id)) {
            Ok(()) | Err(TransportError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
