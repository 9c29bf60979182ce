//! A TCP proxy on 127.0.0.1 that puts a test server "far away": it adds a
//! fixed one-way delay to each direction of every connection, without
//! capping throughput, and counts the round trips a client makes. It can
//! also listen on another address of this machine
//! ([`DelayProxy::start_on`]), to put a loopback server behind an address
//! that is not loopback.
//!
//! **Delay.** Each direction of a connection has a reader thread and a
//! writer thread joined by a queue. The reader stamps every chunk it
//! receives with `receipt + delay` and queues it at once, so reading goes on
//! while earlier chunks wait; the writer sends each chunk, in order, when
//! its time has come. A round trip through the proxy therefore costs at
//! least `2 x delay` more than without it, while a bulk transfer runs at
//! the rate the two ends manage (up to [`QUEUE_LIMIT`] bytes per direction
//! in flight: 64 MiB in 100 ms is 670 MB/s). The delay can be changed while
//! the proxy runs ([`DelayProxy::set_delay`]); it applies to chunks received
//! from then on, and order is always kept.
//!
//! **Turns** (the counter tests assert on, so it is defined exactly): per
//! connection, a turn is counted each time the proxy *receives* bytes from
//! the server after it has *handed* bytes from the client to the server
//! since it last received bytes from the server. "Handed" is marked just
//! before the bytes are written to the server's socket, so a reply the
//! server sends because of them always counts: every request the server
//! answers after new client data is one turn, whatever the delay and
//! however TCP splits either side's bytes into chunks. A client that sends
//! several requests before reading the answers (pipelining) costs one turn
//! for the batch. Bytes the server sends unprompted count only if client
//! bytes were handed over before them (the SSH banner, sent at accept,
//! does not count; a race between an unprompted message and a client
//! packet is the only source of variation). For an SSH client this is
//! close to its round trips: the handshake and authentication are a fixed
//! number, then roughly one turn per SFTP request the client waits for
//! (bulk transfers add turns for the window adjustments a receiver sends
//! while data flows). [`Stats::turns`] sums over every connection since
//! the last [`DelayProxy::reset`].
//!
//! Count turns with a delay of a few ms or more: at zero delay a client's
//! reaction to the first part of a reply can reach the server before the
//! rest of the reply has left it, and each part then counts (a `vault ls`
//! counted 2 to 4 times its turns at +0 ms). With a delay, a reply's parts
//! are all in before any reaction can come back. What remains is the
//! client's own pipelining: requests it sends without waiting land between
//! the parts of earlier replies, so two runs of the same command can
//! differ by a few percent; compare counts with a margin that is small
//! against what a change would add (one turn per object, say).
//!
//! Bytes are counted as received from each side ([`Stats::up`] client to
//! server, [`Stats::down`] server to client), as `cutproxy.rs` does.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most bytes one direction of one connection holds while they wait out
/// the delay; a reader stops reading (and TCP pushes back on the sender)
/// while its queue is this full.
pub const QUEUE_LIMIT: usize = 64 << 20;

/// What the proxy counted since the last [`DelayProxy::reset`], over every
/// connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes received from clients (to go to the server).
    pub up: u64,
    /// Bytes received from the server (to go to clients).
    pub down: u64,
    /// Turns, as the module docs define them.
    pub turns: u64,
    /// Connections accepted.
    pub connections: u64,
}

#[derive(Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    turns: AtomicU64,
    connections: AtomicU64,
}

