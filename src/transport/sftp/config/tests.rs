//! Tests of the configuration resolution (`super`).

use super::*;
use std::fs;

fn resolve(
    home: &Path,
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    local: &str,
) -> Result<HostConfig, TransportError> {
    let files = ConfigFiles {
        user: None,
        system: None,
    };
    let q = Query {
        user,
        port,
        local_user: local,
        ..plain(home, alias)
    };
    super::resolve(&files, &q)
}

/// `alias` for the local user `me`, with nothing from the command line.
fn plain<'a>(home: &'a Path, alias: &'a str) -> Query<'a> {
    Query {
        home,
        alias,
        user: None,
        port: None,
        local_user: "me",
    }
}

fn home_with(config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    fs::create_dir(home.path().join(".ssh")).expect("mkdir");
    fs::write(home.path().join(".ssh/config"), config).expect("write");
    home
}

/// Resolving `alias` with `config` fails.
fn refused(config: &str, alias: &str) {
    let home = home_with(config);
    assert!(resolve(home.path(), alias, None, None, "me").is_err());
}

fn get(config: &str, alias: &str) -> HostConfig {
    let home = home_with(config);
    resolve(home.path(), alias, None, None, "me").expect("resolve")
}

#[test]
fn defaults_without_a_config() {
    let home = tempfile::tempdir().expect("tempdir");
    let c = resolve(home.path(), "Host.Example", None, None, "me").expect("resolve");
    assert_eq!(c.host_name, "Host.Example");
    assert_eq!(c.port, 22);
    assert_eq!(c.user, "me");
    assert!(c.identity_files.is_empty());
    assert_eq!(
        c.user_known_hosts,
        vec![
            home.path().join(".ssh/known_hosts"),
            home.path().join(".ssh/known_hosts2")
        ]
    );
    assert_eq!(c.strict, None);
}

#[test]
fn alias_fields_and_first_value_wins() {
    let cfg = "\
# comment
Host other
  Port 1
Host box b*x !bad
  HostName 10.0.0.7
  Port 2222
  Port 3333
  User alice
  IdentityFile ~/.ssh/k1
  IdentityFile \"/abs/k 2\"
Host *
  User bob
  Port 22
  IdentityFile ~/.ssh/k3
  StrictHostKeyChecking accept-new
";
    let c = get(cfg, "box");
    assert_eq!(c.host_name, "10.0.0.7");
    assert_eq!(c.port, 2222);
    assert_eq!(c.user, "alice");
    assert!(c.identity_files[0].ends_with(".ssh/k1"));
    assert!(c.identity_files[0].is_absolute());
    assert_eq!(c.identity_files[1], PathBuf::from("/abs/k 2"));
    assert!(c.identity_files[2].ends_with(".ssh/k3"));
    assert_eq!(c.strict, Some(Strict::AcceptNew));
    // Case-insensitive alias, glob.
    assert_eq!(get(cfg, "BOOX").port, 2222);
    // Negation vetoes the block even though b*x matches.
    let c = get(cfg, "bad");
    assert_eq!((c.port, c.user.as_str()), (22, "bob"));
    assert_eq!(c.host_name, "bad");
}

#[test]
fn global_lines_before_host_win() {
    let c = get("User first\nHost x\n User second\n", "x");
    assert_eq!(c.user, "first");
}

#[test]
fn cli_user_and_port_win() {
    let home = home_with("Host x\n User u\n Port 5\n");
    let c = resolve(home.path(), "x", Some("cli"), Some(7), "me").expect("resolve");
    assert_eq!((c.user.as_str(), c.port), ("cli", 7));
}

#[test]
fn equals_syntax_quotes_and_trailing_comments() {
    let c = get(
        "Host=x\nHostName = \"h.example\" # trailing\nPort=44\nUserKnownHostsFile ~/a \"/b c\"\n",
        "x",
    );
    assert_eq!(c.host_name, "h.example");
    assert_eq!(c.port, 44);
    assert!(c.user_known_hosts[0].ends_with("a"));
    assert_eq!(c.user_known_hosts[1], PathBuf::from("/b c"));
}

