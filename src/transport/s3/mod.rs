//! Vaults on S3-compatible object storage (AWS S3, R2, B2, Wasabi, MinIO,
//! Ceph RGW, Garage, SeaweedFS), reached at `s3://BUCKET/PREFIX`.
//!
//! Objects have no rename and no folders, so this backend implements the
//! transport's *intents* natively (see `transport`): no-replace creation
//! with `If-None-Match: *`, head replacement with `If-Match`, large bodies
//! as multipart uploads written by several connections, incomplete
//! uploads as the staging leftovers the sweep removes. A store that
//! ignores conditional writes is detected and refused (`probe`).
//!
//! Split by concern:
//! - `config`: the location, endpoint, region, addressing and credentials;
//! - `client`: signing (rusty-s3), HTTP (ureq, blocking), error mapping;
//! - `transport`: the operations, readers and writers;
//! - `probe`: the conditional-write check;
//! - `xml`: the one response rusty-s3 does not parse;
//! - `error`: [`S3Error`].
//!
//! Why rusty-s3 + ureq, measured against `aws-sdk-s3` and `object_store`
//! (both async, tokio + hyper): a third of the crates and build time, a
//! quarter of the binary growth, no runtime to hide behind a blocking
//! CLI, equal throughput against the same store (the store is the
//! bottleneck), and parts streamed from the caller's buffers; the price is
//! doing the credential chain and ListMultipartUploads here. The figures
//! are in the S3 section of `docs/FORMAT.md`.
//!
//! May import: `crate::transport` (the trait's types) and nothing above.

mod client;
mod config;
mod error;
mod probe;
mod transport;
mod xml;

pub use config::{EnvFn, S3Target};
pub use error::S3Error;
pub use transport::{
    MIN_PART_SIZE, PART_SIZE, S3PartWriter, S3Reader, S3Transport, S3Writer, SINGLE_PUT_MAX,
};

pub(crate) use config::parse_s3_url;
