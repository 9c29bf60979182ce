//! One HTTP connection pool to the store: signing (rusty-s3, SigV4 in the
//! query string), sending (ureq, blocking, rustls), and turning statuses and
//! network failures into [`TransportError`] classes.
//!
//! A signed URL carries the session token in its query, so URLs are never
//! put into an error or a log: errors name the host and the object key.
//! Redirects are not followed (a signed request must not travel to another
//! host), and the store's error bodies are read only for their `<Code>`.

use std::sync::Arc;
use std::time::Duration;

use instant_xml::FromXml;
use rusty_s3::{Bucket, Method, S3Action, UrlStyle};
use ureq::http;

use super::S3Error;
use super::config::{Resolved, S3Target};
use crate::transport::{ConnectOptions, TransportError};

/// How long a signed request stays valid; only its start has to fall inside.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// Largest error or listing body read into memory.
const MAX_XML_BODY: u64 = 16 << 20;

/// A response from the store, any status.
pub(crate) type Response = http::Response<ureq::Body>;

/// The parts shared by every connection of one location.
pub(crate) struct Client {
    agent: ureq::Agent,
    pub bucket: Bucket,
    creds: rusty_s3::Credentials,
    /// The endpoint's host, for messages.
    pub host: String,
    /// The vault prefix with a trailing `/`, or `""`.
    pub prefix: String,
    /// `endpoint/bucket/prefix`, for messages.
    pub describe: String,
}

/// The `<Code>` of an S3 error body (AWS sends no namespace).
#[derive(FromXml)]
#[xml(rename = "Error")]
struct ErrorBody {
    #[xml(rename = "Code")]
    code: Option<String>,
}

