//! The transport operations on S3: the intent-based shape of the transport
//! trait, version 2 (`/work/notes/transport-v2.md`), implemented natively.
//!
//! - `put(path, New)`: one PUT with `If-None-Match: *` (a 412 is
//!   `AlreadyExists`), or, for a body over [`SINGLE_PUT_MAX`], a multipart
//!   upload completed with `If-None-Match: *`. Nothing is visible before the
//!   writer finishes; a writer dropped unfinished aborts its upload.
//! - `put(path, Replace)`: `If-Match` on the ETag this location last saw for
//!   the path (from `stat`, `list`, `read` or its own write), so two
//!   concurrent rewrites cannot silently undo each other (a 412 is
//!   [`S3Error::Changed`]); unconditional when no ETag is known.
//! - `begin_upload` / `write_part` / `finish_upload` / `abort_upload`: one
//!   multipart upload written by several connections. A part writer at
//!   `offset` cuts its bytes into parts of [`PART_SIZE`] (the last one up to
//!   `PART_SIZE + MIN_PART_SIZE`), numbered `offset / MIN_PART_SIZE + 1`: any
//!   part but the last is at least [`MIN_PART_SIZE`], so numbers grow with
//!   offsets and never collide, and no one has to tell the other
//!   connections anything. `finish_upload` lists the parts, checks they add
//!   up to the announced size and completes with the `put` conditions.
//! - `sweep_staging`: aborts the location's incomplete multipart uploads
//!   initiated before the cutoff (S3's equivalent of stale `tmp/` files).
//! - Folders do not exist: `mkdir_all` checks the path and does nothing,
//!   `list` of a prefix with nothing below it is empty (never `NotFound`),
//!   `stat` of a prefix with objects below it is a folder.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use instant_xml::ToXml;
use rusty_s3::actions::{CompleteMultipartUpload, CreateMultipartUpload, ListObjectsV2, ListParts};
use rusty_s3::{Method, S3Action};

use super::client::{Client, Response};
use super::config::{EnvFn, S3Target, resolve};
use super::{S3Error, probe, xml};
use crate::transport::backend::check_path;
use crate::transport::{
    ConnectOptions, Entry, Properties, PutMode, RemoteRead, RemoteWrite, Transport, TransportError,
    Upload,
};

/// Largest body `put` sends as one PUT; above it, a multipart upload.
pub const SINGLE_PUT_MAX: usize = PART_SIZE + MIN_PART_SIZE;
/// Size of the parts a writer cuts (all but its last).
pub const PART_SIZE: usize = 8 << 20;
/// S3's smallest part except the last, and the unit of part numbers.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part number.
const MAX_PARTS: u64 = 10_000;

/// State shared by every connection of one location.
struct Shared {
    /// The last ETag seen per transport path, for `If-Match` on replace.
    etags: Mutex<HashMap<String, String>>,
    /// Whether `New` is guaranteed (the probe passed, or was skipped by flag).
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
    /// environment (tests run many stores in one process). Probes
    /// conditional writes once (see `probe`) unless
    /// [`ConnectOptions::allow_unconditional_writes`] is set.
    pub fn connect_with_env(
        t: &S3Target,
        opts: &ConnectOptions,
        env: EnvFn<'_>,
    ) -> Result<S3Transport, TransportError> {
        let resolved = resolve(t, opts, env)?;
        let client = Client::new(resolved, t, opts)?;
        let atomic_create_new = if opts.allow_unconditional_writes {
            false
        } else {
            probe::conditional_writes(&client)?;
            true
        };
        Ok(S3Transport {
            client,
            shared: Arc::new(Shared {
                etags: Mutex::new(HashMap::new()),
                atomic_create_new,
            }),
        })
    }

    /// `s3://bucket/prefix at endpoint`.
    pub fn describe(&self) -> String {
        self.client.describe.clone()
    }

