//! A remote vault: sealed objects in a folder on any [`Transport`].
//!
//! ```text
//! VAULT              marker: "vault remote v1", so a typo in REMOTE does not
//!                    scatter objects into some other folder
//! objects/ID.h       head: the object's vault header || its sealed metadata
//! objects/ID.p       payload: STREAM[payload key](plaintext)
//! tmp/*.tmp          uploads in progress (the transport's staging, on
//!                    backends that store files in a file system)
//! ```
//!
//! `ID` is 128 random bits in hex, so the server learns nothing from names.
//! An object exists for readers once its head exists: a push puts the
//! payload at `objects/ID.p`, then the head, each of which the transport
//! makes visible only once complete ([`Transport::put`]), so an
//! interrupted push leaves nothing visible and a rerun simply starts again
//! (leftovers are swept after an hour). The head is small and separately
//! replaceable: `mv`, `share` and `unshare` replace it atomically and never
//! touch the payload. Metadata (name, size,
//! times, recipient list) is sealed under the object's file key; see
//! [`metadata`] and `docs/FORMAT.md`.
//!
//! Speed: every transfer overlaps crypto with the network (`pipe`), and a
//! large regular file is pushed or pulled over several connections at once
//! (`parallel`, [`RemoteVault::set_connections`]), each moving a range of
//! whole sealed chunks of the one temporary file. The bytes stored are the
//! same either way.

pub mod metadata;
pub mod names;
mod parallel;
mod pipe;

use std::fs::File;
use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::CryptoRng;

use crate::crypto::file::{file_key_for, payload_key};
use crate::crypto::{
    CopyError, CryptoError, FileKey, Header, Suite, X25519Identity, X25519Recipient, as_identities,
    as_recipients, pipeline,
};
use crate::transport::{PutMode, Transport, TransportError};

pub use metadata::Metadata;

/// The marker file's name and contents.
pub const MARKER: &str = "VAULT";
const MARKER_TEXT: &[u8] = b"vault remote v1\n";
const OBJECTS: &str = "objects";
/// Longest head a reader accepts.
const MAX_HEAD: u64 = 256 * 1024;
/// Staging leftovers and orphaned payloads older than this are removed.
const STALE_SECS: u64 = 3600;
/// Smallest plaintext moved per connection: below this, opening another
/// SSH connection (key exchange, authentication: tens of milliseconds)
/// costs more than it saves. (Unit tests use small segments to stay quick.)
#[cfg(not(test))]
const MIN_SEGMENT: u64 = 16 << 20;
/// The payload key of `obj`, once its stored payload has the size its
/// metadata promises (checked before any byte is fetched).
fn payload_key_checked(obj: &Object) -> Result<crate::crypto::suite::PayloadKey, RemoteError> {
    if obj.stored_size != crate::crypto::stream::sealed_len(obj.meta.size) {
        return Err(RemoteError::BadObject(format!(
            "{:?}: the stored payload has the wrong size (damaged or modified)",
            obj.meta.name
        )));
    }
    Ok(payload_key(
        obj.header.suite,
        &obj.file_key,
        &obj.header.nonce,
    ))
}

#[cfg(test)]
const MIN_SEGMENT: u64 = 1 << 20;

/// Errors of the remote-vault layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// From the transport.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// From the crypto layer.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The folder exists but holds no vault marker.
    #[error("{0} is not a vault (no {MARKER} marker)")]
    NotAVault(String),
    /// The folder does not exist (nothing was pushed there yet).
    #[error("no vault at {0}: the folder does not exist")]
    NoVault(String),
    /// The folder holds other files, so no vault is created there.
    #[error("{0} is not empty and is not a vault")]
    NotEmpty(String),
    /// A name is already used.
    #[error("{0:?} already exists in the vault")]
    NameExists(String),
    /// No object you can open has this name.
    #[error("no object named {0:?} that you can open")]
    NoSuchName(String),
    /// A name is not allowed.
    #[error("invalid name {0:?}: {1}")]
    BadName(String, String),
    /// An object is inconsistent (damaged or tampered with).
    #[error("{0}")]
    BadObject(String),
    /// Local or payload I/O outside the transport.
    #[error("{0}")]
    Io(std::io::Error),
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random hex id of `bytes` random bytes.
fn random_id<R: CryptoRng + ?Sized>(rng: &mut R, bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
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

/// What to push: the plaintext source and its metadata.
pub struct PushSpec<'a> {
    /// Logical name.
    pub name: &'a str,
    /// Modification time of the source.
    pub mtime: u64,
    /// Payload suite.
    pub suite: Suite,
    /// Recipients (deduplicated, in order).
    pub recipients: &'a [X25519Recipient],
    /// Worker threads for sealing.
    pub threads: usize,
}

