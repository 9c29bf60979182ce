//! `ProxyJump` and `ProxyCommand` against two real sshds, where the target
//! listens only on the loopback of a network namespace of its own: nothing
//! outside that namespace can reach it, so a connection that works went
//! through the jump host, which lives in the same namespace and is
//! reachable from here on a veth pair (`common/netns.rs`).

mod common;

use std::fs;

use common::netns::Netns;
use common::sshd::{ALIAS, ClientHome, Sshd};
use common::{expect_err, get, pattern, put};
use vault::transport::{Location, SshError, Transport, TransportError};

/// The alias of the target in the client config.
const TARGET: &str = "target";

/// A jump host (forwarding allowed) on the namespace's veth address and a
/// target on its loopback that accepts the jump host's client key.
struct Pair {
    // Dropped in this order: servers first, then their namespace.
    target: Sshd,
    jump: Sshd,
    _ns: Netns,
}

fn pair() -> Pair {
    let ns = Netns::new();
    let jump = Sshd::start_in(Some(ns.name()), ns.ns_addr(), true);
    let target = Sshd::start_in(Some(ns.name()), "127.0.0.1", false);
    let client = fs::read_to_string(jump.client_key().with_extension("pub")).expect("pub");
    target.authorize(client.trim());
    Pair {
        target,
        jump,
        _ns: ns,
    }
}

/// Connect through `p` (panicking with `how` and the jump host's log if
/// that fails) and make a round trip named `name`.
fn connect_and_round_trip(p: &Pair, home: &ClientHome, how: &str, name: &str) {
    let mut t =
        connect(p, home).unwrap_or_else(|e| panic!("{how}: {e}\njump log:\n{}", p.jump.log()));
    round_trip(p, &mut *t, name);
}

/// A home knowing both hosts, with `target_block` (the target's own
/// lines, e.g. its `ProxyJump`) in the target's `Host` block.
fn home(p: &Pair, target_block: &str) -> ClientHome {
    let home = p.jump.home();
    let ssh = home.path().join(".ssh");
    let rest = fs::read_to_string(ssh.join("config")).expect("config");
    let config = format!(
        "Host {TARGET}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile ~/.ssh/id_vault\n{target_block}\n{rest}",
        p.target.port(),
        p.target.user()
    );
    fs::write(ssh.join("config"), config).expect("config");
    let kh = fs::read_to_string(home.known_hosts()).expect("known_hosts");
    fs::write(
        home.known_hosts(),
        format!("{kh}{}\n", p.target.known_hosts_line()),
    )
    .expect("known_hosts");
    home
}

fn connect(p: &Pair, home: &ClientHome) -> Result<Box<dyn Transport>, TransportError> {
    let url = format!("sftp://{TARGET}{}/v", p.target.server_root().display());
    Location::parse(&url)
        .expect("parse")
        .connect(&home.options())
}

/// A round trip that lands in the target's own folder.
fn round_trip(p: &Pair, t: &mut dyn Transport, name: &str) {
    let data = pattern(300_000, 7);
    t.mkdir_all("").expect("mkdir");
    put(t, name, &data, 64 * 1024);
    assert_eq!(get(t, name), data);
    let on_server = fs::read(p.target.server_root().join("v").join(name)).expect("on the target");
    assert_eq!(on_server, data);
}

#[test]
fn the_target_cannot_be_reached_without_the_jump_host() {
    let p = pair();
    let home = home(&p, "");
    let e = expect_err(connect(&p, &home), "a direct connection");
    assert!(
        matches!(
            e,
            TransportError::Unreachable { .. } | TransportError::ConnectionRefused { .. }
        ),
        "expected no connection, got {e:?}"
    );
}

#[test]
fn proxy_jump_reaches_the_target_through_the_jump_host() {
    let p = pair();
    let home = home(&p, &format!("  ProxyJump {ALIAS}\n"));
    let mut t = connect(&p, &home).unwrap_or_else(|e| {
        panic!(
            "through the jump host: {e}\njump log:\n{}\ntarget log:\n{}",
            p.jump.log(),
            p.target.log()
        )
    });
    round_trip(&p, &mut *t, "a");
    // A second connection (the parallel transfers open more) works too.
    let mut again = t.reconnect().expect("reconnect through the jump host");
    assert_eq!(get(&mut *again, "a").len(), 300_000);
    drop((t, again));
    // Both logins on the target came from inside its namespace.
    let log = p.target.log();
    assert_eq!(
        log.matches("Accepted publickey for").count(),
        2,
        "target log:\n{log}"
    );
    assert_eq!(
        log.matches("Connection from 127.0.0.1 ").count(),
        2,
        "target log:\n{log}"
    );
}

