//! age plugins (C2SP `age-plugin.md`): recipients `age1NAME1...` and
//! identities `AGE-PLUGIN-NAME-1...`, served by a program `age-plugin-NAME`
//! found on `PATH` (absolute folders only) and driven over its standard
//! input and output with the `recipient-v1` and `identity-v1` state
//! machines ([`client`]). The plugin's prompts and messages go to a
//! [`PluginUi`] the command line installs ([`configure`]); its standard
//! error is the user's.
//!
//! age plugins wrap age's 16-byte file keys. A vault file key is 32 bytes,
//! so in a vault file the plugin wraps a fresh 16-byte *bridge key* and the
//! bridge key wraps the file key (kind 06, [`vault_body`]):
//!
//! ```text
//! bridge   = 16 random bytes, fresh per stanza
//! stanzas  = what the plugin made for `bridge` (one or more age stanzas)
//! body     = count (1) || per stanza: argc (1) || per argument: len (1) || arg
//!                                     || body len (2, big-endian) || body
//!            || ChaCha20-Poly1305[HKDF-SHA256[salt = "", info = "vault/v1 plugin"](bridge)](nonce 0, file key)
//! ```
//!
//! The whole body is at most 4,096 bytes, the bound for stanza kinds a
//! reader does not know, so older vault versions skip it. A plugin stanza
//! cannot be recomputed from the file key (the plugin makes it), so
//! [`PluginRecipient`] reports itself as not reproducible.
//!
//! Why not the `age` crate's plugin client or `age-core`'s `Connection`:
//! `Connection::open` starts the plugin and drops the child's handle, so a
//! plugin that hangs can never be stopped (vault would hang with it), it
//! reads lines without a bound, and it brings a second, older generation of
//! every RustCrypto primitive into the binary. Messages here are parsed by
//! the age header's own strict, bounded and fuzzed stanza grammar
//! ([`crate::crypto::age::header::read_stanza`]); the tests run this client
//! against plugins built with the `age-plugin` crate, the reference for the
//! plugin side.

pub mod client;

use std::fmt;
use std::str::FromStr;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use bech32::Hrp;
use bech32::primitives::decode::CheckedHrpstring;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::age::header::Stanza as AgeStanza;
use super::error::CryptoError;
use super::header::{KIND_PLUGIN, MAX_UNKNOWN_BODY, Stanza};
use super::keys::{FileKey, LongBech32};
use super::primitives::{TAG_LEN, hkdf_sha256, unwrap_key, wrap_key};
use super::recipient::{Identity, Recipient};

/// Smallest body of vault's plugin stanza (kind 06): one stanza of one
/// one-byte argument and an empty body, then the wrapped file key.
pub const MIN_VAULT_BODY: usize = 1 + 1 + 2 + 2 + 32 + TAG_LEN;
const BRIDGE_LABEL: &[u8] = b"vault/v1 plugin";
/// How long a plugin may stay silent while vault waits for it, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong with a plugin.
#[derive(Debug)]
#[non_exhaustive]
pub enum PluginError {
    /// No `age-plugin-NAME` on `PATH`.
    NotFound,
    /// The plugin could not be started or talked to.
    Io(std::io::Error),
    /// The plugin said something the protocol does not allow.
    Protocol(String),
    /// The plugin reported errors (its own words).
    Failed(Vec<String>),
    /// The plugin made no stanza for the recipient.
    NoStanza,
    /// The plugin said nothing for too long and was stopped.
    Timeout(u64),
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::NotFound => f.write_str("not found on PATH"),
            PluginError::Io(e) => write!(f, "{e}"),
            PluginError::Protocol(why) => write!(f, "broke the plugin protocol ({why})"),
            PluginError::Failed(msgs) if msgs.is_empty() => f.write_str("failed"),
            PluginError::Failed(msgs) => write!(f, "failed: {}", msgs.join("; ")),
            PluginError::NoStanza => f.write_str("made no stanza for the recipient"),
            PluginError::Timeout(s) => write!(f, "did not answer within {s} s and was stopped"),
        }
    }
}

