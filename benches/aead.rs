//! `cargo bench --bench aead`: the raw per-chunk AEAD kernels per suite
//! (the ceiling of every payload path), and the whole payload pipeline on 1
//! and on all cores, in MB/s of plaintext.
//!
//! The end-to-end comparison with age and rage, and the targets, are in
//! `bench/run.py`; this is for tracking the kernels and the pipeline's
//! overhead over them from one change to the next.

use std::hint::black_box;
use std::io;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vault::crypto::pipeline;
use vault::crypto::stream::SEALED_CHUNK_SIZE;
use vault::crypto::suite::PayloadKey;
use vault::crypto::{CHUNK_SIZE, Suite};

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Bytes(CHUNK_SIZE as u64));
    for suite in Suite::ALL {
        let key = PayloadKey::new(suite, &[7u8; 32]);
        let mut buf = vec![0x5au8; SEALED_CHUNK_SIZE];
        g.bench_function(format!("{suite}/seal"), |b| {
            b.iter(|| key.seal_chunk(black_box(3), false, &mut buf, CHUNK_SIZE))
        });
        let mut sealed = vec![0x5au8; SEALED_CHUNK_SIZE];
        key.seal_chunk(3, false, &mut sealed, CHUNK_SIZE);
        g.bench_function(format!("{suite}/open"), |b| {
            // Opening in place decrypts the buffer, so each iteration opens
            // a fresh copy of the sealed chunk; the copy is measured too
            // (a 64 KiB memcpy, a few per cent of the AEAD).
            b.iter(|| {
                buf.copy_from_slice(&sealed);
                assert_eq!(key.open_chunk(3, false, &mut buf), Some(CHUNK_SIZE));
            })
        });
    }
    g.finish();
}

fn payload(c: &mut Criterion) {
    const LEN: usize = 32 << 20;
    let plain = vec![0x33u8; LEN];
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("payload");
    g.throughput(Throughput::Bytes(LEN as u64));
    g.sample_size(10);
    for suite in Suite::ALL {
        let key = || PayloadKey::new(suite, &[7u8; 32]);
        let (_, sealed) = pipeline::seal_payload(key(), &mut &plain[..], Vec::new(), 1).unwrap();
        for threads in [1, all] {
            g.bench_function(format!("{suite}/seal/{threads}t"), |b| {
                b.iter(|| pipeline::seal_payload(key(), &mut &plain[..], io::sink(), threads))
            });
            g.bench_function(format!("{suite}/open/{threads}t"), |b| {
                b.iter(|| pipeline::open_payload(key(), &sealed[..], &mut io::sink(), threads))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, kernels, payload);
criterion_main!(benches);
