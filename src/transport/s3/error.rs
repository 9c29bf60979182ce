//! What only an S3-compatible store can get wrong, carried inside
//! [`TransportError::S3`](crate::transport::TransportError::S3).
//!
//! Failures every network backend has (not found, already exists,
//! permission denied, unreachable, connection lost) stay in the shared
//! [`TransportError`](crate::transport::TransportError) variants; this
//! enum holds the rest. No message ever holds a secret: not the secret
//! key, not the session token, not a signed URL (whose query carries the
//! token), only host names, bucket names, keys and the store's error codes.

use std::path::PathBuf;

/// Errors specific to the S3 backend, by failure class.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// No credentials in the environment or the profile files.
    #[error(
        "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE \
         with a profile in {}",
        .credentials_file.display()
    )]
    NoCredentials {
        /// The shared credentials file looked in.
        credentials_file: PathBuf,
    },
    /// `AWS_PROFILE` (or `--profile`) names a profile that is in neither file.
    #[error("AWS profile {profile:?} not found in {} or {}", .credentials_file.display(), .config_file.display())]
    NoSuchProfile {
        /// The profile asked for.
        profile: String,
        /// `~/.aws/credentials` or `AWS_SHARED_CREDENTIALS_FILE`.
        credentials_file: PathBuf,
        /// `~/.aws/config` or `AWS_CONFIG_FILE`.
        config_file: PathBuf,
    },
    /// A profile file that cannot be parsed, or a profile missing a key.
    #[error("{}: {detail}", .file.display())]
    BadProfileFile {
        /// The file.
        file: PathBuf,
        /// What is wrong (never a value from the file).
        detail: String,
    },
    /// An endpoint URL that cannot be used.
    #[error("invalid S3 endpoint {endpoint:?}: {reason}")]
    BadEndpoint {
        /// The endpoint given.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// Plain HTTP to a host that is not loopback, without the flag that allows it.
    #[error(
        "refusing plain http:// to {host}: credentials and data would cross the network \
         unencrypted; use https://, or pass --insecure-plain-http if you really mean it"
    )]
    InsecureHttp {
        /// The endpoint's host.
        host: String,
    },
    /// `AWS_CA_BUNDLE` names a file that holds no usable certificate.
    #[error("AWS_CA_BUNDLE {}: {detail}", .path.display())]
    BadCaBundle {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The server's certificate does not name the host connected to.
    #[error(
        "TLS certificate of {host} does not match that name; refusing to connect (is the \
         endpoint right?)"
    )]
    CertificateNameMismatch {
        /// The host connected to.
        host: String,
    },
    /// The server's certificate does not chain to a trusted root, or is
    /// otherwise invalid.
    #[error(
        "TLS certificate of {host} is not trusted ({detail}); for a private CA set AWS_CA_BUNDLE \
         to its certificate file"
    )]
    CertificateUntrusted {
        /// The host connected to.
        host: String,
        /// What the TLS library reported.
        detail: String,
    },
    /// Any other TLS failure (handshake, protocol).
    #[error("TLS with {host} failed: {detail}")]
    Tls {
        /// The host connected to.
        host: String,
        /// What the TLS library reported.
        detail: String,
    },
    /// Nothing listens on the endpoint's port.
    #[error(
        "connection to {host} ({addr}) refused; is the S3 endpoint right and its server running?"
    )]
    ConnectionRefused {
        /// The endpoint's host.
        host: String,
        /// The address and port.
        addr: String,
    },
    /// The server did not answer in time.
    #[error("{host}: timed out {what}; check the network and the endpoint")]
    Timeout {
        /// The endpoint's host.
        host: String,
        /// What was being done.
        what: String,
    },
    /// The store refused the credentials themselves (wrong key id or secret,
    /// expired session token, clock skew).
    #[error(
        "S3 authentication refused by {host} ({code}); check AWS_ACCESS_KEY_ID, \
         AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or the profile) and the system clock"
    )]
    AuthFailed {
        /// The endpoint's host.
        host: String,
        /// The store's error code (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, ...).
        code: String,
    },
    /// The bucket does not exist.
    #[error("bucket {bucket:?} does not exist at {host}; create it first")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint's host.
        host: String,
    },
    /// A conditional replace found another version than the one read: some
    /// other writer changed the object in between, and nothing was written.
    #[error("{0}: changed by another writer since it was read; nothing was written, try again")]
    Changed(String),
    /// The store ignores `If-None-Match: *` (or `If-Match`), so creating an
    /// object without replacing another cannot be guaranteed.
    #[error(
        "{endpoint} does not support conditional writes ({detail}): two commands rewriting \
         one object at once could silently undo each other's change; refusing to use it \
         (--allow-lost-updates accepts that risk)"
    )]
    NoConditionalWrites {
        /// The endpoint and bucket.
        endpoint: String,
        /// What the probe saw.
        detail: String,
    },
    /// Any other error status from the store.
    #[error("{context}: the S3 store answered {status} {code}")]
    Status {
        /// What was being done.
        context: String,
        /// The HTTP status.
        status: u16,
        /// The store's error code, or `-` when the body had none.
        code: String,
    },
    /// A response the backend cannot understand.
    #[error("{context}: unexpected response from the S3 store: {detail}")]
    BadResponse {
        /// What was being done.
        context: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A multipart upload whose parts do not add up to the announced size.
    #[error("{path}: the uploaded parts hold {got} bytes, expected {want}")]
    UploadIncomplete {
        /// The object.
        path: String,
        /// Bytes in the parts the store lists.
        got: u64,
        /// Bytes announced.
        want: u64,
    },
    /// An object too large for this backend's part numbering.
    #[error(
        "{path}: offset {offset} is past the largest object this backend can upload in parts ({max} bytes)"
    )]
    TooLarge {
        /// The object.
        path: String,
        /// The offset asked for.
        offset: u64,
        /// The limit.
        max: u64,
    },
}
