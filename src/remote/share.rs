//! Changing an object: a new head revision (`mv`, `share`, `unshare
//! --keep-key`, through [`RemoteVault::rewrite`]) or a new object under a
//! fresh file key (`unshare`, through [`RemoteVault::rekey`]).
//!
//! A rewrite never touches the head file it replaces: it writes revision
//! REV+1 with a no-replace put (complete or absent), then removes REV. If
//! REV+1 exists already, or REV is gone by the time it is removed, another
//! client rewrote or removed the object meanwhile: the new revision is
//! withdrawn and the command fails with [`RemoteError::Conflict`], so two
//! concurrent changes never silently undo each other. The header is always
//! rebuilt from the recipient list ([`crate::crypto::bound`]): the same
//! file key and nonce, so the payload is untouched and the stanzas of the
//! recipients who stay are byte for byte the same.

use rand_core::CryptoRng;

use super::cache::Known;
use super::codec::{self, head_path, parse_recipient};
use super::listing::{Object, Opened};
use super::push::{PushSpec, push_stream};
use super::{RemoteError, RemoteVault, pipe};
use crate::crypto::file::payload_key;
use crate::crypto::{Recipient, bound};
use crate::transport::{PutMode, TransportError};

/// What a rewrite changes.
pub struct Change<'a> {
    /// The new name (or the same).
    pub name: &'a str,
    /// The new recipient list, public strings in order.
    pub recipients: &'a [String],
}

impl RemoteVault {
    /// Write revision REV+1 of `o` with `change`, then remove REV. Returns
    /// the object as it now is.
    pub fn rewrite<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        o: &Opened,
        change: &Change<'_>,
    ) -> Result<Object, RemoteError> {
        let parsed: Vec<crate::crypto::AnyRecipient> = change
            .recipients
            .iter()
            .map(|s| {
                parse_recipient(s).ok_or_else(|| {
                    RemoteError::BadObject(format!(
                        "recipient {s:?} is of a kind this version of vault cannot seal to"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let list: Vec<&dyn Recipient> = parsed
            .iter()
            .map(|r| r.as_ref() as &dyn Recipient)
            .collect();
        let header = bound::header(o.header.suite, &o.file_key, o.header.nonce, &list)?;
        let rev = o.obj.rev + 1;
        let mut meta = o.obj.meta.clone();
        meta.version = 2;
        meta.id = o.obj.id.clone();
        meta.rev = rev;
        meta.name = change.name.to_owned();
        meta.recipients = change.recipients.to_vec();
        meta.check()?;
        let inline = meta.inline.then(|| &o.head[o.body_at..]);
        let head = codec::head::build(rng, &header, &o.file_key, &meta, inline);
        let path = head_path(&o.obj.id, rev);
        let mut w = self.t.put(&path, PutMode::New)?;
        w.write_all(&head)?;
        match w.finish() {
            Ok(()) => {}
            Err(TransportError::AlreadyExists(_)) => {
                return Err(RemoteError::Conflict(o.obj.meta.name.clone()));
            }
            Err(e) => return Err(e.into()),
        }
        match self.t.remove(&head_path(&o.obj.id, o.obj.rev)) {
            Ok(()) => {}
            Err(TransportError::NotFound(_)) => {
                // Someone superseded or removed REV first: ours is not the
                // head (or the object is gone). Withdraw it.
                let _ = self.t.remove(&path);
                return Err(RemoteError::Conflict(o.obj.meta.name.clone()));
            }
            Err(e) => return Err(e.into()),
        }
        let obj = Object {
            id: o.obj.id.clone(),
            rev,
            head_size: head.len() as u64,
            payload_size: o.obj.payload_size,
            suite: o.header.suite,
            meta,
            unverified: 0,
        };
        if let Some(c) = self.cache.as_mut() {
            c.remove(&o.obj.id, o.obj.rev);
            c.put_head(&obj.id, rev, &head);
            c.insert(&obj.id, rev, Known::Mine(std::sync::Arc::new(obj.clone())));
            c.forget_snapshot();
        }
        Ok(obj)
    }

    /// Re-seal `o` under a fresh file key for `recipients` as a new object
    /// (for a payload in its own file, a full re-upload through a second
    /// connection), then remove the old one. Whoever is left out cannot
    /// open the new object even with the old file key. Returns the new
    /// object.
    pub fn rekey<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        o: &Opened,
        recipients: &[&(dyn Recipient + Sync)],
    ) -> Result<Object, RemoteError> {
        let spec = PushSpec {
            name: &o.obj.meta.name,
            mtime: o.obj.meta.mtime,
            suite: o.header.suite,
            recipients,
        };
        let key = payload_key(o.header.suite, &o.file_key, &o.header.nonce);
        let pushed = if o.obj.meta.inline {
            let mut plain = Vec::new();
            super::pull::pull_on(self.t.as_mut(), o, &mut plain)?;
            push_stream(self.t.as_mut(), rng, &mut &plain[..], &spec, &|| Ok(()))?
        } else {
            let mut reader_conn = self.t.reconnect()?;
            let raw = reader_conn.read(&codec::payload_path(&o.obj.id))?;
            let mut src = pipe::ReadBridge::new(raw);
            let mut plain = crate::crypto::StreamReader::new(key, &mut src);
            let pushed = push_stream(self.t.as_mut(), rng, &mut plain, &spec, &|| Ok(()));
            let class = plain.failure();
            drop(plain);
            pushed.map_err(|e| match (e, src.take_error(), class) {
                // Reading the old payload failed: report the transport's
                // error, or its crypto class.
                (RemoteError::Io(_), Some(t), _) => RemoteError::Transport(t),
                (RemoteError::Io(_), None, Some(class)) => RemoteError::Crypto(class),
                (other, _, _) => other,
            })?
        };
        self.remember(&pushed);
        self.remove(&o.obj)?;
        Ok(pushed.obj)
    }
}
