//! `vault push`: files, stdin, or a whole folder (`--recursive`).
//!
//! Names are checked and the vault is connected (and created if needed)
//! before the identity is unlocked; the name clash check asks the server
//! only about the names pushed when the cache allows. Many files go over
//! `--transfers` connections at once. A folder push skips each file whose
//! size and modification time (and with `--checksum` its SHA-256) match
//! the newest object of its name that you can open, and replaces the ones
//! that changed (the new object first, then the old), so running it again
//! after an interruption sends only what is missing.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use sha2::{Digest, Sha256};

use super::error::{CliError, printable};
use super::io::Input;
use super::keyring::{RecipientArgs, gather_remote_recipients};
use super::remote::{RemoteOpts, Session, connect, human, progress, short};
use super::walk::{Found, Walk};
use vault::crypto::{AnyRecipient, Recipient, Suite, os_rng};
use vault::remote::{Listing, Object, PushSpec, RemoteError, names, push_stream};

/// `vault push`.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// Also seal to this public key or contact; repeatable
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Also seal to the public keys in FILE
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipient_files: Vec<std::path::PathBuf>,
    /// Name in the vault (default: the file's base name); only with one
    /// FILE. With --recursive: the prefix the folder's files go under
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Push the files of each FILE that is a folder, named by their path
    /// below it (unchanged files are skipped, changed ones replaced)
    #[arg(long)]
    pub recursive: bool,
    /// With --recursive: also compare contents (SHA-256), not only size and
    /// modification time, to decide what is unchanged
    #[arg(long, requires = "recursive")]
    pub checksum: bool,
    /// Say what would be pushed, replaced and skipped; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
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
    /// Files (or folders, with --recursive) to push (- for stdin, with --name), then the REMOTE vault
    #[arg(value_name = "FILE... REMOTE", num_args = 2.., required = true)]
    pub args: Vec<std::ffi::OsString>,
}