/// Where a plugin's requests to the user go. Every method returns `None`
/// (or `false`) when it cannot ask, which the plugin hears as `fail`.
pub trait PluginUi: Send + Sync {
    /// Show a message.
    fn message(&self, plugin: &str, text: &str) -> bool;
    /// Ask yes or no (`no` may be absent: then only yes, or fail).
    fn confirm(&self, plugin: &str, text: &str, yes: &str, no: Option<&str>) -> Option<bool>;
    /// Ask for a public value.
    fn request_public(&self, plugin: &str, text: &str) -> Option<String>;
    /// Ask for a secret (not echoed).
    fn request_secret(&self, plugin: &str, text: &str) -> Option<Zeroizing<String>>;
}

/// A UI that can ask nothing.
struct NoUi;

impl PluginUi for NoUi {
    fn message(&self, _: &str, _: &str) -> bool {
        false
    }
    fn confirm(&self, _: &str, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn request_secret(&self, _: &str, _: &str) -> Option<Zeroizing<String>> {
        None
    }
}

struct Settings {
    ui: Box<dyn PluginUi>,
    timeout: Duration,
}

fn settings() -> &'static RwLock<Settings> {
    static S: OnceLock<RwLock<Settings>> = OnceLock::new();
    S.get_or_init(|| {
        RwLock::new(Settings {
            ui: Box::new(NoUi),
            timeout: DEFAULT_TIMEOUT,
        })
    })
}

/// Install the UI plugins talk to and how long a silent plugin is waited
/// for (the command line does this once; without it plugins can ask
/// nothing and are given [`DEFAULT_TIMEOUT`]).
pub fn configure(ui: Box<dyn PluginUi>, timeout: Duration) {
    let mut s = settings().write().unwrap_or_else(|e| e.into_inner());
    s.ui = ui;
    s.timeout = timeout;
}

/// Whether `name` is a valid plugin name (C2SP: letters, digits, `-_.+`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
}

fn plugin_err(plugin: &str, error: PluginError) -> CryptoError {
    CryptoError::Plugin {
        plugin: plugin.to_owned(),
        error,
    }
}

/// A Bech32 string's HRP, checked; the data part is the plugin's business.
fn checked_hrp(s: &str) -> Option<String> {
    let checked = CheckedHrpstring::new::<LongBech32>(s).ok()?;
    Some(checked.hrp().to_lowercase())
}

/// A recipient served by a plugin (`age1NAME1...`).
pub struct PluginRecipient {
    text: String,
    name: String,
    labels: RwLock<Vec<String>>,
}

impl PluginRecipient {
    /// Parse `age1NAME1...` (lower case, a valid Bech32 string).
    pub fn parse(s: &str) -> Result<PluginRecipient, CryptoError> {
        let bad = || CryptoError::InvalidKey("not a valid plugin recipient (age1NAME1...)".into());
        if s.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(CryptoError::InvalidKey(
                "public keys are written in lower case".into(),
            ));
        }
        let hrp = checked_hrp(s).ok_or_else(bad)?;
        let name = hrp
            .strip_prefix("age1")
            .filter(|n| valid_name(n))
            .ok_or_else(bad)?;
        Ok(PluginRecipient {
            text: s.to_owned(),
            name: name.to_owned(),
            labels: RwLock::new(Vec::new()),
        })
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.name
    }

    /// The plugin's stanzas wrapping a 16-byte key.
    fn wrap16(&self, key: &[u8]) -> Result<Vec<AgeStanza>, CryptoError> {
        let (stanzas, labels) =
            client::wrap(&self.name, &self.text, key).map_err(|e| plugin_err(&self.name, e))?;
        *self.labels.write().unwrap_or_else(|e| e.into_inner()) = labels;
        Ok(stanzas)
    }
}

impl fmt::Display for PluginRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for PluginRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginRecipient({})", self.text)
    }
}

