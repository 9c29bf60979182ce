//! The Rust ChaCha20 and Poly1305 that replace libssh2's C ones
//! (`src/transport/sftp/ssh_cipher.rs`) really serve SSH sessions: after a
//! push and a pull over the real sshd, which allows only
//! chacha20-poly1305@openssh.com, the override's call counter has grown by
//! at least one call per SSH packet. If a libssh2 update renamed or hid
//! the C functions, its own C would be linked again, every other test
//! would still pass, and this one fails.

mod common;

use common::sshd::Sshd;
use common::{get, pattern, put};
use vault::transport::Location;
use vault::transport::sftp::rust_cipher_calls;

#[test]
fn the_rust_cipher_serves_a_real_ssh_session() {
    let before = rust_cipher_calls()
        .expect("this build left the Rust SSH cipher out (system libssh2?); see build.rs");
    let sshd = Sshd::start();
    let home = sshd.home();
    let loc = Location::parse(&sshd.url("v")).expect("parse");
    let mut t = loc.connect(&home.options()).expect("connect");
    t.mkdir_all("").expect("mkdir");
    let data = pattern(4 << 20, 7);
    put(&mut *t, "blob", &data, 1 << 20);
    assert_eq!(get(&mut *t, "blob"), data);
    let calls = rust_cipher_calls().expect("counter") - before;
    // libssh2 sends SFTP data in packets of at most 32 KiB, and each
    // packet, either way, costs at least a length encryption, a Poly1305
    // key, a payload encryption and a tag: 4 calls.
    let packets = 2 * data.len() as u64 / 32768;
    assert!(
        calls >= 4 * packets,
        "{calls} calls into the Rust cipher for at least {packets} packets"
    );
}
