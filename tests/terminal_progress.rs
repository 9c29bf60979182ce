//! The progress bar of `vault pull` on a real terminal (`common::pty`):
//! drawn on stderr for a pull into a file, left out when the output is
//! standard output (`-o -`, typically piped into a pager that shares the
//! terminal) unless `--progress` asks for it, and never with `-q`.

mod common;

use std::fs;
use std::process::Stdio;

use common::cli::{Client, pushed};
use common::pattern;
use common::pty::{Pty, wait};

/// What the bar always shows (its template has "eta").
const BAR: &str = "eta";

/// `vault pull URL big ARGS` on a fresh terminal: the terminal's text.
fn pull_screen(c: &Client, url: &str, args: &[&str]) -> String {
    let pty = Pty::open();
    let before = pty.modes();
    let out = fs::File::create(c.path("stdout")).expect("stdout");
    let mut cmd = c.command();
    cmd.args(["pull", url, "big"])
        .args(args)
        .stdout(Stdio::from(out));
    let mut child = pty.spawn(&mut cmd);
    let st = wait(&mut child, || pty.screen());
    assert!(st.success(), "{st}; screen:\n{}", pty.screen());
    assert_eq!(pty.modes(), before);
    pty.screen()
}

#[test]
fn no_bar_on_standard_output_unless_asked() {
    let data = pattern(6 << 20, 3);
    let (_sshd, c, url) = pushed("v", "big", &data, &[]);
    fs::remove_file(c.path("big")).expect("rm");

    let screen = pull_screen(&c, &url, &["-o", "-"]);
    assert!(!screen.contains(BAR), "no bar on -o -: {screen:?}");
    assert_eq!(fs::read(c.path("stdout")).expect("stdout"), data);

    let screen = pull_screen(&c, &url, &["-o", "-", "--progress"]);
    assert!(screen.contains(BAR), "--progress draws it: {screen:?}");

    let screen = pull_screen(&c, &url, &["-o", "file"]);
    assert!(
        screen.contains(BAR),
        "a pull into a file draws it: {screen:?}"
    );
    assert_eq!(fs::read(c.path("file")).expect("file"), data);

    let screen = pull_screen(&c, &url, &["-o", "file2", "-q"]);
    assert!(!screen.contains(BAR), "-q: {screen:?}");
}
