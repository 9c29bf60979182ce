//! The client side of the plugin protocol: start `age-plugin-NAME`, run one
//! state machine, and never wait on it without a bound.
//!
//! A reader thread parses the plugin's output into stanzas (the age
//! header's grammar, each message at most [`MAX_MESSAGE`] bytes) and hands
//! them over a channel; the state machine waits for each with the
//! configured timeout, and a plugin that stays silent that long, sends
//! something malformed, or breaks the phase rules is killed. The clock does
//! not run while the user answers one of its prompts. The child is killed
//! and reaped on every path ([`Plugin`]'s `Drop`).

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::{Zeroize, Zeroizing};

use super::{PluginError, settings};
use crate::crypto::age::header::{Stanza, read_stanza, stanza_bytes};
use crate::crypto::error::CryptoError;

/// Longest message accepted from a plugin.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Most messages accepted in one phase (a plugin cannot keep vault busy).
const MAX_MESSAGES: usize = 4096;

/// `age-plugin-NAME` in an absolute folder of `PATH`.
pub fn find(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let file = format!("age-plugin-{}", name.to_ascii_lowercase());
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(&file))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

type Message = Result<Option<Stanza>, CryptoError>;

/// A running plugin.
struct Plugin {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Message>,
    timeout: Duration,
    received: usize,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proto(why: impl Into<String>) -> PluginError {
    PluginError::Protocol(why.into())
}

impl Plugin {
    fn start(name: &str, state_machine: &str) -> Result<Plugin, PluginError> {
        let binary = find(name).ok_or(PluginError::NotFound)?;
        Plugin::start_binary(name, &binary, state_machine)
    }

