//! Where an S3 vault is and how to reach it: the `s3://BUCKET/PREFIX`
//! location, the endpoint, region and addressing style, the credentials,
//! and the TLS trust settings, resolved the way the AWS tools do.
//!
//! Order of precedence (the AWS CLI's, for the parts vault uses):
//! - endpoint: `--endpoint` ([`ConnectOptions::s3_endpoint`]), then
//!   `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
//!   `endpoint_url`, then AWS itself (`https://s3.REGION.amazonaws.com`);
//! - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`,
//!   then `us-east-1`;
//! - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+
//!   `AWS_SESSION_TOKEN`), then the profile (`AWS_PROFILE`, else
//!   `default`) in `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`),
//!   then in `~/.aws/config` (`AWS_CONFIG_FILE`, sections `[profile NAME]`
//!   or `[default]`). SSO, `credential_process`, role assumption and the
//!   instance metadata service are not supported.
//!
//! Addressing: virtual-hosted (`BUCKET.s3.REGION.amazonaws.com`) on AWS
//! when the bucket name has no dot, path-style (`ENDPOINT/BUCKET/KEY`) on
//! any explicit endpoint, because self-hosted stores (SeaweedFS, MinIO,
//! Ceph RGW, Garage) need it and the hosted ones (R2, B2, Wasabi) accept it.
//!
//! TLS: `https://` is verified against the system's roots, or only against
//! the certificates in `AWS_CA_BUNDLE` when that is set (as the AWS CLI
//! does). Plain `http://` is accepted only for an endpoint on loopback, or
//! with [`ConnectOptions::insecure_plain_http`].
//!
//! Secrets (the secret key, the session token) are read into zeroizing
//! strings, handed to the signer by move, and appear in no `Debug`, log or
//! error: errors about the profile files name the file and the key, never
//! a value.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::S3Error;
use crate::transport::{ConnectOptions, TransportError};

/// Where an S3 vault lives: `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    /// The bucket (3 to 63 characters: lower-case letters, digits, `.`, `-`).
    pub bucket: String,
    /// The vault's key prefix inside the bucket, without leading or
    /// trailing `/` (`""` for the bucket's root).
    pub prefix: String,
}

/// Parse what follows `s3://`. The error is the reason, for
/// [`TransportError::BadLocation`].
pub(crate) fn parse_s3_url(rest: &str) -> Result<S3Target, String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket(bucket)?;
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() && crate::transport::backend::check_path(prefix, false).is_err() {
        return Err(format!(
            "the prefix {prefix:?} is not a clean path (no empty, `.` or `..` segments, \
             backslashes or NUL)"
        ));
    }
    if prefix.chars().any(char::is_control) {
        return Err("the prefix contains control characters".into());
    }
    Ok(S3Target {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    })
}

/// The general-purpose bucket naming rules of AWS, which every
/// S3-compatible store accepts.
fn check_bucket(b: &str) -> Result<(), String> {
    if b.is_empty() {
        return Err("no bucket: write s3://BUCKET/PREFIX".into());
    }
    if !(3..=63).contains(&b.len()) {
        return Err(format!("bucket name {b:?} must be 3 to 63 characters long"));
    }
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !ok_chars || !ends_ok(b.as_bytes()[0]) || !ends_ok(b.as_bytes()[b.len() - 1]) {
        return Err(format!(
            "bucket name {b:?} may hold only lower-case letters, digits, `.` and `-`, and must \
             start and end with a letter or digit"
        ));
    }
    if b.contains("..") || b.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!(
            "bucket name {b:?} must not hold `..` or look like an IP address"
        ));
    }
    Ok(())
}

/// Reads one environment variable; tests pass their own.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Everything needed to talk to the store, resolved once per location.
pub(crate) struct Resolved {
    pub endpoint: url::Url,
    pub host: String,
    pub region: String,
    pub path_style: bool,
    pub credentials: rusty_s3::Credentials,
    /// DER certificates of `AWS_CA_BUNDLE`, or `None` for the system roots.
    pub ca_bundle: Option<Vec<Vec<u8>>>,
}

