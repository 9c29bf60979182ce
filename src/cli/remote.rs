//! What every remote command shares, and `vault ls`, `rm` and `mv`.
//!
//! Every remote command connects first (host key, authentication), checks
//! that the location is a vault, and only then unlocks the identity, and
//! only if it needs it: a typo in the host or path shows before any
//! passphrase prompt, and `ls` of an empty vault asks for none. Names are
//! sealed, so finding an object means opening heads: the client cache
//! (`$XDG_CACHE_HOME/vault`) keeps what earlier commands opened, and a
//! command naming a few objects asks the server only about those
//! ([`RemoteVault::find_fast`]). Each command that succeeds prints one
//! line saying what it did to which object (`-q` silences it).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::error::{CliError, printable};
use super::keyring::remote_identities;
use vault::crypto::Identity;
use vault::remote::{Listing, Object, RemoteError, RemoteVault, Scan, names};
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
    /// Connections for work on many objects (listing, folders, many files)
    #[arg(long, value_name = "N", default_value_t = vault::remote::DEFAULT_TRANSFERS as u16,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub transfers: u16,
    /// No progress bar and no success line
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

/// The remote a command on named objects works on and, where several
/// objects have one name, the id of the one meant (`rm`, `mv`, `share`,
/// `unshare`).
#[derive(Args, Debug)]
pub struct Target {
    /// The object with this id (or id prefix), when several have the name
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
}

impl Target {
    /// Connect, and pick the object `name` (by `--id` among several).
    pub(crate) fn open(&self, name: &str) -> Result<(Session, Object), CliError> {
        let mut s = connect(&self.location, &self.remote, false)?;
        let l = s.find(&[name])?;
        let obj = pick(&l, name, self.id.as_deref())?.clone();
        Ok((s, obj))
    }
}

/// `vault ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// A table: size, modification and push times, recipients, name
    #[arg(short = 'l', long)]
    pub long: bool,
    /// With --long: sizes in bytes rather than KiB, MiB, ...
    #[arg(long, requires = "long")]
    pub bytes: bool,
    /// Machine-readable output
    #[arg(long, conflicts_with = "long")]
    pub json: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// Only objects named PREFIX or under PREFIX/
    #[arg(value_name = "PREFIX")]
    pub prefix: Option<String>,
}

/// `vault rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    #[command(flatten)]
    pub target: Target,
    /// Names to remove
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

/// `vault mv`.
#[derive(Args, Debug)]
pub struct MvArgs {
    /// Replace the object(s) that already have the new name
    #[arg(short = 'f', long)]
    pub force: bool,
    #[command(flatten)]
    pub target: Target,
    /// Current name
    #[arg(value_name = "OLD")]
    pub old: String,
    /// New name
    #[arg(value_name = "NEW")]
    pub new: String,
}

/// The cache folder: `$XDG_CACHE_HOME/vault`, else `~/.cache/vault`.
fn cache_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vault"))
}

/// The identities a remote command opens objects with, of any kind.
pub type Identities = [Box<dyn Identity>];

/// A connected vault, and the user's identities once unlocked.
pub struct Session {
    /// The vault.
    pub vault: RemoteVault,
    ids: Option<Vec<Box<dyn Identity>>>,
    identity_files: Vec<PathBuf>,
    /// `-q`.
    pub quiet: bool,
}

/// Connect to `location` and open (or, with `create`, create) its vault;
/// nothing is unlocked yet.
pub fn connect(location: &str, opts: &RemoteOpts, create: bool) -> Result<Session, CliError> {
    vault::atomic::stop_gracefully();
    let loc = Location::parse(location)?;
    let mut copts = ConnectOptions::default();
    copts.accept_new = opts.accept_new;
    copts.identity = opts.ssh_identity.clone();
    opts.s3.apply(&loc, &mut copts)?;
    let t = loc.connect(&copts)?;
    let mut vault = if create {
        RemoteVault::open_or_create(t)?
    } else {
        RemoteVault::open(t).map_err(|e| super::other_reading::explain(&loc, &copts, e))?
    };
    vault.set_transfers(usize::from(opts.transfers));
    Ok(Session {
        vault,
        ids: None,
        identity_files: opts.identity_files.clone(),
        quiet: opts.quiet,
    })
}

impl Session {
    /// The user's identities, unlocked on first use (the cache is attached
    /// then: it is keyed by them).
    pub fn ids(&mut self) -> Result<&[Box<dyn Identity>], CliError> {
        Ok(self.vault_ids()?.1)
    }

    /// The vault and the identities (unlocked on first use), borrowed
    /// together.
    pub fn vault_ids(&mut self) -> Result<(&mut RemoteVault, &Identities), CliError> {
        if self.ids.is_none() {
            let ids = remote_identities(&self.identity_files)?;
            if let Some(root) = cache_root() {
                self.vault.attach_cache(&root, &ids);
            }
            self.ids = Some(ids);
        }
        Ok((&mut self.vault, self.ids.as_deref().expect("set")))
    }