    fn start_binary(name: &str, binary: &Path, state_machine: &str) -> Result<Plugin, PluginError> {
        let mut child = Command::new(binary)
            .arg(format!("--age-plugin={state_machine}"))
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(PluginError::Io)?;
        let stdout = child.stdout.take().expect("piped");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::sync_channel::<Message>(16);
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let m = read_stanza(&mut r, MAX_MESSAGE);
                let end = !matches!(m, Ok(Some(_)));
                if tx.send(m).is_err() || end {
                    break;
                }
            }
        });
        let timeout = settings()
            .read()
            .map(|s| s.timeout)
            .unwrap_or(super::DEFAULT_TIMEOUT);
        Ok(Plugin {
            name: name.to_owned(),
            child,
            stdin,
            messages: rx,
            timeout,
            received: 0,
        })
    }

    fn send(&mut self, args: &[&str], body: &[u8]) -> Result<(), PluginError> {
        let s = Stanza {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            body: body.to_vec(),
        };
        let bytes = Zeroizing::new(stanza_bytes(&s));
        drop(Zeroizing::new(s.body));
        let stdin = self.stdin.as_mut().ok_or_else(|| proto("input closed"))?;
        stdin
            .write_all(&bytes)
            .and_then(|()| stdin.flush())
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => proto("it exited while vault was talking to it"),
                _ => PluginError::Io(e),
            })
    }

    fn receive(&mut self) -> Result<Stanza, PluginError> {
        self.received += 1;
        if self.received > MAX_MESSAGES {
            return Err(proto("too many messages"));
        }
        match self.messages.recv_timeout(self.timeout) {
            Ok(Ok(Some(s))) => Ok(s),
            Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => Err(self.exited()),
            Ok(Err(CryptoError::Io(e))) => Err(PluginError::Io(e)),
            Ok(Err(e)) => Err(proto(format!("a malformed message: {e}"))),
            Err(RecvTimeoutError::Timeout) => Err(PluginError::Timeout(self.timeout.as_secs())),
        }
    }

    /// The plugin's output ended: say how it exited.
    fn exited(&mut self) -> PluginError {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return PluginError::Failed(vec![format!("it exited ({status}) before finishing")]);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        proto("it closed its output before finishing")
    }

    fn reply(&mut self, ok: Option<(&[&str], &[u8])>) -> Result<(), PluginError> {
        match ok {
            Some((args, body)) => {
                let mut all = vec!["ok"];
                all.extend_from_slice(args);
                self.send(&all, body)
            }
            None => self.send(&["fail"], &[]),
        }
    }

    /// Answer one of the user-facing requests both state machines share;
    /// `false` if `s` is not one.
    fn answer_ui(&mut self, s: &Stanza) -> Result<bool, PluginError> {
        let name = self.name.clone();
        let text = String::from_utf8_lossy(&s.body).into_owned();
        let ui = settings().read().map_err(|_| proto("UI lock poisoned"))?;
        match s.kind() {
            "msg" => {
                let shown = ui.ui.message(&name, &text);
                drop(ui);
                self.reply(shown.then_some((&[], &[])))?;
            }
            "confirm" => {
                let decode = |a: &String| {
                    STANDARD_NO_PAD
                        .decode(a)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                };
                let yes = s.args.get(1).and_then(decode);
                let no = s.args.get(2).and_then(decode);
                let Some(yes) = yes.filter(|_| s.args.len() <= 3) else {
                    return Err(proto("a confirm without a valid yes string"));
                };
                let answer = ui.ui.confirm(&name, &text, &yes, no.as_deref());
                drop(ui);
                match answer {
                    Some(true) => self.reply(Some((&["yes"], &[])))?,
                    Some(false) => self.reply(Some((&["no"], &[])))?,
                    None => self.reply(None)?,
                }
            }
            kind @ ("request-public" | "request-secret") => {
                // Both are answered with the value; only a secret is hidden
                // as it is typed.
                let answer = if kind == "request-secret" {
                    ui.ui.request_secret(&name, &text)
                } else {
                    ui.ui.request_public(&name, &text).map(Zeroizing::new)
                };
                drop(ui);
                match answer {
                    Some(v) => self.reply(Some((&[], v.as_bytes())))?,
                    None => self.reply(None)?,
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Phase two: answer the plugin until it says `done`. Interface
    /// requests are answered here, `error` messages are collected (and
    /// returned), every other message goes to `handle`, which replies and
    /// returns `true`, or returns `false` for `unsupported`. Ends by waiting
    /// for the plugin to exit.
    fn serve(
        mut self,
        mut handle: impl FnMut(&mut Self, &Stanza) -> Result<bool, PluginError>,
    ) -> Result<Vec<String>, PluginError> {
        let mut errors = Vec::new();
        loop {
            let mut s = self.receive()?;
            if self.answer_ui(&s)? {
                continue;
            }
            match s.kind() {
                "done" => break,
                "error" => {
                    errors.push(error_text(&s));
                    self.reply(Some((&[], &[])))?;
                }
                _ => {
                    let handled = handle(&mut self, &s);
                    // A body may have been a file key: leave no copy.
                    s.body.zeroize();
                    if !handled? {
                        self.send(&["unsupported"], &[])?;
                    }
                }
            }
        }
        self.finish()?;
        Ok(errors)
    }

    /// Close the input and reap the plugin, within the timeout.
    fn finish(mut self) -> Result<(), PluginError> {
        drop(self.stdin.take());
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.child.try_wait().map_err(PluginError::Io)? {
                Some(_) => return Ok(()),
                None if Instant::now() >= deadline => {
                    return Err(PluginError::Timeout(self.timeout.as_secs()));
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// An `error` command's text.
fn error_text(s: &Stanza) -> String {
    let what = s.args.get(1).map_or("error", String::as_str);
    format!("{what}: {}", String::from_utf8_lossy(&s.body))
}

/// A stanza embedded after `skip` leading arguments of a message.
fn embedded(s: &Stanza, skip: usize) -> Result<Stanza, PluginError> {
    let args: Vec<String> = s.args.iter().skip(skip).cloned().collect();
    if args.is_empty() {
        return Err(proto("a message without its stanza"));
    }
    Ok(Stanza {
        args,
        body: s.body.clone(),
    })
}

/// `recipient-v1`: wrap the 16-byte `key` to `recipient`. Returns the
/// plugin's stanzas and its labels.
pub fn wrap(
    name: &str,
    recipient: &str,
    key: &[u8],
) -> Result<(Vec<Stanza>, Vec<String>), PluginError> {
    let mut p = Plugin::start(name, "recipient-v1")?;
    p.send(&["add-recipient", recipient], &[])?;
    p.send(&["wrap-file-key"], key)?;
    p.send(&["extension-labels"], &[])?;
    p.send(&["done"], &[])?;
    let mut stanzas = Vec::new();
    let mut labels: Option<Vec<String>> = None;
    let errors = p.serve(|p, s| {
        match s.kind() {
            "recipient-stanza" => {
                if s.args.get(1).map(String::as_str) != Some("0") {
                    return Err(proto("a stanza for a file vault did not give"));
                }
                stanzas.push(embedded(s, 2)?);
            }
            "labels" => {
                let l: Vec<String> = s.args[1..].to_vec();
                let mut sorted = l.clone();
                sorted.sort();
                sorted.dedup();
                if labels.is_some() || sorted.len() != l.len() {
                    return Err(proto("labels sent twice or repeated"));
                }
                labels = Some(l);
            }
            _ => return Ok(false),
        }
        p.reply(Some((&[], &[])))?;
        Ok(true)
    })?;
    if !errors.is_empty() {
        return Err(PluginError::Failed(errors));
    }
    if stanzas.is_empty() {
        return Err(PluginError::NoStanza);
    }
    Ok((stanzas, labels.unwrap_or_default()))
}

/// `identity-v1`: offer `stanzas` (one file's) to `identity`. Returns the
/// 16-byte key the plugin unwrapped, if any.
pub fn unwrap(
    name: &str,
    identity: &str,
    stanzas: &[Stanza],
) -> Result<Option<Zeroizing<[u8; 16]>>, PluginError> {
    let mut p = Plugin::start(name, "identity-v1")?;
    p.send(&["add-identity", identity], &[])?;
    for s in stanzas {
        let mut args = vec!["recipient-stanza", "0"];
        args.extend(s.args.iter().map(String::as_str));
        p.send(&args, &s.body)?;
    }
    p.send(&["done"], &[])?;
    let mut key = None;
    let errors = p.serve(|p, s| {
        if s.kind() != "file-key" {
            return Ok(false);
        }
        if s.args.len() != 2 || s.args[1] != "0" {
            return Err(proto("a file key for a file vault did not give"));
        }
        if key.is_some() {
            return Err(proto("two file keys for one file"));
        }
        let k: [u8; 16] = s
            .body
            .as_slice()
            .try_into()
            .map_err(|_| proto("a file key that is not 16 bytes"))?;
        key = Some(Zeroizing::new(k));
        p.reply(Some((&[], &[])))?;
        Ok(true)
    })?;
    if key.is_none() && !errors.is_empty() {
        return Err(PluginError::Failed(errors));
    }
    Ok(key)
}