fn env_nonempty(env: EnvFn<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// Resolve endpoint, region, addressing, credentials and trust for `t`.
pub(crate) fn resolve(
    t: &S3Target,
    opts: &ConnectOptions,
    env: EnvFn<'_>,
) -> Result<Resolved, TransportError> {
    let home = opts
        .home
        .clone()
        .or_else(|| env("HOME").map(PathBuf::from))
        .unwrap_or_default();
    let cred_file = env_nonempty(env, "AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/credentials"));
    let config_file = env_nonempty(env, "AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/config"));
    let explicit_profile = env_nonempty(env, "AWS_PROFILE");
    let profile_name = explicit_profile.clone().unwrap_or_else(|| "default".into());
    let mut profile = Profile::load(&profile_name, &cred_file, &config_file)?;

    let region = env_nonempty(env, "AWS_REGION")
        .or_else(|| env_nonempty(env, "AWS_DEFAULT_REGION"))
        .or_else(|| profile.region.clone())
        .unwrap_or_else(|| "us-east-1".into());

    let explicit = opts
        .s3_endpoint
        .clone()
        .or_else(|| env_nonempty(env, "AWS_ENDPOINT_URL_S3"))
        .or_else(|| env_nonempty(env, "AWS_ENDPOINT_URL"))
        .or_else(|| profile.endpoint_url.clone());
    let (endpoint, path_style) = match &explicit {
        Some(e) => (parse_endpoint(e, opts.insecure_plain_http)?, true),
        None => {
            let e = format!("https://s3.{region}.amazonaws.com");
            (parse_endpoint(&e, false)?, t.bucket.contains('.'))
        }
    };
    let host = endpoint.host_str().unwrap_or_default().to_owned();

    let credentials = match (
        env_nonempty(env, "AWS_ACCESS_KEY_ID"),
        env_nonempty(env, "AWS_SECRET_ACCESS_KEY").map(Zeroizing::new),
    ) {
        (Some(key), Some(mut secret)) => {
            let token = env_nonempty(env, "AWS_SESSION_TOKEN").map(Zeroizing::new);
            signer_credentials(key, &mut secret, token)
        }
        _ => match profile.take_credentials() {
            Some((key, mut secret, token)) => signer_credentials(key, &mut secret, token),
            None if explicit_profile.is_some() && !profile.found => {
                return Err(S3Error::NoSuchProfile {
                    profile: profile_name,
                    credentials_file: cred_file,
                    config_file,
                }
                .into());
            }
            None => {
                return Err(S3Error::NoCredentials {
                    credentials_file: cred_file,
                }
                .into());
            }
        },
    };

    let ca_bundle = match env_nonempty(env, "AWS_CA_BUNDLE") {
        Some(p) => Some(load_ca_bundle(Path::new(&p))?),
        None => None,
    };
    Ok(Resolved {
        endpoint,
        host,
        region,
        path_style,
        credentials,
        ca_bundle,
    })
}

/// Build the signer's credentials, moving the secret's buffer (no copy is
/// left behind: the zeroizing wrapper is left holding an empty string).
fn signer_credentials(
    key: String,
    secret: &mut Zeroizing<String>,
    token: Option<Zeroizing<String>>,
) -> rusty_s3::Credentials {
    let secret = std::mem::take(&mut **secret);
    match token {
        Some(mut tok) => {
            rusty_s3::Credentials::new_with_token(key, secret, std::mem::take(&mut *tok))
        }
        None => rusty_s3::Credentials::new(key, secret),
    }
}

/// `e` with anything between `scheme://` and an `@` of its authority
/// replaced by `***`: a key or secret pasted into an endpoint never reaches
/// a message, whether or not the URL parses.
fn redacted_endpoint(e: &str) -> String {
    let Some(start) = e.find("://").map(|i| i + 3) else {
        return e.to_owned();
    };
    let rest = &e[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}***{}", &e[..start], &e[start + at..]),
        None => e.to_owned(),
    }
}

/// Check an endpoint URL and the plain-HTTP rule.
fn parse_endpoint(e: &str, insecure_plain_http: bool) -> Result<url::Url, TransportError> {
    let bad = |reason: &str| S3Error::BadEndpoint {
        endpoint: redacted_endpoint(e),
        reason: reason.to_owned(),
    };
    let u = url::Url::parse(e).map_err(|err| bad(&err.to_string()))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials do not belong in the endpoint URL").into());
    }
    if u.query().is_some() || u.fragment().is_some() || !matches!(u.path(), "" | "/") {
        return Err(
            bad("the endpoint is scheme://host[:port] only, without a path or query").into(),
        );
    }
    let Some(host) = u.host() else {
        return Err(bad("no host").into());
    };
    match u.scheme() {
        "https" => {}
        "http" => {
            let loopback = match host {
                url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
                url::Host::Ipv4(a) => IpAddr::V4(a).is_loopback(),
                url::Host::Ipv6(a) => IpAddr::V6(a).is_loopback(),
            };
            if !loopback && !insecure_plain_http {
                return Err(S3Error::InsecureHttp {
                    host: host.to_string(),
                }
                .into());
            }
        }
        _ => return Err(bad("the scheme must be https:// (or http:// on loopback)").into()),
    }
    Ok(u)
}

/// Read a PEM bundle into DER certificates.
fn load_ca_bundle(path: &Path) -> Result<Vec<Vec<u8>>, TransportError> {
    let bad = |detail: String| S3Error::BadCaBundle {
        path: path.to_owned(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c.der().to_vec()),
            Ok(_) => {}
            Err(e) => return Err(bad(format!("not a PEM file ({e})")).into()),
        }
    }
    if out.is_empty() {
        return Err(bad("holds no PEM certificate".into()).into());
    }
    Ok(out)
}

