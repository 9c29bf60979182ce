//! Servers the tests start must not outlive them.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Make the child die with the thread that spawns it (`PR_SET_PDEATHSIG`),
/// so a test that panics or is killed leaves no server behind.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the
    // parent.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
