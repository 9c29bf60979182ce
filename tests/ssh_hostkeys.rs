//! Host-key verification against a real sshd, through the library API:
//! unknown hosts refused with the fingerprint, changed keys refused naming
//! the file and line, accept-new recording in OpenSSH's format, and the
//! known_hosts oddities libssh2 alone gets wrong.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::expect_err;
use common::sshd::{Sshd, fingerprint, key_without_comment};
use vault::transport::{Location, SshError, Transport, TransportError};

fn connect(
    sshd: &Sshd,
    opts: &vault::transport::ConnectOptions,
) -> Result<Box<dyn Transport>, TransportError> {
    Location::parse(&sshd.url("v"))
        .expect("parse")
        .connect(opts)
}

#[test]
fn unknown_host_is_refused_with_its_fingerprint() {
    let sshd = Sshd::start();
    let home = sshd.home_unknown_host();
    let e = expect_err(connect(&sshd, &home.options()), "unknown host");
    let want_fp = fingerprint(&sshd.host_pub_file());
    match &e {
        TransportError::Ssh(SshError::HostKeyUnknown {
            host,
            key_type,
            fingerprint,
            port,
            ..
        }) => {
            assert_eq!(host, &sshd.known_hosts_name());
            assert_eq!(key_type, "ED25519");
            assert_eq!(fingerprint, &want_fp);
            assert_eq!(*port, sshd.port());
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains(&want_fp), "{msg}");
    assert!(msg.contains("--accept-new"), "{msg}");
    assert!(msg.contains(&format!("ssh -p {}", sshd.port())), "{msg}");
    assert!(!msg.contains('\n'));
    assert!(
        !home.known_hosts().exists(),
        "nothing recorded without consent"
    );
}

#[test]
fn changed_key_is_refused_naming_file_and_line_even_with_accept_new() {
    let sshd = Sshd::start();
    let home = sshd.home_changed_key();
    for accept_new in [false, true] {
        let mut opts = home.options();
        opts.accept_new = accept_new;
        let e = expect_err(connect(&sshd, &opts), "changed key");
        match &e {
            TransportError::Ssh(SshError::HostKeyChanged {
                file, line, host, ..
            }) => {
                assert_eq!(file, &home.known_hosts());
                assert_eq!(*line, 3);
                assert_eq!(host, &sshd.known_hosts_name());
            }
            other => panic!("expected HostKeyChanged, got {other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains(&home.known_hosts().display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("CHANGED"), "{msg}");
        assert!(!msg.contains('\n'));
    }
    let text = fs::read_to_string(home.known_hosts()).expect("read");
    assert_eq!(text.lines().count(), 3, "known_hosts untouched");
}

#[test]
fn accept_new_records_in_openssh_format_then_connects() {
    let sshd = Sshd::start();
    let home = sshd.home_unknown_host();
    // No ~/.ssh/known_hosts yet: it gets created 0600.
    let mut opts = home.options();
    opts.accept_new = true;
    let mut t = connect(&sshd, &opts).expect("accept-new connects");
    t.mkdir_all("").expect("usable");
    let text = fs::read_to_string(home.known_hosts()).expect("recorded");
    assert_eq!(text, format!("{}\n", sshd.known_hosts_line()));
    let mode = fs::metadata(home.known_hosts())
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // OpenSSH agrees with what was written.
    let out = Command::new("ssh-keygen")
        .arg("-F")
        .arg(sshd.known_hosts_name())
        .arg("-f")
        .arg(home.known_hosts())
        .output()
        .expect("ssh-keygen -F");
    assert!(out.status.success(), "ssh-keygen -F finds the entry");
    // Now known: connects without the flag, and records nothing more.
    connect(&sshd, &home.options()).expect("known host connects");
    assert_eq!(fs::read_to_string(home.known_hosts()).expect("read"), text);
}

#[test]
fn accept_new_creates_the_ssh_folder() {
    let sshd = Sshd::start();
    let home = sshd.home_unknown_host();
    // Point UserKnownHostsFile into a folder that does not exist.
    home.edit_config(|text| format!("UserKnownHostsFile ~/fresh/.ssh/known_hosts\n{text}"));
    let mut opts = home.options();
    opts.accept_new = true;
    connect(&sshd, &opts).expect("connects");
    let dir = home.path().join("fresh/.ssh");
    let mode = fs::metadata(&dir).expect("created").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(dir.join("known_hosts").exists());
}

#[test]
fn strict_host_key_checking_from_config() {
    let sshd = Sshd::start();
    for (value, accepted) in [
        ("accept-new", true),
        ("no", true),
        ("yes", false),
        ("ask", false),
    ] {
        let home = sshd.home_unknown_host();
        home.edit_config(|text| format!("StrictHostKeyChecking {value}\n{text}"));
        let r = connect(&sshd, &home.options());
        assert_eq!(
            r.is_ok(),
            accepted,
            "StrictHostKeyChecking {value}: {:?}",
            r.err()
        );
        assert_eq!(home.known_hosts().exists(), accepted);
    }
    // `no` still refuses a changed key.
    let home = sshd.home_changed_key();
    home.edit_config(|text| format!("StrictHostKeyChecking no\n{text}"));
    let e = expect_err(connect(&sshd, &home.options()), "changed key with `no`");
    assert_err!(e => TransportError::Ssh(SshError::HostKeyChanged { .. }), "{:?}");
}

#[test]
fn hashed_known_hosts_entries_work() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(home.known_hosts())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("ssh-keygen -H");
    assert!(status.success());
    let text = fs::read_to_string(home.known_hosts()).expect("read");
    assert!(text.starts_with("|1|"), "hashed: {text}");
    connect(&sshd, &home.options()).expect("hashed entry matches");
}

#[test]
fn odd_lines_before_the_entry_do_not_stop_the_lookup() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let good = fs::read_to_string(home.known_hosts()).expect("read");
    let junk = "\
@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk
not a valid line
other sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t
\u{0}\u{1}binary
";
    fs::write(home.known_hosts(), format!("{junk}{good}")).expect("write");
    connect(&sshd, &home.options()).expect("entry after odd lines is found");
}

/// Issue 14, item 9: a host an `@cert-authority` line vouches for is
/// refused, with or without --accept-new, rather than trusted on first use
/// (vault cannot check host certificates); nothing is recorded.
#[test]
fn a_host_under_a_cert_authority_is_refused_not_trusted_on_first_use() {
    let sshd = Sshd::start();
    let home = sshd.home_unknown_host();
    let ca = fs::read_to_string(sshd.host_pub_file()).expect("a key to name as the CA");
    let text = format!(
        "@cert-authority {} {}\n",
        sshd.known_hosts_name(),
        key_without_comment(&ca)
    );
    fs::write(home.known_hosts(), &text).expect("write");
    for accept_new in [true, false] {
        let mut opts = home.options();
        opts.accept_new = accept_new;
        let e = expect_err(connect(&sshd, &opts), "host under a CA");
        match &e {
            TransportError::Ssh(SshError::HostCertificateUnsupported(c)) => {
                assert_eq!(c.host, sshd.known_hosts_name());
                assert_eq!(c.ca_file, home.known_hosts());
                assert_eq!(c.ca_line, 1);
                assert_eq!(c.pin, sshd.known_hosts_line());
            }
            other => panic!(
                "accept_new {accept_new}: expected HostCertificateUnsupported, got {other:?}"
            ),
        }
        let msg = e.to_string();
        assert!(msg.contains("certificate authority"), "{msg}");
        assert!(!msg.contains('\n'));
        assert_eq!(
            fs::read_to_string(home.known_hosts()).expect("read"),
            text,
            "nothing recorded"
        );
    }
}

#[test]
fn plain_host_entry_does_not_cover_another_port() {
    // `127.0.0.1 KEY` is for port 22 only, as in OpenSSH: the server on a
    // random port is still unknown.
    let sshd = Sshd::start();
    let home = sshd.home_unknown_host();
    let host_key = fs::read_to_string(sshd.host_pub_file()).expect("host key");
    fs::write(
        home.known_hosts(),
        format!("127.0.0.1 {}\n", key_without_comment(&host_key)),
    )
    .expect("write");
    let e = expect_err(connect(&sshd, &home.options()), "plain entry, other port");
    assert_err!(e => TransportError::Ssh(SshError::HostKeyUnknown { .. }), "{:?}");
}

#[test]
fn direct_url_without_alias_uses_bracketed_entry() {
    let sshd = Sshd::start();
    let home = sshd.home();
    let mut opts = home.options();
    opts.identity = Some(sshd.client_key());
    let mut t = Location::parse(&sshd.direct_url("d"))
        .expect("parse")
        .connect(&opts)
        .expect("direct URL connects");
    t.mkdir_all("").expect("usable");
}
