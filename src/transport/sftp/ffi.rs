//! The two places where the `ssh2` crate is not enough, and so (with
//! `ssh_cipher.rs`, where libssh2 calls into Rust) the only unsafe code in
//! the transport layer: both call libssh2 directly through
//! `libssh2-sys` (the same library `ssh2` links, guaranteed by its
//! `links = "ssh2"`).
//!
//! 1. [`userauth_list`]: `ssh2::Session::auth_methods` unwraps the server's
//!    method list as UTF-8 and so panics on a hostile server; this reads it
//!    lossily instead.
//!
//! 2. [`PosixRename`], atomic replace over SFTP: the
//!    `posix-rename@openssh.com` extension.
//!
//! SFTP v3 `RENAME` fails against OpenSSH when the target exists (its flags
//! are ignored), so replacing a file atomically needs OpenSSH's extension,
//! which performs `rename(2)` on the server. The bundled libssh2 (1.11)
//! implements it as `libssh2_sftp_posix_rename_ex`, but the `ssh2` crate
//! neither wraps it nor exposes the `LIBSSH2_SFTP*` of its `Sftp` handle.
//!
//! The sound route taken: open a second, private SFTP subsystem on the
//! same session with `libssh2_sftp_init`, using the session pointer that
//! `ssh2::Session::raw()` hands out together with the session's lock, and
//! use it only for this call. (Reaching into `ssh2::Sftp` for its private
//! pointer would depend on its memory layout, which is undefined.) It costs
//! one extra channel, opened lazily on the first replacing rename. The
//! handle keeps a clone of the `Session`, so the session outlives it, and
//! every libssh2 call on it is made while holding the session lock, which
//! is how `ssh2` itself serialises access. `Session::raw()` is public but
//! `#[doc(hidden)]` in ssh2 0.9.6; if a release removes it, this module is
//! the only place to change.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_uint};
use std::ptr::NonNull;

use libssh2_sys as raw;
use ssh2::Session;

unsafe extern "C" {
    /// From libssh2's `sftp.c` (1.11): sends `posix-rename@openssh.com` and
    /// waits for the status (blocking sessions). Returns 0, or a negative
    /// `LIBSSH2_ERROR_*`; on `LIBSSH2_ERROR_SFTP_PROTOCOL` the SFTP status
    /// is in `libssh2_sftp_last_error` (`LIBSSH2_FX_OP_UNSUPPORTED` if the
    /// server did not announce the extension).
    fn libssh2_sftp_posix_rename_ex(
        sftp: *mut raw::LIBSSH2_SFTP,
        source_filename: *const c_char,
        source_filename_len: usize,
        dest_filename: *const c_char,
        dest_filename_len: usize,
    ) -> c_int;
}

/// The authentication methods the server accepts for `user` (this also
/// tries the `none` method). `Ok(None)` means `none` succeeded: the session
/// is authenticated.
pub(crate) fn userauth_list(sess: &Session, user: &str) -> Result<Option<String>, ssh2::Error> {
    let c_user = CString::new(user).map_err(ssh2::Error::from)?;
    let len = c_uint::try_from(user.len()).map_err(|_| ssh2::Error::unknown())?;
    let list = {
        let mut guard = sess.raw();
        let session: *mut raw::LIBSSH2_SESSION = &mut *guard;
        // SAFETY: `session` is the live, locked session of `sess`; the user
        // name is a valid C string of `len` bytes. The returned string is
        // owned by the session and valid until its next call, so it is
        // copied before the lock is released.
        unsafe {
            let p = raw::libssh2_userauth_list(session, c_user.as_ptr(), len);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    };
    match list {
        Some(l) => Ok(Some(l)),
        None if sess.authenticated() => Ok(None),
        None => Err(ssh2::Error::last_session_error(sess).unwrap_or_else(ssh2::Error::unknown)),
    }
}

/// Why a posix-rename failed.
#[derive(Debug)]
pub(crate) enum RenameError {
    /// The server does not offer the extension.
    Unsupported,
    /// The server answered with this SFTP status code.
    Status(i32),
    /// The session failed (connection lost, timeout, ...).
    Session(ssh2::Error),
}

/// A private SFTP subsystem used only for `posix-rename@openssh.com`.
pub(crate) struct PosixRename {
    sess: Session,
    sftp: NonNull<raw::LIBSSH2_SFTP>,
}

// SAFETY: the pointer is only dereferenced (by libssh2) while the session
// lock is held, so moving the handle to another thread is as safe as moving
// the `Session` itself, which ssh2 declares `Send`.
unsafe impl Send for PosixRename {}

impl PosixRename {
    /// Start the SFTP subsystem on an authenticated, blocking session.
    pub(crate) fn open(sess: &Session) -> Result<PosixRename, ssh2::Error> {
        let ptr = {
            let mut guard = sess.raw();
            let session: *mut raw::LIBSSH2_SESSION = &mut *guard;
            // SAFETY: `session` is the live session owned by `sess`, and we
            // hold its lock for the duration of the call.
            unsafe { raw::libssh2_sftp_init(session) }
        };
        match NonNull::new(ptr) {
            Some(sftp) => Ok(PosixRename {
                sess: sess.clone(),
                sftp,
            }),
            None => Err(ssh2::Error::last_session_error(sess).unwrap_or_else(ssh2::Error::unknown)),
        }
    }

    /// Rename `src` to `dst` on the server with `rename(2)` semantics: an
    /// existing `dst` is replaced atomically.
    pub(crate) fn rename(&self, src: &[u8], dst: &[u8]) -> Result<(), RenameError> {
        let guard = self.sess.raw();
        // SAFETY: `self.sftp` came from `libssh2_sftp_init` on this session
        // and is shut down only in `drop`; the session is alive because we
        // hold a clone of it, and locked by `guard`. The buffers are valid
        // for their lengths (libssh2 copies them into the packet).
        let rc = unsafe {
            libssh2_sftp_posix_rename_ex(
                self.sftp.as_ptr(),
                src.as_ptr().cast(),
                src.len(),
                dst.as_ptr().cast(),
                dst.len(),
            )
        };
        if rc == 0 {
            return Ok(());
        }
        if rc == raw::LIBSSH2_ERROR_SFTP_PROTOCOL {
            // SAFETY: as above; reads a field of the live SFTP handle.
            let status = unsafe { raw::libssh2_sftp_last_error(self.sftp.as_ptr()) };
            drop(guard);
            let status = i32::try_from(status).unwrap_or(i32::MAX);
            return Err(if status == raw::LIBSSH2_FX_OP_UNSUPPORTED {
                RenameError::Unsupported
            } else {
                RenameError::Status(status)
            });
        }
        // `from_session_error` takes the session lock itself.
        drop(guard);
        Err(RenameError::Session(ssh2::Error::from_session_error(
            &self.sess, rc,
        )))
    }
}

impl Drop for PosixRename {
    fn drop(&mut self) {
        let _guard = self.sess.raw();
        // SAFETY: the handle is live (created in `open`, never freed
        // before), the session is alive and locked; after this call the
        // pointer is not used again.
        unsafe {
            raw::libssh2_sftp_shutdown(self.sftp.as_ptr());
        }
    }
}
