//! The transport operations on S3: the intent-based shape of the transport
//! trait, version 2 (`/work/notes/transport-v2.md`), implemented natively.
//!
//! - `put(path, New)`: one PUT with `If-None-Match: *` (a 412 is
//!   `AlreadyExists`), or, for a body over
//!   [`SINGLE_PUT_MAX`](super::SINGLE_PUT_MAX), a multipart
//!   upload completed with `If-None-Match: *`. Nothing is visible before the
//!   writer finishes; a writer dropped unfinished aborts its upload.
//! - `put(path, Replace)`: `If-Match` on the ETag this location last saw for
//!   the path (from `stat`, `list`, `read` or its own write), so two
//!   concurrent rewrites cannot silently undo each other (a 412 is
//!   [`S3Error::Changed`]); unconditional when no ETag is known.
//! - `begin_upload` / `write_part` / `finish_upload` / `abort_upload`: one
//!   multipart upload written by several connections. A part writer at
//!   `offset` cuts its bytes into parts of [`PART_SIZE`](super::PART_SIZE)
//!   (the last one up to twice that), numbered `offset / MIN_PART_SIZE + 1`:
//!   any part but the last is at least
//!   [`MIN_PART_SIZE`](super::MIN_PART_SIZE), so numbers grow with
//!   offsets and never collide, and no one has to tell the other
//!   connections anything. `finish_upload` lists the parts, checks they add
//!   up to the announced size and completes with the `put` conditions.
//! - `sweep_staging`: aborts the location's incomplete multipart uploads
//!   initiated before the cutoff (S3's equivalent of stale `tmp/` files).
//! - Folders do not exist: `mkdir_all` checks the path and does nothing,
//!   `list` of a prefix with nothing below it is empty (never `NotFound`),
//!   `stat` of a prefix with objects below it is a folder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusty_s3::actions::{ListObjectsV2, ListParts};
use rusty_s3::{Method, S3Action};

use super::client::{Client, Response};
use super::config::{EnvFn, S3Target, resolve};
use super::reader::S3Reader;
use super::writer::{
    MIN_PART_SIZE, S3PartWriter, S3Writer, abort, complete, create_upload, list_parts, put_object,
};
use super::{S3Error, probe, xml};
use crate::transport::backend::check_path;
use crate::transport::{
    ConnectOptions, Entry, Properties, PutMode, Reader, Transport, TransportError, Upload, Writer,
};

/// State shared by every connection of one location.
pub(super) struct Shared {
    /// The newest ETag seen per transport path, for `If-Match` on replace,
    /// with the ticket of the request that saw it. Connections run at
    /// once: a read answered late must not put back an ETag that a write
    /// finished since then has replaced (the next replace would then be
    /// refused as "changed by another writer", by our own write).
    pub(super) etags: Mutex<HashMap<String, (Option<String>, u64)>>,
    /// Tickets: taken before a read is sent and after a write completes,
    /// so that what a write learned always outranks a read that was in
    /// flight meanwhile.
    pub(super) tickets: std::sync::atomic::AtomicU64,
    /// Whether the store's conditional writes still have to be checked
    /// (before this location's first write; false once they passed, or
    /// when the user accepted a store without them).
    probe_pending: Mutex<bool>,
    /// Whether `New` is guaranteed (false only when the user accepted a
    /// store without conditional writes: otherwise a write either has the
    /// guarantee or is refused by the probe).
    atomic_create_new: bool,
}

/// A vault on an S3-compatible store. One value is one connection (ureq
/// keeps a pool per location, shared by [`S3Transport::reconnect`]).
pub struct S3Transport {
    client: Arc<Client>,
    shared: Arc<Shared>,
}

impl S3Transport {
    /// Connect with the process environment (see `config` for what is read).
    pub fn connect(t: &S3Target, opts: &ConnectOptions) -> Result<S3Transport, TransportError> {
        Self::connect_with_env(t, opts, &|k: &str| std::env::var(k).ok())
    }

