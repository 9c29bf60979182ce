//! Writing objects: whole puts ([`S3Writer`]), the parts one connection
//! writes of a multipart upload ([`S3PartWriter`]), and the requests both
//! make (PUT, CreateMultipartUpload, UploadPart, ListParts,
//! CompleteMultipartUpload, AbortMultipartUpload), each with the
//! condition its `PutMode` asks for.
//!
//! Memory. A part's length goes in its request before its first byte, and
//! neither writer is told how many bytes will come, so each holds what it
//! has not sent, in one buffer allocated once:
//!
//! - a put holds up to [`SINGLE_PUT_MAX`] (one PUT if the body ends
//!   there); once more comes, it sends the buffer as a part and starts
//!   again. Its last part is the upload's last, which may be of any size.
//!   Parts are [`PART_SIZE`] for the first thousand, then grow by that much
//!   every thousand, so a stream of any size up to about 290 GB fits in
//!   S3's 10,000 parts while memory stays at 5 MiB for anything under 5 GB;
//! - a part writer's last part lands in the middle of the upload and must
//!   not be below S3's minimum, so it sends a [`PART_SIZE`] part only once
//!   it holds two and more is coming: at most `2 x PART_SIZE` (10 MiB), and
//!   its last part is between one and two minimums (or all of a shorter
//!   range).
//!
//! With the remote layer's own queue this bounds a push to about 11 MiB
//! per connection. (Knowing each range's length up front would let a part
//! writer stream its parts with nothing held; the trait does not say it.)

use std::sync::Arc;

use instant_xml::ToXml;
use rusty_s3::actions::{CompleteMultipartUpload, CreateMultipartUpload, ListParts};

use super::S3Error;
use super::client::Client;
use super::transport::{Shared, header};
use crate::transport::{PutMode, RemoteWrite, TransportError, Upload};

/// Largest body `put` sends as one PUT; above it, a multipart upload.
pub const SINGLE_PUT_MAX: usize = PART_SIZE;
/// Size of the parts the writers cut (all but a writer's last; a put's
/// parts grow past the first thousand, see the module docs): S3's minimum,
/// so that a writer holds as little as S3 allows.
pub const PART_SIZE: usize = MIN_PART_SIZE;
/// S3's smallest part except the last, and the unit of part numbers.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part number.
pub(super) const MAX_PARTS: u64 = 10_000;
/// What a part writer holds at most: two parts.
const PART_WRITER_HOLDS: usize = 2 * PART_SIZE;
/// A put's parts grow by [`PART_SIZE`] after every this many.
const GROW_EVERY: usize = 1_000;

/// The size of a put's part number `n` (1-based).
fn put_part_size(n: usize) -> usize {
    PART_SIZE * (1 + (n - 1) / GROW_EVERY)
}

/// Append as much of `data` to `buf` as fits below `cap` bytes and return
/// how much; the buffer grows in steps (a small put stays small) but never
/// past `cap`.
fn fill(buf: &mut Vec<u8>, data: &[u8], cap: usize) -> usize {
    let n = data.len().min(cap - buf.len());
    let need = buf.len() + n;
    if need > buf.capacity() {
        let want = need.max(buf.capacity() * 2).max(64 << 10).min(cap);
        buf.reserve_exact(want - buf.len());
    }
    buf.extend_from_slice(&data[..n]);
    n
}

/// The error for a failed conditional write.
pub(super) fn precondition_failed(path: &str, mode: PutMode) -> TransportError {
    match mode {
        PutMode::New => TransportError::AlreadyExists(path.to_owned()),
        PutMode::Replace => S3Error::Changed(path.to_owned()).into(),
    }
}

