//! The command line: argument parsing, dispatch, and the error edge.
//!
//! The top layer, in the binary crate: it may use every layer of the
//! library (`vault::crypto`, `keystore`, `transport`, `remote`, `atomic`),
//! and nothing below imports it.
//!
//! Each command lives in its own module and returns a [`CliError`]; this
//! module turns that into one `vault: error:` line (plus a hint) and an exit
//! status: 0 success, 1 failure, 2 usage error. A closed pipe on stdout is
//! not an error worth a message: vault exits quietly with status 141, as a
//! process killed by SIGPIPE would.

pub mod agent;
pub mod docs;
pub mod error;
pub mod hardening;
pub mod io;
pub mod keyring;
pub mod keys;
pub mod open;
pub mod other_reading;
pub mod outdir;
pub mod plugin_ui;
pub mod pull;
pub mod push;
pub mod remote;
pub mod s3_opts;
pub mod seal;
pub mod share;
pub mod threads;
pub mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use error::CliError;

use vault::crypto::Suite;

/// The payload ciphers, as `--cipher` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Cipher {
    /// ChaCha20-Poly1305 (the default, and age's)
    #[value(name = "chacha20poly1305")]
    ChaCha20Poly1305,
    /// AES-256-GCM (fastest where the CPU has AES instructions)
    #[value(name = "aes256gcm")]
    Aes256Gcm,
}

impl From<Cipher> for Suite {
    fn from(c: Cipher) -> Suite {
        match c {
            Cipher::ChaCha20Poly1305 => Suite::ChaCha20Poly1305,
            Cipher::Aes256Gcm => Suite::Aes256Gcm,
        }
    }
}

const AFTER_HELP: &str = "\
Exit status: 0 on success, 1 on any failure, 2 on a usage error, 130 when stopped by
a signal (Ctrl-C, SIGTERM, SIGHUP; partial output is removed).

Environment:
  VAULT_HOME                keystore folder (default $XDG_CONFIG_HOME/vault or ~/.config/vault)
  VAULT_PASSPHRASE_FILE     file holding the passphrase (instead of asking on the terminal)
  VAULT_PASSPHRASE_COMMAND  command printing the passphrase
  VAULT_AGENT               unset: use a running `vault agent`; off: never; a time (15m):
                            after asking for the passphrase, start an agent for that long
  VAULT_THREADS             when --threads is not given: worker threads for seal and open
                            (default: all cores; 1 = serial), and SSH connections (with
                            their sealing/opening threads) per large file for push and
                            pull (default 3)
  VAULT_SSH_CONFIG          the only ssh config file to read, as `ssh -F` (default
                            ~/.ssh/config, then /etc/ssh/ssh_config)
  VAULT_SSH_IDENTITY        SSH private keys (`:`-separated) the remote commands may try
  VAULT_PLUGIN_TIMEOUT      seconds an age plugin may stay silent before it is stopped (60)

A command needs at most one passphrase: a passphrase-sealed file's own (vault
or age), else the one protecting your keystore identity or -i identity file.

`open` reads vault files and age v1 files (binary or armored) alike.

Recipients (-r, -R files, contacts): age1... (X25519), age1pq1... (post-quantum
hybrid; not mixable with the others), \"ssh-ed25519 AAAA...\" and \"ssh-rsa AAAA...\"
(SSH public keys, as in .pub, authorized_keys or github.com/NAME.keys files),
age1NAME1... (served by the age plugin age-plugin-NAME on PATH).
Identities (-i on open): age key files (AGE-SECRET-KEY-1..., AGE-SECRET-KEY-PQ-1...,
AGE-PLUGIN-NAME-1...; plain or passphrase-sealed) and OpenSSH private keys
(~/.ssh/id_ed25519, ~/.ssh/id_rsa; passphrase-protected ones too).";

/// What `seal --help` says about recipients.
const SEAL_HELP: &str = "\
Recipient forms (-r, one a line in -R files, or a contact name):
  age1...                      X25519 (vault id, age-keygen)
  age1pq1...                   post-quantum hybrid ML-KEM-768 + X25519 (vault keygen --pq,
                               age-keygen -pq); cannot be mixed with the other forms
  \"ssh-ed25519 AAAA... [c]\"    SSH keys; -R also takes .pub, authorized_keys and
  \"ssh-rsa AAAA... [c]\"        github.com/NAME.keys files (other key types are skipped)
  age1NAME1...                 a key served by the age plugin age-plugin-NAME (on PATH)";