    /// Connect, reading variables through `env` instead of the process
    /// environment (tests run many stores in one process). Nothing is sent
    /// yet; conditional writes are probed before the first write (see
    /// `probe`) unless [`ConnectOptions::allow_unconditional_writes`] is
    /// set.
    pub fn connect_with_env(
        t: &S3Target,
        opts: &ConnectOptions,
        env: EnvFn<'_>,
    ) -> Result<S3Transport, TransportError> {
        let resolved = resolve(t, opts, env)?;
        let client = Client::new(resolved, t, opts)?;
        let check = !opts.allow_unconditional_writes;
        Ok(S3Transport {
            client,
            shared: Arc::new(Shared {
                etags: Mutex::new(HashMap::new()),
                tickets: std::sync::atomic::AtomicU64::new(1),
                probe_pending: Mutex::new(check),
                atomic_create_new: check,
            }),
        })
    }

    /// Before anything is written through this location: the
    /// conditional-write probe, once for all its connections (the first
    /// caller runs it while the others wait). A failed probe is not
    /// remembered: the next write asks again.
    fn before_write(&self) -> Result<(), TransportError> {
        let mut pending = self
            .shared
            .probe_pending
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *pending {
            probe::conditional_writes(&self.client)?;
            *pending = false;
        }
        Ok(())
    }

    /// `s3://bucket/prefix at endpoint`.
    pub fn describe(&self) -> String {
        self.client.describe.clone()
    }

    /// What this backend is like.
    pub fn properties(&self) -> Properties {
        // The writers gather whole parts themselves (see `writer`), so the
        // pieces handed to them only need to be large enough to keep call
        // overhead small; smaller pieces keep the remote layer's queue
        // (three per connection) small.
        Properties {
            write_size: 256 << 10,
            part_write_size: 256 << 10,
            read_size: 1 << 20,
            max_connections: 16,
            min_part_size: MIN_PART_SIZE as u64,
            atomic_replace: true,
            atomic_create_new: self.shared.atomic_create_new,
            has_folders: false,
            // No folders: a listing is the only way to see a change.
            folder_mtime: false,
        }
    }

    /// Another connection to the same location (same pool, credentials and
    /// ETag memory; no second probe).
    pub fn reconnect(&self) -> Result<S3Transport, TransportError> {
        Ok(S3Transport {
            client: Arc::clone(&self.client),
            shared: Arc::clone(&self.shared),
        })
    }

