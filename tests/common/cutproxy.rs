//! A TCP proxy on 127.0.0.1 that forwards to a test server and can cut
//! every connection after exactly N bytes in one direction, to test what a
//! dropped network does to push and pull at any point: during the SSH
//! handshake, during authentication, in the middle of a head or payload,
//! near the end.
//!
//! After forwarding the N-th byte in the cut direction it shuts both
//! sockets down (both ways), so each side sees the connection end. It
//! counts the bytes that went each way, to measure a clean run first.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

#[derive(Default)]
struct State {
    cut: Option<(Way, u64)>,
    up: u64,
    down: u64,
    cuts: u64,
}

/// A running proxy; stops when dropped.
pub struct CutProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl CutProxy {
    /// Listen on a free port of 127.0.0.1 and forward to `target_port`.
    pub fn start(target_port: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let accept =
            super::delayproxy::forward(listener, target_port, sp, move |client, server| {
                let cut = st.lock().unwrap().cut;
                let socks = [client, server];
                let (c1, s1) = (socks[0].try_clone().unwrap(), socks[1].try_clone().unwrap());
                let (c2, s2) = (socks[0].try_clone().unwrap(), socks[1].try_clone().unwrap());
                let (sa, sb) = (st.clone(), st.clone());
                std::thread::spawn(move || pump(c1, s1, Way::Up, cut, &sa));
                std::thread::spawn(move || pump(s2, c2, Way::Down, cut, &sb));
            });
        CutProxy {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cut new connections after `n` bytes going `way` (or never), and
    /// reset the byte counts.
    pub fn set_cut(&self, cut: Option<(Way, u64)>) {
        let mut s = self.state.lock().unwrap();
        *s = State {
            cut,
            ..State::default()
        };
    }

    /// Bytes forwarded (up, down) since [`CutProxy::set_cut`], over all
    /// connections.
    pub fn totals(&self) -> (u64, u64) {
        let s = self.state.lock().unwrap();
        (s.up, s.down)
    }

    /// How many connections were cut since [`CutProxy::set_cut`].
    pub fn cuts(&self) -> u64 {
        self.state.lock().unwrap().cuts
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake accept
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Copy `from` to `to`, counting, and cut both sockets after the limit.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    way: Way,
    cut: Option<(Way, u64)>,
    state: &Mutex<State>,
) {
    let limit = cut.filter(|(w, _)| *w == way).map(|(_, n)| n);
    let mut sent = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    let end = |from: &TcpStream, to: &TcpStream| {
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    };
    if limit == Some(0) {
        state.lock().unwrap().cuts += 1;
        end(&from, &to);
        return;
    }
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let take = match limit {
            Some(l) => (n as u64).min(l - sent) as usize,
            None => n,
        };
        if to.write_all(&buf[..take]).is_err() {
            break;
        }
        sent += take as u64;
        {
            let mut s = state.lock().unwrap();
            match way {
                Way::Up => s.up += take as u64,
                Way::Down => s.down += take as u64,
            }
        }
        if limit == Some(sent) {
            state.lock().unwrap().cuts += 1;
            end(&from, &to);
            return;
        }
    }
    // One side closed: pass the end on.
    let _ = to.shutdown(Shutdown::Write);
}
