//! A vault on a transport: opening or creating it, the connections it
//! moves data over, listing its objects, removing them and sweeping what
//! interrupted pushes left.

use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{
    self, MARKER, MARKER_TEXT, OBJECTS, ObjectFile, OpenedHead, head_path, names, payload_path,
};
use super::{Metadata, RemoteError};
use crate::crypto::{FileKey, Header, X25519Identity, as_identities};
use crate::transport::{PutMode, Transport, TransportError};

/// Staging leftovers and orphaned payloads older than this are removed.
const STALE_SECS: u64 = 3600;
/// Smallest plaintext moved per connection: below this, opening another
/// SSH connection (key exchange, authentication: tens of milliseconds)
/// costs more than it saves. (Unit tests use small segments to stay quick.)
#[cfg(not(test))]
pub(super) const MIN_SEGMENT: u64 = 16 << 20;
#[cfg(test)]
pub(super) const MIN_SEGMENT: u64 = 1 << 20;

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

/// One object the caller can open.
pub struct Object {
    /// The opaque id on the server.
    pub id: String,
    /// The parsed header.
    pub header: Header,
    /// The file key (secret).
    pub file_key: FileKey,
    /// The decrypted metadata.
    pub meta: Metadata,
    /// Payload bytes on the server.
    pub stored_size: u64,
}

/// What `list` found.
#[derive(Default)]
pub struct Listing {
    /// Objects the caller can open, sorted by name then newest first.
    pub objects: Vec<Object>,
    /// Objects sealed to other keys.
    pub others: usize,
    /// Objects that could not be read (damaged heads, missing payloads).
    pub unreadable: Vec<(String, String)>,
}

impl Listing {
    /// The newest object with this name.
    pub fn find(&self, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.meta.name == name)
    }
}

/// A vault on a transport.
pub struct RemoteVault {
    pub(super) t: Box<dyn Transport>,
    /// Extra connections for parallel transfers, opened on first use.
    pub(super) extra: Vec<Box<dyn Transport>>,
    /// Most connections one transfer may use.
    connections: usize,
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
        }
    }

    /// Let one push or pull of a large regular file use up to `n`
    /// connections in parallel (at least 1; 1 is the default).
    pub fn set_connections(&mut self, n: usize) {
        self.connections = n.max(1);
    }

    /// How many connections a payload of `len` plaintext bytes is moved
    /// over.
    pub(super) fn fan_out(&self, len: u64) -> usize {
        let by_size = usize::try_from(len / MIN_SEGMENT).unwrap_or(usize::MAX);
        let useful = self.t.properties().max_connections;
        self.connections.min(by_size).min(useful).max(1)
    }

    /// The main connection and `k - 1` extra ones (opened if needed).
    pub(super) fn connections_for(
        &mut self,
        k: usize,
    ) -> Result<Vec<&mut (dyn Transport + 'static)>, RemoteError> {
        while self.extra.len() + 1 < k {
            let c = self.t.reconnect()?;
            self.extra.push(c);
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

    fn read_head(&mut self, id: &str) -> Result<Vec<u8>, RemoteError> {
        let mut buf = Vec::new();
        let mut r = self.t.read_at(&head_path(id), 0, codec::MAX_HEAD + 1)?;
        r.read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Every object, opened where `ids` can.
    pub fn list(&mut self, ids: &[X25519Identity]) -> Result<Listing, RemoteError> {
        let entries = match self.t.list(OBJECTS) {
            Ok(e) => e,
            Err(TransportError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut sizes = std::collections::HashMap::new();
        let mut heads = Vec::new();
        for e in &entries {
            match ObjectFile::parse(&e.name) {
                Some(ObjectFile::Payload(id)) => {
                    sizes.insert(id.to_owned(), e.size);
                }
                Some(ObjectFile::Head(id)) => heads.push(id.to_owned()),
                None => {}
            }
        }
        let mut out = Listing::default();
        for id in heads {
            let Some(&stored_size) = sizes.get(&id) else {
                out.unreadable.push((id, "its payload is missing".into()));
                continue;
            };
            let ids = as_identities(ids);
            let opened = self
                .read_head(&id)
                .and_then(|h| codec::head::open(&h, &ids));
            match opened {
                Ok(Some(OpenedHead {
                    header,
                    file_key,
                    meta,
                })) => {
                    if names::check(&meta.name).is_err() {
                        out.unreadable.push((id, "its name is not allowed".into()));
                        continue;
                    }
                    out.objects.push(Object {
                        id,
                        header,
                        file_key,
                        meta,
                        stored_size,
                    })
                }
                Ok(None) => out.others += 1,
                // Deleted between list and read (a concurrent rm): skip.
                Err(RemoteError::Transport(TransportError::NotFound(_))) => {}
                Err(e) => out.unreadable.push((id, e.to_string())),
            }
        }
        out.objects.sort_by(|a, b| {
            a.meta
                .name
                .cmp(&b.meta.name)
                .then(b.meta.created.cmp(&a.meta.created))
        });
        Ok(out)
    }

    /// Remove an object: head first, so it disappears at once.
    pub fn remove(&mut self, obj: &Object) -> Result<(), RemoteError> {
        self.t.remove(&head_path(&obj.id))?;
        match self.t.remove(&payload_path(&obj.id)) {
            Ok(()) | Err(TransportError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Remove staging leftovers and orphaned payloads older than an hour
    /// (left by interrupted pushes). Returns how many were removed. Best
    /// effort.
    pub fn sweep(&mut self) -> usize {
        let cutoff = now().saturating_sub(STALE_SECS);
        let old = |e: &crate::transport::Entry| e.mtime.is_some_and(|m| m < cutoff);
        let mut removed = self.t.sweep_staging(cutoff).unwrap_or(0);
        if let Ok(objs) = self.t.list(OBJECTS) {
            let heads: std::collections::HashSet<&str> = objs
                .iter()
                .filter_map(|e| match ObjectFile::parse(&e.name) {
                    Some(ObjectFile::Head(id)) => Some(id),
                    _ => None,
                })
                .collect();
            for e in objs.iter().filter(|e| old(e)) {
                if let Some(ObjectFile::Payload(id)) = ObjectFile::parse(&e.name)
                    && !heads.contains(id)
                    && self.t.remove(&payload_path(id)).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }
}
