//! The delaying TCP proxy of `tests/common/delayproxy.rs` (which the far-link
//! tests and `examples/bench_server.rs` use): delay, byte integrity, and
//! the turn counter, on scripted exchanges with a plain TCP server. Its own
//! binary, so that these run once rather than in every binary that links
//! `tests/common`. Delays are checked with lower bounds only.

#[path = "common/delayproxy.rs"]
mod delayproxy;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use delayproxy::{DelayProxy, Stats};

/// A server that runs `script` on each accepted connection.
fn server(script: fn(TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || script(s));
        }
    });
    port
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).unwrap();
    b
}

fn echo(mut s: TcpStream) {
    let mut b = [0u8; 4096];
    loop {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&b[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

#[test]
fn a_round_trip_takes_at_least_twice_the_delay() {
    let p = DelayProxy::start(server(echo), Duration::from_millis(60));
    let mut c = TcpStream::connect(("127.0.0.1", p.port())).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        c.write_all(b"ping").unwrap();
        assert_eq!(read_n(&mut c, 4), b"ping");
        // Generous lower bound only: a loaded machine may be slower.
        assert!(
            t.elapsed() >= Duration::from_millis(110),
            "{:?}",
            t.elapsed()
        );
    }
    p.set_delay(Duration::ZERO);
    assert_eq!(p.delay(), Duration::ZERO);
    c.write_all(b"pong").unwrap();
    assert_eq!(read_n(&mut c, 4), b"pong");
}

#[test]
fn bytes_arrive_intact_and_in_order_both_ways() {
    let p = DelayProxy::start(server(echo), Duration::from_millis(20));
    let c = TcpStream::connect(("127.0.0.1", p.port())).unwrap();
    let data: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut w = c.try_clone().unwrap();
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        // Odd sizes, so chunks never line up with the proxy's reads.
        for part in sent.chunks(7919) {
            w.write_all(part).unwrap();
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    (&c).read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == data, "echoed bytes differ");
    let s = p.stats();
    assert_eq!((s.up, s.down, s.connections), (6_000_000, 6_000_000, 1));
}

/// Greets unprompted, then answers each 3-byte request with 5 bytes,
/// written in two pieces.
fn scripted(mut s: TcpStream) {
    s.write_all(b"hello").unwrap();
    let mut b = [0u8; 3];
    while s.read_exact(&mut b).is_ok() {
        s.write_all(b"an").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        s.write_all(b"swer").unwrap();
    }
}

fn exchange(delay: Duration) -> Stats {
    let p = DelayProxy::start(server(scripted), delay);
    let mut c = TcpStream::connect(("127.0.0.1", p.port())).unwrap();
    assert_eq!(read_n(&mut c, 5), b"hello"); // unprompted: not a turn
    for _ in 0..4 {
        // One request in three writes: still one turn.
        for piece in [&b"r"[..], b"e", b"q"] {
            c.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(read_n(&mut c, 6), b"answer");
    }
    // Three requests in one write before reading the answers: the
    // server answers them one after another, unprompted by new client
    // bytes after the first answer, so the batch is one turn.
    c.write_all(b"reqreqreq").unwrap();
    assert_eq!(read_n(&mut c, 18), b"answeransweranswer");
    drop(c);
    let s = p.stats();
    p.reset();
    assert_eq!(p.stats(), Stats::default());
    s
}

#[test]
fn turns_count_the_requests_a_client_waits_for() {
    for delay in [Duration::ZERO, Duration::from_millis(15)] {
        let s = exchange(delay);
        assert_eq!((s.up, s.down, s.connections), (12 + 9, 5 + 24 + 18, 1));
        // 4 single requests, then the pipelined three.
        assert_eq!(s.turns, 5, "at {delay:?}");
    }
}

#[test]
fn turns_add_up_over_connections() {
    let p = DelayProxy::start(server(scripted), Duration::from_millis(5));
    for _ in 0..3 {
        let mut c = TcpStream::connect(("127.0.0.1", p.port())).unwrap();
        assert_eq!(read_n(&mut c, 5), b"hello");
        for _ in 0..2 {
            c.write_all(b"req").unwrap();
            assert_eq!(read_n(&mut c, 6), b"answer");
        }
    }
    let s = p.stats();
    assert_eq!((s.turns, s.connections), (6, 3));
}
