//! The terminal side of age plugins: their messages and prompts, on stderr
//! and `/dev/tty`, with every character a plugin sends escaped
//! ([`super::error::printable`]), and how long a silent plugin is waited
//! for (`VAULT_PLUGIN_TIMEOUT`, seconds).

use std::time::Duration;

use zeroize::Zeroizing;

use super::error::printable;
use vault::crypto::plugin::{self, PluginUi};

/// Environment variable: seconds a plugin may stay silent (default 60).
pub const ENV_TIMEOUT: &str = "VAULT_PLUGIN_TIMEOUT";

struct Terminal;

fn tty_line(prompt: &str) -> Option<String> {
    vault::tty::prompt_visible(prompt).ok()
}

impl PluginUi for Terminal {
    fn message(&self, name: &str, text: &str) -> bool {
        eprintln!("vault: age-plugin-{}: {}", printable(name), printable(text));
        true
    }

    fn confirm(&self, name: &str, text: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        let choices = match no {
            Some(no) => format!("[{}/{}]", printable(yes), printable(no)),
            None => format!("[{}]", printable(yes)),
        };
        let answer = tty_line(&format!(
            "age-plugin-{}: {} {choices} ",
            printable(name),
            printable(text)
        ))?;
        if answer == yes {
            Some(true)
        } else if no.is_some_and(|n| answer == n) {
            Some(false)
        } else {
            None
        }
    }

    fn request_public(&self, name: &str, text: &str) -> Option<String> {
        tty_line(&format!(
            "age-plugin-{}: {} ",
            printable(name),
            printable(text)
        ))
    }

    fn request_secret(&self, name: &str, text: &str) -> Option<Zeroizing<String>> {
        vault::tty::prompt_hidden(&format!(
            "age-plugin-{}: {} ",
            printable(name),
            printable(text)
        ))
        .ok()
    }
}

/// Install the terminal UI and the timeout for every plugin this run starts.
pub fn install() {
    let secs = std::env::var(ENV_TIMEOUT)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(plugin::DEFAULT_TIMEOUT, Duration::from_secs);
    plugin::configure(Box::new(Terminal), secs);
}
