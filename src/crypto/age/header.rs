//! The age v1 text header: its one canonical encoding and its MAC.
//!
//! ```text
//! age-encryption.org/v1
//! -> X25519 <base64 ephemeral share>          one stanza: "-> " args, then
//! <base64 body, 64 columns a line>             a body whose last line is
//! <last line, 0 to 63 columns>                 shorter than 64 columns
//! --- <base64 HMAC-SHA256[HKDF["", "header"](file key)](header up to "---")>
//! ```
//!
//! Parsing follows the ABNF of the C2SP age specification strictly: LF line
//! ends only, arguments of printable ASCII separated by single spaces,
//! canonical unpadded base64, full body lines of exactly 64 columns and a
//! short final line (possibly empty), and a MAC line of exactly 43 base64
//! columns. So a header has exactly one encoding, and serialising a parsed
//! header gives back its bytes; the MAC is computed over that encoding.
//! Lines, stanzas and the whole header are bounded, so a hostile file cannot
//! make the parser allocate without limit. Which stanza types are known, and
//! what their arguments mean, is the business of each type's module; the one
//! header-wide rule about types (an `scrypt` stanza must be alone) is
//! checked here, as vault's own header checks its passphrase stanza.

use crate::crypto::header::HeaderMac;
use std::io::{self, BufRead, Read};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::crypto::error::CryptoError;
use crate::crypto::keys::FileKey;
use crate::crypto::primitives::TAG_LEN;

/// The first line of every age v1 file.
pub const VERSION_LINE: &[u8] = b"age-encryption.org/v1";
/// Columns of a full body line.
pub const COLUMNS: usize = 64;
/// Most stanzas in one header (the same bound as vault's header).
pub const MAX_STANZAS: usize = crate::crypto::header::MAX_STANZAS;
/// Longest header line accepted (arguments of unknown stanza types included).
pub const MAX_LINE: usize = 16 * 1024;
/// Longest header accepted, in bytes.
pub const MAX_HEADER: usize = 1024 * 1024;
/// Length of age's file keys.
pub const FILE_KEY_LEN: usize = 16;
/// Body length of the native stanza types: the wrapped file key and its tag.
pub const BODY_LEN: usize = FILE_KEY_LEN + TAG_LEN;
/// The stanza type of X25519 recipients.
pub const X25519: &str = "X25519";
/// The stanza type of passphrase recipients, which must be alone.
pub const SCRYPT: &str = "scrypt";

/// One recipient stanza: its arguments (the first is its type) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    /// The arguments, each one or more printable ASCII characters; the first
    /// names the stanza type (`X25519`, `scrypt`, ...).
    pub args: Vec<String>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl Stanza {
    /// The stanza type: its first argument (empty only for a stanza built
    /// by hand without arguments, which serialises to nothing valid).
    pub fn kind(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }
}

/// A parsed age v1 header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The recipient stanzas, in file order.
    pub stanzas: Vec<Stanza>,
    /// The header MAC.
    pub mac: [u8; 32],
}

/// age's header MAC: `info = "header"`.
const MAC: HeaderMac = HeaderMac::new(b"header");

fn bad(why: &'static str) -> CryptoError {
    CryptoError::InvalidHeader(why)
}

/// Reads header lines while counting the bytes they take.
struct Lines<'a, R: ?Sized> {
    r: &'a mut R,
    used: usize,
    /// Zeroized: plugin messages carry file keys and secrets.
    line: zeroize::Zeroizing<Vec<u8>>,
}

impl<R: BufRead + ?Sized> Lines<'_, R> {
    /// The next line without its LF; a line that does not end in LF is a
    /// header that ends early.
    fn next(&mut self) -> Result<&[u8], CryptoError> {
        self.line.clear();
        let limit = (MAX_LINE + 1).min((MAX_HEADER + 1).saturating_sub(self.used)) as u64;
        let n = (&mut *self.r)
            .take(limit)
            .read_until(b'\n', &mut self.line)
            .map_err(CryptoError::Io)?;
        self.used += n;
        if self.line.last() != Some(&b'\n') {
            return Err(bad(if n as u64 == limit {
                "a header line or the header is too long"
            } else {
                "the file ends inside the header"
            }));
        }
        self.line.pop();
        Ok(&self.line)
    }
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Decode canonical unpadded base64 (padding and non-zero trailing bits are
/// refused by the engine's default configuration).
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    if !text.iter().all(|&c| is_base64_char(c)) {
        return None;
    }
    STANDARD_NO_PAD.decode(text).ok()
}

/// A stanza argument that must be canonical base64 of exactly `N` bytes;
/// anything else is a damaged header, reported as `why`.
pub fn decode_base64_array<const N: usize>(
    arg: &str,
    why: &'static str,
) -> Result<[u8; N], CryptoError> {
    decode_base64(arg.as_bytes())
        .and_then(|b| b.try_into().ok())
        .ok_or(bad(why))
}

