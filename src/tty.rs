//! The controlling terminal: prompts that leave it exactly as they found
//! it, on every path.
//!
//! Every question vault asks (passphrases, SSH passwords, "continue
//! connecting?") goes through here, to `/dev/tty`, so it works when
//! standard input and output carry data. Echo is turned off for secrets
//! only, as OpenSSH's `readpassphrase(3)` does, and turned back on by one
//! of three paths:
//! - the normal end of the prompt (answer, empty answer, error);
//! - the signal handler (`crate::atomic::install_signal_cleanup`, SIGINT,
//!   SIGTERM, SIGHUP), which calls [`restore_after_signal`] before the
//!   process exits, since a process that exits from a signal handler runs
//!   no destructors;
//! - a panic unwinding through the prompt (a guard's `Drop`).
//!
//! Never fighting another program for the terminal: in
//! `vault pull ... -o - | less`, `less` switches the same terminal to raw
//! mode (`-icanon -isig -echo`) while vault may be asking for a
//! passphrase, and each program saves the modes it found and restores them
//! later. Restoring the whole saved state when the terminal has changed
//! meanwhile would put back a state that belongs to the other program
//! (which is how the terminal was once left raw after `less` quit, and
//! Ctrl-C then no longer interrupted anything). So the saved state is
//! written back only if the terminal still is exactly as vault set it;
//! otherwise only the flags vault itself changed (`ECHO`, `ECHONL`, and
//! only those it found set) are put back, on top of whatever the terminal
//! is now.
//!
//! This module imports nothing else of the crate; the keystore and the
//! SSH transport both use it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use zeroize::Zeroizing;

/// Longest answer read (bytes); the rest of a longer line is discarded.
const MAX_ANSWER: usize = 8192;

/// The flags a hidden prompt changes.
const OUR_FLAGS: libc::tcflag_t = libc::ECHO | libc::ECHONL;

/// The terminal state a prompt in progress has to put back: what it found
/// and what it set. Read by [`restore_after_signal`].
static ACTIVE: Mutex<Option<Saved>> = Mutex::new(None);

#[derive(Clone, Copy)]
struct Saved {
    found: libc::termios,
    set: libc::termios,
}

/// Open the controlling terminal for reading and writing.
fn open_tty() -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/tty")
}

fn get_attr(fd: RawFd) -> io::Result<libc::termios> {
    let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr writes one `termios` into the pointer it is given,
    // which points to enough writable memory; it is read only on success.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::tcgetattr(fd, t.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by the successful call above.
    #[allow(unsafe_code)]
    Ok(unsafe { t.assume_init() })
}

/// Set the terminal's modes; `flush` also discards input typed but not
/// read yet (as `readpassphrase(3)` does around a secret).
fn set_attr(fd: RawFd, t: &libc::termios, flush: bool) -> io::Result<()> {
    let when = if flush {
        libc::TCSAFLUSH
    } else {
        libc::TCSANOW
    };
    // SAFETY: tcsetattr only reads the `termios` it is pointed to.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::tcsetattr(fd, when, t) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn same(a: &libc::termios, b: &libc::termios) -> bool {
    a.c_iflag == b.c_iflag
        && a.c_oflag == b.c_oflag
        && a.c_cflag == b.c_cflag
        && a.c_lflag == b.c_lflag
        && a.c_cc == b.c_cc
}

/// Put the terminal back after a hidden prompt: the state found, if the
/// terminal is still as the prompt set it; otherwise only the prompt's own
/// flags (see the module documentation).
fn restore(fd: RawFd, saved: &Saved) {
    let Ok(now) = get_attr(fd) else { return };
    if same(&now, &saved.set) {
        let _ = set_attr(fd, &saved.found, true);
    } else {
        // Another program's modes: leave them, and its input, alone, and
        // undo only the flags this prompt really changed.
        let changed = (saved.found.c_lflag ^ saved.set.c_lflag) & OUR_FLAGS;
        let mut t = now;
        t.c_lflag = (t.c_lflag & !changed) | (saved.found.c_lflag & changed);
        if !same(&t, &now) {
            let _ = set_attr(fd, &t, false);
        }
    }
}

/// Called by the signal handler before the process exits: undo what a
/// prompt in progress changed on the terminal, if anything.
pub fn restore_after_signal() {
    let saved = match ACTIVE.try_lock() {
        Ok(mut g) => g.take(),
        // Held only for a moment by a prompt starting or ending: that
        // prompt's own guard restores the terminal.
        Err(_) => None,
    };
    if let Some(saved) = saved
        && let Ok(tty) = open_tty()
    {
        restore(tty.as_raw_fd(), &saved);
        let _ = (&tty).write_all(b"\n");
    }
}

/// Echo turned off until dropped.
struct Hidden<'a> {
    tty: &'a File,
    saved: Saved,
}

impl<'a> Hidden<'a> {
    fn new(tty: &'a File) -> io::Result<Hidden<'a>> {
        let fd = tty.as_raw_fd();
        let found = get_attr(fd)?;
        let mut set = found;
        set.c_lflag &= !OUR_FLAGS;
        let saved = Saved { found, set };
        if let Ok(mut g) = ACTIVE.lock() {
            *g = Some(saved);
        }
        if let Err(e) = set_attr(fd, &set, true) {
            if let Ok(mut g) = ACTIVE.lock() {
                *g = None;
            }
            return Err(e);
        }
        Ok(Hidden { tty, saved })
    }
}

impl Drop for Hidden<'_> {
    fn drop(&mut self) {
        // Taken first, so the signal handler cannot restore a second time.
        let mine = ACTIVE.lock().map(|mut g| g.take()).unwrap_or(None);
        if mine.is_some() {
            restore(self.tty.as_raw_fd(), &self.saved);
        }
        // The Enter that ended the answer was not echoed.
        let _ = (&*self.tty).write_all(b"\n");
    }
}