    /// Folders do not exist on S3: only checks the path.
    pub fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, true)
    }

    /// A ticket for a request about to be sent (see [`Shared::tickets`]).
    fn ticket(&self) -> u64 {
        self.shared
            .tickets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// What a write that just completed left at `path`.
    fn remember(&self, path: &str, etag: Option<&str>) {
        let t = self.ticket();
        self.observe(path, etag, t);
    }

    /// What a request with ticket `since` saw at `path`, kept unless
    /// something newer is known.
    fn observe(&self, path: &str, etag: Option<&str>, since: u64) {
        let mut m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(path).is_some_and(|(_, t)| *t > since) {
            return;
        }
        m.insert(path.to_owned(), (etag.map(str::to_owned), since));
    }

    fn known_etag(&self, path: &str) -> Option<String> {
        let m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        m.get(path).and_then(|(e, _)| e.clone())
    }

    /// The entries directly below `dir` (objects, and prefixes as folders).
    pub fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        check_path(dir, true)?;
        let prefix = if dir.is_empty() {
            self.client.prefix.clone()
        } else {
            format!("{}/", self.client.key(dir))
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut act = ListObjectsV2::new(&self.client.bucket, Some(self.client.creds()));
            act.with_prefix(prefix.as_str());
            act.with_delimiter("/");
            if let Some(t) = &token {
                act.with_continuation_token(t.clone());
            }
            let ctx = "listing";
            let since = self.ticket();
            let resp = self.client.send(act, &[], &[], ctx)?;
            let page = self
                .client
                .parse_xml(resp, dir, ctx, ListObjectsV2::parse_response)?;
            for o in page.contents {
                let Some(name) = o.key.strip_prefix(&prefix) else {
                    continue;
                };
                if name.is_empty() || name.contains('/') {
                    continue; // a "folder marker" object, or not ours
                }
                let path = if dir.is_empty() {
                    name.to_owned()
                } else {
                    format!("{dir}/{name}")
                };
                self.observe(&path, o.etag.as_deref(), since);
                out.push(Entry {
                    name: name.to_owned(),
                    size: o.size.unwrap_or(0),
                    mtime: o.last_modified.as_deref().and_then(parse_rfc3339),
                    is_dir: false,
                    version: o.etag.clone(),
                });
            }
            for p in page.common_prefixes {
                if let Some(name) = p.prefix.strip_prefix(&prefix) {
                    let name = name.trim_end_matches('/');
                    if !name.is_empty() {
                        out.push(Entry {
                            name: name.to_owned(),
                            size: 0,
                            mtime: None,
                            is_dir: true,
                            version: None,
                        });
                    }
                }
            }
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// One object (or a prefix with objects below it, as a folder).
    pub fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError> {
        check_path(path, true)?;
        if path.is_empty() {
            return Ok(Some(dir_entry(path)));
        }
        let key = self.client.key(path);
        let ctx = "stat";
        let act = self
            .client
            .bucket
            .head_object(Some(self.client.creds()), &key);
        let since = self.ticket();
        let resp = self.client.send(act, &[], &[], ctx)?;
        match resp.status().as_u16() {
            200 => {
                let etag = header(&resp, "etag");
                self.observe(path, etag.as_deref(), since);

                let size = header(&resp, "content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mtime = header(&resp, "last-modified").and_then(|v| parse_http_date(&v));
                Ok(Some(Entry {
                    name: path.to_owned(),
                    size,
                    mtime,
                    is_dir: false,
                    version: etag,
                }))
            }
            404 => {
                // A folder is a prefix with at least one object below it.
                let prefix = format!("{key}/");
                let mut act = ListObjectsV2::new(&self.client.bucket, Some(self.client.creds()));
                act.with_prefix(prefix.as_str());
                act.with_max_keys(1);
                let resp = self.client.send(act, &[], &[], ctx)?;
                let page = self
                    .client
                    .parse_xml(resp, path, ctx, ListObjectsV2::parse_response)?;
                Ok(
                    if page.contents.is_empty() && page.common_prefixes.is_empty() {
                        None
                    } else {
                        Some(dir_entry(path))
                    },
                )
            }
            403 => {
                // A HEAD answer has no body, so no error code: a wrong
                // key and a missing permission look alike. A listing of
                // the same key tells them apart.
                let mut act = ListObjectsV2::new(&self.client.bucket, Some(self.client.creds()));
                act.with_prefix(key.as_str());
                act.with_max_keys(1);
                let list = self.client.send(act, &[], &[], ctx)?;
                if list.status().as_u16() == 200 {
                    Err(self.client.status_error(resp, path, ctx))
                } else {
                    Err(self.client.status_error(list, path, ctx))
                }
            }
            _ => Err(self.client.status_error(resp, path, ctx)),
        }
    }

    /// Read a whole object.
    pub fn read(&mut self, path: &str) -> Result<S3Reader, TransportError> {
        self.get(path, None)
    }

    /// Read at most `len` bytes from `offset` (fewer if the object ends first).
    pub fn read_at(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<S3Reader, TransportError> {
        if len == 0 {
            check_path(path, false)?;
            return Ok(S3Reader::empty(&self.client, path));
        }
        self.get(path, Some((offset, len)))
    }

    fn get(&mut self, path: &str, range: Option<(u64, u64)>) -> Result<S3Reader, TransportError> {
        check_path(path, false)?;
        let key = self.client.key(path);
        let ctx = "reading";
        let act = self
            .client
            .bucket
            .get_object(Some(self.client.creds()), &key);
        let range_header = range.map(|(o, l)| format!("bytes={o}-{}", o.saturating_add(l) - 1));
        let headers: Vec<(&str, &str)> = match &range_header {
            Some(r) => vec![("range", r.as_str())],
            None => vec![],
        };
        // The range is sent but not signed: it is not an x-amz-* header.
        let url = act.sign(std::time::Duration::from_secs(900));
        let since = self.ticket();
        let resp = self.client.send_url(Method::Get, url, &headers, &[], ctx)?;
        match (resp.status().as_u16(), range) {
            (200, None) | (206, Some(_)) => {
                self.observe(path, header(&resp, "etag").as_deref(), since);
                Ok(S3Reader::body(&self.client, path, resp, None))
            }
            // A store that ignores Range: take what was asked from the start.
            (200, Some((0, len))) => Ok(S3Reader::body(&self.client, path, resp, Some(len))),
            (200, Some(_)) => Err(S3Error::BadResponse {
                context: format!("reading {path}"),
                detail: "the store ignored the byte range".into(),
            }
            .into()),
            (416, Some(_)) => Ok(S3Reader::empty(&self.client, path)),
            _ => Err(self.client.status_error(resp, path, ctx)),
        }
    }

    /// The condition headers for `mode` on `path`.
    fn condition(&self, path: &str, mode: PutMode) -> Option<(&'static str, String)> {
        match mode {
            PutMode::New => Some(("if-none-match", "*".to_owned())),
            PutMode::Replace => self.known_etag(path).map(|e| ("if-match", e)),
        }
    }

    /// A whole object, visible at `path` when the writer finishes.
    pub fn put(&mut self, path: &str, mode: PutMode) -> Result<S3Writer, TransportError> {
        check_path(path, false)?;
        self.before_write()?;
        Ok(S3Writer::new(
            Arc::clone(&self.client),
            Arc::clone(&self.shared),
            path,
            self.condition(path, mode),
            mode,
        ))
    }

    /// Start a multipart upload to `path`.
    pub fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        check_path(path, false)?;
        self.before_write()?;
        let id = create_upload(&self.client, path, &self.client.key(path))?;
        Ok(Upload {
            path: path.to_owned(),
            token: id,
        })
    }

    /// A writer for the bytes of `up` from `offset` on.
    pub fn write_part(&mut self, up: &Upload, offset: u64) -> Result<S3PartWriter, TransportError> {
        check_path(&up.path, false)?;
        // Upload ids are URL-safe; one that is not a clean name was not
        // made by begin_upload.
        check_path(&up.token, false)?;
        // One cheap request, so that an aborted or unknown upload fails
        // here (NotFound), not after a part's worth of bytes.
        let key = self.client.key(&up.path);
        let mut act = ListParts::new(
            &self.client.bucket,
            Some(self.client.creds()),
            &key,
            &up.token,
        );
        act.set_max_parts(1);
        let ctx = "checking the upload of";
        let resp = self.client.send(act, &[], &[], ctx)?;
        if resp.status().as_u16() != 200 {
            return Err(self.client.status_error(resp, &up.path, ctx));
        }
        Ok(S3PartWriter::new(Arc::clone(&self.client), up, offset))
    }

    /// Make the upload visible at `up.path`, if its parts hold exactly
    /// `len` bytes, with `mode`'s condition. On any failure the upload is
    /// aborted (nothing stays behind).
    pub fn finish_upload(
        &mut self,
        up: Upload,
        len: u64,
        mode: PutMode,
    ) -> Result<(), TransportError> {
        check_path(&up.path, false)?;
        check_path(&up.token, false)?;
        let r = self.try_finish_upload(&up, len, mode);
        if r.is_err() {
            abort(&self.client, &self.client.key(&up.path), &up.token);
        }
        r
    }

    fn try_finish_upload(
        &mut self,
        up: &Upload,
        len: u64,
        mode: PutMode,
    ) -> Result<(), TransportError> {
        let key = self.client.key(&up.path);
        let parts = list_parts(&self.client, &up.path, &key, &up.token)?;
        let mut at = 0u64;
        for (number, _, size) in &parts {
            if u64::from(*number) != at / MIN_PART_SIZE as u64 + 1 {
                return Err(S3Error::UploadIncomplete {
                    path: up.path.clone(),
                    got: at,
                    want: len,
                }
                .into());
            }
            at += size;
        }
        if at != len {
            return Err(S3Error::UploadIncomplete {
                path: up.path.clone(),
                got: at,
                want: len,
            }
            .into());
        }
        let cond = self.condition(&up.path, mode);
        if parts.is_empty() {
            // S3 cannot complete an upload without parts: an empty object
            // is one empty PUT, and the upload is dropped.
            let etag = put_object(&self.client, &up.path, &key, &[], cond.as_ref(), mode)?;
            self.remember(&up.path, etag.as_deref());
            abort(&self.client, &key, &up.token);
            return Ok(());
        }
        let etags: Vec<(u16, &str)> = parts.iter().map(|(n, e, _)| (*n, e.as_str())).collect();
        let etag = complete(
            &self.client,
            &up.path,
            &key,
            &up.token,
            &etags,
            cond.as_ref(),
            mode,
        )?;
        self.remember(&up.path, etag.as_deref());
        Ok(())
    }

    /// Abort an unfinished upload (best effort).
    pub fn abort_upload(&mut self, up: Upload) {
        abort(&self.client, &self.client.key(&up.path), &up.token);
    }

    /// Remove an object (`NotFound` if there is none).
    pub fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        check_path(path, false)?;
        if self.stat(path)?.is_none_or(|e| e.is_dir) {
            return Err(TransportError::NotFound(path.to_owned()));
        }
        let key = self.client.key(path);
        let act = self
            .client
            .bucket
            .delete_object(Some(self.client.creds()), &key);
        let ctx = "removing";
        let resp = self.client.send(act, &[], &[], ctx)?;
        self.remember(path, None);
        match resp.status().as_u16() {
            200 | 204 => Ok(()),
            _ => Err(self.client.status_error(resp, path, ctx)),
        }
    }

    /// Whether `entry` of `list("")` is only a probe object a crashed
    /// connection left behind (the trait's `is_staging_leftover`).
    pub fn is_staging_leftover(&mut self, entry: &Entry) -> Result<bool, TransportError> {
        Ok(!entry.is_dir && probe::is_probe_name(&entry.name))
    }

    /// Abort this location's multipart uploads initiated before
    /// `older_than` (seconds since the epoch). Returns how many.
    pub fn sweep_staging(&mut self, older_than: u64) -> Result<usize, TransportError> {
        let mut n = 0;
        for u in xml::list_uploads(&self.client)? {
            if u.initiated.is_some_and(|t| t < older_than) {
                abort(&self.client, &u.key, &u.upload_id);
                n += 1;
            }
        }
        Ok(n)
    }
}

fn dir_entry(path: &str) -> Entry {
    Entry {
        name: path.to_owned(),
        size: 0,
        mtime: None,
        is_dir: true,
        version: None,
    }
}

pub(crate) fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let t: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(t.as_second()).ok()
}

