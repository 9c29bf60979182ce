//! The server is the adversary: it changes, cuts, swaps, replays and
//! deletes stored objects, and a co-recipient (someone who may seal to us)
//! forges objects with hostile names. Every case must end in a clear
//! one-line error or a safe result: never a panic, never partial output,
//! never bytes that were not authenticated, never a write outside `-C DIR`,
//! never a raw control character on the terminal.
//!
//! Most cases tamper with a local-folder vault (the layout is the same as
//! on a server); `over_sftp` repeats a representative set through a real
//! sshd, `over_s3` through a real SeaweedFS. Each test prints how many
//! cases it ran.
//!
//! One test binary (each links OpenSSL and libssh2): [`support`] holds what
//! the cases share; each other module is one family of cases.

#[path = "../common/mod.rs"]
mod common;
mod names;
mod replay;
mod s3;
mod sftp;
mod stray;
mod support;
mod tamper;