/// One PUT of a whole body; returns the new ETag.
pub(super) fn put_object(
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

pub(super) fn create_upload(c: &Client, path: &str, key: &str) -> Result<String, TransportError> {
    let act = c.bucket.create_multipart_upload(Some(c.creds()), key);
    let ctx = "starting an upload";
    let resp = c.send(act, &[], &[], ctx)?;
    c.parse_xml(resp, path, ctx, |text| {
        CreateMultipartUpload::parse_response(text).map(|r| r.upload_id().to_owned())
    })
}

pub(super) fn upload_part(
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
pub(super) fn list_parts(
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
        let page = c.parse_xml(resp, path, ctx, ListParts::parse_response)?;
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

pub(super) fn complete(
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
pub(super) fn abort(c: &Client, key: &str, id: &str) {
    let act = c.bucket.abort_multipart_upload(Some(c.creds()), key, id);
    let _ = c.send(act, &[], &[], "aborting an upload");
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
    pub(super) fn new(
        client: Arc<Client>,
        shared: Arc<Shared>,
        path: &str,
        cond: Option<(&'static str, String)>,
        mode: PutMode,
    ) -> S3Writer {
        S3Writer {
            key: client.key(path),
            client,
            shared,
            path: path.to_owned(),
            mode,
            cond,
            buf: Vec::new(),
            upload: None,
        }
    }

    /// The most the current part may hold.
    fn part_cap(&self) -> usize {
        let sent = self.upload.as_ref().map_or(0, |(_, etags)| etags.len());
        put_part_size(sent + 1)
    }

    /// Buffer `data`; once more than [`SINGLE_PUT_MAX`] came, send full
    /// parts as more arrives.
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), TransportError> {
        while !data.is_empty() {
            let cap = self.part_cap();
            if self.buf.len() == cap {
                // Full and more is coming: not the last part.
                self.send_part()?;
                continue;
            }
            let n = fill(&mut self.buf, data, cap);
            data = &data[n..];
        }
        Ok(())
    }

    /// Send the buffer as the next part (starting the upload first).
    fn send_part(&mut self) -> Result<(), TransportError> {
        if self.upload.is_none() {
            let id = create_upload(&self.client, &self.path, &self.key)?;
            self.upload = Some((id, Vec::new()));
        }
        let (id, etags) = self.upload.as_mut().expect("just set");
        let number = u16::try_from(etags.len() + 1).unwrap_or(u16::MAX);
        if u64::from(number) > MAX_PARTS {
            let sent: u64 = (1..=etags.len()).map(|n| put_part_size(n) as u64).sum();
            return Err(S3Error::TooLarge {
                path: self.path.clone(),
                offset: sent,
                max: sent,
            }
            .into());
        }
        let act = self
            .client
            .bucket
            .upload_part(Some(self.client.creds()), &self.key, number, id);
        let ctx = "writing a part";
        let resp = self.client.send(act, &[], &self.buf, ctx)?;
        if resp.status().as_u16() != 200 {
            return Err(self.client.status_error(resp, &self.path, ctx));
        }
        let etag = header(&resp, "etag").ok_or_else(|| S3Error::BadResponse {
            context: format!("{ctx} {}", self.path),
            detail: "no ETag".into(),
        })?;
        etags.push(etag);
        self.buf.clear();
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
                // Never empty: a part is sent only when more bytes follow.
                self.send_part()?;
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
        // A completed write outranks every read in flight (see
        // `Shared::tickets`).
        let t = self
            .shared
            .tickets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut m = self.shared.etags.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(self.path.clone(), (etag, t));
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
    pub(super) fn new(client: Arc<Client>, up: &Upload, offset: u64) -> S3PartWriter {
        S3PartWriter {
            key: client.key(&up.path),
            client,
            path: up.path.clone(),
            upload_id: up.token.clone(),
            offset,
            buf: Vec::new(),
        }
    }

    /// Buffer `data`, sending a part of [`PART_SIZE`] when two are held
    /// and more is coming (so the last part, sent by `finish`, is never
    /// below the minimum unless the whole range is).
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), TransportError> {
        while !data.is_empty() {
            if self.buf.len() == PART_WRITER_HOLDS {
                self.send(PART_SIZE)?;
                continue;
            }
            let n = fill(&mut self.buf, data, PART_WRITER_HOLDS);
            data = &data[n..];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_parts_fit_any_stream_up_to_the_part_limit() {
        assert_eq!(put_part_size(1), PART_SIZE);
        assert_eq!(put_part_size(GROW_EVERY), PART_SIZE);
        assert_eq!(put_part_size(GROW_EVERY + 1), 2 * PART_SIZE);
        let total: u64 = (1..=MAX_PARTS as usize)
            .map(|n| put_part_size(n) as u64)
            .sum();
        assert!(total > 280_000_000_000, "{total}");
        assert!(put_part_size(MAX_PARTS as usize) <= 50 << 20);
    }

    #[test]
    fn fill_grows_in_steps_and_never_past_the_cap() {
        let mut buf = Vec::new();
        assert_eq!(fill(&mut buf, &[1; 100], 1 << 20), 100);
        assert!(buf.capacity() < 1 << 20, "a small put stays small");
        let big = vec![2u8; 3 << 20];
        assert_eq!(fill(&mut buf, &big, 1 << 20), (1 << 20) - 100);
        assert_eq!(buf.len(), 1 << 20);
        assert_eq!(buf.capacity(), 1 << 20, "exactly the cap");
        assert_eq!(fill(&mut buf, &big, 1 << 20), 0);
    }
}
