//! A test age plugin, `age-plugin-vaulttest`, built on the `age-plugin`
//! crate (the reference for the plugin side of the protocol) for
//! `tests/plugins.rs`. Not a real key type: its stanza `vaulttest` carries
//! the file key XORed with the 16 bytes of the recipient (or identity) data.
//!
//! `VAULTTEST_MODE` chooses a behaviour: `ok` (the default), `pin` (asks
//! for a secret and wraps only if it is `1234`), `fail` (refuses the
//! recipient or identity), `exit` (exits at once with status 3), `hang`
//! (never answers) and `garbage` (sends a malformed message, then waits).
//! Run with `--keygen HEX32` it prints an identity and recipient.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler, print_new_identity, run_state_machine};

const NAME: &str = "vaulttest";

fn mode() -> String {
    std::env::var("VAULTTEST_MODE").unwrap_or_else(|_| "ok".into())
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b.iter().cycle()).map(|(x, y)| x ^ y).collect()
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;
    fn recipient_v1(self) -> io::Result<Wrap> {
        Ok(Wrap(Vec::new()))
    }
    fn identity_v1(self) -> io::Result<Unwrap> {
        Ok(Unwrap(Vec::new()))
    }
}

struct Wrap(Vec<Vec<u8>>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        if name != NAME || bytes.len() != 16 || mode() == "fail" {
            return Err(recipient::Error::Recipient {
                index,
                message: "this recipient is refused".into(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn add_identity(&mut self, index: usize, _: &str, _: &[u8]) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "identities are not recipients here".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        std::env::var("VAULTTEST_LABELS")
            .map(|l| l.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        mut callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        if mode() == "pin" {
            let pin = callbacks.request_secret("PIN for the test token:")?;
            if !matches!(pin, Ok(ref p) if p.expose_secret() == "1234") {
                return Ok(Err(vec![recipient::Error::Internal {
                    message: "wrong PIN".into(),
                }]));
            }
        }
        let _ = callbacks.message("touch the test token")?;
        Ok(Ok(file_keys
            .iter()
            .map(|k| {
                self.0
                    .iter()
                    .map(|r| Stanza {
                        tag: NAME.into(),
                        args: vec!["xor".into()],
                        body: xor(k.expose_secret(), r),
                    })
                    .collect()
            })
            .collect()))
    }
}

struct Unwrap(Vec<Vec<u8>>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(
        &mut self,
        index: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        if name != NAME || bytes.len() != 16 || mode() == "fail" {
            return Err(identity::Error::Identity {
                index,
                message: "this identity is refused".into(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut out = HashMap::new();
        for (i, stanzas) in files.iter().enumerate() {
            for s in stanzas
                .iter()
                .filter(|s| s.tag == NAME && s.body.len() == 16)
            {
                for id in &self.0 {
                    // A real plugin would authenticate; this one trusts the
                    // header MAC check the client does.
                    let key = xor(&s.body, id);
                    let _ = callbacks.message("unwrapping with the test token")?;
                    out.entry(i).or_insert_with(|| {
                        FileKey::try_init_with_mut(|k| {
                            k.copy_from_slice(&key);
                            Ok(())
                        })
                    });
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--keygen" {
        let bytes: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&args[2][2 * i..2 * i + 2], 16).unwrap())
            .collect();
        print_new_identity(NAME, &bytes, &bytes);
        return Ok(());
    }
    let Some(sm) = args.iter().find_map(|a| a.strip_prefix("--age-plugin=")) else {
        eprintln!("usage: age-plugin-vaulttest --age-plugin=STATE_MACHINE");
        std::process::exit(2);
    };
    match mode().as_str() {
        "exit" => std::process::exit(3),
        "hang" => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        "garbage" => {
            let mut out = io::stdout();
            out.write_all(b"-> msg\n!!! not base64 !!!\n")?;
            out.flush()?;
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        _ => run_state_machine(sm, Handler),
    }
}