impl Recipient for PluginRecipient {
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<Stanza, CryptoError> {
        let mut bridge = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(&mut bridge[..]);
        let stanzas = self.wrap16(&bridge[..])?;
        let body = vault_body(&stanzas, &bridge, file_key).ok_or_else(|| {
            plugin_err(
                &self.name,
                PluginError::Protocol(
                    "its stanzas do not fit in a vault stanza (4096 bytes)".into(),
                ),
            )
        })?;
        Ok(Stanza {
            kind: KIND_PLUGIN,
            body,
        })
    }

    fn age_stanza(
        &self,
        _rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<AgeStanza, CryptoError> {
        let mut stanzas = self.wrap16(file_key.as_bytes())?;
        if stanzas.len() != 1 {
            return Err(plugin_err(
                &self.name,
                PluginError::Protocol("more than one stanza for one recipient".into()),
            ));
        }
        Ok(stanzas.remove(0))
    }

    fn labels(&self) -> Vec<String> {
        self.labels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn reproducible(&self) -> bool {
        false
    }
}

/// An identity served by a plugin (`AGE-PLUGIN-NAME-1...`).
pub struct PluginIdentity {
    text: Zeroizing<String>,
    name: String,
}

impl fmt::Debug for PluginIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginIdentity({}, secret: ..)", self.name)
    }
}

impl PluginIdentity {
    /// Parse `AGE-PLUGIN-NAME-1...` (a valid Bech32 string).
    pub fn parse(s: &str) -> Result<PluginIdentity, CryptoError> {
        let bad =
            || CryptoError::InvalidKey("not a valid plugin identity (AGE-PLUGIN-NAME-1...)".into());
        let hrp = checked_hrp(s).ok_or_else(bad)?;
        let name = hrp
            .strip_prefix("age-plugin-")
            .and_then(|n| n.strip_suffix('-'))
            .filter(|n| valid_name(n))
            .ok_or_else(bad)?;
        Ok(PluginIdentity {
            text: Zeroizing::new(s.to_ascii_uppercase()),
            name: name.to_owned(),
        })
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.name
    }

    fn unwrap16(&self, stanzas: &[AgeStanza]) -> Result<Option<Zeroizing<[u8; 16]>>, CryptoError> {
        client::unwrap(&self.name, &self.text, stanzas).map_err(|e| plugin_err(&self.name, e))
    }
}

impl Identity for PluginIdentity {
    fn cache_label(&self) -> Option<Zeroizing<String>> {
        Some(self.text.clone())
    }
    fn unwrap_vault(&self, s: &Stanza) -> Result<Option<FileKey>, CryptoError> {
        if s.kind != KIND_PLUGIN {
            return Ok(None);
        }
        let (stanzas, wrapped) = parse_vault_body(&s.body)
            .ok_or(CryptoError::InvalidHeader("a plugin stanza is malformed"))?;
        let Some(bridge) = self.unwrap16(&stanzas)? else {
            return Ok(None);
        };
        let key = hkdf_sha256(&[], &bridge[..], BRIDGE_LABEL);
        let mut out = Zeroizing::new([0u8; 32]);
        if !unwrap_key(&key, wrapped, &mut out[..]) {
            return Err(CryptoError::InvalidHeader(
                "a plugin stanza's file key does not decrypt",
            ));
        }
        Ok(FileKey::from_bytes(&out[..]))
    }

    fn unwrap_age(&self, s: &AgeStanza) -> Result<Option<FileKey>, CryptoError> {
        self.unwrap_age_all(std::slice::from_ref(s))
    }

    fn unwrap_age_all(&self, stanzas: &[AgeStanza]) -> Result<Option<FileKey>, CryptoError> {
        Ok(self
            .unwrap16(stanzas)?
            .and_then(|k| FileKey::from_bytes(&k[..])))
    }
}

impl FromStr for PluginIdentity {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginIdentity::parse(s)
    }
}

