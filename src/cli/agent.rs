//! `vault agent`, `vault lock`, and how commands get the keystore's keys:
//! from a running agent, else by asking for the passphrase (and then, if
//! `VAULT_AGENT` names a time, leaving an agent behind to hold them).
//!
//! The agent is this same binary, run as `vault agent --serve` in its own
//! process group, with the identity text on its standard input (never in
//! its arguments or environment); it answers "ready" on standard output
//! once its socket is bound. What it does and why is in
//! [`vault::keystore::agent`].

use std::io::{BufRead, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Args;

use super::error::CliError;
use vault::crypto::Identity;
use vault::keystore::agent::{self, client::Agent, locked::LockedText, server};
use vault::keystore::{Keystore, KeystoreError, identity_file};

/// Environment variable: `off` never uses an agent; a time such as `15m`
/// starts one on demand, holding the keys that long, when a command had to
/// ask for the passphrase; unset uses an agent if one runs.
pub const ENV_AGENT: &str = "VAULT_AGENT";

/// The default time an agent holds the keys.
const DEFAULT_TTL: &str = "15m";

/// `vault agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// How long the agent holds your keys (e.g. 30s, 15m, 2h)
    #[arg(long, value_name = "TIME", default_value = DEFAULT_TTL, value_parser = parse_ttl)]
    timeout: Duration,
    /// Run as the agent process itself (what `vault agent` starts)
    #[arg(long, hide = true)]
    serve: bool,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 30s, 15m, 2h)"))?;
    if d < Duration::from_secs(1) {
        return Err("at least one second".into());
    }
    Ok(d)
}

/// What `VAULT_AGENT` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Off,
    UseRunning,
    Start(Duration),
}

fn policy() -> Result<Policy, CliError> {
    let Some(v) = std::env::var_os(ENV_AGENT).filter(|v| !v.is_empty()) else {
        return Ok(Policy::UseRunning);
    };
    let v = v.to_string_lossy();
    if matches!(&*v, "off" | "no" | "0") {
        return Ok(Policy::Off);
    }
    parse_ttl(&v).map(Policy::Start).map_err(|e| {
        CliError::Usage(format!(
            "{ENV_AGENT}={v}: expected `off` or a time such as 15m ({e})"
        ))
    })
}

/// Every identity of the keystore, from the agent if one holds them, else
/// unlocked here (asking for the passphrase if the identity has one).
pub fn keystore_identities(ks: &Keystore) -> Result<Vec<Box<dyn Identity>>, CliError> {
    let policy = policy()?;
    let protected = ks.is_protected()?;
    if protected && policy != Policy::Off {
        match agent::identities(ks) {
            Ok(Some(ids)) => return Ok(ids),
            Ok(None) => {}
            Err(e) => eprintln!("vault: warning: not using the agent: {e}"),
        }
    }
    let text = ks.unlock_text()?;
    let ids = identity_file::parse(&text, &ks.identity_path())?;
    if let (true, Policy::Start(ttl)) = (protected, policy) {
        match spawn(ks, &text, ttl) {
            Ok(()) => eprintln!(
                "vault: the agent holds your keys for {} ({ENV_AGENT}); `vault lock` forgets them",
                humantime::format_duration(ttl)
            ),
            Err(e) => eprintln!("vault: warning: could not start the agent: {e}"),
        }
    }
    Ok(ids)
}

/// Start the agent process holding `text` for `ttl`, and wait until it
/// listens.
fn spawn(ks: &Keystore, text: &str, ttl: Duration) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::Keystore(KeystoreError::Io {
            context: format!("starting the agent: {what}"),
            source: e,
        })
    };
    let exe = std::env::current_exe().map_err(|e| fail("finding vault", e))?;
    let home = std::path::absolute(ks.dir()).map_err(|e| fail("the keystore path", e))?;
    let mut child = Command::new(exe)
        .args(["agent", "--serve", "--timeout"])
        .arg(format!("{}s", ttl.as_secs()))
        .env("VAULT_HOME", home)
        .env_remove(ENV_AGENT)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| fail("running vault", e))?;
    {
        let mut stdin = child.stdin.take().expect("piped");
        let len = u32::try_from(text.len()).expect("an identity file is small");
        stdin
            .write_all(&len.to_be_bytes())
            .and_then(|()| stdin.write_all(text.as_bytes()))
            .map_err(|e| fail("handing over the keys", e))?;
    }
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| fail("waiting for it", e))?;
    match line.trim_end() {
        "ready" => Ok(()),
        "" => {
            let _ = child.wait();
            Err(CliError::Usage("the agent stopped as it started".into()))
        }
        why => {
            let _ = child.wait();
            Err(CliError::Usage(format!(
                "the agent did not start: {}",
                why.trim_start_matches("error: ")
            )))
        }
    }
}

/// `vault agent`: unlock now and leave an agent holding the keys.
pub fn agent(args: &AgentArgs) -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    if args.serve {
        return serve(&ks, args.timeout);
    }
    if !ks.is_protected()? {
        eprintln!(
            "vault: your identity has no passphrase, so there is nothing for an agent to hold"
        );
        return Ok(());
    }
    if let Some(a) = Agent::connect(&ks).map_err(KeystoreError::from)? {
        if a.public_keys() == ks.public_keys()? {
            eprintln!(
                "vault: an agent already holds your keys ({} left); `vault lock` forgets them",
                humantime::format_duration(Duration::from_secs(a.seconds_left()))
            );
            return Ok(());
        }
        // It holds the keys of an identity since replaced.
        a.lock().map_err(KeystoreError::from)?;
    }
    let text = ks.unlock_text()?;
    spawn(&ks, &text, args.timeout)?;
    let a = Agent::connect(&ks)
        .map_err(KeystoreError::from)?
        .ok_or_else(|| {
            CliError::Usage("the agent started but does not answer on its socket".into())
        })?;
    if !a.memory_locked() {
        eprintln!(
            "vault: warning: the agent could not lock its memory (RLIMIT_MEMLOCK); your keys could be swapped to disk"
        );
    }
    eprintln!(
        "vault: the agent (pid {}) holds your keys for {}; `vault lock` forgets them",
        a.pid(),
        humantime::format_duration(args.timeout)
    );
    Ok(())
}

/// The agent process: read the text, serve.
fn serve(ks: &Keystore, ttl: Duration) -> Result<(), CliError> {
    let mut stdin = std::io::stdin().lock();
    let mut len = [0u8; 4];
    let text = stdin
        .read_exact(&mut len)
        .and_then(|()| LockedText::read_from(&mut stdin, u32::from_be_bytes(len) as usize));
    let result = match text {
        Ok(text) => server::serve(ks, text, ttl, |_| {
            println!("ready");
            let _ = std::io::stdout().flush();
        }),
        Err(e) => Err(agent::AgentError::Io {
            context: "reading the keys".into(),
            source: e,
        }),
    };
    // Only errors before "ready" come back here.
    if let Err(e) = result {
        println!("error: {e}");
        let _ = std::io::stdout().flush();
        return Err(KeystoreError::from(e).into());
    }
    Ok(())
}

/// `vault lock`: make the agent forget the keys.
pub fn lock() -> Result<(), CliError> {
    let ks = Keystore::locate()?;
    match Agent::connect(&ks).map_err(KeystoreError::from)? {
        Some(a) => {
            a.lock().map_err(KeystoreError::from)?;
            eprintln!("vault: the agent forgot your keys");
        }
        None => eprintln!("vault: no agent holds your keys"),
    }
    Ok(())
}
