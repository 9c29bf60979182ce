//! Throughput of SFTP over loopback through libssh2, to choose the write
//! and read call sizes of the SFTP transport. A benchmark, not a test:
//!
//! ```text
//! cargo bench --bench sftp_calls
//! ```
//!
//! It measures raw `ssh2` calls of several sizes (libssh2 pipelines only
//! within one call) and then the library's own writer and reader.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Instant;

use common::pattern;
use common::sshd::Sshd;
use vault::transport::{Location, PutMode};

const TOTAL: usize = 256 << 20;

/// Call `read` into `buf` until it returns 0; the bytes read.
fn drain(mut read: impl FnMut(&mut [u8]) -> usize, buf: &mut [u8]) -> usize {
    let mut got = 0;
    loop {
        let n = read(buf);
        if n == 0 {
            return got;
        }
        got += n;
    }
}

fn raw_session(sshd: &Sshd) -> ssh2::Session {
    let tcp = TcpStream::connect(("127.0.0.1", sshd.port())).expect("tcp");
    let mut s = ssh2::Session::new().expect("session");
    s.set_tcp_stream(tcp);
    for m in [ssh2::MethodType::CryptCs, ssh2::MethodType::CryptSc] {
        s.method_pref(m, "chacha20-poly1305@openssh.com")
            .expect("cipher");
    }
    s.handshake().expect("handshake");
    s.userauth_pubkey_file(sshd.user(), None, &sshd.client_key(), None)
        .expect("auth");
    s
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let sshd = Sshd::start();
    let data = pattern(8 << 20, 5);
    let sess = raw_session(&sshd);
    let sftp = sess.sftp().expect("sftp");
    let dir = sshd.server_root();
    let rounds = 3;

    for chunk in [256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20] {
        let mut runs = Vec::new();
        for r in 0..rounds {
            let path = dir.join(format!("w{chunk}-{r}"));
            let start = Instant::now();
            let mut f = sftp.create(&path).expect("create");
            let mut sent = 0;
            while sent < TOTAL {
                let n = chunk.min(TOTAL - sent);
                let off = sent % (data.len() - n + 1);
                f.write_all(&data[off..off + n]).expect("write");
                sent += n;
            }
            f.fsync().expect("fsync");
            drop(f);
            runs.push(mbps(TOTAL, start.elapsed().as_secs_f64()));
            std::fs::remove_file(&path).expect("rm");
        }
        eprintln!(
            "raw write, {:>5} KiB calls: median {:.0} MB/s ({runs:.0?})",
            chunk >> 10,
            median(runs.clone())
        );
    }

    let src = dir.join("read-src");
    std::fs::write(&src, pattern(TOTAL, 6)).expect("source file");
    for chunk in [256 << 10, 1 << 20, 4 << 20] {
        let mut runs = Vec::new();
        let mut buf = vec![0u8; chunk];
        for _ in 0..rounds {
            let start = Instant::now();
            let mut f = sftp.open(Path::new(&src)).expect("open");
            let got = drain(|b| f.read(b).expect("read"), &mut buf);
            assert_eq!(got, TOTAL);
            runs.push(mbps(TOTAL, start.elapsed().as_secs_f64()));
        }
        eprintln!(
            "raw read,  {:>5} KiB calls: median {:.0} MB/s ({runs:.0?})",
            chunk >> 10,
            median(runs.clone())
        );
    }

    // The library path, fed in 64 KiB pieces as the crypto layer does.
    let home = sshd.home();
    let mut t = Location::parse(&sshd.url("lib"))
        .expect("parse")
        .connect(&home.options())
        .expect("connect");
    t.mkdir_all("").expect("mkdir");
    let mut wr = Vec::new();
    let mut rd = Vec::new();
    for r in 0..rounds {
        let name = format!("f{r}");
        let start = Instant::now();
        let mut w = t.put(&name, PutMode::New).expect("put");
        let mut sent = 0;
        while sent < TOTAL {
            let n = (64 << 10).min(TOTAL - sent);
            let off = sent % (data.len() - n + 1);
            w.write_all(&data[off..off + n]).expect("write");
            sent += n;
        }
        w.finish().expect("finish");
        wr.push(mbps(TOTAL, start.elapsed().as_secs_f64()));
        let start = Instant::now();
        let mut rdr = t.read(&name).expect("read");
        let mut buf = vec![0u8; 64 << 10];
        let got = drain(|b| rdr.read(b).expect("read"), &mut buf);
        drop(rdr);
        assert_eq!(got, TOTAL);
        rd.push(mbps(TOTAL, start.elapsed().as_secs_f64()));
        t.remove(&name).expect("rm");
    }
    eprintln!(
        "library (64 KiB pieces): write median {:.0} MB/s ({wr:.0?}), read median {:.0} MB/s ({rd:.0?})",
        median(wr.clone()),
        median(rd.clone())
    );
}