fn mtime_of(m: &std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
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
    let location = location
        .to_str()
        .ok_or_else(|| CliError::Usage("the REMOTE argument is not valid UTF-8".into()))?;
    let recipients = gather_remote_recipients(&RecipientArgs {
        recipients: &a.recipients,
        files: &a.recipient_files,
        no_self: a.no_self,
    })?;
    if a.recursive {
        let dirs = files
            .iter()
            .map(|d| {
                d.to_str().map(str::to_owned).ok_or_else(|| {
                    CliError::Usage(format!(
                        "{}: a folder whose path is not valid UTF-8 cannot be pushed with \
                         --recursive; push its files with --name, or rename it",
                        printable(&Path::new(d).display().to_string())
                    ))
                })
            })
            .collect::<Result<Vec<String>, _>>()?;
        return push_tree(a, location, &dirs, &recipients);
    }
    if a.name.is_some() && files.len() > 1 {
        return Err(CliError::Usage("--name works with one FILE only".into()));
    }
    // Names first, so that every mistake shows before anything is sent.
    let mut jobs: Vec<(PathBuf, String)> = Vec::new();
    for f in files {
        let path = Path::new(f);
        let shown = printable(&path.display().to_string());
        let name = match (&a.name, f.to_str()) {
            (Some(n), _) => n.clone(),
            (None, Some("-")) => {
                return Err(CliError::Usage("pushing stdin needs --name".into()));
            }
            (None, Some(_)) => names::default_name(path).ok_or_else(|| {
                CliError::Usage(format!("{shown:?} has no file name; use --name"))
            })?,
            (None, None) => {
                return Err(CliError::Usage(format!(
                    "FILE {shown} is not a valid UTF-8 name, and object names are UTF-8: \
                     name the object with --name"
                )));
            }
        };
        names::check(&name)?;
        if std::fs::metadata(f).is_ok_and(|m| m.is_dir()) {
            return Err(CliError::Usage(format!(
                "{shown:?} is a folder; use --recursive to push the files in it"
            )));
        }
        if jobs.iter().any(|(_, n)| *n == name) {
            return Err(CliError::Usage(format!("{name:?} is given twice")));
        }
        jobs.push((path.to_path_buf(), name));
    }
    let conns = super::remote::remote_conns(a.threads)?;
    let mut s = if a.dry_run {
        connect(location, &a.remote, false)?
    } else {
        connect(location, &a.remote, true)?
    };
    s.vault.set_connections(conns);
    let wanted: Vec<&str> = jobs.iter().map(|(_, n)| n.as_str()).collect();
    let listing = if wanted.len() <= 8 {
        s.find(&wanted)?
    } else {
        s.list()?
    };
    let clash: Vec<&Object> = jobs.iter().flat_map(|(_, n)| listing.named(n)).collect();
    if !a.force
        && let Some(o) = clash.first()
    {
        return Err(RemoteError::NameExists(o.meta.name.clone()).into());
    }
    if a.dry_run {
        for (f, n) in &jobs {
            let verb = if listing.named(n).is_empty() {
                "push"
            } else {
                "replace"
            };
            println!(
                "{verb} {} as {}",
                printable(&f.display().to_string()),
                printable(n)
            );
        }
        return Ok(());
    }
    let suite = Suite::from(a.cipher);
    let rs: Vec<&(dyn Recipient + Sync)> = recipients.iter().map(|r| &**r as _).collect();
    let pushed: Vec<Object> = if jobs.len() == 1 {
        let (f, n) = &jobs[0];
        vec![push_one(&mut s, f, n, suite, &rs)?]
    } else {
        push_many(&mut s, &jobs, suite, &rs)?
    };
    // The new objects are in place; remove what they replace.
    let replaced: Vec<Object> = clash.into_iter().cloned().collect();
    let removed = s.vault.remove_batch(replaced)?;
    let replaced_n = removed.iter().filter(|r| r.is_ok()).count();
    let total: u64 = pushed.iter().map(|o| o.meta.size).sum();
    let loc = s.vault.describe();
    if let [o] = pushed.as_slice() {
        s.say(&format!(
            "pushed {} ({}, id {}) to {loc}{}",
            o.meta.name,
            human(o.meta.size),
            short(&o.id),
            if replaced_n > 0 {
                format!(", replacing {replaced_n} object(s) of that name")
            } else {
                String::new()
            }
        ));
    } else {
        s.say(&format!(
            "pushed {} files ({}) to {loc}{}",
            pushed.len(),
            human(total),
            if replaced_n > 0 {
                format!(", replacing {replaced_n} object(s)")
            } else {
                String::new()
            }
        ));
    }
    s.vault.sweep(None, None);
    s.done();
    Ok(())
}

/// Push one file (or stdin) on the main connection, over several
/// connections if it is large.
fn push_one(
    s: &mut Session,
    file: &Path,
    name: &str,
    suite: Suite,
    rs: &[&(dyn Recipient + Sync)],
) -> Result<Object, CliError> {
    let path = file;
    let mut input = Input::open(Some(path))?;
    let (len, mtime, regular) = match &input {
        Input::File(f, _) => {
            let m = f.metadata().map_err(|e| CliError::Input(path.into(), e))?;
            (m.len(), mtime_of(&m), m.is_file())
        }
        Input::Stdin(_) => (0, vault::remote::now(), false),
    };
    s.ids()?;
    let bar = progress(len, name, s.quiet);
    let spec = PushSpec {
        name,
        mtime,
        suite,
        recipients: rs,
    };
    let pushed = match &input {
        // A regular file can be read at offsets, so split over connections.
        Input::File(f, _) if regular => s.vault.push_file(
            &mut os_rng(),
            f.file(),
            len,
            &spec,
            &|n| bar.inc(n),
            &|| f.unchanged(),
        ),
        _ => s
            .vault
            .push(&mut os_rng(), &mut bar.wrap_read(&mut input), &spec),
    };
    bar.finish_and_clear();
    pushed.map_err(|e| match e {
        RemoteError::Io(e) => CliError::Input(path.into(), e),
        other => other.into(),
    })
}

