//! Authentication and ssh-config resolution against a real sshd, through
//! the library API: aliases, identity files in OpenSSH's order, agent keys
//! (all of them, not just the first), and clear refusals that never wait
//! for a prompt when there is no terminal.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::sshd::{ALIAS, Agent, Sshd, keygen};
use common::{connect, expect_err};
use vault::transport::{AgentSocket, ConnectOptions, SshError, TransportError};

#[test]
fn ssh_config_alias_is_honoured() {
    // The alias only works if HostName, Port, User and IdentityFile are
    // all taken from ~/.ssh/config.
    let sshd = Sshd::start();
    let home = sshd.home();
    let mut t = connect(&sshd.url("alias"), &home.options()).expect("connect by alias");
    t.mkdir_all("").expect("mkdir");
    assert!(sshd.server_root().join("alias").is_dir());
    let d = t.describe();
    assert_eq!(
        d,
        format!(
            "sftp://{}@{ALIAS}:{}{}/alias",
            sshd.user(),
            sshd.port(),
            sshd.server_root().display()
        )
    );
    // scp style, same alias.
    let scp = format!("{ALIAS}:{}/alias", sshd.server_root().display());
    let mut t = connect(&scp, &home.options()).expect("connect scp style");
    assert!(t.stat("").expect("stat").is_some_and(|e| e.is_dir));
}

#[test]
fn user_from_the_location_wins_over_the_config() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let url = format!(
        "sftp://nosuchuser@{ALIAS}{}/x",
        sshd.server_root().display()
    );
    let e = expect_err(connect(&url, &home.options()), "other user");
    match e {
        TransportError::Ssh(SshError::AuthFailed { user, .. }) => assert_eq!(user, "nosuchuser"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}

#[test]
fn wrong_client_key_is_refused_quickly_with_what_was_tried() {
    let sshd = Sshd::start();
    let home = sshd.home_wrong_client_key();
    let start = Instant::now();
    let e = expect_err(connect(&sshd.url("x"), &home.options()), "wrong key");
    assert!(start.elapsed() < Duration::from_secs(10), "no waiting");
    let key = home.path().join(".ssh/id_vault");
    match &e {
        TransportError::Ssh(SshError::AuthFailed { user, host, tried }) => {
            assert_eq!(user, sshd.user());
            assert_eq!(host, ALIAS);
            assert!(
                tried.iter().any(|t| t.contains(&key.display().to_string())),
                "{tried:?}"
            );
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("authentication refused"), "{msg}");
    assert!(msg.contains("id_vault"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn explicit_identity_is_tried_first() {
    let sshd = Sshd::start();
    let home = sshd.home_wrong_client_key();
    let mut opts = home.options();
    opts.identity = Some(sshd.client_key());
    connect(&sshd.url("x"), &opts).expect("-i key works");
}

#[test]
fn default_identity_files_are_used_without_identity_file() {
    let sshd = Sshd::start();
    let home = sshd.home_without_key();
    let dst = home.path().join(".ssh/id_ed25519");
    fs::copy(sshd.client_key(), &dst).expect("copy");
    fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).expect("chmod");
    connect(&sshd.url("x"), &home.options()).expect("~/.ssh/id_ed25519 is used");
}

#[test]
fn encrypted_key_without_terminal_fails_fast_and_says_why() {
    let sshd = Sshd::start();
    let home = sshd.home_without_key();
    let key = home.path().join(".ssh/id_ed25519");
    let pub_line = keygen(&key, "correct horse");
    sshd.authorize(&pub_line);
    let start = Instant::now();
    let e = expect_err(connect(&sshd.url("x"), &home.options()), "encrypted key");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "no prompt, no hang"
    );
    match &e {
        TransportError::Ssh(SshError::AuthFailed { tried, .. }) => assert!(
            tried
                .iter()
                .any(|t| t.contains("encrypted") && t.contains("ssh-agent")),
            "{tried:?}"
        ),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(!e.to_string().contains("correct horse"));
}

/// An agent holding one key the test server does not know (the folder it
/// lives in is returned to keep it alive).
fn agent_with_a_wrong_key() -> (Agent, tempfile::TempDir) {
    let agent = Agent::start();
    let wrong_dir = tempfile::tempdir().expect("tempdir");
    let wrong = wrong_dir.path().join("wrong");
    keygen(&wrong, "");
    agent.add(&wrong);
    (agent, wrong_dir)
}

fn with_agent(mut opts: ConnectOptions, agent: &Agent) -> ConnectOptions {
    opts.agent = AgentSocket::Path(agent.socket());
    opts
}

#[test]
fn agent_keys_are_all_tried() {
    let sshd = Sshd::start();
    let home = sshd.home_without_key();
    // A key the server refuses first, then the right one: userauth_agent
    // alone would stop after the first.
    let (agent, _wrong) = agent_with_a_wrong_key();
    agent.add(&sshd.client_key());
    let opts = with_agent(home.options(), &agent);
    let mut t = connect(&sshd.url("ag"), &opts).expect("agent login");
    t.mkdir_all("").expect("usable");
    // A second connection reuses the agent identity that worked.
    let mut t2 = t.reconnect().expect("reconnect");
    assert!(t2.stat("").expect("stat").is_some());
}

#[test]
fn agent_with_only_wrong_keys_is_listed_in_the_error() {
    let sshd = Sshd::start();
    let home = sshd.home_without_key();
    let (agent, _wrong) = agent_with_a_wrong_key();
    let opts = with_agent(home.options(), &agent);
    let e = expect_err(connect(&sshd.url("x"), &opts), "wrong agent key");
    match e {
        TransportError::Ssh(SshError::AuthFailed { tried, .. }) => {
            assert!(tried.iter().any(|t| t.contains("agent key")), "{tried:?}");
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}

#[test]
fn missing_agent_socket_is_reported_not_fatal() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let mut opts = home.options();
    opts.agent = AgentSocket::Path(home.path().join("no-agent.sock"));
    // The identity file still works after the agent fails.
    connect(&sshd.url("x"), &opts).expect("falls through to the key file");
}
