//! The one listing rusty-s3 does not parse: ListMultipartUploads, for the
//! staging sweep. Signed with rusty-s3's public SigV4 signer.

use instant_xml::FromXml;
use rusty_s3::Method;

use super::S3Error;
use super::client::Client;
use super::transport::parse_rfc3339;
use crate::transport::TransportError;

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

#[derive(FromXml)]
#[xml(rename = "ListMultipartUploadsResult", ns(S3_NS))]
struct Page {
    #[xml(rename = "IsTruncated")]
    is_truncated: Option<bool>,
    #[xml(rename = "NextKeyMarker")]
    next_key_marker: Option<String>,
    #[xml(rename = "NextUploadIdMarker")]
    next_upload_id_marker: Option<String>,
    uploads: Vec<UploadXml>,
}

#[derive(FromXml)]
#[xml(rename = "Upload", ns(S3_NS))]
struct UploadXml {
    #[xml(rename = "Key")]
    key: String,
    #[xml(rename = "UploadId")]
    upload_id: String,
    #[xml(rename = "Initiated")]
    initiated: Option<String>,
}

/// One incomplete multipart upload.
pub(crate) struct PendingUpload {
    /// The object key (with the vault prefix).
    pub key: String,
    pub upload_id: String,
    /// Seconds since the epoch.
    pub initiated: Option<u64>,
}

/// Every incomplete upload under the vault prefix.
pub(crate) fn list_uploads(c: &Client) -> Result<Vec<PendingUpload>, TransportError> {
    let ctx = "listing unfinished uploads";
    let mut out = Vec::new();
    let mut markers: Option<(String, String)> = None;
    loop {
        let mut query: Vec<(&str, &str)> = vec![("uploads", ""), ("prefix", c.prefix.as_str())];
        if let Some((k, u)) = &markers {
            query.push(("key-marker", k.as_str()));
            query.push(("upload-id-marker", u.as_str()));
        }
        // The signer merges these with its own X-Amz-* pairs: sorted, as
        // the canonical request lists them.
        query.sort_unstable();
        let creds = c.creds();
        let url = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            Method::Get,
            c.bucket.base_url().clone(),
            creds.key(),
            creds.secret(),
            creds.token(),
            c.bucket.region(),
            900,
            query.iter().copied(),
            std::iter::empty(),
        );
        let resp = c.send_url(Method::Get, url, &[], &[], ctx)?;
        if resp.status().as_u16() != 200 {
            return Err(c.status_error(resp, "", ctx));
        }
        let text = c.read_xml(resp, ctx)?;
        let page: Page = instant_xml::from_str(&text).map_err(|e| S3Error::BadResponse {
            context: ctx.into(),
            detail: e.to_string(),
        })?;
        let n = page.uploads.len();
        out.extend(page.uploads.into_iter().map(|u| PendingUpload {
            initiated: u.initiated.as_deref().and_then(parse_rfc3339),
            key: u.key,
            upload_id: u.upload_id,
        }));
        match (
            page.is_truncated,
            page.next_key_marker,
            page.next_upload_id_marker,
        ) {
            (Some(true), Some(k), Some(u)) if n > 0 => markers = Some((k, u)),
            _ => return Ok(out),
        }
    }
}
