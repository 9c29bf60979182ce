//! A network namespace for one test, so that a server in it can be
//! reachable only through another: what the `ProxyJump` tests need to show
//! that vault really went through the jump host.
//!
//! [`Netns::new`] makes a namespace with its loopback up and a veth pair
//! to this one: [`Netns::host_addr`] here, [`Netns::ns_addr`] there (a /30
//! in 198.18.0.0/15, the range reserved for network tests, picked from the
//! process id so that concurrent test runs do not collide). A server that
//! listens on the namespace's 127.0.0.1 is reachable only from inside it;
//! one on `ns_addr` from here too. Dropping it deletes the namespace and
//! the pair (after the servers in it are stopped: declare it first).
//!
//! Needs root and iproute2's `ip` (CI and this machine run tests as root);
//! otherwise the test fails saying so, rather than passing silently.

#![allow(dead_code)] // each test binary uses a different subset

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace joined to this one by a veth pair; deleted on drop.
pub struct Netns {
    name: String,
    host_if: String,
    host_addr: String,
    ns_addr: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` ({e}): the ProxyJump tests need iproute2 and root")
    });
    assert!(
        out.status.success(),
        "`ip {}` failed: {}; the ProxyJump tests need root (network namespaces)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Netns {
    /// Make the namespace and the pair (panics saying why if it cannot).
    pub fn new() -> Netns {
        let k = (std::process::id() * 4 + NEXT.fetch_add(1, Ordering::Relaxed)) % (1 << 14);
        let (third, fourth) = (k >> 6, (k & 63) * 4);
        // 198.18.0.0/15: third octet 0..=255 in 198.18, the rest in 198.19.
        let (second, third) = (18 + third / 256, third % 256);
        let net = format!("198.{second}.{third}");
        let name = format!("vault-test-{k}");
        let host_if = format!("vth{k}");
        let ns_if = format!("vtn{k}");
        let host_addr = format!("{net}.{}", fourth + 1);
        let ns_addr = format!("{net}.{}", fourth + 2);
        // A namespace left by a killed run of the same pid: start afresh.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns {
            name,
            host_if,
            host_addr,
            ns_addr,
        };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ip(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns_if,
            "netns",
            &ns.name,
        ]);
        ip(&[
            "addr",
            "add",
            &format!("{}/30", ns.host_addr),
            "dev",
            &ns.host_if,
        ]);
        ip(&["link", "set", &ns.host_if, "up"]);
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{}/30", ns.ns_addr),
            "dev",
            &ns_if,
        ]);
        ip(&["-n", &ns.name, "link", "set", &ns_if, "up"]);
        ns
    }

    /// The namespace's name, for `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This side's address on the pair.
    pub fn host_addr(&self) -> &str {
        &self.host_addr
    }

    /// The namespace's address on the pair, reachable from here.
    pub fn ns_addr(&self) -> &str {
        &self.ns_addr
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
