//! Host-key verification against OpenSSH `known_hosts` files.
//!
//! Why not `KnownHosts::read_file` + `check_port`: libssh2 stops reading a
//! file at the first line it cannot parse (an `@cert-authority` line, a
//! key type it does not know), cannot say which line matched, treats
//! `host` entries as valid for every port (OpenSSH only for port 22), and
//! matches plain names exactly (no `*`, `?` or `!` patterns). So each file is
//! read here line by line, which gives robustness against odd lines and the
//! file and line number of an offending entry:
//! - the name looked up is `host` for port 22 and `[host]:port` otherwise,
//!   lowercased (or `HostKeyAlias`), exactly as OpenSSH writes it;
//! - plain host fields are OpenSSH pattern lists (`*`, `?`, `!negation`);
//! - hashed fields (`|1|salt|hash`, HMAC-SHA1 of the name keyed by the
//!   salt) are matched, and written under `HashKnownHosts yes`
//!   ([`append`]), with the `hmac` and `sha1` crates;
//! - keys are compared as decoded blobs, with their type;
//! - `@revoked` lines refuse the key they list; `@cert-authority` lines
//!   are never taken as the host's key: vault cannot check host
//!   certificates (libssh2 1.11 accepts a certificate as the host key but
//!   does not verify its CA signature, principals or validity), so it never
//!   asks for one, and [`cert_authority`] tells the caller that such a line
//!   covers the host, which then must have its own key pinned.
//!
//! The verdict follows OpenSSH: a matching key is accepted; otherwise a key
//! of the same type under the host's name means the key CHANGED, and is
//! always refused. Stricter than OpenSSH, a known key of another type is
//! refused the same way rather than treated as new: the connection first
//! asks for the known key types (see [`known_key_algorithms`]), so a server
//! that no longer offers any of them is suspicious.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::glob::pattern_list_matches;
use crate::transport::error::TransportError;

/// The key a server presented.
#[derive(Debug, Clone)]
pub(crate) struct ServerKey {
    /// The SSH wire-format public key.
    pub blob: Vec<u8>,
    /// Its type name from the blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...).
    pub type_name: String,
}

impl ServerKey {
    /// Wrap a key blob; `None` if it does not start with a type name.
    pub fn new(blob: &[u8]) -> Option<ServerKey> {
        let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
        let name = blob.get(4..4usize.checked_add(len)?)?;
        let type_name = std::str::from_utf8(name).ok()?.to_owned();
        if type_name.is_empty() || type_name.contains(char::is_whitespace) {
            return None;
        }
        Some(ServerKey {
            blob: blob.to_vec(),
            type_name,
        })
    }

    /// `SHA256:` and the unpadded base64 of the blob's SHA-256, as
    /// `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }

    /// The key type as OpenSSH names it in messages.
    pub fn display_type(&self) -> String {
        display_type(&self.type_name)
    }
}

fn display_type(type_name: &str) -> String {
    match type_name {
        "ssh-ed25519" => "ED25519".into(),
        "ssh-rsa" => "RSA".into(),
        "ssh-dss" => "DSA".into(),
        t if t.starts_with("ecdsa-sha2-") => "ECDSA".into(),
        t => t.to_ascii_uppercase(),
    }
}

/// The name a host is filed under in known_hosts.
pub(crate) fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The outcome of checking a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The key is listed for this host.
    Known,
    /// Nothing is listed for this host.
    Unknown,
    /// Another key is listed for this host at this place.
    Changed { file: PathBuf, line: usize },
    /// The key is listed as `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

/// One parsed known_hosts line.
struct Line<'a> {
    marker: Option<&'a str>,
    hosts: &'a str,
    key_type: &'a str,
    key: &'a str,
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = if first.starts_with('@') {
        let m = first;
        first = fields.next()?;
        Some(m)
    } else {
        None
    };
    Some(Line {
        marker,
        hosts: first,
        key_type: fields.next()?,
        key: fields.next()?,
    })
}

/// Whether a line's host field selects `name`.
fn host_field_matches(hosts: &str, name: &str) -> bool {
    match hosts.strip_prefix("|1|") {
        Some(hashed) => hashed_matches(hashed, name),
        None => pattern_list_matches(name, hosts) == Some(true),
    }
}

