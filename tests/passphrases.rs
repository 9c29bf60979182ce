//! Passphrase entry as a person meets it (issue 15, item 14), on a real
//! pseudo-terminal (`script`): three tries as ssh allows, no confirmation
//! prompt after an empty first entry, a warning for a short passphrase, and
//! an empty `VAULT_PASSPHRASE_FILE=` treated as unset.

mod common;

use common::age_home::{Home, PASSPHRASE, text};

/// Run `vault ARGS` on a pseudo-terminal, typing `typed`; check that it
/// succeeds or fails as `succeeds` says, and return what the terminal
/// showed.
fn on_terminal(h: &Home, args: &str, typed: &str, succeeds: bool) -> String {
    let o = h.on_terminal(&format!("{} {args}", env!("CARGO_BIN_EXE_vault")), typed);
    let shown = text(&o.stdout);
    assert_eq!(o.status.success(), succeeds, "vault {args}: {shown}");
    shown
}

/// A new home with a file `f`, and what the terminal showed while
/// `vault seal --passphrase f` read `typed` (and succeeded or failed as
/// `succeeds` says).
fn sealing_f(typed: &str, succeeds: bool) -> (Home, String) {
    let h = Home::new();
    h.write("f", b"x");
    let shown = on_terminal(&h, "seal --passphrase f", typed, succeeds);
    (h, shown)
}

#[test]
fn three_tries_on_a_terminal() {
    let h = Home::new();
    h.protect_and_seal(b"x");
    // Two wrong, then right: opens.
    let typed = format!("wrong one\nwrong two\n{PASSPHRASE}\n");
    let shown = on_terminal(&h, "open f.vault -o out", &typed, true);
    assert_eq!(shown.matches("try again").count(), 2, "{shown}");
    assert_eq!(h.read("out"), b"x");
    // Three wrong: fails, no output.
    let shown = on_terminal(&h, "open f.vault -o out2", "a\nb\nc\n", false);
    assert!(shown.contains("wrong passphrase"), "{shown}");
    assert!(!h.path("out2").exists());
}

#[test]
fn an_empty_first_entry_is_refused_without_a_confirmation() {
    let (h, shown) = sealing_f("\n", false);
    assert!(!shown.contains("Confirm"), "{shown}");
    assert!(
        shown.contains("empty passphrase would protect nothing"),
        "{shown}"
    );
    assert!(!h.path("f.vault").exists());
}

#[test]
fn short_passphrases_are_warned_about() {
    let (h, shown) = sealing_f("short\nshort\n", true);
    assert!(shown.contains("this passphrase is short"), "{shown}");
    let typed = format!("{PASSPHRASE}\n{PASSPHRASE}\n");
    let shown = on_terminal(&h, "seal --passphrase -f f", &typed, true);
    assert!(!shown.contains("short"), "{shown}");
}

#[test]
fn an_empty_passphrase_file_variable_is_unset() {
    let h = Home::new();
    h.protect_and_seal(b"x");
    // Set but empty, and no terminal: asks (and cannot), instead of trying
    // to read a file named "".
    let err = h.fails(
        h.vault(&["open", "f.vault", "-o", "out"])
            .env("VAULT_PASSPHRASE_FILE", ""),
    );
    assert!(err.contains("no terminal"), "{err}");
}

#[test]
fn a_passphrase_sealed_file_gets_three_tries_too() {
    let h = Home::new();
    h.write("f", b"sealed to a passphrase");
    h.ok(&mut h.vault_pw(&["seal", "-p", "f"]));
    let shown = on_terminal(
        &h,
        "open f.vault -o out",
        &format!("nope\n{PASSPHRASE}\n"),
        true,
    );
    assert_eq!(shown.matches("try again").count(), 1, "{shown}");
    assert_eq!(h.read("out"), b"sealed to a passphrase");
}