/// A vault on a transport.
pub struct RemoteVault {
    t: Box<dyn Transport>,
    /// Extra connections for parallel transfers, opened on first use.
    extra: Vec<Box<dyn Transport>>,
    /// Most connections one transfer may use.
    connections: usize,
}

fn head_path(id: &str) -> String {
    format!("{OBJECTS}/{id}.h")
}

fn payload_path(id: &str) -> String {
    format!("{OBJECTS}/{id}.p")
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
    fn fan_out(&self, len: u64) -> usize {
        let by_size = usize::try_from(len / MIN_SEGMENT).unwrap_or(usize::MAX);
        let useful = self.t.properties().max_connections;
        self.connections.min(by_size).min(useful).max(1)
    }

    /// The main connection and `k - 1` extra ones (opened if needed).
    fn connections_for(
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
        let mut r = self.t.read_at(&head_path(id), 0, MAX_HEAD + 1)?;
        r.read_to_end(&mut buf)?;
        if buf.len() as u64 > MAX_HEAD {
            return Err(RemoteError::BadObject(format!(
                "object {id}: head is too large"
            )));
        }
        Ok(buf)
    }

    /// Split a head into header and metadata, and open both with `ids`.
    /// `Ok(None)` means the object is not for these identities.
    fn open_head(
        head: &[u8],
        ids: &[X25519Identity],
    ) -> Result<Option<(Header, FileKey, Metadata)>, RemoteError> {
        let mut rest = head;
        let header = Header::read_from(&mut rest)?;
        let header_bytes = &head[..head.len() - rest.len()];
        let key = match file_key_for(&header, &as_identities(ids)) {
            Ok(k) => k,
            Err(CryptoError::NoMatchingIdentity) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let meta = Metadata::open(rest, &key, header_bytes)?;
        if meta.recipients.len() != header.stanzas.len() {
            return Err(RemoteError::BadObject(
                "metadata does not match the header's recipients".into(),
            ));
        }
        Ok(Some((header, key, meta)))
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
            if let Some(id) = e.name.strip_suffix(".p").filter(|i| is_id(i)) {
                sizes.insert(id.to_owned(), e.size);
            } else if let Some(id) = e.name.strip_suffix(".h").filter(|i| is_id(i)) {
                heads.push(id.to_owned());
            }
        }
        let mut out = Listing::default();
        for id in heads {
            let Some(&stored_size) = sizes.get(&id) else {
                out.unreadable.push((id, "its payload is missing".into()));
                continue;
            };
            let opened = self.read_head(&id).and_then(|h| Self::open_head(&h, ids));
            match opened {
                Ok(Some((header, file_key, meta))) => {
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

    /// Put `bytes` (complete) at `path`, visible whole or not at all.
    fn put_small(&mut self, path: &str, bytes: &[u8], mode: PutMode) -> Result<(), RemoteError> {
        let mut w = self.t.put(path, mode)?;
        w.write_all(bytes)?;
        w.finish()?;
        Ok(())
    }

    /// Seal `input` into a new object. Returns its id.
    pub fn push<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &mut dyn Read,
        spec: &PushSpec<'_>,
    ) -> Result<String, RemoteError> {
        self.push_with(rng, spec, &mut |v, path, key| {
            v.upload_serial(path, key, input, spec.threads, &|| Ok(()))
        })
    }

    /// Seal everything `input` yields under `key` into the new file `path`
    /// over this vault's own connection, sealing while sending. `unchanged`
    /// is called once the input is read, before the file becomes visible.
    fn upload_serial(
        &mut self,
        path: &str,
        key: crate::crypto::suite::PayloadKey,
        input: &mut dyn Read,
        threads: usize,
        unchanged: &dyn Fn() -> std::io::Result<()>,
    ) -> Result<u64, RemoteError> {
        let piece = self.t.properties().write_size;
        let w = self.t.put(path, PutMode::New)?;
        pipe::send_behind(w, piece, |q| {
            let n = match pipeline::seal_payload(key, input, q, threads) {
                Ok((n, _)) => n,
                Err(CopyError::Read(e) | CopyError::Write(e)) => return Err(RemoteError::Io(e)),
                Err(CopyError::Crypto(e)) => return Err(RemoteError::Crypto(e)),
            };
            unchanged().map_err(RemoteError::Io)?;
            Ok(n)
        })
    }

    /// Seal the first `len` bytes of the regular file `input` into a new
    /// object, over several connections if it is large (see
    /// [`RemoteVault::set_connections`]). `progress` is called with each
    /// count of plaintext bytes sealed. `unchanged` is called once the
    /// payload is read and before it becomes visible: an error from it (the
    /// file changed while it was read) abandons the push.
    /// Returns the object's id.
    pub fn push_file<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        input: &File,
        len: u64,
        spec: &PushSpec<'_>,
        progress: &(dyn Fn(u64) + Sync),
        unchanged: &dyn Fn() -> std::io::Result<()>,
    ) -> Result<String, RemoteError> {
        let k = self.fan_out(len);
        self.push_with(rng, spec, &mut |v, path, key| {
            if k <= 1 {
                let mut r = ProgressRead {
                    inner: Read::take(input, len),
                    progress,
                };
                return v.upload_serial(path, key, &mut r, spec.threads, unchanged);
            }
            // The upload exists before any connection writes its part.
            let up = v.t.begin_upload(path)?;
            let pushed = v.connections_for(k).and_then(|conns| {
                parallel::push(conns, &up, input, len, &key, progress)?;
                unchanged().map_err(RemoteError::Io)
            });
            match pushed {
                Ok(()) => {
                    let sealed = crate::crypto::stream::sealed_len(len);
                    v.t.finish_upload(up, sealed, PutMode::New)?;
                    Ok(len)
                }
                Err(e) => {
                    // Best effort: the connection may be gone; then a later
                    // push's sweep removes it.
                    v.t.abort_upload(up);
                    Err(e)
                }
            }
        })
    }

    /// The push protocol around `upload`, which puts the payload sealed
    /// under the given key at the given path (visible only once complete)
    /// and returns the plaintext size; then the head is written.
    fn push_with<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        spec: &PushSpec<'_>,
        upload: &mut dyn FnMut(
            &mut RemoteVault,
            &str,
            crate::crypto::suite::PayloadKey,
        ) -> Result<u64, RemoteError>,
    ) -> Result<String, RemoteError> {
        names::check(spec.name)?;
        let (header, file_key) =
            crate::crypto::file::new_header(rng, spec.suite, &as_recipients(spec.recipients))?;
        // Stanzas were deduplicated in order; record the same list.
        let mut recipients = Vec::new();
        for r in spec.recipients {
            if !recipients.contains(r) {
                recipients.push(*r);
            }
        }
        let id = random_id(rng, 16);
        let key = payload_key(spec.suite, &file_key, &header.nonce);
        let size = upload(self, &payload_path(&id), key)?;
        let meta = Metadata {
            name: spec.name.to_owned(),
            size,
            mtime: spec.mtime,
            created: now(),
            recipients,
        };
        let head = Self::head_bytes(rng, &header, &file_key, &meta);
        if let Err(e) = self.put_small(&head_path(&id), &head, PutMode::New) {
            let _ = self.t.remove(&payload_path(&id));
            return Err(e);
        }
        Ok(id)
    }

    fn head_bytes<R: CryptoRng + ?Sized>(
        rng: &mut R,
        header: &Header,
        file_key: &FileKey,
        meta: &Metadata,
    ) -> Vec<u8> {
        let mut head = header.to_bytes();
        let sealed = meta.seal(rng, file_key, &head);
        head.extend_from_slice(&sealed);
        head
    }

    /// Replace an object's head (new header and/or metadata) atomically;
    /// the payload is untouched. Returns the bytes written.
    pub fn rewrite_head<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        header: &Header,
        meta: &Metadata,
    ) -> Result<u64, RemoteError> {
        let head = Self::head_bytes(rng, header, &obj.file_key, meta);
        self.put_small(&head_path(&obj.id), &head, PutMode::Replace)?;
        Ok(head.len() as u64)
    }

    /// Add `recipients` to an object by rewriting only its head. Recipients
    /// it already has are skipped. Returns the ones added and the bytes
    /// written.
    pub fn share<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
    ) -> Result<(Vec<X25519Recipient>, u64), RemoteError> {
        let mut added = Vec::new();
        for r in recipients {
            if !obj.meta.recipients.contains(r) && !added.contains(r) {
                added.push(*r);
            }
        }
        if added.is_empty() {
            return Ok((added, 0));
        }
        let mut header = obj.header.clone();
        crate::crypto::file::share(rng, &mut header, &obj.file_key, &as_recipients(&added))?;
        let mut meta = obj.meta.clone();
        meta.recipients.extend_from_slice(&added);
        let written = self.rewrite_head(rng, obj, &header, &meta)?;
        Ok((added, written))
    }

    /// Remove `recipients`' stanzas from an object's head. This does not
    /// revoke anything they already have (see [`RemoteVault::rekey`]).
    /// Returns the bytes written.
    pub fn unshare<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
    ) -> Result<u64, RemoteError> {
        let indices: Vec<usize> = obj
            .meta
            .recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| recipients.contains(r))
            .map(|(i, _)| i)
            .collect();
        if indices.len() == obj.meta.recipients.len() {
            return Err(RemoteError::BadName(
                obj.meta.name.clone(),
                "removing every recipient would leave an object nobody can open; use rm".into(),
            ));
        }
        let mut header = obj.header.clone();
        crate::crypto::file::remove_stanzas(&mut header, &obj.file_key, &indices)?;
        let mut meta = obj.meta.clone();
        meta.recipients.retain(|r| !recipients.contains(r));
        self.rewrite_head(rng, obj, &header, &meta)
    }

    /// Re-seal an object under a fresh file key for `recipients` (a full
    /// re-upload through a second connection), then remove the old one.
    /// This is real revocation for future copies: whoever is left out
    /// cannot open the new version even with the old file key.
    pub fn rekey<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        obj: &Object,
        recipients: &[X25519Recipient],
        threads: usize,
    ) -> Result<String, RemoteError> {
        let mut reader_conn = self.t.reconnect()?;
        let key = payload_key(obj.header.suite, &obj.file_key, &obj.header.nonce);
        let raw = reader_conn.read(&payload_path(&obj.id))?;
        let mut src = pipe::ReadBridge::new(raw);
        let mut plain = crate::crypto::StreamReader::new(key, &mut src);
        let spec = PushSpec {
            name: &obj.meta.name,
            mtime: obj.meta.mtime,
            suite: obj.header.suite,
            recipients,
            threads,
        };
        let pushed = self.push(rng, &mut plain, &spec);
        let class = plain.failure();
        drop(plain);
        let id = pushed.map_err(|e| match (e, src.take_error(), class) {
            // Reading the old payload failed: report the transport's error,
            // or its crypto class.
            (RemoteError::Io(_), Some(t), _) => RemoteError::Transport(t),
            (RemoteError::Io(_), None, Some(class)) => RemoteError::Crypto(class),
            (other, _, _) => other,
        })?;
        self.remove(obj)?;
        Ok(id)
    }

    /// Open an object's payload into `out`. Fails (after writing the
    /// authenticated part) if it does not authenticate or its size does not
    /// match the metadata.
    pub fn pull(
        &mut self,
        obj: &Object,
        out: &mut dyn Write,
        threads: usize,
    ) -> Result<u64, RemoteError> {
        let key = payload_key_checked(obj)?;
        let r = self.t.read(&payload_path(&obj.id))?;
        let n = pipe::fetch_ahead(r, parallel::PULL_PIECE, |q| {
            pipeline::open_payload(key, q, out, threads).map_err(|e| match e {
                CopyError::Read(e) => RemoteError::Io(e),
                CopyError::Write(e) => RemoteError::Io(e),
                CopyError::Crypto(e) => RemoteError::Crypto(e),
            })
        })?;
        if n != obj.meta.size {
            return Err(RemoteError::BadObject(format!(
                "{:?}: size does not match its metadata",
                obj.meta.name
            )));
        }
        Ok(n)
    }

    /// Open an object's payload into the regular file `out` (empty, written
    /// with positioned writes), over several connections if it is large.
    /// On failure `out` holds garbage: the caller discards it, and must
    /// only keep it after success. `progress` is called with each count of
    /// plaintext bytes written. Returns the bytes written.
    pub fn pull_to_file(
        &mut self,
        obj: &Object,
        out: &File,
        threads: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, RemoteError> {
        let k = self.fan_out(obj.meta.size);
        if k <= 1 {
            let mut w = ProgressWrite {
                inner: out,
                progress,
            };
            return self.pull(obj, &mut w, threads);
        }
        let key = payload_key_checked(obj)?;
        let path = payload_path(&obj.id);
        let conns = self.connections_for(k)?;
        parallel::pull(conns, &path, obj.meta.size, &key, out, progress)?;
        let n = out.metadata().map_err(RemoteError::Io)?.len();
        if n != obj.meta.size {
            return Err(RemoteError::BadObject(format!(
                "{:?}: size does not match its metadata",
                obj.meta.name
            )));
        }
        Ok(n)
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
                .filter_map(|e| e.name.strip_suffix(".h"))
                .collect();
            for e in objs.iter().filter(|e| old(e)) {
                if let Some(id) = e.name.strip_suffix(".p")
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

/// A reader that reports progress.
struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// A writer that reports progress.
struct ProgressWrite<'a, W> {
    inner: W,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<W: Write> Write for ProgressWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;
    use crate::transport::LocalTransport;

    fn vault(dir: &std::path::Path) -> RemoteVault {
        RemoteVault::open_or_create(Box::new(LocalTransport::new(dir, None).unwrap())).unwrap()
    }

    #[test]
    fn push_list_pull_rename_remove() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("v");
        let mut v = vault(&root);
        let alice = X25519Identity::generate(&mut os_rng());
        let bob = X25519Identity::generate(&mut os_rng());
        let data = vec![7u8; 100_000];
        let spec = PushSpec {
            name: "docs/a.txt",
            mtime: 5,
            suite: Suite::Aes256Gcm,
            recipients: &[alice.recipient()],
            threads: 1,
        };
        v.push(&mut os_rng(), &mut &data[..], &spec).unwrap();
        let l = v.list(std::slice::from_ref(&alice)).unwrap();
        assert_eq!(l.objects.len(), 1);
        assert_eq!(l.objects[0].meta.name, "docs/a.txt");
        assert_eq!(l.objects[0].meta.size, 100_000);
        let lb = v.list(std::slice::from_ref(&bob)).unwrap();
        assert_eq!((lb.objects.len(), lb.others), (0, 1));
        let mut out = Vec::new();
        v.pull(&l.objects[0], &mut out, 1).unwrap();
        assert_eq!(out, data);

        let obj = &l.objects[0];
        let mut meta = obj.meta.clone();
        meta.name = "b.txt".into();
        v.rewrite_head(&mut os_rng(), obj, &obj.header, &meta)
            .unwrap();
        let l = v.list(std::slice::from_ref(&alice)).unwrap();
        assert!(l.find("b.txt").is_some() && l.find("docs/a.txt").is_none());
        v.remove(&l.objects[0]).unwrap();
        assert!(v.list(&[alice]).unwrap().objects.is_empty());
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
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("v");
        let mut v = vault(&root);
        v.set_connections(3);
        let alice = X25519Identity::generate(&mut os_rng());
        let len = 3 * MIN_SEGMENT as usize + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        let src = dir.path().join("src");
        std::fs::write(&src, &data).unwrap();
        let spec = PushSpec {
            name: "big",
            mtime: 1,
            suite: Suite::ChaCha20Poly1305,
            recipients: &[alice.recipient()],
            threads: 1,
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

        let l = v.list(std::slice::from_ref(&alice)).unwrap();
        let obj = &l.objects[0];
        let pull = |v: &mut RemoteVault| {
            let out = tempfile::tempfile().unwrap();
            let r = v.pull_to_file(obj, &out, 1, &|_| {});
            r.map(|_| {
                let mut back = Vec::new();
                (&out).read_to_end(&mut back).unwrap();
                back
            })
        };
        assert!(pull(&mut v).unwrap() == data);
        // The serial reader opens what the workers sealed.
        let mut serial = Vec::new();
        v.pull(obj, &mut serial, 1).unwrap();
        assert!(serial == data);

        let p = root.join(payload_path(&obj.id));
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
}