#[test]
fn strict_values() {
    for (v, want) in [
        ("yes", Strict::Yes),
        ("ask", Strict::Ask),
        ("accept-new", Strict::AcceptNew),
        ("no", Strict::AcceptNew),
        ("off", Strict::AcceptNew),
    ] {
        assert_eq!(
            get(&format!("StrictHostKeyChecking {v}\n"), "x").strict,
            Some(want)
        );
    }
}

#[test]
fn bad_values_name_file_and_line() {
    let home = home_with("Host x\n\n  Port abc\n");
    match resolve(home.path(), "x", None, None, "me") {
        Err(TransportError::Ssh(SshError::Config { line, file, .. })) => {
            assert_eq!(line, 3);
            assert!(file.ends_with(".ssh/config"));
        }
        other => panic!("{other:?}"),
    }
    refused("StrictHostKeyChecking maybe\n", "x");
    refused("HostName \"unterminated\n", "x");
}

#[test]
fn tokens_and_hostname_percent_h() {
    let c = get(
        "Host x\n HostName %h.lan\n User u\n Port 9\n IdentityFile %d/id_%r_%h_%p_%n_%u_%%\n",
        "x",
    );
    assert_eq!(c.host_name, "x.lan");
    let want = "id_u_x.lan_9_x_me_%";
    assert!(
        c.identity_files[0].to_string_lossy().ends_with(want),
        "{:?}",
        c.identity_files
    );
    let home = home_with("Port 2\n\nIdentityFile ~/%z\n");
    match resolve(home.path(), "x", None, None, "me") {
        Err(TransportError::Ssh(SshError::Config { line, .. })) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn known_hosts_none_and_global() {
    let c = get(
        "UserKnownHostsFile none\nGlobalKnownHostsFile /dev/null\n",
        "x",
    );
    assert!(c.user_known_hosts.is_empty());
    assert_eq!(c.global_known_hosts, vec![PathBuf::from("/dev/null")]);
}

#[test]
fn match_blocks() {
    let cfg = "\
Match host x
  Port 1
Match exec \"exit 1\"
  User never
Match originalhost y,!z
  Port 2
Match !host q all
  User everyone
";
    assert_eq!(get(cfg, "x").port, 1);
    assert_eq!(get(cfg, "y").port, 2);
    assert_eq!(get(cfg, "z").port, 22);
    assert_eq!(get(cfg, "x").user, "everyone");
    assert_eq!(get(cfg, "q").user, "me");
    let c = get(
        "Match user me\n Port 3\nMatch localuser other\n Port 4\n",
        "h",
    );
    assert_eq!(c.port, 3);
}

#[test]
fn include_in_place_with_glob() {
    let home = home_with("Include conf.d/*.conf\nHost *\n Port 9\n");
    let d = home.path().join(".ssh/conf.d");
    fs::create_dir(&d).expect("mkdir");
    fs::write(d.join("b.conf"), "Host h\n Port 2\n User b\n").expect("write");
    fs::write(d.join("a.conf"), "Host h\n Port 1\n").expect("write");
    fs::write(d.join("ignored.txt"), "Host h\n Port 3\n").expect("write");
    let c = resolve(home.path(), "h", None, None, "me").expect("resolve");
    assert_eq!((c.port, c.user.as_str()), (1, "b"));
    let c = resolve(home.path(), "other", None, None, "me").expect("resolve");
    assert_eq!(c.port, 9);
}

#[test]
fn include_inside_inactive_block_never_matches() {
    let home = home_with("Host nope\n Include extra\n");
    fs::write(home.path().join(".ssh/extra"), "Host h\n Port 5\n").expect("write");
    let c = resolve(home.path(), "h", None, None, "me").expect("resolve");
    assert_eq!(c.port, 22);
}

#[test]
fn include_loop_is_an_error_not_a_hang() {
    let home = home_with("Include config\n");
    assert!(matches!(
        resolve(home.path(), "h", None, None, "me"),
        Err(TransportError::Ssh(SshError::Config { .. }))
    ));
}

#[test]
fn ciphers_timeouts_flags() {
    let c = get(
        "Ciphers aes128-ctr\nConnectTimeout 5\nServerAliveInterval 7\nBatchMode yes\nIdentitiesOnly yes\nHostKeyAlias hk\n",
        "x",
    );
    assert_eq!(c.ciphers.as_deref(), Some("aes128-ctr"));
    assert_eq!(c.connect_timeout, Some(Duration::from_secs(5)));
    assert_eq!(c.server_alive_interval, Some(7));
    assert!(c.batch_mode && c.identities_only);
    assert_eq!(c.host_key_alias.as_deref(), Some("hk"));
}

fn with_system(user: &str, system: &str, alias: &str) -> Result<HostConfig, TransportError> {
    let home = home_with(user);
    let etc = home.path().join("etc-ssh");
    fs::create_dir(&etc).expect("mkdir");
    fs::write(etc.join("ssh_config"), system).expect("write");
    fs::write(etc.join("extra.conf"), "Host *\n Compression yes\n").expect("write");
    let files = ConfigFiles {
        user: None,
        system: Some(etc.join("ssh_config")),
    };
    super::resolve(&files, &plain(home.path(), alias))
}

#[test]
fn the_system_file_comes_after_the_users() {
    let c = with_system(
        "Host h\n Port 2\n",
        "Include extra.conf\nHost *\n Port 3\n HashKnownHosts yes\n StrictHostKeyChecking accept-new\n",
        "h",
    )
    .expect("resolve");
    assert_eq!(c.port, 2, "the user's value wins");
    assert!(
        c.hash_known_hosts,
        "Debian's default comes from the system file"
    );
    assert_eq!(c.strict, Some(Strict::AcceptNew));
    assert!(
        c.compression,
        "a relative Include in the system file is under its folder"
    );
    assert!(
        c.strict_origin
            .expect("origin")
            .0
            .ends_with("etc-ssh/ssh_config")
    );
}

#[test]
fn options_that_change_where_vault_connects_are_refused_naming_the_line() {
    for (text, option) in [
        ("Host h\n BindAddress 10.0.0.1\n", "BindAddress 10.0.0.1"),
        (
            "Host *\n\n CanonicalizeHostname yes\n",
            "CanonicalizeHostname yes",
        ),
        (
            "KnownHostsCommand /bin/true %H\n",
            "KnownHostsCommand /bin/true %H",
        ),
        (
            "Host h\n ProxyCommand foo\n ProxyUseFdpass yes\n",
            "ProxyUseFdpass yes",
        ),
        ("Host h\n RefuseConnection yes\n", "RefuseConnection yes"),
    ] {
        let home = home_with(text);
        match resolve(home.path(), "h", None, None, "me") {
            Err(TransportError::Ssh(SshError::Unsupported {
                option: o,
                line,
                file,
                ..
            })) => {
                assert_eq!(o, option);
                assert_eq!(line, text.lines().count(), "{text}");
                assert!(file.ends_with(".ssh/config"));
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // Harmless values, inactive blocks and a first value that is harmless
    // are fine.
    for text in [
        "CanonicalizeHostname no\nKnownHostsCommand none\n",
        "Host other\n BindAddress 10.0.0.1\n",
        "Host h\n CanonicalizeHostname no\nHost *\n CanonicalizeHostname yes\n",
        "ControlMaster auto\nControlPath ~/.ssh/cm-%r@%h:%p\nForwardAgent yes\nGSSAPIAuthentication yes\n",
    ] {
        let home = home_with(text);
        resolve(home.path(), "h", None, None, "me").unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

#[test]
fn unknown_keywords_are_errors_unless_ignored() {
    let home = home_with("Host h\n ProxyJumps j\n");
    match resolve(home.path(), "h", None, None, "me") {
        Err(TransportError::Ssh(SshError::Config {
            line: 2, message, ..
        })) => {
            assert!(message.contains("ProxyJumps"), "{message}");
            assert!(message.contains("IgnoreUnknown"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let home = home_with("IgnoreUnknown UseKeychain,Fancy*\nUseKeychain yes\nFancyThing 1\n");
    resolve(home.path(), "h", None, None, "me").expect("ignored as ssh does");
}

#[test]
fn a_match_vault_cannot_evaluate_may_only_hold_ignored_options() {
    let home = home_with("Match localnetwork 10.0.0.0/8\n ForwardAgent yes\n");
    resolve(home.path(), "h", None, None, "me").expect("nothing that matters");
    let home = home_with("Match localnetwork 10.0.0.0/8\n  ProxyJump gate\n");
    match resolve(home.path(), "h", None, None, "me") {
        Err(TransportError::Ssh(SshError::Config {
            line: 2, message, ..
        })) => {
            assert!(
                message.contains("Match localnetwork 10.0.0.0/8"),
                "{message}"
            );
            assert!(message.contains("ProxyJump"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Decided by another criterion: no error.
    let home = home_with("Match host nothere localnetwork 10.0.0.0/8\n ProxyJump gate\n");
    let c = resolve(home.path(), "h", None, None, "me").expect("the host criterion decides");
    assert_eq!(c.proxy, Proxy::Direct);
}

#[test]
fn match_exec_runs_only_when_earlier_criteria_matched() {
    let home = home_with(
        "Match host h exec \"test %h = h && test %n = h\"\n Port 7\nMatch host nope exec \"touch ran\"\n Port 8\n",
    );
    let c = resolve(home.path(), "h", None, None, "me").expect("resolve");
    assert_eq!(c.port, 7);
    assert!(!Path::new("ran").exists());
    let c = resolve_text("Match exec true\n Port 7\n", &plain(home.path(), "h"));
    assert!(c.is_err(), "the fuzzer's parse never runs commands");
}

#[test]
fn match_final_takes_a_second_pass() {
    let c = get(
        "Match final\n Port 5\nMatch !final\n User first\nHost h\n Port 6\n",
        "h",
    );
    assert_eq!((c.port, c.user.as_str()), (6, "first"));
    let c = get("Match final host h\n Port 5\nHost *\n User u\n", "h");
    assert_eq!((c.port, c.user.as_str()), (5, "u"));
}

#[test]
fn proxy_jump_and_proxy_command_share_one_slot() {
    let c = get(
        "Host h\n HostName 10.1.1.1\n User u\n ProxyCommand ssh -W %h:%p -l %r gate # x\n ProxyJump j\n",
        "h",
    );
    assert_eq!(
        c.proxy,
        Proxy::Command("ssh -W 10.1.1.1:22 -l u gate # x".into())
    );
    let c = get(
        "Host h\n ProxyJump a,u@b:2\nHost *\n ProxyCommand nc %h %p\n",
        "h",
    );
    assert_eq!(
        c.proxy,
        Proxy::Jump(vec![
            Jump {
                user: None,
                host: "a".into(),
                port: None
            },
            Jump {
                user: Some("u".into()),
                host: "b".into(),
                port: Some(2)
            },
        ])
    );
    assert_eq!(
        get("ProxyJump none\nProxyJump x\n", "h").proxy,
        Proxy::Direct
    );
    refused("ProxyCommand nc %z\n", "h");
}

#[test]
fn algorithms_address_family_and_auth_methods() {
    let c = get(
        "KexAlgorithms -diffie*\nMACs hmac-sha2-256\nHostKeyAlgorithms ssh-ed25519\nAddressFamily inet6\nConnectionAttempts 3\nPasswordAuthentication no\nChallengeResponseAuthentication no\nPreferredAuthentications publickey,password\nRequiredRSASize 3072\nIdentityAgent ~/agent.sock\n",
        "h",
    );
    assert_eq!(c.kex_algorithms.as_deref(), Some("-diffie*"));
    assert_eq!(c.macs.as_deref(), Some("hmac-sha2-256"));
    assert_eq!(c.host_key_algorithms.as_deref(), Some("ssh-ed25519"));
    assert_eq!(c.address_family, AddressFamily::Inet6);
    assert_eq!(c.connection_attempts, 3);
    assert!(c.auth.pubkey && !c.auth.password && !c.auth.keyboard_interactive);
    assert_eq!(
        c.auth.preferred,
        Some(vec!["publickey".to_owned(), "password".to_owned()])
    );
    assert_eq!(c.required_rsa_size, 3072);
    assert!(c.identity_agent.expect("agent").ends_with("/agent.sock"));
}