/// A running proxy; stops (and drops every connection) when dropped.
pub struct DelayProxy {
    ip: IpAddr,
    port: u16,
    delay_us: Arc<AtomicU64>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Listen on a free port of 127.0.0.1 and forward to `target_port`,
    /// delaying each direction by `one_way`.
    pub fn start(target_port: u16, one_way: Duration) -> DelayProxy {
        DelayProxy::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), target_port, one_way)
    }

    /// Like [`DelayProxy::start`], listening on a free port of `ip` (an
    /// address of this machine); the server is still reached on 127.0.0.1.
    pub fn start_on(ip: IpAddr, target_port: u16, one_way: Duration) -> DelayProxy {
        let listener = TcpListener::bind((ip, 0)).expect("binding the proxy");
        let port = listener.local_addr().expect("local addr").port();
        let delay_us = Arc::new(AtomicU64::new(micros(one_way)));
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (d, c, s, o) = (
            delay_us.clone(),
            counters.clone(),
            stop.clone(),
            open.clone(),
        );
        let accept = forward(listener, target_port, s, move |client, server| {
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            c.connections.fetch_add(1, Ordering::SeqCst);
            if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                o.lock().unwrap().extend([a, b]);
            }
            connect_pair(client, server, &d, &c);
        });
        DelayProxy {
            ip,
            port,
            delay_us,
            counters,
            stop,
            open,
            accept: Some(accept),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The one-way delay now applied to newly received bytes.
    pub fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_us.load(Ordering::SeqCst))
    }

    /// Delay bytes received from now on by `one_way` in each direction.
    pub fn set_delay(&self, one_way: Duration) {
        self.delay_us.store(micros(one_way), Ordering::SeqCst);
    }

    /// What was counted since the start or the last [`DelayProxy::reset`].
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            up: c.up.load(Ordering::SeqCst),
            down: c.down.load(Ordering::SeqCst),
            turns: c.turns.load(Ordering::SeqCst),
            connections: c.connections.load(Ordering::SeqCst),
        }
    }

    /// Set every counter to zero (call it between commands, when no
    /// connection is busy).
    pub fn reset(&self) {
        let c = &self.counters;
        for n in [&c.up, &c.down, &c.turns, &c.connections] {
            n.store(0, Ordering::SeqCst);
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((self.ip, self.port)); // wake accept
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Which way bytes flow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// Start the four threads of one connection.
fn connect_pair(client: TcpStream, server: TcpStream, delay: &Arc<AtomicU64>, c: &Arc<Counters>) {
    // Set when client bytes are handed to the server; cleared (counting a
    // turn) when server bytes arrive.
    let handed = Arc::new(AtomicBool::new(false));
    for way in [Way::Up, Way::Down] {
        let (from, to) = match way {
            Way::Up => (&client, &server),
            Way::Down => (&server, &client),
        };
        let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        };
        let queue = Arc::new(Queue::default());
        let (q, d, c2, h) = (queue.clone(), delay.clone(), c.clone(), handed.clone());
        std::thread::spawn(move || receive(from, way, &q, &d, &c2, &h));
        let h = handed.clone();
        std::thread::spawn(move || deliver(to, way, &queue, &h));
    }
}

/// A chunk waiting out its delay; `None` data means "the sender closed".
struct Chunk {
    due: Instant,
    data: Option<Vec<u8>>,
}

/// One direction's queue: chunks in arrival order and their total size.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    chunks: VecDeque<Chunk>,
    bytes: usize,
    /// The writer failed: nothing more will be delivered.
    broken: bool,
}

/// Read from one side, stamp and queue every chunk, count it.
fn receive(
    mut from: TcpStream,
    way: Way,
    queue: &Queue,
    delay: &AtomicU64,
    c: &Counters,
    handed: &AtomicBool,
) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = from.read(&mut buf).unwrap_or(0);
        let due = Instant::now() + Duration::from_micros(delay.load(Ordering::SeqCst));
        if n > 0 {
            match way {
                Way::Up => c.up.fetch_add(n as u64, Ordering::SeqCst),
                Way::Down => {
                    if handed.swap(false, Ordering::SeqCst) {
                        c.turns.fetch_add(1, Ordering::SeqCst);
                    }
                    c.down.fetch_add(n as u64, Ordering::SeqCst)
                }
            };
        }
        let mut s = queue.state.lock().unwrap();
        while s.bytes >= QUEUE_LIMIT && !s.broken {
            s = queue.changed.wait(s).unwrap();
        }
        if s.broken {
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
        let data = (n > 0).then(|| buf[..n].to_vec());
        s.bytes += n;
        s.chunks.push_back(Chunk { due, data });
        queue.changed.notify_all();
        if n == 0 {
            return;
        }
    }
}

/// Write each queued chunk to the other side when it is due; pass the end
/// of the stream on, late like the data.
fn deliver(mut to: TcpStream, way: Way, queue: &Queue, handed: &AtomicBool) {
    loop {
        let chunk = {
            let mut s = queue.state.lock().unwrap();
            loop {
                if let Some(c) = s.chunks.pop_front() {
                    s.bytes -= c.data.as_ref().map_or(0, Vec::len);
                    queue.changed.notify_all();
                    break c;
                }
                s = queue.changed.wait(s).unwrap();
            }
        };
        let now = Instant::now();
        if chunk.due > now {
            std::thread::sleep(chunk.due - now);
        }
        let Some(data) = chunk.data else {
            let _ = to.shutdown(Shutdown::Write);
            return;
        };
        if way == Way::Up {
            // Before the write: the server cannot answer bytes it has not
            // been given, so its answer always finds this mark.
            handed.store(true, Ordering::SeqCst);
        }
        if to.write_all(&data).is_err() {
            let mut s = queue.state.lock().unwrap();
            s.broken = true;
            s.chunks.clear();
            s.bytes = 0;
            queue.changed.notify_all();
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Accept on `listener` until `stop` is set, connect each client to
/// `target_port` on 127.0.0.1 (closing the client when that fails), and
/// hand the pair to `each`; the proxies' accepting thread.
pub fn forward(
    listener: TcpListener,
    target_port: u16,
    stop: Arc<AtomicBool>,
    mut each: impl FnMut(TcpStream, TcpStream) + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for client in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                let _ = client.shutdown(Shutdown::Both);
                continue;
            };
            each(client, server);
        }
    })
}
