//! Process hardening for a program that holds secret keys in memory.
//!
//! A core dump of vault could hold a file key, an unwrapped identity or a
//! passphrase, and land on disk (or in a crash reporter) in the clear. So
//! the process turns core dumps off as it starts: `PR_SET_DUMPABLE` 0 (no
//! core file whatever the resource limit or `core_pattern`; it also keeps
//! other processes of the same user from attaching with ptrace and from
//! reading `/proc/PID/mem`) and `RLIMIT_CORE` 0, as OpenSSH's `ssh-agent`
//! does. A command does not lock its memory (`mlock`); the agent locks
//! the one buffer it keeps keys in ([`vault::keystore::agent::locked`]):
//! see SECURITY.md.

/// Turn core dumps (and same-user ptrace) off for this process. Best
/// effort: failures are ignored, as they only remove a defence.
pub fn no_core_dumps() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) takes integer arguments only and
    // touches no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    #[allow(unsafe_code)]
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
    }
}
