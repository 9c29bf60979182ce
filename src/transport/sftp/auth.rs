//! User authentication, in OpenSSH's order.
//!
//! 1. ssh-agent: every identity it holds, one after the other
//!    (`Session::userauth_agent` would only try the first);
//! 2. identity files: `-i`, then each `IdentityFile` from the ssh config; if
//!    neither names one, OpenSSH's defaults `~/.ssh/id_ed25519`, `id_ecdsa`,
//!    `id_rsa`. A file whose public half was already offered by the agent is
//!    skipped. An encrypted key's passphrase is asked on the terminal;
//! 3. keyboard-interactive, then password, only on a terminal.
//!
//! Prompts go to the terminal (`/dev/tty`, through [`crate::tty`]) and happen
//! only when `ConnectOptions::interactive` is set (by default: standard
//! input is a terminal) and the config has no `BatchMode yes`; otherwise
//! nothing ever prompts, so a non-interactive run fails fast instead of
//! hanging, and the error lists everything that was tried and why it did
//! not work. Text from the server shown in prompts is stripped of control
//! characters, so a hostile server cannot drive the terminal.
//!
//! What worked is returned as a [`Credential`] so that a second connection
//! to the same place can reuse it without asking again. A passphrase or
//! password is kept for that purpose in a zeroizing buffer, and never shown.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssh2::{ErrorCode, KeyboardInteractivePrompt, Prompt, Session};
use zeroize::Zeroizing;

use super::connect::Params;
use super::error::SshError;
use super::status::{is_connection_error, session_error};
use crate::transport::error::TransportError;
use crate::transport::options::AgentSocket;

/// What authenticated a session.
pub(crate) enum Credential {
    /// The agent identity with this public key blob.
    Agent(Vec<u8>),
    /// A key file, with its passphrase if it is encrypted.
    KeyFile(PathBuf, Option<Zeroizing<String>>),
    /// A password.
    Password(Zeroizing<String>),
    /// Keyboard-interactive answers (asked again on reconnect).
    KeyboardInteractive,
    /// The server let us in without credentials (`none`).
    None,
}

/// Largest key file read, to refuse reading something absurd.
const MAX_KEY_FILE: u64 = 1 << 20;

/// libssh2's code for an unreadable key file (wrong passphrase, bad format).
const ERROR_FILE: i32 = libssh2_sys::LIBSSH2_ERROR_FILE;

/// Errors meaning the connection is gone: stop trying.
fn is_fatal(e: &ssh2::Error) -> bool {
    match e.code() {
        ErrorCode::Session(c) => is_connection_error(c),
        ErrorCode::SFTP(_) => false,
    }
}

/// Authenticate `sess` as `p.cfg.user`, trying `hint` first.
pub(crate) fn authenticate(
    sess: &Session,
    p: &Params,
    hint: Option<&Credential>,
) -> Result<Credential, TransportError> {
    let user = p.cfg.user.as_str();
    let host = p.cfg.alias.as_str();
    let methods = match super::ffi::userauth_list(sess, user) {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(Credential::None),
        Err(e) => return Err(session_error(host, &e, "starting authentication")),
    };
    let allows = |m: &str| methods.split(',').any(|x| x == m);
    let mut tried: Vec<String> = Vec::new();
    let auth_failed = |tried: Vec<String>| -> TransportError {
        SshError::AuthFailed {
            user: user.to_owned(),
            host: host.to_owned(),
            tried,
        }
        .into()
    };

    if let Some(h) = hint
        && let Some(c) = try_hint(sess, p, h)?
    {
        return Ok(c);
    }

    let mut offered: Vec<Vec<u8>> = Vec::new();
    let interactive = p.interactive;
    for method in method_order(p) {
        match method {
            "publickey" if !allows("publickey") => tried.push(format!(
                "public keys (not accepted by the server, which offers: {methods})"
            )),
            "publickey" => {
                // The agent's keys first, then the key files it did not offer.
                let found = match try_agent(sess, p, &mut tried, &mut offered) {
                    Ok(None) => try_key_files(sess, p, &mut tried, &offered),
                    other => other,
                };
                match found {
                    Ok(Some(c)) => return Ok(c),
                    Ok(None) => {}
                    Err(Fatal) => {
                        tried.push("(the server closed the connection: too many attempts?)".into());
                        return Err(auth_failed(tried));
                    }
                }
            }
            "keyboard-interactive" if allows("keyboard-interactive") => {
                if interactive {
                    let mut prompter = TtyPrompter;
                    match sess.userauth_keyboard_interactive(user, &mut prompter) {
                        Ok(()) if sess.authenticated() => {
                            return Ok(Credential::KeyboardInteractive);
                        }
                        _ => tried.push("keyboard-interactive (refused)".into()),
                    }
                } else {
                    tried.push("keyboard-interactive (not asked: no terminal)".into());
                }
            }
            "password" if allows("password") => {
                if interactive {
                    for pw in answers(&format!("{user}@{host}'s password: ")) {
                        match sess.userauth_password(user, &pw) {
                            Ok(()) if sess.authenticated() => return Ok(Credential::Password(pw)),
                            Err(e) if is_fatal(&e) => break,
                            _ => {}
                        }
                    }
                    tried.push("password (refused)".into());
                } else {
                    tried.push("password (not asked: no terminal)".into());
                }
            }
            _ => {}
        }
    }
    Err(auth_failed(tried))
}