/// Canonical unpadded base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Parse `-> arg arg ...` (the caller has checked the `-> ` prefix).
fn parse_args(rest: &[u8]) -> Result<Vec<String>, CryptoError> {
    rest.split(|&c| c == b' ')
        .map(|arg| {
            if arg.is_empty() {
                return Err(bad("a stanza has an empty argument"));
            }
            if !arg.iter().all(|c| (0x21..=0x7e).contains(c)) {
                return Err(bad("a stanza argument is not printable ASCII"));
            }
            Ok(String::from_utf8(arg.to_vec()).expect("checked ASCII"))
        })
        .collect()
}

/// The body lines of a stanza, decoded (the body is zeroized on error).
fn read_body<R: BufRead + ?Sized>(lines: &mut Lines<'_, R>) -> Result<Vec<u8>, CryptoError> {
    let mut text = zeroize::Zeroizing::new(Vec::new());
    loop {
        let body_line = lines.next()?;
        if body_line.len() > COLUMNS || !body_line.iter().all(|&c| is_base64_char(c)) {
            return Err(bad(
                "a stanza body line is not base64 of at most 64 columns",
            ));
        }
        text.extend_from_slice(body_line);
        if body_line.len() < COLUMNS {
            break;
        }
    }
    decode_base64(&text).ok_or(bad("a stanza body is not canonical base64"))
}

/// Read one stanza (`-> args` then its body) from `r`, by the header's
/// grammar and bounds, as the age plugin protocol sends them: `Ok(None)`
/// at a clean end of input. At most `max` bytes are read.
pub fn read_stanza<R: BufRead + ?Sized>(
    r: &mut R,
    max: usize,
) -> Result<Option<Stanza>, CryptoError> {
    let mut lines = Lines {
        r,
        used: MAX_HEADER.saturating_sub(max),
        // Sized up front, so that a secret line is never left behind by a
        // reallocation.
        line: zeroize::Zeroizing::new(Vec::with_capacity(MAX_LINE + 1)),
    };
    if lines.r.fill_buf().map_err(CryptoError::Io)?.is_empty() {
        return Ok(None);
    }
    let first = lines.next()?;
    let rest = first
        .strip_prefix(b"-> ")
        .ok_or(bad("a message does not start with \"-> \""))?;
    let args = parse_args(rest)?;
    let body = read_body(&mut lines)?;
    Ok(Some(Stanza { args, body }))
}

/// The encoding of one stanza, as in a header (and the plugin protocol).
pub fn stanza_bytes(s: &Stanza) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + s.body.len() * 4 / 3);
    write_stanza(&mut out, s);
    out
}

fn write_stanza(out: &mut Vec<u8>, s: &Stanza) {
    out.extend_from_slice(b"->");
    for arg in &s.args {
        out.push(b' ');
        out.extend_from_slice(arg.as_bytes());
    }
    out.push(b'\n');
    let text = encode_base64(&s.body);
    let mut lines = text.as_bytes().chunks(COLUMNS).peekable();
    while let Some(line) = lines.next() {
        out.extend_from_slice(line);
        out.push(b'\n');
        if lines.peek().is_none() && line.len() == COLUMNS {
            out.push(b'\n');
        }
    }
    if text.is_empty() {
        out.push(b'\n');
    }
}

impl Header {
    /// Read a header from `r`, consuming exactly its bytes (through the MAC
    /// line's LF). The MAC is read but not checked: that needs the file key.
    pub fn read_from<R: BufRead + ?Sized>(r: &mut R) -> Result<Header, CryptoError> {
        let mut lines = Lines {
            r,
            used: 0,
            line: zeroize::Zeroizing::new(Vec::with_capacity(128)),
        };
        let first = lines.next()?;
        if first != VERSION_LINE {
            return Err(bad(if first.strip_suffix(b"\r") == Some(VERSION_LINE) {
                "header lines end in CR LF, not LF (was the file converted as text?)"
            } else if first.starts_with(b"age-encryption.org/") {
                "unsupported age format version"
            } else {
                "not an age v1 header"
            }));
        }
        let mut stanzas = Vec::new();
        loop {
            let line = lines.next()?;
            if let Some(rest) = line.strip_prefix(b"-> ") {
                if stanzas.len() == MAX_STANZAS {
                    return Err(bad("too many recipient stanzas"));
                }
                let args = parse_args(rest)?;
                let body = read_body(&mut lines)?;
                stanzas.push(Stanza { args, body });
            } else if let Some(rest) = line.strip_prefix(b"--- ") {
                let mac = decode_base64(rest)
                    .and_then(|m| <[u8; 32]>::try_from(m).ok())
                    .ok_or(bad("the header MAC is not canonical base64 of 32 bytes"))?;
                if stanzas.is_empty() {
                    return Err(bad("no recipient stanzas"));
                }
                if stanzas.len() > 1 && stanzas.iter().any(|s| s.kind() == SCRYPT) {
                    return Err(CryptoError::PassphraseNotAlone);
                }
                return Ok(Header { stanzas, mac });
            } else {
                return Err(bad("a header line is neither a stanza nor the MAC line"));
            }
        }
    }

