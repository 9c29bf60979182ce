//! The once-per-location check that the store honours conditional writes.
//!
//! vault's guarantees on S3 rest on `If-None-Match: *` (an object is never
//! created over another) and `If-Match` (a head is never replaced over a
//! version the writer did not read). A store that ignores those headers
//! accepts both requests and silently overwrites, so the backend asks once,
//! before the first write through a location: under the vault prefix it
//! writes a probe object `probe.HEX16.tmp` (at the vault's root, not in a
//! sub-prefix: SeaweedFS keeps an emptied sub-prefix listed as a folder)
//! with `If-None-Match: *` (must succeed), again with `If-None-Match: *`
//! (must be refused with 412), then with a wrong `If-Match` (must be refused
//! with 412), and removes it. Any other answer refuses the store with
//! [`S3Error::NoConditionalWrites`], unless the user accepted the weaker
//! guarantee (`allow_unconditional_writes`). Connections opened by
//! `reconnect` share the result.

use super::S3Error;
use super::client::Client;
use crate::transport::TransportError;

/// The probe object's name starts with this, then 16 hex digits and `.tmp`.
pub(crate) const PROBE_PREFIX: &str = "probe.";

/// Whether `name` (an entry of the vault root) is a probe object a
/// connection could not remove (it crashed in between).
pub(crate) fn is_probe_name(name: &str) -> bool {
    name.strip_prefix(PROBE_PREFIX)
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Probe; `Ok` when both conditions are honoured.
pub(crate) fn conditional_writes(c: &Client) -> Result<(), TransportError> {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| TransportError::Io {
        context: "drawing a random probe name".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let path = format!("{PROBE_PREFIX}{hex}.tmp");
    let key = c.key(&path);
    let put = |headers: &[(&str, &str)]| -> Result<u16, TransportError> {
        let act = c.bucket.put_object(Some(c.creds()), &key);
        let resp = c.send(
            act,
            headers,
            b"vault conditional-write probe\n",
            "probing conditional writes",
        )?;
        let status = resp.status().as_u16();
        match status {
            200 | 412 | 501 => Ok(status),
            _ => Err(c.status_error(resp, &path, "probing conditional writes")),
        }
    };
    let first = put(&[("if-none-match", "*")])?;
    let verdict = if first != 200 {
        Err(format!(
            "a first If-None-Match: * write was answered {first}"
        ))
    } else {
        match put(&[("if-none-match", "*")])? {
            412 => match put(&[("if-match", "\"00000000000000000000000000000000\"")])? {
                412 => Ok(()),
                s => Err(format!("a write with a wrong If-Match was answered {s}")),
            },
            s => Err(format!(
                "a second If-None-Match: * write was answered {s}, not 412"
            )),
        }
    };
    let act = c.bucket.delete_object(Some(c.creds()), &key);
    let _ = c.send(act, &[], &[], "removing the probe");
    verdict.map_err(|detail| {
        S3Error::NoConditionalWrites {
            endpoint: c.describe.clone(),
            detail,
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn probe_names() {
        assert!(super::is_probe_name("probe.0123456789abcdef.tmp"));
        for n in [
            "probe.0123.tmp",
            "probe.0123456789abcdefg.tmp",
            "VAULT",
            "probe.0123456789abcdef",
        ] {
            assert!(!super::is_probe_name(n), "{n}");
        }
    }
}