/// Up to three answers to `prompt` on the terminal (as ssh asks), ending
/// early at an empty answer or when there is no terminal to ask on.
fn answers(prompt: &str) -> impl Iterator<Item = zeroize::Zeroizing<String>> + '_ {
    (0..3).map_while(move |_| {
        crate::tty::prompt_hidden(prompt)
            .ok()
            .filter(|a| !a.is_empty())
    })
}

/// The connection broke during authentication.
struct Fatal;

/// The methods to try, in order: `PreferredAuthentications` if set (only
/// the methods vault has), else OpenSSH's `publickey,keyboard-interactive,
/// password`; without those `PubkeyAuthentication`,
/// `KbdInteractiveAuthentication` or `PasswordAuthentication` turned off.
fn method_order(p: &Params) -> Vec<&'static str> {
    const ALL: [&str; 3] = ["publickey", "keyboard-interactive", "password"];
    let a = &p.cfg.auth;
    let enabled = |m: &str| match m {
        "publickey" => a.pubkey,
        "keyboard-interactive" => a.keyboard_interactive,
        "password" => a.password,
        _ => false,
    };
    let order: Vec<&'static str> = match &a.preferred {
        None => ALL.to_vec(),
        Some(list) => list
            .iter()
            .filter_map(|m| ALL.iter().copied().find(|a| a.eq_ignore_ascii_case(m)))
            .collect(),
    };
    order.into_iter().filter(|m| enabled(m)).collect()
}

fn try_hint(
    sess: &Session,
    p: &Params,
    h: &Credential,
) -> Result<Option<Credential>, TransportError> {
    let user = p.cfg.user.as_str();
    match h {
        Credential::Agent(blob) => {
            if let Some(mut agent) = connect_agent(sess, p).ok().flatten() {
                if let Ok(ids) = agent.identities() {
                    for id in ids.iter().filter(|i| i.blob() == blob.as_slice()) {
                        if agent.userauth(user, id).is_ok() && sess.authenticated() {
                            let _ = agent.disconnect();
                            return Ok(Some(Credential::Agent(blob.clone())));
                        }
                    }
                }
                let _ = agent.disconnect();
            }
        }
        Credential::KeyFile(path, pass) => {
            let pp = pass.as_ref().map(|s| s.as_str());
            if sess.userauth_pubkey_file(user, None, path, pp).is_ok() && sess.authenticated() {
                return Ok(Some(Credential::KeyFile(path.clone(), pass.clone())));
            }
        }
        Credential::Password(pw) => {
            if sess.userauth_password(user, pw).is_ok() && sess.authenticated() {
                return Ok(Some(Credential::Password(pw.clone())));
            }
        }
        Credential::KeyboardInteractive | Credential::None => {}
    }
    Ok(None)
}

/// Connect to the configured agent; `Ok(None)` when none is configured.
fn connect_agent(sess: &Session, p: &Params) -> Result<Option<ssh2::Agent>, String> {
    let from_env = || match std::env::var_os("SSH_AUTH_SOCK") {
        Some(s) if !s.is_empty() => Some(PathBuf::from(s)),
        _ => None,
    };
    let path = match &p.agent {
        AgentSocket::Disabled => return Ok(None),
        AgentSocket::Path(path) => Some(path.clone()),
        // `IdentityAgent` in the config, as ssh reads it.
        AgentSocket::FromEnv => match p.cfg.identity_agent.as_deref() {
            Some("none") => return Ok(None),
            None | Some("SSH_AUTH_SOCK") => match from_env() {
                Some(s) => Some(s),
                None => return Ok(None),
            },
            Some(path) => Some(PathBuf::from(path)),
        },
    };
    let mut agent = sess.agent().map_err(|e| e.message().to_owned())?;
    if let Some(path) = path {
        agent
            .set_identity_path(&path)
            .map_err(|e| e.message().to_owned())?;
    }
    agent.connect().map_err(|e| e.message().to_owned())?;
    agent
        .list_identities()
        .map_err(|e| e.message().to_owned())?;
    Ok(Some(agent))
}