    /// What this backend is like.
    pub fn properties(&self) -> Properties {
        Properties {
            write_size: 1 << 20,
            part_write_size: 1 << 20,
            read_size: 1 << 20,
            max_connections: 16,
            min_part_size: MIN_PART_SIZE as u64,
            atomic_replace: true,
            atomic_create_new: self.shared.atomic_create_new,
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

    fn remember(&self, path: &str, etag: Option<&str>) {
        let mut m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        match etag {
            Some(e) => m.insert(path.to_owned(), e.to_owned()),
            None => m.remove(path),
        };
    }

    fn known_etag(&self, path: &str) -> Option<String> {
        let m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        m.get(path).cloned()
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
            let resp = self.client.send(act, &[], &[], ctx)?;
            if resp.status().as_u16() != 200 {
                return Err(self.client.status_error(resp, dir, ctx));
            }
            let text = self.client.read_xml(resp, ctx)?;
            let page = ListObjectsV2::parse_response(&text).map_err(|e| S3Error::BadResponse {
                context: format!("listing {dir}"),
                detail: e.to_string(),
            })?;
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
                self.remember(&path, o.etag.as_deref());
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
        let resp = self.client.send(act, &[], &[], ctx)?;
        match resp.status().as_u16() {
            200 => {
                let etag = header(&resp, "etag");
                self.remember(path, etag.as_deref());

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
                if resp.status().as_u16() != 200 {
                    return Err(self.client.status_error(resp, path, ctx));
                }
                let text = self.client.read_xml(resp, ctx)?;
                let page =
                    ListObjectsV2::parse_response(&text).map_err(|e| S3Error::BadResponse {
                        context: format!("stat {path}"),
                        detail: e.to_string(),
                    })?;
                Ok(
                    if page.contents.is_empty() && page.common_prefixes.is_empty() {
                        None
                    } else {
                        Some(dir_entry(path))
                    },
                )
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
        let resp = self.client.send_url(Method::Get, url, &headers, &[], ctx)?;
        match (resp.status().as_u16(), range) {
            (200, None) | (206, Some(_)) => {
                self.remember(path, header(&resp, "etag").as_deref());
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
        Ok(S3Writer {
            client: Arc::clone(&self.client),
            shared: Arc::clone(&self.shared),
            path: path.to_owned(),
            key: self.client.key(path),
            cond: self.condition(path, mode),
            mode,
            buf: Vec::new(),
            upload: None,
        })
    }

    /// Start a multipart upload to `path`.
    pub fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        check_path(path, false)?;
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
        Ok(S3PartWriter {
            client: Arc::clone(&self.client),
            path: up.path.clone(),
            key: self.client.key(&up.path),
            upload_id: up.token.clone(),
            offset,
            buf: Vec::new(),
        })
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

/// The error for a failed conditional write.
fn precondition_failed(path: &str, mode: PutMode) -> TransportError {
    match mode {
        PutMode::New => TransportError::AlreadyExists(path.to_owned()),
        PutMode::Replace => S3Error::Changed(path.to_owned()).into(),
    }
}

/// One PUT of a whole body; returns the new ETag.
fn put_object(
    c: &Client,
    path: &str,
    key: &str,
    body: &[u8],
    cond: Option<&(&'static str, String)>,
    mode: PutMode,
) -> Result<Option<String>, TransportError> {
    let act = c.bucket.put_object(Some(c.creds()), key);
    let headers: Vec<(&str, &str)> = cond.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ctx = "writing";
    let resp = c.send(act, &headers, body, ctx)?;
    match resp.status().as_u16() {
        200 => Ok(header(&resp, "etag")),
        412 | 409 if cond.is_some() => Err(precondition_failed(path, mode)),
        _ => Err(c.status_error(resp, path, ctx)),
    }
}

fn create_upload(c: &Client, path: &str, key: &str) -> Result<String, TransportError> {
    let act = c.bucket.create_multipart_upload(Some(c.creds()), key);
    let ctx = "starting an upload";
    let resp = c.send(act, &[], &[], ctx)?;
    if resp.status().as_u16() != 200 {
        return Err(c.status_error(resp, path, ctx));
    }
    let text = c.read_xml(resp, ctx)?;
    let r = CreateMultipartUpload::parse_response(&text).map_err(|e| S3Error::BadResponse {
        context: format!("{ctx} {path}"),
        detail: e.to_string(),
    })?;
    Ok(r.upload_id().to_owned())
}

fn upload_part(
    c: &Client,
    path: &str,
    key: &str,
    id: &str,
    number: u16,
    body: &[u8],
) -> Result<(), TransportError> {
    let act = c.bucket.upload_part(Some(c.creds()), key, number, id);
    let ctx = "writing a part";
    let resp = c.send(act, &[], body, ctx)?;
    match resp.status().as_u16() {
        200 => Ok(()),
        _ => Err(c.status_error(resp, path, ctx)),
    }
}

/// The uploaded parts: (number, ETag, size), by number.
fn list_parts(
    c: &Client,
    path: &str,
    key: &str,
    id: &str,
) -> Result<Vec<(u16, String, u64)>, TransportError> {
    let mut out = Vec::new();
    let mut marker: Option<u16> = None;
    let ctx = "listing the parts of";
    loop {
        let mut act = ListParts::new(&c.bucket, Some(c.creds()), key, id);
        if let Some(m) = marker {
            act.set_part_number_marker(m);
        }
        let resp = c.send(act, &[], &[], ctx)?;
        if resp.status().as_u16() != 200 {
            return Err(c.status_error(resp, path, ctx));
        }
        let text = c.read_xml(resp, ctx)?;
        let page = ListParts::parse_response(&text).map_err(|e| S3Error::BadResponse {
            context: format!("{ctx} {path}"),
            detail: e.to_string(),
        })?;
        let before = out.len();
        for p in &page.parts {
            out.push((p.number, p.etag.clone(), p.size));
        }
        match page.next_part_number_marker {
            Some(m) if out.len() > before && marker != Some(m) && u64::from(m) < MAX_PARTS => {
                marker = Some(m)
            }
            _ => break,
        }
    }
    out.sort_by_key(|p| p.0);
    Ok(out)
}

/// The body of CompleteMultipartUpload, with each part's own number.
/// (rusty-s3's action numbers the ETags it is given 1, 2, 3, ...; the part
/// numbers here have gaps, so the body is built from this instead.)
#[derive(ToXml)]
#[xml(rename = "CompleteMultipartUpload")]
struct CompleteBody<'a> {
    parts: Vec<CompletePart<'a>>,
}

#[derive(ToXml)]
#[xml(rename = "Part")]
struct CompletePart<'a> {
    #[xml(rename = "PartNumber")]
    number: u16,
    #[xml(rename = "ETag")]
    etag: &'a str,
}

fn complete(
    c: &Client,
    path: &str,
    key: &str,
    id: &str,
    parts: &[(u16, &str)],
    cond: Option<&(&'static str, String)>,
    mode: PutMode,
) -> Result<Option<String>, TransportError> {
    let ctx = "completing an upload of";
    let body = CompleteBody {
        parts: parts
            .iter()
            .map(|&(number, etag)| CompletePart { number, etag })
            .collect(),
    };
    let body = instant_xml::to_string(&body).map_err(|e| S3Error::BadResponse {
        context: format!("{ctx} {path}"),
        detail: format!("cannot build the request: {e}"),
    })?;
    let act = CompleteMultipartUpload::new(&c.bucket, Some(c.creds()), key, id, std::iter::empty());
    let headers: Vec<(&str, &str)> = cond.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = c.send(act, &headers, body.as_bytes(), ctx)?;
    match resp.status().as_u16() {
        200 => {
            let text = c.read_xml(resp, ctx)?;
            // S3 may answer 200 and put the error in the body.
            match rusty_s3::actions::CompleteMultipartUploadResponse::parse(&text) {
                Ok(r) => Ok(Some(r.etag().to_owned())),
                Err(_) => Err(S3Error::BadResponse {
                    context: format!("{ctx} {path}"),
                    detail: "no CompleteMultipartUploadResult in the answer".into(),
                }
                .into()),
            }
        }
        412 | 409 if cond.is_some() => Err(precondition_failed(path, mode)),
        _ => Err(c.status_error(resp, path, ctx)),
    }
}

/// Abort an upload, best effort (errors are dropped: the sweep retries).
pub(crate) fn abort(c: &Client, key: &str, id: &str) {
    let act = c.bucket.abort_multipart_upload(Some(c.creds()), key, id);
    let _ = c.send(act, &[], &[], "aborting an upload");
}

/// Reads one object or byte range as it arrives (never buffered whole).
pub struct S3Reader {
    client: Arc<Client>,
    path: String,
    body: Option<Box<dyn Read + Send>>,
    failed: bool,
}

impl S3Reader {
    fn empty(c: &Arc<Client>, path: &str) -> S3Reader {
        S3Reader {
            client: Arc::clone(c),
            path: path.to_owned(),
            body: None,
            failed: false,
        }
    }

    fn body(c: &Arc<Client>, path: &str, resp: Response, limit: Option<u64>) -> S3Reader {
        let r = resp.into_body().into_reader();
        let body: Box<dyn Read + Send> = match limit {
            Some(n) => Box::new(r.take(n)),
            None => Box::new(r),
        };
        S3Reader {
            client: Arc::clone(c),
            path: path.to_owned(),
            body: Some(body),
            failed: false,
        }
    }

    /// Like `io::Read::read`, with this layer's error. A connection that
    /// breaks (or a body shorter than announced) is an error, never an
    /// early end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if self.failed {
            return Err(TransportError::ConnectionLost {
                host: self.client.host.clone(),
                detail: format!("reading {}: an earlier read failed", self.path),
            });
        }
        let Some(b) = self.body.as_mut() else {
            return Ok(0);
        };
        b.read(buf).map_err(|e| {
            self.failed = true;
            self.client.io_error(e, &format!("reading {}", self.path))
        })
    }

    /// Read everything that is left.
    pub fn read_to_end(&mut self, out: &mut Vec<u8>) -> Result<usize, TransportError> {
        let start = out.len();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = self.read(&mut buf)?;
            if n == 0 {
                return Ok(out.len() - start);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
}

/// A whole object being written; see [`S3Transport::put`].
pub struct S3Writer {
    client: Arc<Client>,
    shared: Arc<Shared>,
    path: String,
    key: String,
    mode: PutMode,
    cond: Option<(&'static str, String)>,
    buf: Vec<u8>,
    /// Once the body outgrew one PUT: the upload id and the part ETags.
    upload: Option<(String, Vec<String>)>,
}

impl S3Writer {
    /// Buffer `data`; past [`SINGLE_PUT_MAX`] send parts of [`PART_SIZE`].
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.buf.extend_from_slice(data);
        while self.buf.len() >= PART_SIZE + MIN_PART_SIZE {
            self.send_part(PART_SIZE)?;
        }
        Ok(())
    }

    fn send_part(&mut self, n: usize) -> Result<(), TransportError> {
        if self.upload.is_none() {
            let id = create_upload(&self.client, &self.path, &self.key)?;
            self.upload = Some((id, Vec::new()));
        }
        let (id, etags) = self.upload.as_mut().expect("just set");
        let number = u16::try_from(etags.len() + 1).unwrap_or(u16::MAX);
        if u64::from(number) > MAX_PARTS {
            return Err(S3Error::TooLarge {
                path: self.path.clone(),
                offset: (etags.len() * PART_SIZE) as u64,
                max: MAX_PARTS * PART_SIZE as u64,
            }
            .into());
        }
        let act = self
            .client
            .bucket
            .upload_part(Some(self.client.creds()), &self.key, number, id);
        let ctx = "writing a part";
        let resp = self.client.send(act, &[], &self.buf[..n], ctx)?;
        if resp.status().as_u16() != 200 {
            return Err(self.client.status_error(resp, &self.path, ctx));
        }
        let etag = header(&resp, "etag").ok_or_else(|| S3Error::BadResponse {
            context: format!("{ctx} {}", self.path),
            detail: "no ETag".into(),
        })?;
        etags.push(etag);
        self.buf.drain(..n);
        Ok(())
    }

    /// Mandatory: send what is buffered and make the object visible, with
    /// the mode's condition.
    pub fn finish(mut self) -> Result<(), TransportError> {
        let etag = match self.upload.is_some() {
            false => put_object(
                &self.client,
                &self.path,
                &self.key,
                &self.buf,
                self.cond.as_ref(),
                self.mode,
            )?,
            true => {
                let n = self.buf.len();
                self.send_part(n)?;
                let (id, etags) = self.upload.as_ref().expect("checked");
                let etags: Vec<(u16, &str)> =
                    (1u16..).zip(etags.iter().map(String::as_str)).collect();
                let r = complete(
                    &self.client,
                    &self.path,
                    &self.key,
                    id,
                    &etags,
                    self.cond.as_ref(),
                    self.mode,
                )?;
                self.upload = None; // completed: nothing to abort
                r
            }
        };
        let mut m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        match etag {
            Some(e) => m.insert(self.path.clone(), e),
            None => m.remove(&self.path),
        };
        Ok(())
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if let Some((id, _)) = self.upload.take() {
            abort(&self.client, &self.key, &id);
        }
    }
}

/// The bytes of one multipart upload from an offset on; see
/// [`S3Transport::write_part`]. Dropping it unfinished leaves the upload
/// to its owner (`abort_upload`, or the sweep).
pub struct S3PartWriter {
    client: Arc<Client>,
    path: String,
    key: String,
    upload_id: String,
    /// Offset of the first byte in `buf`.
    offset: u64,
    buf: Vec<u8>,
}

impl S3PartWriter {
    /// Buffer `data`, sending parts of [`PART_SIZE`] once more than
    /// `PART_SIZE + MIN_PART_SIZE` are held (so the last part, sent by
    /// `finish`, is never below the minimum unless the whole range is).
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.buf.extend_from_slice(data);
        while self.buf.len() >= PART_SIZE + MIN_PART_SIZE {
            self.send(PART_SIZE)?;
        }
        Ok(())
    }

    fn send(&mut self, n: usize) -> Result<(), TransportError> {
        let number = self.offset / MIN_PART_SIZE as u64 + 1;
        if number > MAX_PARTS {
            return Err(S3Error::TooLarge {
                path: self.path.clone(),
                offset: self.offset,
                max: MAX_PARTS * MIN_PART_SIZE as u64,
            }
            .into());
        }
        upload_part(
            &self.client,
            &self.path,
            &self.key,
            &self.upload_id,
            number as u16,
            &self.buf[..n],
        )?;
        self.buf.drain(..n);
        self.offset += n as u64;
        Ok(())
    }

    /// Mandatory: send the rest of the range.
    pub fn finish(mut self) -> Result<(), TransportError> {
        if !self.buf.is_empty() {
            let n = self.buf.len();
            self.send(n)?;
        }
        Ok(())
    }
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
    fn read(&mut self, path: &str) -> Result<Box<dyn RemoteRead + '_>, TransportError> {
        Ok(Box::new(S3Transport::read(self, path)?))
    }
    fn read_at(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Box<dyn RemoteRead + '_>, TransportError> {
        Ok(Box::new(S3Transport::read_at(self, path, offset, len)?))
    }
    fn put(
        &mut self,
        path: &str,
        mode: PutMode,
    ) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
        Ok(Box::new(S3Transport::put(self, path, mode)?))
    }
    fn begin_upload(&mut self, path: &str) -> Result<Upload, TransportError> {
        S3Transport::begin_upload(self, path)
    }
    fn write_part(
        &mut self,
        up: &Upload,
        offset: u64,
    ) -> Result<Box<dyn RemoteWrite + '_>, TransportError> {
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

impl RemoteRead for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        S3Reader::read(self, buf)
    }
}

impl RemoteWrite for S3Writer {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        S3Writer::write_all(self, buf)
    }
    fn finish(self: Box<Self>) -> Result<(), TransportError> {
        S3Writer::finish(*self)
    }
}

impl RemoteWrite for S3PartWriter {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        S3PartWriter::write_all(self, buf)
    }
    fn finish(self: Box<Self>) -> Result<(), TransportError> {
        S3PartWriter::finish(*self)
    }
}