/// Push many files over several connections, one file per connection at
/// a time.
fn push_many(
    s: &mut Session,
    jobs: &[(PathBuf, String)],
    suite: Suite,
    rs: &[&(dyn Recipient + Sync)],
) -> Result<Vec<Object>, CliError> {
    s.ids()?;
    let mut total = 0;
    for (f, _) in jobs {
        total += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
    }
    let bar = progress(total, &format!("{} files", jobs.len()), s.quiet);
    let items: Vec<(usize, &Path, &str)> = jobs
        .iter()
        .enumerate()
        .map(|(i, (f, n))| (i, f.as_path(), n.as_str()))
        .collect();
    let results = s.vault.push_batch(items, |t, (_, f, n)| {
        let file = std::fs::File::open(f).map_err(RemoteError::Io)?;
        let m = file.metadata().map_err(RemoteError::Io)?;
        let spec = PushSpec {
            name: n,
            mtime: mtime_of(&m),
            suite,
            recipients: rs,
        };
        let mut r = Read::take(&file, m.len());
        let mut counted = Counted {
            inner: &mut r,
            bar: &bar,
        };
        push_stream(t, &mut os_rng(), &mut counted, &spec, &|| {
            w_unchanged(f, &m)
        })
    })?;
    bar.finish_and_clear();
    let mut out = Vec::new();
    for ((f, _), r) in jobs.iter().zip(results) {
        match r {
            Ok(o) => out.push(o),
            Err(RemoteError::Io(e)) => return Err(CliError::Input(f.into(), e)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Whether `f` still has the size and times it had when opened.
fn w_unchanged(f: &Path, then: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let now = std::fs::metadata(f)?;
    if (
        now.len(),
        now.mtime(),
        now.mtime_nsec(),
        now.ctime(),
        now.ctime_nsec(),
    ) != (
        then.len(),
        then.mtime(),
        then.mtime_nsec(),
        then.ctime(),
        then.ctime_nsec(),
    ) {
        return Err(io::Error::other("the file changed while it was being read"));
    }
    Ok(())
}

/// A reader that moves a progress bar.
struct Counted<'a, R> {
    inner: R,
    bar: &'a indicatif::ProgressBar,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// What a folder push does with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    New,
    Changed,
    Unchanged,
}

/// SHA-256 of a found file (for `--checksum`).
fn sha_of(w: &Walk, f: &Found) -> io::Result<[u8; 32]> {
    let mut file = w.open(&f.rel)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// `vault push --recursive`.
fn push_tree(
    a: &PushArgs,
    location: &str,
    dirs: &[String],
    recipients: &[AnyRecipient],
) -> Result<(), CliError> {
    let prefix = match &a.name {
        Some(p) => {
            let p = p.trim_end_matches('/');
            names::check(p)?;
            Some(p.to_owned())
        }
        None => None,
    };
    let mut walks = Vec::new();
    let mut jobs: Vec<(usize, Found, String)> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for d in dirs {
        let path = Path::new(d);
        if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(CliError::Usage(format!(
                "{d:?} is not a folder (--recursive pushes folders)"
            )));
        }
        let w = Walk::run(path)?;
        for (p, why) in &w.skipped {
            eprintln!(
                "vault: skipped {}: {why}",
                printable(&p.display().to_string())
            );
        }
        for p in &w.empty {
            eprintln!(
                "vault: note: {} holds no file to push (vault stores files, not folders)",
                printable(&p.display().to_string())
            );
        }
        for f in &w.files {
            let name = match &prefix {
                Some(p) => format!("{p}/{}", f.rel),
                None => f.rel.clone(),
            };
            names::check(&name)?;
            if let Some(other) = seen.insert(name.clone(), d.clone()) {
                return Err(CliError::Usage(format!(
                    "{name:?} would come from both {other:?} and {d:?}"
                )));
            }
            jobs.push((walks.len(), f.clone(), name));
        }
        walks.push(w);
    }
    let mut s = match connect(location, &a.remote, !a.dry_run) {
        Ok(s) => s,
        Err(CliError::Remote(RemoteError::NoVault(_))) if a.dry_run => {
            for (_, f, n) in &jobs {
                println!("push {n} ({})", human(f.len));
            }
            eprintln!(
                "vault: would push {} files; the vault would be created",
                jobs.len()
            );
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let (scan, listing) = s.scan_list()?;
    let mut plans = Vec::with_capacity(jobs.len());
    for (wi, f, n) in &jobs {
        plans.push(plan(&listing, &walks[*wi], f, n, a.checksum));
    }
    let count = |p: Plan| plans.iter().filter(|&&q| q == p).count();
    let (new, changed, same) = (
        count(Plan::New),
        count(Plan::Changed),
        count(Plan::Unchanged),
    );
    if a.dry_run {
        for ((_, f, n), p) in jobs.iter().zip(&plans) {
            match p {
                Plan::New => println!("push {} ({})", printable(n), human(f.len)),
                Plan::Changed => println!("replace {} ({})", printable(n), human(f.len)),
                Plan::Unchanged => {}
            }
        }
        eprintln!("vault: would push {new} new and {changed} changed files; {same} unchanged");
        return Ok(());
    }
    let todo: Vec<(usize, &Found, &str)> = jobs
        .iter()
        .zip(&plans)
        .filter(|(_, p)| **p != Plan::Unchanged)
        .map(|((wi, f, n), _)| (*wi, f, n.as_str()))
        .collect();
    let mut pushed = Vec::new();
    let mut replaced = 0;
    if !todo.is_empty() {
        s.ids()?;
        let suite = Suite::from(a.cipher);
        let rs: Vec<&(dyn Recipient + Sync)> = recipients.iter().map(|r| &**r as _).collect();
        let total: u64 = todo.iter().map(|(_, f, _)| f.len).sum();
        let bar = progress(total, &format!("{} files", todo.len()), s.quiet);
        let results = s.vault.push_batch(todo.clone(), |t, (wi, f, n)| {
            let w = &walks[wi];
            let file = w.open(&f.rel).map_err(RemoteError::Io)?;
            let m = file.metadata().map_err(RemoteError::Io)?;
            if m.len() != f.len || mtime_of(&m) != f.mtime {
                return Err(RemoteError::Io(io::Error::other(
                    "the file changed since the folder was read",
                )));
            }
            let spec = PushSpec {
                name: n,
                mtime: f.mtime,
                suite,
                recipients: &rs,
            };
            let mut r = Read::take(&file, m.len());
            let mut counted = Counted {
                inner: &mut r,
                bar: &bar,
            };
            push_stream(t, &mut os_rng(), &mut counted, &spec, &|| {
                let now = file.metadata()?;
                if now.len() != m.len() || mtime_of(&now) != mtime_of(&m) {
                    return Err(io::Error::other("the file changed while it was being read"));
                }
                Ok(())
            })
        })?;
        bar.finish_and_clear();
        let mut old: Vec<Object> = Vec::new();
        let mut failed = 0;
        for ((wi, f, n), r) in todo.iter().zip(results) {
            match r {
                Ok(o) => {
                    old.extend(listing.named(n).into_iter().cloned());
                    pushed.push(o);
                }
                Err(RemoteError::Io(e)) => {
                    failed += 1;
                    let p = walks[*wi].path.join(&f.rel);
                    eprintln!(
                        "vault: skipped {}: {}",
                        printable(&p.display().to_string()),
                        printable(&e.to_string())
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        replaced = s
            .vault
            .remove_batch(old)?
            .iter()
            .filter(|r| r.is_ok())
            .count();
        if failed > 0 {
            eprintln!(
                "vault: {failed} file(s) could not be pushed (see above); run again to retry"
            );
        }
    }
    let bytes: u64 = pushed.iter().map(|o| o.meta.size).sum();
    s.say(&format!(
        "pushed {} file{} ({}) to {}; {same} unchanged{}",
        pushed.len(),
        if pushed.len() == 1 { "" } else { "s" },
        human(bytes),
        s.vault.describe(),
        if replaced > 0 {
            format!(", {replaced} old version(s) replaced")
        } else {
            String::new()
        }
    ));
    s.vault.sweep(Some(&scan), Some(&listing));
    s.done();
    Ok(())
}

/// Whether a found file needs pushing: compared with the newest object of
/// its name that you can open.
fn plan(l: &Listing, w: &Walk, f: &Found, name: &str, checksum: bool) -> Plan {
    let same = l.named(name);
    let Some(newest) = same.first() else {
        return Plan::New;
    };
    if newest.meta.size != f.len || newest.meta.mtime != f.mtime {
        return Plan::Changed;
    }
    if checksum {
        match (newest.meta.sha256, sha_of(w, f)) {
            (Some(h), Ok(mine)) if h == mine => {}
            _ => return Plan::Changed,
        }
    }
    Plan::Unchanged
}