fn parse_http_date(s: &str) -> Option<u64> {
    let t = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(s)
        .ok()?;
    u64::try_from(t.as_second()).ok()
}

/// The trait is the inherent API, boxed.
impl Transport for S3Transport {
    fn describe(&self) -> String {
        S3Transport::describe(self)
    }
    fn properties(&self) -> Properties {
        S3Transport::properties(self)
    }
    fn reconnect(&self) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(S3Transport::reconnect(self)?))
    }
    fn mkdir_all(&mut self, path: &str) -> Result<(), TransportError> {
        S3Transport::mkdir_all(self, path)
    }
    fn list(&mut self, dir: &str) -> Result<Vec<Entry>, TransportError> {
        S3Transport::list(self, dir)
    }
    fn stat(&mut self, path: &str) -> Result<Option<Entry>, TransportError> {
        S3Transport::stat(self, path)
    }
    fn read(&mut self, path: &str) -> Result<Reader<'_>, TransportError> {
        Ok(Box::new(S3Transport::read(self, path)?))
    }
    fn read_at(&mut self, path: &str, offset: u64, len: u64) -> Result<Reader<'_>, TransportError> {
        Ok(Box::new(S3Transport::read_at(self, path, offset, len)?))
    }
    fn put(&mut self, path: &str, mode: PutMode) -> Result<Writer<'_>, TransportError> {
        Ok(Box::new(S3Transport::put(self, path, mode)?))
    }
    fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        S3Transport::begin_upload(self, path)
    }
    fn write_part(&mut self, up: &Upload, offset: u64) -> Result<Writer<'_>, TransportError> {
        Ok(Box::new(S3Transport::write_part(self, up, offset)?))
    }
    fn finish_upload(&mut self, up: Upload, len: u64, mode: PutMode) -> Result<(), TransportError> {
        S3Transport::finish_upload(self, up, len, mode)
    }
    fn abort_upload(&mut self, up: Upload) {
        S3Transport::abort_upload(self, up)
    }
    fn remove(&mut self, path: &str) -> Result<(), TransportError> {
        S3Transport::remove(self, path)
    }
    fn sweep_staging(&mut self, older_than: u64) -> Result<usize, TransportError> {
        S3Transport::sweep_staging(self, older_than)
    }
    fn is_staging_leftover(&mut self, entry: &Entry) -> Result<bool, TransportError> {
        Ok(!entry.is_dir && probe::is_probe_name(&entry.name))
    }
}