/// `salt|hash` (both base64) against `name`: the hash is
/// HMAC-SHA1[salt](name), compared in constant time.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// `name` as `HashKnownHosts yes` writes it: `|1|salt|hash` with a random
/// 20-byte salt.
pub(crate) fn hashed_name(name: &str) -> Result<String, std::io::Error> {
    let mut salt = [0u8; 20];
    getrandom::fill(&mut salt).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    mac.update(name.as_bytes());
    Ok(format!(
        "|1|{}|{}",
        STANDARD.encode(salt),
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Read a known_hosts file; a missing or unreadable file is empty (as in
/// OpenSSH), and invalid UTF-8 is replaced rather than fatal.
fn read_text(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// Check `key` for `name` against `files`, in order.
pub(crate) fn check(files: &[PathBuf], name: &str, key: &ServerKey) -> Verdict {
    let mut known = false;
    let mut changed: Option<(PathBuf, usize)> = None;
    for file in files {
        let text = read_text(file);
        for (idx, raw) in text.lines().enumerate() {
            let Some(line) = parse_line(raw) else {
                continue;
            };
            let is_revoked = match line.marker {
                None => false,
                Some("@revoked") => true,
                Some(_) => continue,
            };
            if !host_field_matches(line.hosts, name) {
                continue;
            }
            let same_key = line.key_type == key.type_name
                && STANDARD.decode(line.key).is_ok_and(|b| b == key.blob);
            if is_revoked {
                if same_key {
                    return Verdict::Revoked {
                        file: file.clone(),
                        line: idx + 1,
                    };
                }
            } else if same_key {
                known = true;
            } else if changed.is_none() {
                changed = Some((file.clone(), idx + 1));
            }
        }
    }
    match (known, changed) {
        (true, _) => Verdict::Known,
        (false, Some((file, line))) => Verdict::Changed { file, line },
        (false, None) => Verdict::Unknown,
    }
}

/// The host-key algorithms to ask for first, because keys of these types
/// are already known for `name` (as OpenSSH's `order_hostkeyalgs` does).
pub(crate) fn known_key_algorithms(files: &[PathBuf], name: &str) -> Vec<String> {
    let mut algs: Vec<String> = Vec::new();
    for file in files {
        for raw in read_text(file).lines() {
            let Some(line) = parse_line(raw) else {
                continue;
            };
            if line.marker.is_some() || !host_field_matches(line.hosts, name) {
                continue;
            }
            let names: &[&str] = if line.key_type == "ssh-rsa" {
                &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
            } else {
                &[line.key_type]
            };
            for n in names {
                if !algs.iter().any(|a| a == n) {
                    algs.push((*n).to_owned());
                }
            }
        }
    }
    algs
}

/// The first `@cert-authority` line whose hosts select `name`.
pub(crate) fn cert_authority(files: &[PathBuf], name: &str) -> Option<(PathBuf, usize)> {
    for file in files {
        for (idx, raw) in read_text(file).lines().enumerate() {
            if let Some(line) = parse_line(raw)
                && line.marker == Some("@cert-authority")
                && host_field_matches(line.hosts, name)
            {
                return Some((file.clone(), idx + 1));
            }
        }
    }
    None
}

/// The other entries that list `key` (as `file:line: hosts`, hashed hosts
/// shown as such), for the question about an unknown host.
pub(crate) fn other_names(files: &[PathBuf], key: &ServerKey) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        for (idx, raw) in read_text(file).lines().enumerate() {
            let Some(line) = parse_line(raw) else {
                continue;
            };
            if line.marker.is_none()
                && line.key_type == key.type_name
                && STANDARD.decode(line.key).is_ok_and(|b| b == key.blob)
            {
                let hosts = if line.hosts.starts_with("|1|") {
                    "[hashed name]"
                } else {
                    line.hosts
                };
                out.push(format!("{}:{}: {hosts}", file.display(), idx + 1));
            }
        }
    }
    out
}

/// The known_hosts line that pins `key` for `name`.
pub(crate) fn entry_line(name: &str, key: &ServerKey) -> String {
    format!("{name} {} {}", key.type_name, STANDARD.encode(&key.blob))
}

/// Append `name key` to `file` in OpenSSH's format (the name hashed if
/// `hash`), creating its folder (0700) and the file (0600) if needed.
pub(crate) fn append(
    file: &Path,
    name: &str,
    key: &ServerKey,
    hash: bool,
) -> Result<(), TransportError> {
    let io_err = |e: std::io::Error| TransportError::Io {
        context: format!("recording the host key in {}", file.display()),
        source: e,
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?;
    }
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)
        .map_err(io_err)?;
    let len = f.metadata().map_err(io_err)?.len();
    let mut line = String::new();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1)).map_err(io_err)?;
        f.read_exact(&mut last).map_err(io_err)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    let shown = if hash {
        hashed_name(name).map_err(io_err)?
    } else {
        name.to_owned()
    };
    line.push_str(&entry_line(&shown, key));
    line.push('\n');
    f.write_all(line.as_bytes()).map_err(io_err)?;
    f.sync_all().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`check`] against the one file `f`.
    fn check_one(f: &PathBuf, name: &str, key: &ServerKey) -> Verdict {
        check(std::slice::from_ref(f), name, key)
    }

    /// An ed25519 public key blob with a given last byte.
    fn blob(last: u8) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&11u32.to_be_bytes());
        b.extend_from_slice(b"ssh-ed25519");
        b.extend_from_slice(&32u32.to_be_bytes());
        b.extend_from_slice(&[7u8; 31]);
        b.push(last);
        b
    }

    fn key(last: u8) -> ServerKey {
        ServerKey::new(&blob(last)).expect("key")
    }

    fn entry(hosts: &str, k: &ServerKey) -> String {
        format!("{hosts} {} {}", k.type_name, STANDARD.encode(&k.blob))
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn key_parsing_and_fingerprint() {
        let k = key(1);
        assert_eq!(k.type_name, "ssh-ed25519");
        assert_eq!(k.display_type(), "ED25519");
        let fp = k.fingerprint();
        assert!(fp.starts_with("SHA256:") && !fp.ends_with('='), "{fp}");
        assert_eq!(fp.len(), 7 + 43);
        assert!(ServerKey::new(&[0, 0, 0, 9, b'x']).is_none());
        assert!(ServerKey::new(&[]).is_none());
        assert!(ServerKey::new(&[255, 255, 255, 255]).is_none());
        assert_eq!(display_type("ecdsa-sha2-nistp256"), "ECDSA");
    }

    #[test]
    fn lookup_names() {
        assert_eq!(lookup_name("Host.Example", 22), "host.example");
        assert_eq!(lookup_name("127.0.0.1", 2222), "[127.0.0.1]:2222");
        assert_eq!(lookup_name("::1", 2222), "[::1]:2222");
    }

    #[test]
    fn known_unknown_changed_with_line_numbers() {
        let d = tempfile::tempdir().expect("tempdir");
        let good = key(1);
        let bad = key(2);
        let text = format!(
            "# comment\n\n@cert-authority * ssh-ed25519 AAAA\ngarbage line\nother {}\n{}\n",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJhZGJhZGJhZGJhZGJhZGJhZGJhZGJhZGJhZGJhZGJhZA==",
            entry("[h]:2222,alias", &bad)
        );
        let f = write(d.path(), "kh", &text);
        assert_eq!(
            check_one(&f, "[h]:2222", &good),
            Verdict::Changed {
                file: f.clone(),
                line: 6
            }
        );
        assert_eq!(check_one(&f, "[h]:2222", &bad), Verdict::Known);
        // A plain `h` entry does not cover another port.
        let f2 = write(d.path(), "kh2", &entry("h", &bad));
        assert_eq!(
            check(std::slice::from_ref(&f2), "[h]:2222", &good),
            Verdict::Unknown
        );
        assert_eq!(
            check(std::slice::from_ref(&f2), "h", &good),
            Verdict::Changed { file: f2, line: 1 }
        );
        // Missing files are empty.
        assert_eq!(
            check(&[d.path().join("none")], "h", &good),
            Verdict::Unknown
        );
    }

    #[test]
    fn later_match_wins_over_earlier_mismatch() {
        let d = tempfile::tempdir().expect("tempdir");
        let good = key(1);
        let f1 = write(d.path(), "a", &entry("h", &key(2)));
        let f2 = write(d.path(), "b", &entry("h", &good));
        assert_eq!(check(&[f1, f2], "h", &good), Verdict::Known);
    }

    #[test]
    fn patterns_and_negation() {
        let d = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let f = write(d.path(), "kh", &entry("*.lan,!evil.lan", &k));
        assert_eq!(check_one(&f, "box.lan", &k), Verdict::Known);
        assert_eq!(check_one(&f, "evil.lan", &k), Verdict::Unknown);
        assert_eq!(check_one(&f, "BOX.LAN", &k), Verdict::Known);
    }

    #[test]
    fn hashed_entries() {
        // Produced by `ssh-keygen -H` for the name `[127.0.0.1]:2222`
        // (salt and hash computed with HMAC-SHA1 as OpenSSH does).
        let d = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let hashed = hash_with_ssh_keygen(d.path(), "[127.0.0.1]:2222", &k)
            .expect("ssh-keygen -H failed (is openssh-client installed? run .ci/run)");
        assert!(hashed.starts_with("|1|"), "{hashed}");
        let f = write(d.path(), "kh", &format!("{hashed}\n"));
        assert_eq!(check_one(&f, "[127.0.0.1]:2222", &k), Verdict::Known);
        assert_eq!(
            check_one(&f, "[127.0.0.1]:2222", &key(2)),
            Verdict::Changed {
                file: f.clone(),
                line: 1
            }
        );
        assert_eq!(check_one(&f, "127.0.0.1", &k), Verdict::Unknown);
    }

    #[test]
    fn hashed_entries_written_here_are_found_by_openssh() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("kh");
        let k = key(1);
        append(&f, "[127.0.0.1]:2222", &k, true).expect("append");
        append(&f, "[127.0.0.1]:2222", &k, true).expect("append again");
        let text = fs::read_to_string(&f).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.starts_with("|1|")), "{text}");
        assert_ne!(lines[0], lines[1], "a fresh salt each time");
        assert!(!text.contains("127.0.0.1"));
        assert_eq!(check_one(&f, "[127.0.0.1]:2222", &k), Verdict::Known);
        assert_eq!(check_one(&f, "127.0.0.1", &k), Verdict::Unknown);
        let out = std::process::Command::new("ssh-keygen")
            .args(["-F", "[127.0.0.1]:2222", "-f"])
            .arg(&f)
            .output()
            .expect("ssh-keygen -F (is openssh-client installed?)");
        assert!(out.status.success(), "ssh-keygen -F finds the hashed entry");
    }

    #[test]
    fn cert_authority_lines_are_found_but_never_trusted_as_keys() {
        let d = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let f = write(
            d.path(),
            "kh",
            &format!(
                "# ca\n@cert-authority *.lan,[*.lan]:* {}\n",
                entry("x", &k).split_once(' ').expect("entry").1
            ),
        );
        let files = std::slice::from_ref(&f);
        assert_eq!(check(files, "box.lan", &k), Verdict::Unknown);
        assert_eq!(cert_authority(files, "box.lan"), Some((f.clone(), 2)));
        assert_eq!(
            cert_authority(files, "[box.lan]:2222"),
            Some((f.clone(), 2))
        );
        assert_eq!(cert_authority(files, "other"), None);
        assert_eq!(other_names(files, &k), Vec::<String>::new());
    }

    fn hash_with_ssh_keygen(dir: &Path, name: &str, k: &ServerKey) -> Option<String> {
        let f = write(dir, "plain", &format!("{}\n", entry(name, k)));
        let ok = std::process::Command::new("ssh-keygen")
            .arg("-q")
            .arg("-H")
            .arg("-f")
            .arg(&f)
            .output()
            .ok()?
            .status
            .success();
        if !ok {
            return None;
        }
        Some(fs::read_to_string(&f).ok()?.trim().to_owned())
    }

    #[test]
    fn revoked_keys_are_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        let k = key(1);
        let text = format!("{}\n@revoked {}\n", entry("h", &k), entry("*", &k));
        let f = write(d.path(), "kh", &text);
        assert_eq!(
            check_one(&f, "h", &k),
            Verdict::Revoked { file: f, line: 2 }
        );
    }

    #[test]
    fn algorithm_order_from_known_types() {
        let d = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "h ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n{}\n",
            entry("h", &key(1))
        );
        let f = write(d.path(), "kh", &text);
        assert_eq!(
            known_key_algorithms(&[f], "h"),
            vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"]
        );
    }

    #[test]
    fn append_creates_folder_and_file_and_adds_missing_newline() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("new/.ssh/known_hosts");
        let k = key(1);
        append(&f, "[h]:2222", &k, false).expect("append");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(f.parent().expect("parent")), 0o700);
        assert_eq!(check_one(&f, "[h]:2222", &k), Verdict::Known);

        let g = write(d.path(), "g", "x ssh-ed25519 AAAA");
        append(&g, "h", &k, false).expect("append");
        let text = fs::read_to_string(&g).expect("read");
        assert_eq!(text.lines().nth(1), Some(entry("h", &k).as_str()));
    }
}