/// Read one line (up to `\n` or `\r`, which are not kept) byte by byte, so
/// that it works whether or not the terminal is in canonical mode.
fn read_line(tty: &File) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut line = Zeroizing::new(Vec::with_capacity(128));
    let mut byte = [0u8; 1];
    loop {
        match (&*tty).read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => return Ok(Some(line)),
            Ok(_) if byte[0] == b'\n' || byte[0] == b'\r' => return Ok(Some(line)),
            Ok(_) => {
                if line.len() < MAX_ANSWER {
                    line.push(byte[0]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn to_string(bytes: Zeroizing<Vec<u8>>) -> io::Result<Zeroizing<String>> {
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(Zeroizing::new(s.to_owned())),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the answer is not UTF-8",
        )),
    }
}

/// Ask on the terminal with echo off (passphrases, passwords). End of
/// input before any byte is an `UnexpectedEof` error; the terminal is put
/// back as described in the module documentation whatever happens.
pub fn prompt_hidden(prompt: &str) -> io::Result<Zeroizing<String>> {
    let tty = open_tty()?;
    // Echo off before the prompt shows, so nothing typed after it echoes.
    let hidden = Hidden::new(&tty)?;
    let line = (&tty)
        .write_all(prompt.as_bytes())
        .and_then(|()| read_line(&tty));
    drop(hidden);
    match line? {
        Some(l) => to_string(l),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// Ask on the terminal with echo on (yes/no questions).
pub fn prompt_visible(prompt: &str) -> io::Result<String> {
    let tty = open_tty()?;
    (&tty).write_all(prompt.as_bytes())?;
    match read_line(&tty)? {
        Some(l) => to_string(l).map(|s| s.as_str().to_owned()),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// Write a line to the terminal (what accompanies a question).
pub fn say(text: &str) -> io::Result<()> {
    let tty = open_tty()?;
    (&tty).write_all(text.as_bytes())?;
    (&tty).write_all(b"\n")
}

/// Whether a terminal can be opened to ask on.
pub fn available() -> bool {
    open_tty().is_ok()
}

#[cfg(test)]
#[allow(unsafe_code)] // openpty(3) for a real terminal to test on
mod tests {
    use super::*;
    use std::os::fd::{FromRawFd, OwnedFd};

    /// A pseudo-terminal pair: (controller, terminal).
    fn pty() -> (OwnedFd, OwnedFd) {
        let (mut m, mut s) = (0, 0);
        // SAFETY: openpty writes two descriptors; the name, modes and
        // window size pointers may be null.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", io::Error::last_os_error());
        // SAFETY: both descriptors are new and owned by nobody else.
        unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
    }

    fn hide(fd: RawFd) -> Saved {
        let found = get_attr(fd).expect("tcgetattr");
        let mut set = found;
        set.c_lflag &= !OUR_FLAGS;
        set_attr(fd, &set, true).expect("tcsetattr");
        Saved { found, set }
    }

    #[test]
    fn the_state_found_comes_back_exactly() {
        let (_m, s) = pty();
        let fd = s.as_raw_fd();
        let before = get_attr(fd).expect("tcgetattr");
        assert_ne!(before.c_lflag & libc::ECHO, 0);
        let saved = hide(fd);
        assert_eq!(get_attr(fd).expect("get").c_lflag & libc::ECHO, 0);
        restore(fd, &saved);
        assert!(same(&get_attr(fd).expect("get"), &before));
    }

    #[test]
    fn another_programs_modes_are_left_alone_only_echo_comes_back() {
        // A pager made the terminal raw while vault was asking: vault puts
        // back only the echo it turned off, and keeps the pager's modes.
        let (_m, s) = pty();
        let fd = s.as_raw_fd();
        let saved = hide(fd);
        let mut raw = get_attr(fd).expect("get");
        raw.c_lflag &= !(libc::ICANON | libc::ISIG);
        set_attr(fd, &raw, false).expect("set");
        restore(fd, &saved);
        let now = get_attr(fd).expect("get");
        assert_ne!(now.c_lflag & libc::ECHO, 0, "echo is back");
        assert_eq!(now.c_lflag & (libc::ICANON | libc::ISIG), 0, "raw kept");

        // The case of the bug: the pager's raw modes were what vault found,
        // and the pager restored the terminal before vault's prompt ended.
        // Writing back what vault found would leave the terminal raw.
        let (_m, s) = pty();
        let fd = s.as_raw_fd();
        let normal = get_attr(fd).expect("get");
        let mut raw = normal;
        raw.c_lflag &= !(libc::ICANON | libc::ISIG | libc::ECHO);
        set_attr(fd, &raw, false).expect("set");
        let saved = hide(fd);
        set_attr(fd, &normal, false).expect("pager exits");
        restore(fd, &saved);
        assert!(same(&get_attr(fd).expect("get"), &normal));
    }
}