/// The parts of one profile vault uses, from both files.
struct Profile {
    found: bool,
    region: Option<String>,
    endpoint_url: Option<String>,
    key: Option<String>,
    secret: Option<Zeroizing<String>>,
    token: Option<Zeroizing<String>>,
}

impl Profile {
    fn load(name: &str, cred_file: &Path, config_file: &Path) -> Result<Profile, TransportError> {
        let mut p = Profile {
            found: false,
            region: None,
            endpoint_url: None,
            key: None,
            secret: None,
            token: None,
        };
        // The credentials file names sections by the bare profile name; the
        // config file writes `[profile NAME]`, except for `[default]`.
        let config_section = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        for (file, section) in [(cred_file, name.to_owned()), (config_file, config_section)] {
            let Some(mut ini) = read_ini(file)? else {
                continue;
            };
            let Some(props) = ini.section_mut(Some(section)) else {
                continue;
            };
            p.found = true;
            let mut take = |k: &str| props.remove(k).map(Zeroizing::new);
            let key = take("aws_access_key_id");
            let secret = take("aws_secret_access_key");
            let token = take("aws_session_token");
            let region = take("region");
            let endpoint = take("endpoint_url");
            if p.key.is_none() && p.secret.is_none() {
                match (key, secret) {
                    (Some(k), Some(s)) => {
                        p.key = Some(k.to_string());
                        p.secret = Some(s);
                        p.token = token;
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(S3Error::BadProfileFile {
                            file: file.to_owned(),
                            detail: format!(
                                "profile {name:?} needs both aws_access_key_id and \
                                 aws_secret_access_key"
                            ),
                        }
                        .into());
                    }
                    (None, None) => {}
                }
            }
            p.region = p.region.take().or(region.map(|r| r.to_string()));
            p.endpoint_url = p.endpoint_url.take().or(endpoint.map(|e| e.to_string()));
        }
        Ok(p)
    }

    fn take_credentials(
        &mut self,
    ) -> Option<(String, Zeroizing<String>, Option<Zeroizing<String>>)> {
        let key = self.key.take()?;
        let secret = self.secret.take()?;
        Some((key, secret, self.token.take()))
    }
}