    /// The whole listing, with what cannot be read reported on stderr.
    pub fn list(&mut self) -> Result<Listing, CliError> {
        Ok(self.scan_list()?.1)
    }

    /// [`Session::list`], and the scan of `objects/` it came from.
    pub fn scan_list(&mut self) -> Result<(Scan, Listing), CliError> {
        let scan = self.vault.scan()?;
        let l = self.list_scanned(&scan)?;
        Ok((scan, l))
    }

    /// [`Session::list`] from a scan already made (unlocks only if the
    /// vault holds anything).
    pub fn list_scanned(&mut self, scan: &Scan) -> Result<Listing, CliError> {
        if scan.is_empty() {
            return Ok(Listing {
                complete: true,
                ..Listing::default()
            });
        }
        let (vault, ids) = self.vault_ids()?;
        let l = vault.list_scanned(scan, ids)?;
        warn_unreadable(&l);
        Ok(l)
    }

    /// The objects named `names`, without a listing when the cache allows.
    pub fn find(&mut self, names: &[&str]) -> Result<Listing, CliError> {
        let (vault, ids) = self.vault_ids()?;
        let l = vault.find_fast(names, ids)?;
        if l.complete {
            warn_unreadable(&l);
        }
        Ok(l)
    }

    /// Save the cache; call at the end of the command.
    pub fn done(&mut self) {
        self.vault.save_cache();
    }

    /// Print a success line unless `-q`.
    pub fn say(&self, line: &str) {
        if !self.quiet {
            eprintln!("vault: {}", printable(line));
        }
    }
}

fn warn_unreadable(l: &Listing) {
    for (id, why) in &l.unreadable {
        eprintln!(
            "vault: warning: object {id} cannot be read: {}",
            printable(why)
        );
    }
}

/// The first 8 digits of an id, as messages show it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A size as people read it: `512 B`, `1.2 KiB`, `3.4 MiB`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// An RFC 3339 time; `@SECONDS` past the year 9999, which humantime cannot
/// format (times come from metadata that anyone who can seal to you wrote).
pub fn time_text(secs: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    if secs >= YEAR_10000 {
        return format!("@{secs}");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One line describing an object, for lists of same-name objects.
pub fn describe(o: &Object) -> String {
    format!(
        "id {}  {}  modified {}  pushed {}  {} recipient{}: {}",
        o.id,
        human(o.meta.size),
        time_text(o.meta.mtime),
        time_text(o.meta.created),
        o.meta.recipients.len(),
        if o.meta.recipients.len() == 1 {
            ""
        } else {
            "s"
        },
        o.meta.recipients.join(", ")
    )
}

/// The one object a command acts on, with the same-name rule: more than
/// one object you can open with that name is refused (listed on stderr)
/// unless `id` picks one.
pub fn pick<'a>(l: &'a Listing, name: &str, id: Option<&str>) -> Result<&'a Object, CliError> {
    match l.one(name, id) {
        Ok(o) => Ok(o),
        Err(RemoteError::Ambiguous { name, objects }) => {
            for o in &objects {
                eprintln!("vault:   {}", printable(&describe(o)));
            }
            Err(CliError::Remote(RemoteError::Ambiguous { name, objects }))
        }
        Err(e) => Err(e.into()),
    }
}

/// A progress bar on stderr, only on a terminal and without `-q`.
pub fn progress(len: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_bar}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(printable(label));
    bar
}

/// Whether `name` is `prefix` or under `prefix/`.
pub fn under(name: &str, prefix: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    p.is_empty() || name == p || name.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
}