    /// The encoding of everything the MAC covers: up to and including `---`.
    fn mac_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 128 * self.stanzas.len());
        out.extend_from_slice(VERSION_LINE);
        out.push(b'\n');
        for s in &self.stanzas {
            write_stanza(&mut out, s);
        }
        out.extend_from_slice(b"---");
        out
    }

    /// The header's canonical encoding, MAC line included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.mac_input();
        out.push(b' ');
        out.extend_from_slice(encode_base64(&self.mac).as_bytes());
        out.push(b'\n');
        out
    }

    /// Check the stanza count, then set the MAC for `file_key`.
    pub fn seal_mac(&mut self, file_key: &FileKey) -> Result<(), CryptoError> {
        self.mac = MAC.seal(file_key, self.stanzas.len(), &self.mac_input())?;
        Ok(())
    }

    /// Whether the MAC matches `file_key` (constant time).
    pub fn verify_mac(&self, file_key: &FileKey) -> bool {
        MAC.verify(file_key, &self.mac_input(), &self.mac)
    }
}

/// Read exactly `buf.len()` bytes that belong to the header (the payload
/// nonce): an early end is a damaged header, as age reports it.
pub fn read_header_bytes<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<(), CryptoError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => bad("the file ends inside the payload nonce"),
        _ => CryptoError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testing::{check_mac, parse_inverts_serialise};

    fn stanza(args: &[&str], body: &[u8]) -> Stanza {
        Stanza {
            args: args.iter().map(|s| s.to_string()).collect(),
            body: body.to_vec(),
        }
    }

    fn sample() -> Header {
        let mut h = Header {
            stanzas: vec![
                stanza(
                    &["X25519", "TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc"],
                    &[7; 32],
                ),
                stanza(&["grease", "!x"], &[]),
                stanza(&["full"], &[1; 48]),
                stanza(&["long", "a", "b"], &[2; 100]),
            ],
            mac: [0; 32],
        };
        h.seal_mac(&FileKey::from_bytes(&[5; 16]).unwrap()).unwrap();
        h
    }

    #[test]
    fn parse_then_serialise_is_the_identity() {
        let bytes = parse_inverts_serialise(
            &sample(),
            Header::to_bytes,
            |r| Header::read_from(r),
            b"\x00payload",
        );
        // An empty body and a body of exactly 64 columns both end with an
        // empty line.
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("-> grease !x\n\n"), "{text}");
        assert!(text.contains(&format!("-> full\n{}\n\n", "AQEB".repeat(16))));
    }

    #[test]
    fn mac_catches_every_change() {
        let keys = [&[5; 16], &[6; 16]].map(|k| FileKey::from_bytes(k).unwrap());
        check_mac(&sample(), &keys);
    }

    #[test]
    fn strict_parsing() {
        let good = String::from_utf8(sample().to_bytes()).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "ends inside the header"),
            ("age-encryption.org/v1".into(), "ends inside the header"),
            (
                "age-encryption.org/v2\n".into(),
                "unsupported age format version",
            ),
            ("hello\n".into(), "not an age v1 header"),
            (good.replace('\n', "\r\n"), "CR LF"),
            (
                good.replacen("-> X25519", "->  X25519", 1),
                "empty argument",
            ),
            (
                good.replacen("-> grease !x\n", "-> grease \u{e8}\n", 1),
                "not printable ASCII",
            ),
            (
                good.replacen("-> grease !x\n\n", "-> grease !x\n", 1),
                "not base64",
            ),
            (
                good.replacen("---", "--", 1),
                "neither a stanza nor the MAC",
            ),
            (
                good.replacen("--- ", "---", 1),
                "neither a stanza nor the MAC",
            ),
            (good.replacen("--- ", "---  ", 1), "MAC is not canonical"),
            (good[..good.len() - 1].to_string(), "ends inside the header"),
            (
                "age-encryption.org/v1\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".into(),
                "no recipient stanzas",
            ),
            (
                format!(
                    "age-encryption.org/v1\n-> a\n{}\n",
                    "A".repeat(MAX_LINE + 1)
                ),
                "too long",
            ),
        ];
        for (text, want) in cases {
            let err = Header::read_from(&mut text.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn scrypt_must_be_alone() {
        let mut h = sample();
        h.stanzas[1] = stanza(&["scrypt", "AAAAAAAAAAAAAAAAAAAAAA", "10"], &[0; 32]);
        let err = Header::read_from(&mut &h.to_bytes()[..]).unwrap_err();
        assert!(matches!(err, CryptoError::PassphraseNotAlone), "{err}");
    }
}
