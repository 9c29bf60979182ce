//! Every ssh_config keyword OpenSSH 9 knows, and what vault does with it.
//!
//! Three classes, by one rule: an option vault does not carry out is
//! *ignored* only if ignoring it can neither send the connection somewhere
//! else, nor accept a server or use a credential the option would have
//! refused; at worst vault is then stricter than ssh, or fails with a
//! message (an authentication method it lacks). Every other option vault
//! cannot carry out is *refused*: the command stops with the file, line
//! and option named. Keywords OpenSSH does not know are refused too, as ssh
//! refuses them, unless an `IgnoreUnknown` pattern covers them.
//!
//! The lists below are the whole of OpenSSH 9.x's `readconf.c` keyword
//! table (with Debian's GSSAPI additions and a few newer keywords), so
//! that a configuration ssh accepts is never refused for a keyword vault
//! has not heard of.

/// What vault does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Read and carried out (the parser handles it by name).
    Honoured,
    /// Not carried out, and ignoring it could change where or how vault
    /// connects: refused unless its value is the one that changes
    /// nothing (`default`, compared case-insensitively).
    Refused {
        /// The value (or values) that mean the option is off.
        default: &'static [&'static str],
        /// Why vault cannot carry it out.
        reason: &'static str,
    },
    /// Not carried out, and ignoring it changes nothing about where
    /// vault connects or whom it trusts (see the module documentation).
    Ignored,
    /// Not an OpenSSH keyword.
    Unknown,
}

/// Keywords vault carries out. `identityfile2`, `dsaauthentication`,
/// `challengeresponseauthentication`, `skeyauthentication`,
/// `tisauthentication`, `protocolkeepalives` and `setuptimeout` are
/// OpenSSH's (and Debian's) aliases of honoured keywords.
const HONOURED: &[&str] = &[
    "host",
    "match",
    "include",
    "ignoreunknown",
    "hostname",
    "port",
    "user",
    "identityfile",
    "identityfile2",
    "identitiesonly",
    "identityagent",
    "batchmode",
    "userknownhostsfile",
    "globalknownhostsfile",
    "stricthostkeychecking",
    "hashknownhosts",
    "hostkeyalias",
    "hostkeyalgorithms",
    "kexalgorithms",
    "ciphers",
    "macs",
    "compression",
    "connecttimeout",
    "connectionattempts",
    "serveraliveinterval",
    "protocolkeepalives",
    "setuptimeout",
    "addressfamily",
    "proxycommand",
    "proxyjump",
    "proxyusefdpass",
    "pubkeyauthentication",
    "dsaauthentication",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "skeyauthentication",
    "tisauthentication",
    "preferredauthentications",
    "requiredrsasize",
    "refuseconnection",
];

/// Keywords vault refuses, with the value that is harmless.
const REFUSED: &[(&str, &[&str], &str)] = &[
    (
        "bindaddress",
        &[],
        "vault cannot choose the local address it connects from",
    ),
    (
        "bindinterface",
        &[],
        "vault cannot choose the local interface it connects from",
    ),
    (
        "canonicalizehostname",
        &["no", "none", "false"],
        "vault does not canonicalize host names, so it would look up and connect to another name",
    ),
    (
        "knownhostscommand",
        &["none"],
        "vault does not run a command to find host keys",
    ),
    (
        "revokedhostkeys",
        &["none"],
        "vault reads revoked keys only from @revoked lines in known_hosts",
    ),
];

