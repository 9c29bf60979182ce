//! A command that runs in a test home of its own: `HOME` points there, and
//! none of the caller's vault, XDG, agent, passphrase or AWS settings leak
//! in, nor the machine's `/etc/ssh/ssh_config` (only the home's own
//! `~/.ssh/config` is read, through `VAULT_SSH_CONFIG`).

use std::path::Path;
use std::process::{Command, Stdio};

/// `program` run in `home`, with `HOME=home` and the settings that would
/// reach outside it removed (every `AWS_*` variable too: an S3 test gives
/// its store's own); stdin is empty.
pub fn isolated(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(home)
        .env("HOME", home)
        .env("VAULT_SSH_CONFIG", home.join(".ssh/config"))
        .env_remove("VAULT_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("VAULT_AGENT")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("VAULT_PASSPHRASE_FILE")
        .env_remove("VAULT_PASSPHRASE_COMMAND")
        .stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c
}