#[test]
fn proxy_jump_chains_and_user_host_port_forms() {
    let p = pair();
    // Twice through the jump host (it reaches itself on its veth address),
    // the second hop spelled out as user@host:port.
    let hop = format!("{}@{}:{}", p.jump.user(), p.jump.listen(), p.jump.port());
    let home = home(&p, &format!("  ProxyJump {ALIAS},{hop}\n"));
    // The spelled-out hop is configured by its address.
    let block = format!("Host {}\n  IdentityFile ~/.ssh/id_vault\n", p.jump.listen());
    home.edit_config(|text| format!("{block}{text}"));
    connect_and_round_trip(&p, &home, "through a chain", "chained");
}

#[test]
fn proxy_command_carries_the_connection() {
    let p = pair();
    let home = home(&p, "");
    // OpenSSH's own client as the proxy: `ssh -W` through the jump host.
    let h = home.path().display().to_string();
    let cmd = format!(
        "  ProxyCommand ssh -F /dev/null -i {h}/.ssh/id_vault -o IdentitiesOnly=yes \
         -o BatchMode=yes -o UserKnownHostsFile={h}/.ssh/known_hosts \
         -o GlobalKnownHostsFile=/dev/null -p {} -W %h:%p {}@{}\n",
        p.jump.port(),
        p.jump.user(),
        p.jump.listen()
    );
    home.edit_config(|text| {
        text.replacen(
            "IdentityFile ~/.ssh/id_vault\n",
            &format!("IdentityFile ~/.ssh/id_vault\n{cmd}"),
            1,
        )
    });
    connect_and_round_trip(&p, &home, "through ProxyCommand", "proxied");
}

/// The connection fails with a Proxy error; its message.
fn proxy_error(p: &Pair, home: &ClientHome, what: &str) -> String {
    let e = expect_err(connect(p, home), what);
    assert!(
        matches!(e, TransportError::Ssh(SshError::Proxy { .. })),
        "expected a Proxy error, got {e:?}"
    );
    e.to_string()
}

#[test]
fn a_proxy_command_that_fails_says_so() {
    let p = pair();
    let home = home(&p, "  ProxyCommand exit 3\n");
    let msg = proxy_error(&p, &home, "a failing ProxyCommand");
    assert!(msg.contains("ProxyCommand"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn a_jump_host_that_refuses_forwarding_is_named() {
    let p = pair();
    // A plain test server forbids TCP forwarding.
    let strict = Sshd::start();
    let home = home(&p, "  ProxyJump nofwd\n");
    home.edit_config(|text| {
        format!(
            "Host nofwd\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile ~/.ssh/id_nofwd\n{text}",
            strict.port(),
            strict.user()
        )
    });
    fs::copy(strict.client_key(), home.path().join(".ssh/id_nofwd")).expect("key");
    let kh = fs::read_to_string(home.known_hosts()).expect("known_hosts");
    fs::write(
        home.known_hosts(),
        format!("{kh}{}\n", strict.known_hosts_line()),
    )
    .expect("known_hosts");
    let msg = proxy_error(&p, &home, "no forwarding");
    assert!(msg.contains("nofwd"), "{msg}");
    assert!(msg.contains("forwarding"), "{msg}");
}

#[test]
fn an_unknown_jump_host_is_refused_naming_it() {
    let p = pair();
    let home = home(&p, &format!("  ProxyJump {ALIAS}\n"));
    // Only the target is known.
    fs::write(
        home.known_hosts(),
        format!("{}\n", p.target.known_hosts_line()),
    )
    .expect("known_hosts");
    let e = expect_err(connect(&p, &home), "unknown jump host");
    match &e {
        TransportError::Ssh(SshError::HostKeyUnknown { host, .. }) => {
            assert_eq!(host, &p.jump.known_hosts_name());
        }
        other => panic!("expected HostKeyUnknown for the jump host, got {other:?}"),
    }
}
