//! A remote vault: sealed objects in a folder on any [`Transport`].
//!
//! The layout and the encoding of objects are [`codec`]'s (pure, no I/O);
//! this layer moves them over a transport. An object exists for readers
//! once its head exists: a push puts the payload at `objects/ID.p`, then
//! the head, each of which the transport makes visible only once complete
//! ([`Transport::put`]), so an interrupted push leaves nothing visible and
//! a rerun simply starts again (leftovers are swept after an hour). The
//! head is small and separately replaceable: `mv`, `share` and `unshare`
//! replace it atomically and never touch the payload. Metadata (name,
//! size, times, recipient list) is sealed under the object's file key; see
//! [`codec::metadata`] and `docs/FORMAT.md`.
//!
//! - [`vault`]: opening or creating a vault, listing, removing, sweeping;
//! - [`push`], [`pull`]: moving one object's payload, sealed or opened on
//!   the fly ([`pipe`] overlaps crypto with the network), a large regular
//!   file over several connections at once ([`parallel`]);
//! - [`share`]: changing who can open an object.
//!
//! Layering: above [`crate::crypto`] and [`crate::transport`], which know
//! nothing of it; errors are [`RemoteError`], which carries theirs as
//! themselves.
//!
//! [`Transport`]: crate::transport::Transport
//! [`Transport::put`]: crate::transport::Transport::put

pub mod codec;
mod error;
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
pub use push::PushSpec;
pub use vault::{Listing, Object, RemoteVault, now};
