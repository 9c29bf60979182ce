//! Build-time check of the libssh2 C interface that
//! `src/transport/sftp/ssh_cipher.rs` replaces with Rust.
//!
//! That module defines `chacha_keysetup`, `chacha_ivsetup`,
//! `chacha_encrypt_bytes` and `poly1305_auth` under libssh2's own symbol
//! names, on libssh2's `struct chacha_ctx`. Nothing in Rust can see the C
//! declarations, so this script compiles `ssh_cipher_check.c` against the
//! private headers (`chacha.h`, `poly1305.h`) of the very libssh2 sources
//! that `libssh2-sys` builds: a static assert there fails the build if a
//! prototype or the struct layout is not exactly what the Rust side
//! implements. Only then is `cfg(vault_ssh_cipher)` set, which compiles
//! the override in; with a system libssh2 (`LIBSSH2_SYS_USE_PKG_CONFIG`,
//! no vendored sources to check) the override is left out, with a
//! warning, and libssh2's own C runs (slower, still correct).
//!
//! The sources are found in `$VAULT_LIBSSH2_SOURCE` (a libssh2 source tree)
//! if set, else in cargo's registry or a `vendor/` folder, for exactly the
//! `libssh2-sys` version pinned in Cargo.toml. If they cannot be found the
//! build fails and says how to point at them.

use std::env;
use std::path::{Path, PathBuf};

/// Must equal the `libssh2-sys = "=..."` pin in Cargo.toml.
const LIBSSH2_SYS_VERSION: &str = "0.3.4";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/transport/sftp/ssh_cipher_check.c");
    println!("cargo:rerun-if-env-changed=VAULT_LIBSSH2_SOURCE");
    println!("cargo::rustc-check-cfg=cfg(vault_ssh_cipher)");

    // libssh2-sys prints `root` only when it builds its bundled copy.
    if env::var_os("DEP_SSH2_ROOT").is_none() {
        println!(
            "cargo::warning=libssh2 is the system's (LIBSSH2_SYS_USE_PKG_CONFIG): its C \
             ChaCha20-Poly1305 is used, the Rust one in src/transport/sftp/ssh_cipher.rs is left out"
        );
        return;
    }
    let src = libssh2_source().unwrap_or_else(|| {
        panic!(
            "cannot find the sources of libssh2-sys {LIBSSH2_SYS_VERSION} to check \
             src/transport/sftp/ssh_cipher.rs against; set VAULT_LIBSSH2_SOURCE to the \
             libssh2 folder inside that crate (the one holding src/chacha.h)"
        )
    });
    println!(
        "cargo:rerun-if-changed={}",
        src.join("src/chacha.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        src.join("src/poly1305.h").display()
    );
    cc::Build::new()
        .file("src/transport/sftp/ssh_cipher_check.c")
        .include(src.join("src"))
        .warnings_into_errors(true)
        .compile_intermediates();
    println!("cargo:rustc-cfg=vault_ssh_cipher");
}

/// The `libssh2` folder of the pinned libssh2-sys sources.
fn libssh2_source() -> Option<PathBuf> {
    let ok = |p: PathBuf| p.join("src/chacha.h").is_file().then_some(p);
    if let Some(p) = env::var_os("VAULT_LIBSSH2_SOURCE") {
        return ok(PathBuf::from(p));
    }
    let crate_dir = format!("libssh2-sys-{LIBSSH2_SYS_VERSION}");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    for vendor in [manifest.join("vendor"), manifest.join("../vendor")] {
        for name in [crate_dir.as_str(), "libssh2-sys"] {
            if let Some(p) = ok(vendor.join(name).join("libssh2")) {
                return Some(p);
            }
        }
    }
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let registry = cargo_home.join("registry/src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&registry)
        .ok()?
        .filter_map(|e| ok(e.ok()?.path().join(&crate_dir).join("libssh2")))
        .collect();
    found.sort();
    found.pop()
}