/// Parse an AWS profile file (INI without escapes), `None` if it does not exist.
fn read_ini(file: &Path) -> Result<Option<ini::Ini>, TransportError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(S3Error::BadProfileFile {
                file: file.to_owned(),
                detail: e.to_string(),
            }
            .into());
        }
    };
    ini::Ini::load_from_str_noescape(&text)
        .map(Some)
        .map_err(|e| {
            S3Error::BadProfileFile {
                file: file.to_owned(),
                // The parser's message names a line and column, not a value.
                detail: format!("cannot be parsed at line {}, column {}", e.line, e.col),
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn bucket_rules() {
        for ok in ["abc", "my-bucket.2", &"a".repeat(63)] {
            assert!(check_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            &"a".repeat(64),
            "Abc",
            "a_b",
            "-ab",
            "ab-",
            "a..b",
            "192.168.1.1",
            "ab c",
        ] {
            assert!(check_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_parts() {
        let t = parse_s3_url("bkt/a/b/").unwrap();
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("bkt", "a/b"));
        assert_eq!(parse_s3_url("bkt").unwrap().prefix, "");
        assert_eq!(parse_s3_url("bkt/").unwrap().prefix, "");
        assert!(parse_s3_url("bkt/a//b").is_err());
        assert!(parse_s3_url("bkt/../x").is_err());
        assert!(parse_s3_url("/x").is_err());
    }

    #[test]
    fn credentials_in_an_endpoint_are_never_echoed() {
        let opts = ConnectOptions::default();
        for e in [
            "https://AKIDEXAMPLE:s3cr3tVALUE@s3.example.com",
            "https://s3cr3tVALUE@s3.example.com/",
            "https://AKIDEXAMPLE:s3cr3tVALUE@s3.example.com:notaport",
            "ht!tp://AKIDEXAMPLE:s3cr3tVALUE@[bad",
        ] {
            let m = parse_endpoint(e, false).unwrap_err().to_string();
            assert!(
                !m.contains("s3cr3tVALUE") && !m.contains("AKIDEXAMPLE"),
                "{m}"
            );
            assert!(m.contains("***@"), "{m}");
            let m = run(
                &[
                    ("AWS_ACCESS_KEY_ID", "k"),
                    ("AWS_SECRET_ACCESS_KEY", "s"),
                    ("AWS_ENDPOINT_URL", e),
                    ("HOME", "/nonexistent"),
                ],
                &opts,
            )
            .err()
            .expect("refused")
            .to_string();
            assert!(!m.contains("s3cr3tVALUE"), "{m}");
        }
        assert_eq!(redacted_endpoint("https://h:9000"), "https://h:9000");
        assert_eq!(redacted_endpoint("https://h/a@b"), "https://h/a@b");
    }

    fn run(vars: &[(&str, &str)], opts: &ConnectOptions) -> Result<Resolved, TransportError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let t = S3Target {
            bucket: "bkt".into(),
            prefix: "p".into(),
        };
        resolve(&t, opts, &|k: &str| m.get(k).cloned())
    }

    #[test]
    fn plain_http_only_on_loopback_or_with_the_flag() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("HOME", "/nonexistent"),
        ];
        let mut opts = ConnectOptions::default();
        for ep in [
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://localhost:1",
            "https://s3.example.com",
        ] {
            opts.s3_endpoint = Some(ep.into());
            assert!(run(&keys, &opts).is_ok(), "{ep}");
        }
        opts.s3_endpoint = Some("http://10.1.2.3:9000".into());
        let e = run(&keys, &opts).err().expect("refused");
        assert!(
            matches!(e, TransportError::S3(S3Error::InsecureHttp { .. })),
            "{e}"
        );
        assert!(e.to_string().contains("--insecure-plain-http"), "{e}");
        opts.insecure_plain_http = true;
        assert!(run(&keys, &opts).is_ok());
        for bad in ["ftp://h", "https://h/path", "https://u:p@h", "not a url"] {
            opts.s3_endpoint = Some(bad.into());
            assert!(run(&keys, &opts).is_err(), "{bad}");
        }
    }

    #[test]
    fn aws_default_endpoint_and_style() {
        let r = run(
            &[
                ("AWS_ACCESS_KEY_ID", "k"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
                ("AWS_REGION", "eu-west-3"),
                ("HOME", "/nonexistent"),
            ],
            &ConnectOptions::default(),
        )
        .unwrap();
        assert_eq!(r.endpoint.as_str(), "https://s3.eu-west-3.amazonaws.com/");
        assert!(!r.path_style);
        assert_eq!(r.region, "eu-west-3");
    }

    #[test]
    fn no_credentials_is_one_clear_error_without_secrets() {
        let e = run(&[("HOME", "/nonexistent")], &ConnectOptions::default())
            .err()
            .expect("no credentials");
        assert!(
            matches!(e, TransportError::S3(S3Error::NoCredentials { .. })),
            "{e}"
        );
        let e = run(
            &[("HOME", "/nonexistent"), ("AWS_PROFILE", "work")],
            &ConnectOptions::default(),
        )
        .err()
        .expect("no profile");
        assert!(e.to_string().contains("\"work\" not found"), "{e}");
    }

    #[test]
    fn profile_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".aws")).unwrap();
        std::fs::write(
            d.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = s\\ec/r+et\n\n\
             [work]\naws_access_key_id=AKWORK\naws_secret_access_key=w\naws_session_token=tok\n\
             [half]\naws_access_key_id=AKHALF\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join(".aws/config"),
            "[profile work]\nregion = eu-central-1\nendpoint_url = https://store.example:8443\n\
             [profile cfgonly]\naws_access_key_id=AKCFG\naws_secret_access_key=c\n",
        )
        .unwrap();
        let home = d.path().to_str().unwrap();
        let r = run(&[("HOME", home)], &ConnectOptions::default()).unwrap();
        assert_eq!(r.credentials.key(), "AKDEF");
        assert_eq!(r.credentials.secret(), "s\\ec/r+et", "no escape processing");
        let r = run(
            &[("HOME", home), ("AWS_PROFILE", "work")],
            &ConnectOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (r.credentials.key(), r.credentials.token()),
            ("AKWORK", Some("tok"))
        );
        assert_eq!(r.region, "eu-central-1");
        assert_eq!(r.endpoint.as_str(), "https://store.example:8443/");
        assert!(r.path_style);
        let r = run(
            &[("HOME", home), ("AWS_PROFILE", "cfgonly")],
            &ConnectOptions::default(),
        )
        .unwrap();
        assert_eq!(r.credentials.key(), "AKCFG");
        // The environment wins over the profile.
        let r = run(
            &[
                ("HOME", home),
                ("AWS_PROFILE", "work"),
                ("AWS_ACCESS_KEY_ID", "AKENV"),
                ("AWS_SECRET_ACCESS_KEY", "e"),
            ],
            &ConnectOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (r.credentials.key(), r.credentials.token()),
            ("AKENV", None)
        );
        let e = run(
            &[("HOME", home), ("AWS_PROFILE", "half")],
            &ConnectOptions::default(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("needs both"), "{e}");
        assert!(!e.to_string().contains("AKHALF"), "{e}");
    }
}
