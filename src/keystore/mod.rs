//! The user's identity on disk.
