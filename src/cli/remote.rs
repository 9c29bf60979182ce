//! `vault push`, `pull`, `ls`, `rm` and `mv`: the remote vault commands.
//!
//! Every command first lists the vault with the user's identity (names are
//! sealed, so that is the only way to know them), then acts. Pushes and
//! pulls stream through the same payload pipeline as `seal`/`open`, with a
//! progress bar on a terminal.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::error::CliError;
use super::io::{Input, Target};
use super::keyring::{RecipientArgs, gather_x25519_recipients, remote_identities};
use vault::crypto::{Suite, X25519Identity, os_rng};
use vault::remote::{Listing, Object, PushSpec, RemoteError, RemoteVault, names};
use vault::transport::{ConnectOptions, Location};

/// Options every remote command takes.
#[derive(Args, Debug, Clone)]
pub struct RemoteOpts {
    /// SSH identity file, tried before those from ~/.ssh/config (as ssh -i)
    #[arg(short = 'i', long = "ssh-identity", value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// age identity file to open objects with, besides the keystore (as
    /// `vault open -i`); repeatable
    #[arg(long = "identity-file", value_name = "FILE")]
    pub identity_files: Vec<PathBuf>,
    /// Record the host key of a host not yet in known_hosts (a changed key is always refused)
    #[arg(long)]
    pub accept_new: bool,
    /// No progress bar
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show the progress bar even when the output is standard output
    /// (by default it is left out then: a pager reading it shares the
    /// terminal with the bar)
    #[arg(long, conflicts_with = "quiet")]
    pub progress: bool,
    #[command(flatten)]
    pub s3: super::s3_opts::S3Opts,
}

/// `vault push`.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// Also seal to this public key; repeatable
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Also seal to the public keys in FILE
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipient_files: Vec<PathBuf>,
    /// Name in the vault (default: the file's base name); only with one FILE
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Payload cipher
    #[arg(long, value_name = "CIPHER", value_enum, default_value_t = super::Cipher::ChaCha20Poly1305)]
    pub cipher: super::Cipher,
    /// Do not add your own key as a recipient
    #[arg(long)]
    pub no_self: bool,
    /// Replace objects that already have these names
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Refused with an explanation: remote objects are always in vault's
    /// format (see `vault seal --age`)
    #[arg(long, hide = true)]
    pub age: bool,
    /// SSH connections (and sealing threads) for one large file [env: VAULT_THREADS]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// Files to push (- for stdin, with --name), then the REMOTE vault
    #[arg(value_name = "FILE... REMOTE", num_args = 2.., required = true)]
    pub args: Vec<String>,
}

/// `vault pull`.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// Write the (single) object to FILE; - for stdout
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "dir")]
    pub output: Option<PathBuf>,
    /// Write objects under DIR, by name (default: the current folder)
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace existing local files
    #[arg(short = 'f', long)]
    pub force: bool,
    /// SSH connections (and opening threads) for one large file [env: VAULT_THREADS]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// Names to pull
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

/// `vault ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Show size, modification time and recipients count
    #[arg(short = 'l', long)]
    pub long: bool,
    /// Machine-readable output
    #[arg(long, conflicts_with = "long")]
    pub json: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
}

/// `vault rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// Names to remove
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

/// `vault mv`.
#[derive(Args, Debug)]
pub struct MvArgs {
    /// Replace an object that already has the new name
    #[arg(short = 'f', long)]
    pub force: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// Current name
    #[arg(value_name = "OLD")]
    pub old: String,
    /// New name
    #[arg(value_name = "NEW")]
    pub new: String,
}

/// Connections one large push or pull may use: `--threads`, else
/// `$VAULT_THREADS`, else [`DEFAULT_CONNECTIONS`]. The variable is checked
/// by the same rule as for `seal` and `open`, and a value above
/// [`MAX_CONNECTIONS`] (fine for local work on a big machine) is capped
/// rather than refused, so one setting serves every command.
fn connections(flag: Option<u16>) -> Result<usize, CliError> {
    if let Some(n) = flag {
        return Ok(usize::from(n));
    }
    super::threads::resolve(None, DEFAULT_CONNECTIONS, MAX_CONNECTIONS)
}

/// Most connections one transfer opens (`--threads` is limited to this).
const MAX_CONNECTIONS: usize = 16;

/// Connections per large transfer by default: on 2 cores over loopback
/// (docs/PERFORMANCE_SFTP.md) the gain flattens past 3 while each
/// connection costs 5-9 MiB of buffers (libssh2 keeps 4 MiB of read-ahead
/// per download); more can help on a real network with more cores.
const DEFAULT_CONNECTIONS: usize = 3;

/// Connect to `location` and open (or, for pushes, create) its vault.
pub fn connect(location: &str, opts: &RemoteOpts, create: bool) -> Result<RemoteVault, CliError> {
    let loc = Location::parse(location)?;
    let mut copts = ConnectOptions::default();
    copts.accept_new = opts.accept_new;
    copts.identity = opts.ssh_identity.clone();
    opts.s3.apply(&loc, &mut copts)?;
    let t = loc.connect(&copts)?;
    Ok(if create {
        RemoteVault::open_or_create(t)?
    } else {
        RemoteVault::open(t).map_err(|e| super::other_reading::explain(&loc, &copts, e))?
    })
}