/// Keywords that change nothing vault does (see the module documentation
/// for the rule), each group with why.
const IGNORED: &[&str] = &[
    // Connection sharing: vault makes its own connection, to the same
    // host by the same route, with its own host-key check.
    "controlmaster",
    "controlpath",
    "controlpersist",
    // Forwarding, tunnels, X11, agent forwarding: vault forwards nothing.
    "forwardagent",
    "forwardx11",
    "forwardx11trusted",
    "forwardx11timeout",
    "xauthlocation",
    "localforward",
    "remoteforward",
    "dynamicforward",
    "gatewayports",
    "clearallforwardings",
    "exitonforwardfailure",
    "permitremoteopen",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "tunnel",
    "tunneldevice",
    // The session: vault asks only for the SFTP subsystem.
    "remotecommand",
    "requesttty",
    "sessiontype",
    "stdinnull",
    "forkafterauthentication",
    "localcommand",
    "permitlocalcommand",
    "sendenv",
    "setenv",
    "escapechar",
    "enableescapecommandline",
    "obscurekeystroketiming",
    "channeltimeout",
    // Authentication methods and key sources vault does not have: without
    // them vault offers fewer credentials, never others.
    "hostbasedauthentication",
    "hostbasedacceptedalgorithms",
    "hostbasedkeytypes",
    "enablesshkeysign",
    "gssapiauthentication",
    "gssapidelegatecredentials",
    "gssapikeyexchange",
    "gssapitrustdns",
    "gssapirenewalforcesrekey",
    "gssapikexalgorithms",
    "gssapiclientidentity",
    "gssapiserveridentity",
    "pkcs11provider",
    "smartcarddevice",
    "securitykeyprovider",
    "certificatefile",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "kbdinteractivedevices",
    "numberofpasswordprompts",
    "addkeystoagent",
    "usekeychain",
    // Host-key extras that only ever accept more than known_hosts does
    // (vault is then stricter) or only change what is shown.
    "checkhostip",
    "verifyhostkeydns",
    "updatehostkeys",
    "nohostauthenticationforlocalhost",
    "casignaturealgorithms",
    "visualhostkey",
    "fingerprinthash",
    "warnweakcrypto",
    // Only meaningful with CanonicalizeHostname, which is refused.
    "canonicaldomains",
    "canonicalizefallbacklocal",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    // Transport tuning and logging.
    "tcpkeepalive",
    "keepalive",
    "serveralivecountmax",
    "ipqos",
    "rekeylimit",
    "loglevel",
    "logverbose",
    "syslogfacility",
    "tag",
    "versionaddendum",
    // Deprecated or unsupported by OpenSSH itself (it ignores them too).
    "protocol",
    "cipher",
    "fallbacktorsh",
    "globalknownhostsfile2",
    "userknownhostsfile2",
    "rhostsauthentication",
    "useroaming",
    "usersh",
    "useprivilegedport",
    "afstokenpassing",
    "kerberosauthentication",
    "kerberostgtpassing",
    "rsaauthentication",
    "rhostsrsaauthentication",
    "compressionlevel",
    "hpndisabled",
    "hpnbuffersize",
    "tcprcvbufpoll",
    "tcprcvbuf",
    "noneenabled",
    "noneswitch",
];

/// The class of a keyword (lowercase).
pub(crate) fn classify(keyword: &str) -> Class {
    if HONOURED.contains(&keyword) {
        return Class::Honoured;
    }
    if let Some((_, default, reason)) = REFUSED.iter().find(|(k, _, _)| *k == keyword) {
        return Class::Refused { default, reason };
    }
    if IGNORED.contains(&keyword) {
        return Class::Ignored;
    }
    Class::Unknown
}

/// The keyword as ssh_config(5) spells it, for messages.
pub(crate) fn display_name(keyword: &str) -> &str {
    const NAMES: &[&str] = &[
        "BindAddress",
        "BindInterface",
        "CanonicalizeHostname",
        "KnownHostsCommand",
        "RevokedHostKeys",
        "ProxyUseFdpass",
        "ProxyCommand",
        "ProxyJump",
        "RefuseConnection",
    ];
    NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(keyword))
        .copied()
        .unwrap_or(keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_keyword_is_in_two_classes() {
        let refused: Vec<&str> = REFUSED.iter().map(|(k, _, _)| *k).collect();
        for k in HONOURED {
            assert!(!refused.contains(k) && !IGNORED.contains(k), "{k}");
        }
        for k in &refused {
            assert!(!IGNORED.contains(k), "{k}");
        }
        for k in HONOURED.iter().chain(&refused).chain(IGNORED) {
            assert_eq!(*k, k.to_ascii_lowercase(), "lowercase: {k}");
        }
    }

    #[test]
    fn every_keyword_the_installed_ssh_prints_is_classified() {
        // `ssh -G` prints every option ssh has, by its canonical keyword.
        let out = std::process::Command::new("ssh")
            .args(["-G", "-F", "/dev/null", "example.invalid"])
            .output()
            .expect("ssh -G (is openssh-client installed? run scripts/test)");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(|k| k.trim())
            .filter(|k| classify(&k.to_ascii_lowercase()) == Class::Unknown)
            .collect();
        assert!(missing.is_empty(), "unclassified: {missing:?}");
    }
}
