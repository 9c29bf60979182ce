//! Reading an S3 object: [`S3Reader`] streams one GET's body (a whole
//! object or a byte range) as it arrives, never buffered whole, and turns a
//! connection that breaks or a body shorter than announced into an error,
//! never an early end. `transport.rs` sends the GET and hands the answer
//! here.

use std::io::Read;
use std::sync::Arc;

use super::client::{Client, Response};
use crate::transport::{RemoteRead, TransportError};

/// Reads one object or byte range as it arrives (never buffered whole).
pub struct S3Reader {
    client: Arc<Client>,
    path: String,
    body: Option<Box<dyn Read + Send>>,
    failed: bool,
}

impl S3Reader {
    pub(super) fn empty(c: &Arc<Client>, path: &str) -> S3Reader {
        S3Reader {
            client: Arc::clone(c),
            path: path.to_owned(),
            body: None,
            failed: false,
        }
    }

    pub(super) fn body(
        c: &Arc<Client>,
        path: &str,
        resp: Response,
        limit: Option<u64>,
    ) -> S3Reader {
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

impl RemoteRead for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        S3Reader::read(self, buf)
    }
}