fn try_agent(
    sess: &Session,
    p: &Params,
    tried: &mut Vec<String>,
    offered: &mut Vec<Vec<u8>>,
) -> Result<Option<Credential>, Fatal> {
    let user = p.cfg.user.as_str();
    let mut agent = match connect_agent(sess, p) {
        Ok(Some(a)) => a,
        Ok(None) => {
            if p.agent == AgentSocket::FromEnv {
                tried.push("ssh-agent (SSH_AUTH_SOCK is not set)".into());
            }
            return Ok(None);
        }
        Err(e) => {
            tried.push(format!("ssh-agent (not usable: {e})"));
            return Ok(None);
        }
    };
    let ids = match agent.identities() {
        Ok(ids) => ids,
        Err(e) => {
            tried.push(format!("ssh-agent (cannot list keys: {})", e.message()));
            return Ok(None);
        }
    };
    if ids.is_empty() {
        tried.push("ssh-agent (holds no keys)".into());
    }
    let wanted: Option<Vec<Vec<u8>>> = p.cfg.identities_only.then(|| {
        identity_candidates(p)
            .iter()
            .filter_map(|f| public_blob(f))
            .collect()
    });
    for id in &ids {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.iter().any(|b| b == id.blob()))
        {
            continue;
        }
        offered.push(id.blob().to_vec());
        let label = format!("agent key {:?} ({})", id.comment(), key_type(id.blob()));
        match agent.userauth(user, id) {
            Ok(()) if sess.authenticated() => {
                let _ = agent.disconnect();
                return Ok(Some(Credential::Agent(id.blob().to_vec())));
            }
            Err(e) if is_fatal(&e) => {
                tried.push(label);
                return Err(Fatal);
            }
            _ => tried.push(format!("{label} (refused)")),
        }
    }
    let _ = agent.disconnect();
    Ok(None)
}

/// `-i`, then IdentityFile entries, or OpenSSH's defaults if there are none;
/// duplicates removed.
fn identity_candidates(p: &Params) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = p.identity.iter().cloned().collect();
    files.extend(p.cfg.identity_files.iter().cloned());
    if files.is_empty() {
        let ssh = p.home.join(".ssh");
        files.extend(["id_ed25519", "id_ecdsa", "id_rsa"].map(|n| ssh.join(n)));
    }
    let mut seen = Vec::new();
    files.retain(|f| {
        if seen.contains(f) {
            false
        } else {
            seen.push(f.clone());
            true
        }
    });
    files
}

