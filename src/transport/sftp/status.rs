//! How libssh2's failures map to [`TransportError`] classes, for every
//! file of the SFTP backend.
//!
//! OpenSSH's sftp-server answers `SSH_FX_FAILURE` for most errno values
//! (EEXIST, ENOSPC, EDQUOT included), and libssh2 drops the server's message
//! text, so callers re-examine a generic failure where it matters (a `stat`
//! tells "already exists", `statvfs@openssh.com` tells "disk full").

use std::io;

use libssh2_sys as raw;
use ssh2::{ErrorCode, Session};

use super::error::SshError;
use crate::transport::error::TransportError;

/// libssh2 session error codes that mean the connection is gone.
pub(crate) fn is_connection_error(code: i32) -> bool {
    matches!(
        code,
        raw::LIBSSH2_ERROR_SOCKET_SEND
            | raw::LIBSSH2_ERROR_SOCKET_RECV
            | raw::LIBSSH2_ERROR_SOCKET_DISCONNECT
            | raw::LIBSSH2_ERROR_SOCKET_TIMEOUT
            | raw::LIBSSH2_ERROR_BAD_SOCKET
            | raw::LIBSSH2_ERROR_CHANNEL_CLOSED
            | raw::LIBSSH2_ERROR_CHANNEL_EOF_SENT
            | raw::LIBSSH2_ERROR_TIMEOUT
    )
}

/// Map a handshake failure: a peer that hangs up before its SSH greeting
/// is most likely not an SSH server (or refuses this client).
pub(crate) fn handshake_error(host: &str, e: &ssh2::Error) -> TransportError {
    // libssh2 reports this as BANNER_RECV, SOCKET_RECV or
    // SOCKET_DISCONNECT depending on timing; its message names the banner.
    let no_banner = e.code() != ErrorCode::Session(raw::LIBSSH2_ERROR_TIMEOUT)
        && e.message().to_ascii_lowercase().contains("banner");
    if no_banner {
        return SshError::Protocol {
            host: host.to_owned(),
            detail: format!(
                "no SSH greeting from the server ({}); is this port an SSH server?",
                e.message()
            ),
        }
        .into();
    }
    session_error(host, e, "during the SSH handshake")
}

/// Map a session-level libssh2 error.
pub(crate) fn session_error(host: &str, e: &ssh2::Error, what: &str) -> TransportError {
    let code = match e.code() {
        ErrorCode::Session(c) => c,
        ErrorCode::SFTP(_) => 0,
    };
    if code == raw::LIBSSH2_ERROR_TIMEOUT {
        TransportError::Timeout {
            host: host.to_owned(),
            what: what.to_owned(),
        }
    } else if is_connection_error(code) {
        TransportError::ConnectionLost {
            host: host.to_owned(),
            detail: format!("{what}: {}", e.message()),
        }
    } else {
        SshError::Protocol {
            host: host.to_owned(),
            detail: format!("{what}: {}", e.message()),
        }
        .into()
    }
}

pub(crate) fn is_not_found(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::SFTP(raw::LIBSSH2_FX_NO_SUCH_FILE | raw::LIBSSH2_FX_NO_SUCH_PATH)
    )
}

/// Map an SFTP-level error on `shown` to its failure class.
pub(crate) fn map_sftp_error(
    host: &str,
    e: &ssh2::Error,
    shown: &str,
    what: &str,
) -> TransportError {
    match e.code() {
        ErrorCode::SFTP(code) => match code {
            raw::LIBSSH2_FX_NO_SUCH_FILE | raw::LIBSSH2_FX_NO_SUCH_PATH => {
                TransportError::NotFound(shown.to_owned())
            }
            raw::LIBSSH2_FX_PERMISSION_DENIED | raw::LIBSSH2_FX_WRITE_PROTECT => {
                TransportError::PermissionDenied(shown.to_owned())
            }
            raw::LIBSSH2_FX_FILE_ALREADY_EXISTS => TransportError::AlreadyExists(shown.to_owned()),
            raw::LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM | raw::LIBSSH2_FX_QUOTA_EXCEEDED => {
                TransportError::NoSpace(shown.to_owned())
            }
            raw::LIBSSH2_FX_NO_CONNECTION | raw::LIBSSH2_FX_CONNECTION_LOST => {
                TransportError::ConnectionLost {
                    host: host.to_owned(),
                    detail: format!("{what} {shown}"),
                }
            }
            raw::LIBSSH2_FX_FAILURE => TransportError::ServerFailure {
                context: format!("{what} {shown}"),
                detail: "SFTP status 4, a generic failure; OpenSSH reports most errors this way"
                    .into(),
            },
            _ => TransportError::ServerFailure {
                context: format!("{what} {shown}"),
                detail: format!("SFTP status {code}: {}", e.message()),
            },
        },
        ErrorCode::Session(_) => session_error(host, e, &format!("{what} {shown}")),
    }
}