/// List the vault and report what cannot be read, on stderr.
pub fn list(vault: &mut RemoteVault, ids: &[X25519Identity]) -> Result<Listing, CliError> {
    let listing = vault.list(ids)?;
    for (id, why) in &listing.unreadable {
        eprintln!(
            "vault: warning: object {id} cannot be read: {}",
            super::error::printable(why)
        );
    }
    Ok(listing)
}

fn find<'a>(listing: &'a Listing, name: &str) -> Result<&'a Object, CliError> {
    listing
        .find(name)
        .ok_or_else(|| RemoteError::NoSuchName(name.to_owned()).into())
}

/// A progress bar on stderr, unless `-q`, or stderr is not a terminal, or
/// the output goes to standard output (`-o -`, likely into a pager on the
/// same terminal) without `--progress`.
fn progress(len: u64, label: &str, opts: &RemoteOpts, to_stdout: bool) -> ProgressBar {
    if opts.quiet || !io::stderr().is_terminal() || (to_stdout && !opts.progress) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_bar}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(super::error::printable(label));
    bar
}

/// `vault push`.
pub fn push(a: &PushArgs) -> Result<(), CliError> {
    if a.age {
        // An object's recipients live in a small head kept apart from its
        // payload, so that sharing never re-uploads it; an age file has no
        // such split.
        return Err(CliError::Usage(
            "push stores objects in vault's format, so that `vault share` never re-uploads them; \
             for age users, `vault seal --age FILE` and copy FILE.age"
                .into(),
        ));
    }
    let (location, files) = a.args.split_last().expect("clap requires two");
    if a.name.is_some() && files.len() > 1 {
        return Err(CliError::Usage("--name works with one FILE only".into()));
    }
    let suite = Suite::from(a.cipher);
    let recipients = gather_x25519_recipients(&RecipientArgs {
        recipients: &a.recipients,
        files: &a.recipient_files,
        no_self: a.no_self,
    })?;
    // Names first, so that every mistake shows before anything is sent.
    let mut jobs = Vec::new();
    for f in files {
        let name = match (&a.name, f.as_str()) {
            (Some(n), _) => n.clone(),
            (None, "-") => return Err(CliError::Usage("pushing stdin needs --name".into())),
            (None, f) => names::default_name(Path::new(f))
                .ok_or_else(|| CliError::Usage(format!("{f:?} has no file name; use --name")))?,
        };
        names::check(&name)?;
        if jobs.iter().any(|(_, n): &(&String, String)| *n == name) {
            return Err(CliError::Usage(format!("{name:?} is given twice")));
        }
        jobs.push((f, name));
    }
    let conns = connections(a.threads)?;
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(location, &a.remote, true)?;
    vault.set_connections(conns);
    let listing = list(&mut vault, &ids)?;
    if !a.force
        && let Some((_, n)) = jobs.iter().find(|(_, n)| listing.find(n).is_some())
    {
        return Err(RemoteError::NameExists(n.clone()).into());
    }
    for (file, name) in &jobs {
        let path = Path::new(file.as_str());
        let mut input = Input::open(Some(path))?;
        let (len, mtime, regular) = match &input {
            Input::File(f, _) => {
                let m = f.metadata().map_err(|e| CliError::Input(path.into(), e))?;
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                (m.len(), mtime, m.is_file())
            }
            Input::Stdin(_) => (0, vault::remote::now(), false),
        };
        let bar = progress(len, name, &a.remote, false);
        let spec = PushSpec {
            name,
            mtime,
            suite,
            recipients: &recipients,
        };
        let pushed = match &input {
            // A regular file can be read at offsets, so split over connections.
            Input::File(f, _) if regular => vault.push_file(
                &mut os_rng(),
                f.file(),
                len,
                &spec,
                &|n| bar.inc(n),
                &|| f.unchanged(),
            ),
            _ => vault.push(&mut os_rng(), &mut bar.wrap_read(&mut input), &spec),
        };
        pushed.map_err(|e| match e {
            RemoteError::Io(e) => CliError::Input(path.into(), e),
            other => other.into(),
        })?;
        bar.finish_and_clear();
        if a.force {
            // The new object is in place; remove what it replaces.
            for old in listing.objects.iter().filter(|o| o.meta.name == *name) {
                vault.remove(old)?;
            }
        }
    }
    vault.sweep();
    Ok(())
}

/// Refuse to write through a symlinked folder inside DIR, so that a name
/// like `a/b` cannot land outside DIR via a link `a -> /elsewhere`.
fn check_no_symlinked_parents(dir: &Path, target: &Path) -> Result<(), CliError> {
    let mut p = target.parent();
    while let Some(d) = p {
        if d == dir || d.as_os_str().is_empty() {
            break;
        }
        if fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CliError::Output(
                target.to_path_buf(),
                io::Error::other(format!("{} is a symbolic link", d.display())),
            ));
        }
        p = d.parent();
    }
    Ok(())
}