/// `vault ls`.
pub fn ls(a: &LsArgs) -> Result<(), CliError> {
    let mut s = connect(&a.location, &a.remote, false)?;
    let listing = s.list()?;
    s.done();
    let prefix = a.prefix.as_deref().unwrap_or("");
    let shown: Vec<&Object> = listing
        .objects
        .iter()
        .filter(|o| under(&o.meta.name, prefix))
        .map(|o| &**o)
        .collect();
    let dup = listing.duplicates();
    let mut out = io::stdout().lock();
    let w = |e| CliError::Output("<stdout>".into(), e);
    if a.json {
        let objects: Vec<serde_json::Value> = shown
            .iter()
            .map(|o| {
                serde_json::json!({
                    "name": o.meta.name,
                    "size": o.meta.size,
                    "mtime": o.meta.mtime,
                    "pushed": o.meta.created,
                    "cipher": o.suite.name(),
                    "recipients": o.meta.recipients,
                    "recipients_verified": o.unverified == 0,
                    "id": o.id,
                    "revision": o.rev,
                    "duplicate": dup.contains(o.meta.name.as_str()),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "objects": objects,
            "others": listing.others,
            "unreadable": listing.unreadable.len(),
        });
        writeln!(out, "{doc}").map_err(w)?;
        return Ok(());
    }
    if a.long && !shown.is_empty() {
        writeln!(
            out,
            "{:>10}  {:<20}  {:<20}  {:>10}  NAME",
            "SIZE", "MODIFIED", "PUSHED", "RECIPIENTS"
        )
        .map_err(w)?;
    }
    for o in &shown {
        let mut name = printable(&o.meta.name);
        if dup.contains(o.meta.name.as_str()) {
            name.push_str(&format!("  [id {}]", short(&o.id)));
        }
        if a.long {
            let size = if a.bytes {
                o.meta.size.to_string()
            } else {
                human(o.meta.size)
            };
            let who = if o.unverified == 0 {
                o.meta.recipients.len().to_string()
            } else {
                format!("{}?", o.meta.recipients.len())
            };
            writeln!(
                out,
                "{size:>10}  {:<20}  {:<20}  {who:>10}  {name}",
                time_text(o.meta.mtime),
                time_text(o.meta.created),
            )
            .map_err(w)?;
        } else {
            writeln!(out, "{name}").map_err(w)?;
        }
    }
    let dups = shown
        .iter()
        .filter(|o| dup.contains(o.meta.name.as_str()))
        .map(|o| o.meta.name.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    if dups > 0 {
        eprintln!(
            "vault: note: {dups} name{} held by more than one object (marked with their ids); \
             commands on such a name need --id ID (`vault ls --long` shows them)",
            if dups == 1 { " is" } else { "s are" }
        );
    }
    if shown.iter().any(|o| o.unverified > 0) && a.long {
        eprintln!(
            "vault: note: recipients marked ? are as the object says; their keys could not be \
             checked against the stanzas (an object of an earlier vault: `vault share` or `mv` rewrites it)"
        );
    }
    if listing.others > 0 {
        eprintln!(
            "vault: {} other object{} in this vault {} sealed to other keys",
            listing.others,
            if listing.others == 1 { "" } else { "s" },
            if listing.others == 1 { "is" } else { "are" },
        );
    }
    Ok(())
}

/// `vault rm`.
pub fn rm(a: &RmArgs) -> Result<(), CliError> {
    let t = &a.target;
    if t.id.is_some() && a.names.len() > 1 {
        return Err(CliError::Usage("--id works with one NAME only".into()));
    }
    let mut s = connect(&t.location, &t.remote, false)?;
    let names: Vec<&str> = a.names.iter().map(String::as_str).collect();
    let l = s.find(&names)?;
    let mut targets = Vec::new();
    for n in &a.names {
        targets.push(pick(&l, n, t.id.as_deref())?.clone());
    }
    for o in &targets {
        s.vault.remove(o)?;
        s.say(&format!(
            "removed {} (id {}, {}) from {}",
            o.meta.name,
            short(&o.id),
            human(o.meta.size),
            s.vault.describe()
        ));
    }
    s.done();
    Ok(())
}

/// `vault mv`.
pub fn mv(a: &MvArgs) -> Result<(), CliError> {
    names::check(&a.new)?;
    let t = &a.target;
    let mut s = connect(&t.location, &t.remote, false)?;
    let l = s.find(&[&a.old, &a.new])?;
    let obj = pick(&l, &a.old, t.id.as_deref())?.clone();
    if a.old == a.new {
        return Ok(());
    }
    let clash: Vec<Object> = l.named(&a.new).into_iter().cloned().collect();
    if !clash.is_empty() && !a.force {
        return Err(RemoteError::NameExists(a.new.clone()).into());
    }
    let (vault, ids) = s.vault_ids()?;
    let opened = vault.open_object(&obj, ids)?;
    let moved = s.vault.rewrite(
        &mut vault::crypto::os_rng(),
        &opened,
        &vault::remote::Change {
            name: &a.new,
            recipients: &opened.obj.meta.recipients,
        },
    )?;
    for old in &clash {
        s.vault.remove(old)?;
    }
    s.say(&format!(
        "renamed {} to {} (id {}){}",
        a.old,
        a.new,
        short(&moved.id),
        if clash.is_empty() {
            String::new()
        } else {
            format!(", replacing {} object(s) of that name", clash.len())
        }
    ));
    s.done();
    Ok(())
}

/// Most connections one large transfer opens (`--threads` is limited to this).
const MAX_CONNECTIONS: usize = 16;

/// Connections per large transfer by default: on 2 cores over loopback
/// (docs/PERFORMANCE_SFTP.md) the gain flattens past 3 while each
/// connection costs 5-9 MiB of buffers (libssh2 keeps 4 MiB of read-ahead
/// per download); more can help on a real network with more cores.
const DEFAULT_CONNECTIONS: usize = 3;

/// Connections for one large file: `--threads`, else `VAULT_THREADS`, else
/// [`DEFAULT_CONNECTIONS`].
pub fn remote_conns(flag: Option<u16>) -> Result<usize, CliError> {
    if let Some(n) = flag {
        return Ok(usize::from(n));
    }
    super::threads::resolve(None, DEFAULT_CONNECTIONS, MAX_CONNECTIONS)
}
