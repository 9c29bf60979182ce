//! A real pseudo-terminal for tests: the child gets it as its controlling
//! terminal (a new session, `TIOCSCTTY`), so `/dev/tty`, echo, line
//! editing and Ctrl-C behave as for a user at a terminal; the test holds
//! both ends, reads what the child writes there, types into it, and reads
//! the terminal's modes (`termios`) before and after.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(unsafe_code)] // openpty(3), setsid(2), ioctl(2), tcgetattr(3)

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pseudo-terminal: the controller side (what a terminal emulator holds)
/// and the terminal side (what programs see as their terminal).
pub struct Pty {
    controller: File,
    terminal: OwnedFd,
    seen: Arc<Mutex<Vec<u8>>>,
}

/// The modes that matter, comparable (`stty -g` as a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub iflag: libc::tcflag_t,
    pub oflag: libc::tcflag_t,
    pub cflag: libc::tcflag_t,
    pub lflag: libc::tcflag_t,
    pub cc: [libc::cc_t; libc::NCCS],
}

impl Modes {
    pub fn echo(&self) -> bool {
        self.lflag & libc::ECHO != 0
    }
    pub fn isig(&self) -> bool {
        self.lflag & libc::ISIG != 0
    }
    pub fn icanon(&self) -> bool {
        self.lflag & libc::ICANON != 0
    }
}

impl Pty {
    pub fn open() -> Pty {
        let (mut c, mut t) = (0, 0);
        // SAFETY: openpty writes two new descriptors; the other arguments
        // may be null.
        let rc = unsafe {
            libc::openpty(
                &mut c,
                &mut t,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are new and owned by nobody else.
        let (controller, terminal) = unsafe { (File::from_raw_fd(c), OwnedFd::from_raw_fd(t)) };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = controller.try_clone().expect("dup");
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            controller,
            terminal,
            seen,
        }
    }

    /// The terminal's modes now.
    pub fn modes(&self) -> Modes {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the struct on success.
        let rc = unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), t.as_mut_ptr()) };
        assert_eq!(rc, 0, "tcgetattr");
        // SAFETY: initialised above.
        let t = unsafe { t.assume_init() };
        Modes {
            iflag: t.c_iflag,
            oflag: t.c_oflag,
            cflag: t.c_cflag,
            lflag: t.c_lflag,
            cc: t.c_cc,
        }
    }

    /// Change the terminal's local flags, as another program (a pager)
    /// would: clear `off`, set `on`.
    pub fn set_lflags(&self, off: libc::tcflag_t, on: libc::tcflag_t) {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: as in `modes`, then tcsetattr reads the struct.
        unsafe {
            assert_eq!(
                libc::tcgetattr(self.terminal.as_raw_fd(), t.as_mut_ptr()),
                0
            );
            let mut t = t.assume_init();
            t.c_lflag = (t.c_lflag & !off) | on;
            assert_eq!(
                libc::tcsetattr(self.terminal.as_raw_fd(), libc::TCSANOW, &t),
                0
            );
        }
    }

    /// Start `cmd` with this terminal as its controlling terminal, stdin
    /// and stderr (stdout is left as the caller set it).
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        let t = || Stdio::from(self.terminal.try_clone().expect("dup"));
        cmd.stdin(t()).stderr(t());
        // SAFETY: setsid and ioctl are async-signal-safe system calls on
        // the child's own descriptors.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().expect("spawning on the pty")
    }

    /// Type `text` (a `\r` is what Enter sends).
    pub fn type_text(&self, text: &str) {
        (&self.controller)
            .write_all(text.as_bytes())
            .expect("typing");
    }

    /// Everything the child wrote to the terminal so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Whether the terminal shows `text` within a few seconds: for output
    /// written just before a child exited, which the reader thread may
    /// not have taken from the terminal yet when `wait` returns.
    pub fn shows(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.screen().contains(text) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Wait until the terminal shows `text` (the whole screen so far).
    pub fn wait_for(&self, text: &str, child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.screen().contains(text) {
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "exited ({st}) before showing {text:?}; screen:\n{}",
                    self.screen()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never appeared; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Pty {
    /// Type `text` (the answer to what `child` asks), then wait for `child`
    /// to end (see [`wait`]).
    pub fn answer(&self, child: &mut Child, text: &str) -> ExitStatus {
        self.type_text(text);
        wait(child, || self.screen())
    }
}

/// Wait for a child with a deadline (kill it and panic after).
pub fn wait(child: &mut Child, screen: impl Fn() -> String) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit; screen:\n{}", screen());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