fn try_key_files(
    sess: &Session,
    p: &Params,
    tried: &mut Vec<String>,
    offered: &[Vec<u8>],
) -> Result<Option<Credential>, Fatal> {
    let user = p.cfg.user.as_str();
    let explicit = !p.cfg.identity_files.is_empty() || p.identity.is_some();
    let interactive = p.interactive;
    let candidates = identity_candidates(p);
    if !explicit && !candidates.iter().any(|c| c.exists()) {
        tried.push(format!(
            "key files (none of {} exists)",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for path in candidates {
        let shown = path.display().to_string();
        let bytes = match read_key_file(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if explicit {
                    tried.push(format!("{shown} (not found)"));
                }
                continue;
            }
            Err(e) => {
                tried.push(format!("{shown} (cannot read: {e})"));
                continue;
            }
        };
        if public_blob(&path).is_some_and(|b| offered.contains(&b)) {
            continue; // already offered through the agent
        }
        if !is_encrypted(&bytes) {
            match sess.userauth_pubkey_file(user, None, &path, None) {
                Ok(()) if sess.authenticated() => return Ok(Some(Credential::KeyFile(path, None))),
                Err(e) if is_fatal(&e) => {
                    tried.push(shown);
                    return Err(Fatal);
                }
                Err(e) if e.code() == ErrorCode::Session(ERROR_FILE) => {
                    tried.push(format!("{shown} (unusable key file: {})", e.message()));
                }
                _ => tried.push(format!("{shown} (refused)")),
            }
            continue;
        }
        if !interactive {
            tried.push(format!(
                "{shown} (encrypted, and no terminal to ask its passphrase: add it to ssh-agent)"
            ));
            continue;
        }
        let mut outcome = format!("{shown} (no passphrase given)");
        for pp in answers(&format!("Enter passphrase for key '{shown}': ")) {
            match sess.userauth_pubkey_file(user, None, &path, Some(&pp)) {
                Ok(()) if sess.authenticated() => {
                    return Ok(Some(Credential::KeyFile(path, Some(pp))));
                }
                Err(e) if is_fatal(&e) => {
                    tried.push(shown);
                    return Err(Fatal);
                }
                Err(e) if e.code() == ErrorCode::Session(ERROR_FILE) => {
                    outcome = format!("{shown} (wrong passphrase)");
                }
                _ => {
                    outcome = format!("{shown} (refused)");
                    break;
                }
            }
        }
        tried.push(outcome);
    }
    Ok(None)
}

fn read_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_KEY_FILE).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The blob of `path.pub`, if it exists and parses.
fn public_blob(path: &Path) -> Option<Vec<u8>> {
    let mut pubpath = path.as_os_str().to_owned();
    pubpath.push(".pub");
    let text = std::fs::read_to_string(PathBuf::from(pubpath)).ok()?;
    let b64 = text.split_whitespace().nth(1)?;
    STANDARD.decode(b64).ok()
}

/// The type name inside a public key blob, for messages.
fn key_type(blob: &[u8]) -> String {
    super::known_hosts::ServerKey::new(blob)
        .map(|k| k.type_name)
        .unwrap_or_else(|| "unknown type".into())
}

/// Whether a private key file needs a passphrase: the OpenSSH format names
/// its cipher (`none` when clear); PEM marks encryption in its header.
pub(crate) fn is_encrypted(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const END: &str = "-----END OPENSSH PRIVATE KEY-----";
    if let Some(start) = text.find(BEGIN) {
        let body = &text[start + BEGIN.len()..];
        let body = body.find(END).map_or(body, |e| &body[..e]);
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let Ok(raw) = STANDARD.decode(b64) else {
            return false;
        };
        let magic = b"openssh-key-v1\0";
        let Some(rest) = raw.strip_prefix(magic) else {
            return false;
        };
        let Some(len) = rest.get(..4) else {
            return false;
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        return rest
            .get(4..4 + len.min(64))
            .is_some_and(|cipher| cipher != b"none");
    }
    text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
}

/// Answers keyboard-interactive prompts on the terminal, hiding input.
struct TtyPrompter;

impl KeyboardInteractivePrompt for TtyPrompter {
    fn prompt<'a>(
        &mut self,
        _user: &str,
        instructions: &str,
        prompts: &[Prompt<'a>],
    ) -> Vec<String> {
        let instructions = printable(instructions);
        if !instructions.is_empty() {
            eprintln!("{instructions}");
        }
        prompts
            .iter()
            .map(|p| {
                let text = printable(&p.text);
                if p.echo {
                    crate::tty::prompt_visible(&text).unwrap_or_default()
                } else {
                    crate::tty::prompt_hidden(&text)
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default()
                }
            })
            .collect()
    }
}

/// Server-provided text without control characters (newlines kept).
fn printable(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\n' || !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keygen(dir: &Path, name: &str, pass: &str) -> Option<Vec<u8>> {
        let path = dir.join(name);
        let ok = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", pass, "-C", "t", "-f"])
            .arg(&path)
            .status()
            .ok()?
            .success();
        ok.then(|| std::fs::read(&path).ok()).flatten()
    }

    #[test]
    fn detects_encrypted_openssh_keys() {
        let d = tempfile::tempdir().expect("tempdir");
        let (Some(clear), Some(enc)) = (keygen(d.path(), "a", ""), keygen(d.path(), "b", "secret"))
        else {
            panic!("ssh-keygen failed (is openssh-client installed? run .ci/run)");
        };
        assert!(!is_encrypted(&clear));
        assert!(is_encrypted(&enc));
        assert_eq!(
            public_blob(&d.path().join("a")).map(|b| key_type(&b)),
            Some("ssh-ed25519".to_owned())
        );
    }

    #[test]
    fn server_text_is_made_printable() {
        assert_eq!(printable("a\x1b[2Jb\nc\x07"), "a[2Jb\nc");
    }

    #[test]
    fn detects_encrypted_pem_and_ignores_garbage() {
        assert!(is_encrypted(
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n"
        ));
        assert!(is_encrypted(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMII\n"
        ));
        assert!(!is_encrypted(b"-----BEGIN RSA PRIVATE KEY-----\nMII\n"));
        assert!(!is_encrypted(b"-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n"));
        assert!(!is_encrypted(b""));
        assert!(!is_encrypted(&[0xff, 0xfe, 0]));
    }
}
