//! ssh-agent found through `SSH_AUTH_SOCK`, as OpenSSH finds it. This is its
//! own test binary with a single test because it changes the process
//! environment, which other tests running in parallel must not see.

mod common;

use common::sshd::{Agent, Sshd};
use vault::transport::{AgentSocket, Location};

#[test]
fn agent_from_ssh_auth_sock() {
    let sshd = Sshd::start();
    let home = sshd.home_without_key();
    let agent = Agent::start();
    agent.add(&sshd.client_key());
    // SAFETY: this binary runs only this test, so no other thread reads or
    // writes the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("SSH_AUTH_SOCK", agent.socket());
    }
    let mut opts = home.options();
    opts.agent = AgentSocket::FromEnv;
    let mut t = Location::parse(&sshd.url("env"))
        .expect("parse")
        .connect(&opts)
        .expect("agent from SSH_AUTH_SOCK logs in");
    t.mkdir_all("").expect("usable");
    assert!(sshd.server_root().join("env").is_dir());
    // And without the variable there is no agent, so no key at all.
    // SAFETY: as above.
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("SSH_AUTH_SOCK");
    }
    let e = Location::parse(&sshd.url("env"))
        .expect("parse")
        .connect(&opts)
        .err()
        .expect("no agent, no key: refused");
    match e {
        vault::transport::TransportError::Ssh(vault::transport::SshError::AuthFailed {
            tried,
            ..
        }) => {
            assert!(
                tried.iter().any(|t| t.contains("SSH_AUTH_SOCK")),
                "{tried:?}"
            );
            assert!(tried.iter().any(|t| t.contains("id_ed25519")), "{tried:?}");
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}
