//! Raw AEAD speed: the ceiling `vault seal`/`open` are measured against.
//!
//! Seals (then opens) a buffer in 64 KiB chunks in place with the same
//! per-chunk primitive the stream uses, on 1 or N threads, and prints one
//! line per measurement: `suite threads op MB/s`. Used by `bench/run.py`.
//!
//! Usage: `cargo run --release --example aead_speed -- [MiB] [threads...]`

use std::time::Instant;

use vault::crypto::suite::PayloadKey;
use vault::crypto::{CHUNK_SIZE, Suite};

const SEALED: usize = CHUNK_SIZE + 16;

fn run(suite: Suite, buf: &mut [u8], threads: usize, open: bool) -> f64 {
    let key = PayloadKey::new(suite, &[7u8; 32]);
    let chunks: Vec<&mut [u8]> = buf.chunks_mut(SEALED).collect();
    let per = chunks.len().div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        let mut rest = chunks;
        let mut index = 0u64;
        while !rest.is_empty() {
            let take = per.min(rest.len());
            let mine: Vec<&mut [u8]> = rest.drain(..take).collect();
            let key = &key;
            let first = index;
            index += take as u64;
            s.spawn(move || {
                for (i, c) in mine.into_iter().enumerate() {
                    let i = first + i as u64;
                    if open {
                        let n = key.open_chunk(i, false, c);
                        assert_eq!(n, Some(CHUNK_SIZE), "raw open failed");
                    } else {
                        key.seal_chunk(i, false, c, CHUNK_SIZE);
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let bytes = (buf.len() / SEALED * CHUNK_SIZE) as f64;
    bytes / secs / 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let mut threads: Vec<usize> = args.filter_map(|a| a.parse().ok()).collect();
    if threads.is_empty() {
        threads = vec![
            1,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ];
    }
    let chunks = mib * 1024 * 1024 / CHUNK_SIZE;
    let mut buf = vec![0x5au8; chunks * SEALED];
    for suite in Suite::ALL {
        for &t in &threads {
            // Warm up once, then measure seal and open of the same data.
            run(suite, &mut buf[..SEALED * 64], t, false);
            let seal = run(suite, &mut buf, t, false);
            let open = run(suite, &mut buf, t, true);
            println!("{} {t} seal {seal:.0}", suite.name());
            println!("{} {t} open {open:.0}", suite.name());
        }
    }
}