/// `vault pull`.
pub fn pull(a: &PullArgs) -> Result<(), CliError> {
    if a.output.is_some() && a.names.len() > 1 {
        return Err(CliError::Usage(
            "-o works with one NAME only; use -C DIR".into(),
        ));
    }
    let conns = connections(a.threads)?;
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    vault.set_connections(conns);
    let listing = list(&mut vault, &ids)?;
    let objects: Vec<&Object> = a
        .names
        .iter()
        .map(|n| find(&listing, n))
        .collect::<Result<_, _>>()?;
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut targets = Vec::new();
    for obj in &objects {
        targets.push(match &a.output {
            Some(o) => Target::resolve(Some(o), a.force, None)?,
            // Names come from the server: no link under DIR is followed.
            None => super::pull_path::target_under(&dir, &obj.meta.name, a.force)?,
        });
    }
    for (obj, target) in objects.iter().zip(targets) {
        if let super::io::Target::Regular(p) = &target {
            if a.output.is_none() {
                check_no_symlinked_parents(&dir, p)?;
            }
            if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| CliError::Output(p.clone(), e))?;
            }
        }
        let mut out = target.create(a.force)?;
        let to_stdout = matches!(target, super::io::Target::Stdout);
        let bar = progress(obj.meta.size, &obj.meta.name, &a.remote, to_stdout);
        let result = match out.positioned() {
            // A regular file takes writes at offsets: split over connections.
            Some(file) => vault.pull_to_file(obj, &file, &|n| bar.inc(n)),
            None => vault.pull(obj, &mut bar.wrap_write(&mut out)),
        };
        bar.finish_and_clear();
        result.map_err(|e| match e {
            RemoteError::Io(e) => CliError::Output(target.name(), e),
            other => other.into(),
        })?;
        out.commit()
            .map_err(|e| CliError::Output(target.name(), e))?;
    }
    Ok(())
}

/// An RFC 3339 time; `@SECONDS` past the year 9999, which humantime cannot
/// format (times come from metadata that anyone who can seal to you wrote).
fn time_text(secs: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    if secs >= YEAR_10000 {
        return format!("@{secs}");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `vault ls`.
pub fn ls(a: &LsArgs) -> Result<(), CliError> {
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    let listing = list(&mut vault, &ids)?;
    let mut out = io::stdout().lock();
    let w = |e| CliError::Output("<stdout>".into(), e);
    if a.json {
        let objects: Vec<serde_json::Value> = listing
            .objects
            .iter()
            .map(|o| {
                serde_json::json!({
                    "name": o.meta.name,
                    "size": o.meta.size,
                    "mtime": o.meta.mtime,
                    "pushed": o.meta.created,
                    "cipher": o.header.suite.name(),
                    "recipients": o.meta.recipients.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "id": o.id,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "objects": objects,
            "others": listing.others,
            "unreadable": listing.unreadable.len(),
        });
        writeln!(out, "{doc}").map_err(w)?;
    } else {
        for o in &listing.objects {
            let name = super::error::printable(&o.meta.name);
            if a.long {
                writeln!(
                    out,
                    "{:>14}  {}  {:>2}  {name}",
                    o.meta.size,
                    time_text(o.meta.mtime),
                    o.meta.recipients.len()
                )
                .map_err(w)?;
            } else {
                writeln!(out, "{name}").map_err(w)?;
            }
        }
        if listing.others > 0 {
            eprintln!(
                "vault: {} other object{} in this vault {} sealed to other keys",
                listing.others,
                if listing.others == 1 { "" } else { "s" },
                if listing.others == 1 { "is" } else { "are" },
            );
        }
    }
    Ok(())
}

/// `vault rm`.
pub fn rm(a: &RmArgs) -> Result<(), CliError> {
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    let listing = list(&mut vault, &ids)?;
    for n in &a.names {
        find(&listing, n)?;
    }
    for n in &a.names {
        for obj in listing.objects.iter().filter(|o| o.meta.name == *n) {
            vault.remove(obj)?;
        }
    }
    Ok(())
}

/// `vault mv`.
pub fn mv(a: &MvArgs) -> Result<(), CliError> {
    names::check(&a.new)?;
    let ids = remote_identities(&a.remote.identity_files)?;
    let mut vault = connect(&a.location, &a.remote, false)?;
    let listing = list(&mut vault, &ids)?;
    let obj = find(&listing, &a.old)?;
    if a.old == a.new {
        return Ok(());
    }
    let clash: Vec<&Object> = listing
        .objects
        .iter()
        .filter(|o| o.meta.name == a.new)
        .collect();
    if !clash.is_empty() && !a.force {
        return Err(RemoteError::NameExists(a.new.clone()).into());
    }
    let mut meta = obj.meta.clone();
    meta.name = a.new.clone();
    vault.rewrite_head(&mut os_rng(), obj, &obj.header, &meta)?;
    for old in clash {
        vault.remove(old)?;
    }
    Ok(())
}
