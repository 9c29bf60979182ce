//! Cryptography and the sealed-file format.