impl Client {
    pub fn new(
        r: Resolved,
        t: &S3Target,
        opts: &ConnectOptions,
    ) -> Result<Arc<Client>, TransportError> {
        let root_certs = match &r.ca_bundle {
            Some(ders) => {
                let certs: Vec<ureq::tls::Certificate<'static>> = ders
                    .iter()
                    .map(|d| ureq::tls::Certificate::from_der(d).to_owned())
                    .collect();
                ureq::tls::RootCerts::new_with_certs(&certs)
            }
            None => ureq::tls::RootCerts::PlatformVerifier,
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(root_certs)
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .timeout_connect(Some(
                opts.connect_timeout.unwrap_or(Duration::from_secs(20)),
            ))
            .timeout_per_read(Some(opts.io_timeout))
            .timeout_per_write(Some(opts.io_timeout))
            .max_idle_connections_per_host(64)
            .build()
            .new_agent();
        let style = if r.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            r.endpoint.clone(),
            style,
            t.bucket.clone(),
            r.region.clone(),
        )
        .map_err(|e| S3Error::BadEndpoint {
            endpoint: r.endpoint.to_string(),
            reason: e.to_string(),
        })?;
        let prefix = if t.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", t.prefix)
        };
        let ep = r.endpoint.as_str().trim_end_matches('/');
        Ok(Arc::new(Client {
            agent,
            bucket,
            creds: r.credentials,
            host: r.host,
            describe: format!("s3://{}/{} at {ep}", t.bucket, t.prefix),
            prefix,
        }))
    }

    pub fn creds(&self) -> &rusty_s3::Credentials {
        &self.creds
    }

    /// The object key of a transport path.
    pub fn key(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Sign `act` with `headers` (which are also sent) and send it.
    pub fn send<'a, A: S3Action<'a>>(
        &self,
        mut act: A,
        headers: &[(&'a str, &'a str)],
        body: &[u8],
        context: &str,
    ) -> Result<Response, TransportError> {
        for (k, v) in headers {
            act.headers_mut().insert(*k, *v);
        }
        let url = act.sign(SIGNED_FOR);
        self.send_url(A::METHOD, url, headers, body, context)
    }

    /// Send an already signed URL.
    pub fn send_url(
        &self,
        method: Method,
        url: url::Url,
        headers: &[(&str, &str)],
        body: &[u8],
        context: &str,
    ) -> Result<Response, TransportError> {
        let mut req = http::Request::builder()
            .method(method.to_str())
            .uri(url.as_str());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).map_err(|e| S3Error::BadResponse {
            context: context.to_owned(),
            detail: format!("cannot build the request: {e}"),
        })?;
        self.agent.run(req).map_err(|e| self.net_error(e, context))
    }

    /// A network-level failure (no status) as an error class.
    pub fn net_error(&self, e: ureq::Error, context: &str) -> TransportError {
        let host = self.host.clone();
        match e {
            ureq::Error::Io(io) => self.io_error(io, context),
            ureq::Error::HostNotFound => TransportError::Unreachable {
                addr: host.clone(),
                host,
                reason: "the name does not resolve".into(),
            },
            ureq::Error::ConnectionFailed => TransportError::Unreachable {
                addr: host.clone(),
                host,
                reason: "the connection failed".into(),
            },
            ureq::Error::Timeout(t) => S3Error::Timeout {
                host,
                what: format!("{context} ({t})"),
            }
            .into(),
            ureq::Error::Rustls(r) => tls_error(host, r),
            ureq::Error::Tls(m) => S3Error::Tls {
                host,
                detail: m.to_owned(),
            }
            .into(),
            // Deliberately not the error's own text for the rest: some
            // variants (BadUri) would quote the signed URL.
            other => TransportError::ConnectionLost {
                host,
                detail: format!("{context}: {}", ureq_class(&other)),
            },
        }
    }

    /// An I/O failure on the connection (while sending or reading a body).
    pub fn io_error(&self, io: std::io::Error, context: &str) -> TransportError {
        let host = self.host.clone();
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => S3Error::ConnectionRefused {
                addr: self.bucket.base_url().authority().to_owned(),
                host,
            }
            .into(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => S3Error::Timeout {
                host,
                what: context.to_owned(),
            }
            .into(),
            // ureq hands TLS failures on as io::Error holding rustls's
            // error (its packing, not ours): classify them by that type.
            _ if io
                .get_ref()
                .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some()) =>
            {
                let inner = io.into_inner().expect("checked above");
                match inner.downcast::<rustls::Error>() {
                    Ok(r) => tls_error(host, *r),
                    Err(other) => S3Error::Tls {
                        host,
                        detail: other.to_string(),
                    }
                    .into(),
                }
            }
            // Otherwise by kind only; ureq's text for an error inside a
            // body (connection reset, short body) names no URL.
            _ => TransportError::ConnectionLost {
                host,
                detail: format!("{context}: {io}"),
            },
        }
    }

    /// The error for a response with an unexpected status. `path` is the
    /// transport path the request was about (for messages).
    pub fn status_error(&self, resp: Response, path: &str, context: &str) -> TransportError {
        let status = resp.status().as_u16();
        let code = read_error_code(resp);
        let host = self.host.clone();
        let code_str = code.as_deref().unwrap_or("-");
        match (status, code_str) {
            (404, "NoSuchBucket") => S3Error::NoSuchBucket {
                bucket: self.bucket.name().to_owned(),
                host,
            }
            .into(),
            (404, _) => TransportError::NotFound(path.to_owned()),
            (
                400 | 403,
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"
                | "RequestTimeTooSkewed"
                | "AuthorizationHeaderMalformed"
                | "InvalidSecurity",
            ) => S3Error::AuthFailed {
                host,
                code: code_str.to_owned(),
            }
            .into(),
            (403, _) => TransportError::PermissionDenied(format!("{path} ({context})")),
            (_, "QuotaExceeded" | "EntityTooLarge") => {
                TransportError::NoSpace(format!("{path} ({context})"))
            }
            _ => S3Error::Status {
                context: format!("{context} {path}"),
                status,
                code: code_str.to_owned(),
            }
            .into(),
        }
    }

    /// The XML body of a 200 answer to `context` on `path`, as `parse`
    /// reads it: another status is the error it stands for
    /// ([`Client::status_error`]), and a body `parse` refuses is a
    /// `BadResponse`.
    pub fn parse_xml<T, E: std::fmt::Display>(
        &self,
        resp: Response,
        path: &str,
        context: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, TransportError> {
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(resp, path, context));
        }
        let text = self.read_xml(resp, context)?;
        parse(&text).map_err(|e| {
            S3Error::BadResponse {
                context: format!("{context} {path}"),
                detail: e.to_string(),
            }
            .into()
        })
    }

    /// Read a small XML body, or fail with a `BadResponse`.
    pub fn read_xml(&self, resp: Response, context: &str) -> Result<String, TransportError> {
        let mut body = resp.into_body();
        body.with_config()
            .limit(MAX_XML_BODY)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::Io(io) => self.io_error(io, context),
                other => S3Error::BadResponse {
                    context: context.to_owned(),
                    detail: ureq_class(&other),
                }
                .into(),
            })
    }
}

/// The `<Code>` of an error body, if it has one.
fn read_error_code(resp: Response) -> Option<String> {
    let mut body = resp.into_body();
    let text = body.with_config().limit(64 << 10).read_to_string().ok()?;
    let start = text.find("<Error")?;
    instant_xml::from_str::<ErrorBody>(&text[start..])
        .ok()?
        .code
}

/// A TLS failure as one line naming the host.
fn tls_error(host: String, e: rustls::Error) -> TransportError {
    use rustls::{CertificateError, Error as R};
    match e {
        R::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => S3Error::CertificateNameMismatch { host }.into(),
        R::InvalidCertificate(c) => S3Error::CertificateUntrusted {
            host,
            detail: c.to_string(),
        }
        .into(),
        other => S3Error::Tls {
            host,
            detail: other.to_string(),
        }
        .into(),
    }
}

/// A short class name for a ureq error whose text must not be shown.
fn ureq_class(e: &ureq::Error) -> String {
    match e {
        ureq::Error::BadUri(_) => "bad request URI".into(),
        ureq::Error::BodyExceedsLimit(n) => format!("response body over {n} bytes"),
        ureq::Error::Protocol(p) => format!("HTTP protocol error ({p})"),
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the store answered with a redirect (wrong region or endpoint?)".into()
        }
        ureq::Error::LargeResponseHeader(..) => "response header too large".into(),
        _ => "HTTP client error".into(),
    }
}
