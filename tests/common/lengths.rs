//! Plaintext lengths for the property tests: most land within two bytes of
//! a chunk boundary, where STREAM's last-chunk rules bite; the rest are
//! arbitrary.

use proptest::prelude::*;
use vault::crypto::CHUNK_SIZE;

/// Lengths near the boundaries of the first `chunks` chunks, or any length
/// up to `chunks` chunks and 100 bytes.
pub fn around_chunks(chunks: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        (0usize..3, -2i64..=2)
            .prop_map(|(k, d)| (k * CHUNK_SIZE) as i64 + d)
            .prop_filter_map("non-negative", |l| usize::try_from(l).ok()),
        0usize..(chunks * CHUNK_SIZE + 100),
    ]
}
