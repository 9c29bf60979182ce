//! A remote vault: sealed objects in a folder on any [`Transport`], fast
//! over a far link.
//!
//! The layout and the encoding of objects are [`codec`]'s (pure, no I/O);
//! this layer moves them over a transport. An object exists for readers
//! once its head is complete: a small file is one head file with its
//! payload inside; a larger one has its payload at `objects/ID.p`, written
//! before the head. A head is never rewritten: `mv`, `share` and `unshare
//! --keep-key` write the next revision beside it and remove the old one,
//! so (id, revision) names immutable bytes, and two clients changing one
//! object at once cannot silently undo each other (one gets
//! [`RemoteError::Conflict`]). Metadata (name, size, times, content hash,
//! recipient list) is sealed under the object's file key, and the
//! recipient list is bound to the header's stanzas; see [`codec`] and
//! `docs/FORMAT.md`.
//!
//! Round trips are what a far link charges for, so:
//! - [`listing`]: one listing of `objects/` is the authority on what
//!   exists; what each head holds comes from the client [`cache`], the
//!   server's [`packs`], or reading the head, in that order;
//! - [`RemoteVault::find_fast`]: a command naming one object checks the
//!   cache against the folder's modification time and that object's head
//!   file, without listing;
//! - [`batch`]: many small pieces of work run over several connections;
//! - [`push`], [`pull`]: one object's payload, sealed or opened on the fly
//!   ([`pipe`] overlaps crypto with the network), a large regular file over
//!   several connections at once ([`parallel`]);
//! - [`share`]: new head revisions and re-keying;
//! - [`vault`]: opening or creating a vault, removing, sweeping.
//!
//! Layering: above [`crate::crypto`] and [`crate::transport`], which know
//! nothing of it; errors are [`RemoteError`], which carries theirs as
//! themselves. The cache is local files under a folder the caller names.
//!
//! [`Transport`]: crate::transport::Transport

pub mod batch;
pub mod cache;
pub mod codec;
mod error;
pub mod listing;
pub mod packs;
mod parallel;
mod pipe;
pub mod pull;
pub mod push;
pub mod share;
#[cfg(test)]
mod tests;
pub mod vault;

pub use codec::{Metadata, names};
pub use error::RemoteError;
pub use listing::{Listing, Object, Opened, Scan};
pub use pull::pull_on;
pub use push::{PushSpec, Pushed, push_small, push_stream};
pub use share::Change;
pub use vault::{DEFAULT_TRANSFERS, RemoteVault, now};
