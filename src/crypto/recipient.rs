//! What a key type implements to take part in both formats: a [`Recipient`]
//! wraps a file key into stanzas, an [`Identity`] unwraps stanzas.
//!
//! Each key type (today X25519, in [`super::x25519`]) implements both
//! formats' stanzas, vault's binary ones ([`super::header::Stanza`]) and
//! age's text ones ([`super::age::Stanza`]), so the header builders and the
//! one open path ([`super::open`]) never name a key type: adding one is an
//! implementation of these traits, nothing else. Passphrases are not a key
//! type here: their stanza must be alone and their secret is asked for, so
//! the decryptors handle them apart.

use std::collections::HashSet;
use std::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::age;
use super::error::CryptoError;
use super::header;
use super::keys::FileKey;

/// Someone a file can be sealed to. `Display` is the recipient's public
/// string form (what `-r` takes); two recipients with the same form are the
/// same recipient.
pub trait Recipient: fmt::Display {
    /// The stanza wrapping `file_key` (32 bytes) in a vault header.
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<header::Stanza, CryptoError>;

    /// The stanza wrapping `file_key` (16 bytes) in an age header.
    fn age_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<age::Stanza, CryptoError>;

    /// The labels of this recipient's stanzas (age's `RecipientWithLabels`):
    /// every recipient of one file must have the same set, so that, for
    /// instance, a post-quantum recipient (label `postquantum`) is never
    /// mixed with a classic one that would undo its protection. Valid once
    /// a stanza was made (a plugin says its labels when it wraps).
    fn labels(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the stanza is a function of the random generator's output
    /// (so a reader holding the file key and the generator's seed can make
    /// it again and compare). False for age plugins, whose stanzas come
    /// from another program.
    fn reproducible(&self) -> bool {
        true
    }
}

/// A recipient of any kind, as parsers return it: shareable between the
/// threads that seal several objects at once.
pub type AnyRecipient = Box<dyn Recipient + Send + Sync>;

/// A secret key that can open stanzas made for it.
pub trait Identity {
    /// Try one vault stanza. `Ok(None)`: not for this identity (or of a
    /// kind it does not know); an error: the stanza is malformed in a way no
    /// honest writer produces, which fails the whole file.
    fn unwrap_vault(&self, stanza: &header::Stanza) -> Result<Option<FileKey>, CryptoError>;

    /// Try one age stanza, with the same meaning of the results.
    fn unwrap_age(&self, stanza: &age::Stanza) -> Result<Option<FileKey>, CryptoError>;

    /// Try all of one age header's stanzas, in order (what age's
    /// `Identity.Unwrap` takes). The default tries each with
    /// [`Identity::unwrap_age`]; a plugin identity sees them all at once,
    /// so that it starts its plugin once per file.
    fn unwrap_age_all(&self, stanzas: &[age::Stanza]) -> Result<Option<FileKey>, CryptoError> {
        for s in stanzas {
            if let Some(k) = self.unwrap_age(s)? {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Secret bytes, stable across runs, that only the holder of this
    /// identity has, to key what vault keeps on the local disk for it (the
    /// remote cache): derived one-way from the secret key
    /// ([`super::primitives::cache_secret_of`]), never the key itself, so
    /// that the vault agent can hand it out. `None` (the default) for identities whose secret is
    /// elsewhere (a plugin's hardware key) or unlocked only on use (a
    /// passphrase-protected SSH key): they get no cache of their own.
    fn cache_secret(&self) -> Option<Zeroizing<Vec<u8>>> {
        None
    }

    /// For an identity without a [`Identity::cache_secret`]: text that
    /// tells it apart from every other identity (an SSH key's public key,
    /// a plugin identity's string), so that what a local cache records
    /// about "objects I cannot open" is kept per set of identities. An
    /// identity with neither gets no cache at all.
    fn cache_label(&self) -> Option<Zeroizing<String>> {
        None
    }
}

impl<T: Recipient + ?Sized> Recipient for Box<T> {
    fn vault_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<header::Stanza, CryptoError> {
        (**self).vault_stanza(rng, file_key)
    }
    fn age_stanza(
        &self,
        rng: &mut dyn CryptoRng,
        file_key: &FileKey,
    ) -> Result<age::Stanza, CryptoError> {
        (**self).age_stanza(rng, file_key)
    }
    fn labels(&self) -> Vec<String> {
        (**self).labels()
    }
    fn reproducible(&self) -> bool {
        (**self).reproducible()
    }
}

impl<T: Identity + ?Sized> Identity for Box<T> {
    fn unwrap_vault(&self, s: &header::Stanza) -> Result<Option<FileKey>, CryptoError> {
        (**self).unwrap_vault(s)
    }
    fn unwrap_age(&self, s: &age::Stanza) -> Result<Option<FileKey>, CryptoError> {
        (**self).unwrap_age(s)
    }
    fn unwrap_age_all(&self, s: &[age::Stanza]) -> Result<Option<FileKey>, CryptoError> {
        (**self).unwrap_age_all(s)
    }
    fn cache_secret(&self) -> Option<Zeroizing<Vec<u8>>> {
        (**self).cache_secret()
    }
    fn cache_label(&self) -> Option<Zeroizing<String>> {
        (**self).cache_label()
    }
}

/// A list of identities as the decryptors take it.
pub fn as_identities<I: Identity>(ids: &[I]) -> Vec<&dyn Identity> {
    ids.iter().map(|i| i as &dyn Identity).collect()
}

/// A list of recipients as the header builders take it.
pub fn as_recipients<R: Recipient>(rs: &[R]) -> Vec<&dyn Recipient> {
    rs.iter().map(|r| r as &dyn Recipient).collect()
}

/// `recipients` without repeats (by their public string form), in order.
pub fn distinct<'a>(recipients: &[&'a dyn Recipient]) -> Vec<&'a dyn Recipient> {
    let mut seen = HashSet::new();
    recipients
        .iter()
        .filter(|r| seen.insert(r.to_string()))
        .copied()
        .collect()
}

/// Refuse recipients whose stanzas carry different labels (call after
/// their stanzas were made): a post-quantum recipient beside a classic one
/// is [`CryptoError::MixedPostQuantum`], any other difference
/// [`CryptoError::IncompatibleRecipients`].
pub fn check_labels(recipients: &[&dyn Recipient]) -> Result<(), CryptoError> {
    let sets: Vec<std::collections::BTreeSet<String>> = recipients
        .iter()
        .map(|r| r.labels().into_iter().collect())
        .collect();
    let Some(first) = sets.first() else {
        return Ok(());
    };
    if sets.iter().all(|s| s == first) {
        return Ok(());
    }
    let pq = super::pq::POSTQUANTUM;
    if sets.iter().any(|s| s.contains(pq)) && sets.iter().any(|s| !s.contains(pq)) {
        return Err(CryptoError::MixedPostQuantum);
    }
    Err(CryptoError::IncompatibleRecipients)
}