/// Vault's plugin stanza body (module docs), or `None` if the plugin's
/// stanzas do not fit.
pub fn vault_body(stanzas: &[AgeStanza], bridge: &[u8; 16], file_key: &FileKey) -> Option<Vec<u8>> {
    let mut body = vec![u8::try_from(stanzas.len()).ok().filter(|&n| n > 0)?];
    for s in stanzas {
        body.push(u8::try_from(s.args.len()).ok().filter(|&n| n > 0)?);
        for a in &s.args {
            body.push(u8::try_from(a.len()).ok()?);
            body.extend_from_slice(a.as_bytes());
        }
        body.extend_from_slice(&u16::try_from(s.body.len()).ok()?.to_be_bytes());
        body.extend_from_slice(&s.body);
    }
    let key = hkdf_sha256(&[], &bridge[..], BRIDGE_LABEL);
    let mut wrapped = [0u8; 32 + TAG_LEN];
    wrap_key(&key, file_key.as_bytes(), &mut wrapped);
    body.extend_from_slice(&wrapped);
    (body.len() <= MAX_UNKNOWN_BODY).then_some(body)
}

/// Parse a plugin stanza body strictly: the age stanzas (arguments of
/// printable ASCII, at least one each) and the wrapped file key.
pub fn parse_vault_body(b: &[u8]) -> Option<(Vec<AgeStanza>, &[u8])> {
    let wrapped_at = b.len().checked_sub(32 + TAG_LEN)?;
    let (mut r, wrapped) = b.split_at(wrapped_at);
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, rest) = r.split_at_checked(n)?;
        r = rest;
        Some(a)
    };
    let count = take(1)?[0];
    if count == 0 {
        return None;
    }
    let mut stanzas = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let argc = take(1)?[0];
        if argc == 0 {
            return None;
        }
        let mut args = Vec::with_capacity(usize::from(argc));
        for _ in 0..argc {
            let len = usize::from(take(1)?[0]);
            let arg = take(len)?;
            if arg.is_empty() || !arg.iter().all(|c| (0x21..=0x7e).contains(c)) {
                return None;
            }
            args.push(String::from_utf8(arg.to_vec()).ok()?);
        }
        let len = u16::from_be_bytes(take(2)?.try_into().ok()?);
        let body = take(usize::from(len))?.to_vec();
        stanzas.push(AgeStanza { args, body });
    }
    take(0)?;
    r.is_empty().then_some((stanzas, wrapped))
}

/// The HRP a plugin recipient for `name` uses (for messages and tests).
pub fn recipient_hrp(name: &str) -> Option<Hrp> {
    Hrp::parse(&format!("age1{}", name.to_ascii_lowercase())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_bodies_round_trip_and_are_strict() {
        let stanzas = vec![
            AgeStanza {
                args: vec!["x".into(), "abc".into()],
                body: vec![7; 32],
            },
            AgeStanza {
                args: vec!["y".into()],
                body: vec![],
            },
        ];
        let fk = FileKey::from_bytes(&[3; 32]).unwrap();
        let body = vault_body(&stanzas, &[9; 16], &fk).unwrap();
        let (back, wrapped) = parse_vault_body(&body).unwrap();
        assert_eq!(back, stanzas);
        assert_eq!(wrapped.len(), 48);
        for cut in 0..body.len() {
            if cut >= 48 {
                assert!(
                    parse_vault_body(&body[..body.len() - cut]).is_none(),
                    "{cut}"
                );
            }
        }
        let mut extra = body.clone();
        extra.insert(body.len() - 48, 0);
        assert!(parse_vault_body(&extra).is_none());
    }

    #[test]
    fn names_and_strings() {
        assert!(valid_name("yubikey") && valid_name("a.b+c_d-1"));
        assert!(!valid_name("") && !valid_name("a/b") && !valid_name("a b"));
        let r =
            bech32::encode_lower::<bech32::Bech32>(recipient_hrp("test").unwrap(), b"k").unwrap();
        let p = PluginRecipient::parse(&r).unwrap();
        assert_eq!(p.plugin(), "test");
        assert!(!p.reproducible());
        let i = bech32::encode_upper::<bech32::Bech32>(
            Hrp::parse("AGE-PLUGIN-TEST-").unwrap(),
            b"secret",
        )
        .unwrap();
        assert_eq!(PluginIdentity::parse(&i).unwrap().plugin(), "test");
        assert!(!format!("{:?}", PluginIdentity::parse(&i).unwrap()).contains(&i[17..]));
    }
}