/// Classify an `io::Error` from an `ssh2::sftp::File`. ssh2 converts its
/// error to `io::Error` keeping only the kind and message, so the SFTP
/// status is recovered from ssh2's fixed message texts, and a session
/// failure (connection lost, timeout) from the session's last error.
pub(crate) fn map_file_io(
    host: &str,
    e: io::Error,
    shown: &str,
    what: &str,
    sess: Option<&Session>,
) -> TransportError {
    let msg = e.to_string();
    match (e.kind(), msg.as_str()) {
        (io::ErrorKind::NotFound, _) => TransportError::NotFound(shown.to_owned()),
        (io::ErrorKind::TimedOut, _) => TransportError::Timeout {
            host: host.to_owned(),
            what: format!("{what} {shown}"),
        },
        (_, "permission denied" | "file is write protected") => {
            TransportError::PermissionDenied(shown.to_owned())
        }
        (_, "no space on filesystem" | "quota exceeded") => {
            TransportError::NoSpace(shown.to_owned())
        }
        (_, "failure") => TransportError::ServerFailure {
            context: format!("{what} {shown}"),
            detail: "SFTP status 4, a generic failure; OpenSSH reports a full disk this way".into(),
        },
        (_, "connection lost" | "no connection") => TransportError::ConnectionLost {
            host: host.to_owned(),
            detail: format!("{what} {shown}"),
        },
        _ => {
            // Not an SFTP status: the session itself may have failed.
            if let Some(last) = sess.and_then(ssh2::Error::last_session_error)
                && matches!(last.code(), ErrorCode::Session(c) if is_connection_error(c))
            {
                return session_error(host, &last, &format!("{what} {shown}"));
            }
            TransportError::Io {
                context: format!("{what} {shown}"),
                source: e,
            }
        }
    }
}

/// Map a failed TCP connect to its failure class.
pub(crate) fn connect_error(host: &str, addr: String, e: &io::Error) -> TransportError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TransportError::ConnectionRefused {
            host: host.to_owned(),
            addr,
        },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportError::Timeout {
            host: host.to_owned(),
            what: format!("connecting to {addr}"),
        },
        _ => TransportError::Unreachable {
            host: host.to_owned(),
            addr,
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_io_errors_are_classified() {
        let m = |msg: &str| map_file_io("h", io::Error::other(msg.to_owned()), "p", "w", None);
        assert!(matches!(
            m("no space on filesystem"),
            TransportError::NoSpace(_)
        ));
        assert!(matches!(m("quota exceeded"), TransportError::NoSpace(_)));
        assert!(matches!(
            m("permission denied"),
            TransportError::PermissionDenied(_)
        ));
        assert!(matches!(m("failure"), TransportError::ServerFailure { .. }));
        assert!(matches!(m("socket gone"), TransportError::Io { .. }));
    }

    #[test]
    fn connect_errors_are_classified() {
        let c = |k: io::ErrorKind| connect_error("h", "1.2.3.4:22".into(), &io::Error::from(k));
        assert!(matches!(
            c(io::ErrorKind::ConnectionRefused),
            TransportError::ConnectionRefused { .. }
        ));
        assert!(matches!(
            c(io::ErrorKind::TimedOut),
            TransportError::Timeout { .. }
        ));
        for k in [
            io::ErrorKind::HostUnreachable,
            io::ErrorKind::NetworkUnreachable,
        ] {
            let e = c(k);
            assert!(matches!(e, TransportError::Unreachable { .. }), "{e:?}");
            assert!(e.to_string().contains("1.2.3.4:22"), "{e}");
        }
    }
}