/// End-to-end encrypted files: seal to public keys, ship opaque blobs.
#[derive(Parser, Debug)]
#[command(name = "vault", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create your identity (an X25519 key pair) in the keystore
    Keygen {
        /// Store the secret key unencrypted (mode 0600)
        #[arg(long)]
        no_passphrase: bool,
        /// Make a new current key; every older key is kept in the new
        /// identity (under the new passphrase) and the old files beside it
        #[arg(long)]
        force: bool,
        /// Make a post-quantum hybrid key (ML-KEM-768 + X25519, age1pq1...)
        #[arg(long)]
        pq: bool,
    },
    /// Print your public key, to hand to people who send you files
    Id {
        /// Every public key the keystore keeps, current first
        #[arg(long, conflicts_with = "secret")]
        all: bool,
        /// Print the secret keys as an age identity file, for `age -d -i`
        /// (asks before printing on a terminal)
        #[arg(long)]
        secret: bool,
    },
    /// Seal a file to recipients (yourself included)
    #[command(
        after_help = SEAL_HELP,
        mut_arg("output", |a| a.help("Output file (default FILE.vault, or FILE.age with --age; stdout for stdin); - for stdout")),
        mut_arg("input", |a| a.help("File to seal (default, or -, stdin)")),
    )]
    Seal {
        /// Seal to this recipient or contact (forms below); repeatable
        #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
        recipients: Vec<String>,
        /// Seal to the recipients in FILE, one a line (# comments)
        #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
        recipient_files: Vec<PathBuf>,
        /// Payload cipher (age files are always chacha20poly1305)
        #[arg(long, value_name = "CIPHER", value_enum, default_value_t = Cipher::ChaCha20Poly1305)]
        cipher: Cipher,
        /// Write a standard age v1 file (default output FILE.age)
        #[arg(long)]
        age: bool,
        /// With --age: ASCII armor, which may also go to a terminal
        #[arg(short = 'a', long)]
        armor: bool,
        /// Do not add your own key as a recipient
        #[arg(long)]
        no_self: bool,
        /// Seal to a passphrase instead of keys (Argon2id; with --age, scrypt as `age -p`)
        #[arg(short = 'p', long)]
        passphrase: bool,
        #[command(flatten)]
        files: FileArgs,
    },
    /// Open a sealed file (vault or age v1, binary or armored)
    #[command(
        mut_arg("output", |a| a.help("Output file (default FILE without .vault or .age, or stdout for stdin); - for stdout")),
        mut_arg("input", |a| a.help("File to open (default, or -, stdin)")),
    )]
    Open {
        /// Use the identities in FILE instead of the keystore: an age key
        /// file (plain or passphrase-encrypted with age or vault) or an
        /// OpenSSH private key; repeatable
        #[arg(short = 'i', long = "identity", value_name = "IDENTITY_FILE")]
        identities: Vec<PathBuf>,
        #[command(flatten)]
        files: FileArgs,
    },
    /// Seal files and upload them to a remote vault (sftp://, user@host:path, s3://bucket/prefix, or a folder)
    Push(push::PushArgs),
    /// Download and open objects from a remote vault
    Pull(pull::PullArgs),
    /// List the objects of a remote vault that you can open
    Ls(remote::LsArgs),
    /// Remove objects from a remote vault
    Rm(remote::RmArgs),
    /// Rename an object in a remote vault
    Mv(remote::MvArgs),
    /// Give more people access to a pushed object (rewrites only its small head)
    Share(share::ShareArgs),
    /// Remove people's access to a pushed object (re-sealed under a new key unless --keep-key)
    Unshare(share::UnshareArgs),
    /// Your address book: names for other people's public keys
    Contacts {
        #[command(subcommand)]
        command: share::ContactsCommand,
    },
    /// Keep your unlocked keys in an agent for a while, so that commands
    /// stop asking for the passphrase (`vault lock` forgets them)
    Agent(agent::AgentArgs),
    /// Make the agent forget your keys
    Lock,
    /// Print a shell completion script (e.g. `vault completions bash >
    /// ~/.local/share/bash-completion/completions/vault`)
    Completions(docs::CompletionsArgs),
    /// Print the manual page (`vault man | man -l -`), or write them all
    Man(docs::ManArgs),
}

/// What `seal` and `open` share: the output (`-o`), how it is written, and
/// the input FILE. Each command gives `-o` and FILE their own help.
#[derive(Args, Debug)]
pub struct FileArgs {
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Replace an existing output file
    #[arg(short = 'f', long)]
    force: bool,
    /// Worker threads for the payload (default $VAULT_THREADS, else all cores; 1 = serial)
    #[arg(long, value_name = "N")]
    threads: Option<String>,
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Keygen {
            no_passphrase,
            force,
            pq,
        } => keys::keygen(no_passphrase, force, pq),
        Command::Id { all, secret } => keys::id(all, secret),
        Command::Seal {
            recipients,
            recipient_files,
            cipher,
            age,
            armor,
            no_self,
            passphrase,
            files,
        } => {
            let threads = threads::for_payload(files.threads.as_deref())?;
            let suite = Suite::from(cipher);
            let opts = seal::SealOptions {
                recipients,
                recipient_files,
                no_self: no_self || passphrase,
                passphrase,
                suite,
                age,
                armor,
                threads,
            };
            let (input, output) = (files.input.as_deref(), files.output.as_deref());
            seal::seal(&opts, input, output, files.force)
        }
        Command::Open { identities, files } => {
            let threads = threads::for_payload(files.threads.as_deref())?;
            let (input, output) = (files.input.as_deref(), files.output.as_deref());
            open::open(&identities, input, output, files.force, threads)
        }
        Command::Push(a) => push::push(&a),
        Command::Pull(a) => pull::pull(&a),
        Command::Ls(a) => remote::ls(&a),
        Command::Rm(a) => remote::rm(&a),
        Command::Mv(a) => remote::mv(&a),
        Command::Share(a) => share::share(&a),
        Command::Unshare(a) => share::unshare(&a),
        Command::Contacts { command } => share::contacts(&command),
        Command::Agent(a) => agent::agent(&a),
        Command::Lock => agent::lock(),
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(&a),
    }
}

/// Run the command line and return the process exit code.
pub fn main() -> ExitCode {
    hardening::no_core_dumps();
    vault::atomic::install_signal_cleanup();
    plugin_ui::install();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::from(141),
        Err(e @ CliError::Usage(_)) => {
            e.report();
            ExitCode::from(2)
        }
        Err(e) => {
            e.report();
            // A signal stopped the work (a remote command removed what it
            // was writing): 130, as when the signal handler exits itself.
            if vault::atomic::interrupted() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
