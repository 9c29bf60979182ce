//! `vault pull`: objects by name, or every object under a prefix
//! (`--recursive`), into a folder or one file.
//!
//! The vault is connected and checked before the identity is unlocked.
//! Names are looked up without a listing when the cache allows
//! ([`Session::find`]); `--recursive` lists once. Objects written under
//! `-C DIR` go through [`OutDir`], which never follows a symbolic link
//! below DIR and leaves no partial file behind (also on Ctrl-C). Every
//! target is checked before anything is transferred, so a clash shows
//! before any byte moves. Many objects go over `--transfers` connections,
//! one object per connection at a time; modification times are restored.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, printable};
use super::io::Target;
use super::outdir::OutDir;
use super::remote::{RemoteOpts, Session, connect, human, pick, progress, short, under};
use vault::remote::{Object, Opened, RemoteError, pull_on};

/// `vault pull`.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// Write the (single) object to FILE; - for stdout
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with_all = ["dir", "recursive"])]
    pub output: Option<PathBuf>,
    /// Write objects under DIR, by name (default: the current folder)
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Pull every object named PREFIX/...: PREFIX/a/b lands at DIR/a/b
    #[arg(long)]
    pub recursive: bool,
    /// The object with this id (or id prefix), when several have the name
    #[arg(long, value_name = "ID", conflicts_with = "recursive")]
    pub id: Option<String>,
    /// Replace existing local files
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Say what would be written; write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// SSH connections (and opening threads) for one large file [env: VAULT_THREADS]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub(crate) remote: RemoteOpts,
    /// The remote vault
    #[arg(value_name = "REMOTE")]
    pub location: String,
    /// Names to pull (with --recursive: prefixes)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

/// `vault pull`.
pub fn pull(a: &PullArgs) -> Result<(), CliError> {
    if a.output.is_some() && a.names.len() > 1 {
        return Err(CliError::Usage(
            "-o works with one NAME only; use -C DIR".into(),
        ));
    }
    if a.id.is_some() && a.names.len() > 1 {
        return Err(CliError::Usage("--id works with one NAME only".into()));
    }
    let conns = super::remote::remote_conns(a.threads)?;
    let mut s = connect(&a.location, &a.remote, false)?;
    s.vault.set_connections(conns);
    // (object, where it lands under DIR)
    let mut jobs: Vec<(Object, String)> = Vec::new();
    if a.recursive {
        let l = s.list()?;
        for p in &a.names {
            let p = p.trim_end_matches('/');
            let before = jobs.len();
            for o in l.objects.iter().filter(|o| under(&o.meta.name, p)) {
                if jobs.iter().any(|(j, _)| j.meta.name == o.meta.name) {
                    continue; // same-name objects: the newest (listed first)
                }
                let rel = match o
                    .meta
                    .name
                    .strip_prefix(p)
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(r) if !p.is_empty() => r.to_owned(),
                    _ if p.is_empty() => o.meta.name.clone(),
                    _ => o
                        .meta
                        .name
                        .rsplit('/')
                        .next()
                        .unwrap_or(&o.meta.name)
                        .to_owned(),
                };
                jobs.push(((**o).clone(), rel));
            }
            if jobs.len() == before {
                return Err(RemoteError::NoSuchName(p.to_owned()).into());
            }
        }
        let dups = l.duplicates();
        let n = jobs
            .iter()
            .filter(|(o, _)| dups.contains(o.meta.name.as_str()))
            .count();
        if n > 0 {
            eprintln!(
                "vault: note: {n} name(s) are held by more than one object; the newest of each was taken"
            );
        }
    } else {
        let names: Vec<&str> = a.names.iter().map(String::as_str).collect();
        let l = s.find(&names)?;
        for n in &a.names {
            let o = pick(&l, n, a.id.as_deref())?;
            jobs.push((o.clone(), o.meta.name.clone()));
        }
    }
    if let Some(out) = &a.output {
        let (o, _) = jobs.pop().expect("one name");
        return pull_to_output(&mut s, a, &o, out);
    }
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if a.dry_run {
        for (o, rel) in &jobs {
            println!(
                "pull {} ({}) to {}",
                printable(&o.meta.name),
                human(o.meta.size),
                printable(&dir.join(rel).display().to_string())
            );
        }
        return Ok(());
    }
    let out = OutDir::open(&dir)?;
    if !a.force {
        for (_, rel) in &jobs {
            if out.exists(rel)? {
                return Err(CliError::OutputExists(out.shown(rel)));
            }
        }
    }
    let opened = open_all(&mut s, &jobs)?;
    let total: u64 = jobs.iter().map(|(o, _)| o.meta.size).sum();
    if opened.len() == 1 {
        let (o, rel) = opened.into_iter().next().expect("one");
        let f = out.create(&rel, a.force)?;
        let bar = progress(o.obj.meta.size, &o.obj.meta.name, s.quiet);
        let r = s.vault.pull_to_file(&o, &f, &|n| bar.inc(n));
        bar.finish_and_clear();
        r.map_err(|e| local(e, f.shown()))?;
        f.commit(Some(o.obj.meta.mtime))?;
        s.say(&format!(
            "pulled {} ({}, id {}) to {}",
            o.obj.meta.name,
            human(o.obj.meta.size),
            short(&o.obj.id),
            out.shown(&rel).display()
        ));
    } else {
        let n = opened.len();
        let bar = progress(total, &format!("{n} files"), s.quiet);
        let k = s.vault.transfers();
        let results = s.vault.on_connections(k, opened, |t, (o, rel)| {
            let f = match out.create(&rel, a.force) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            let mut w = Counting { f, bar: &bar };
            match pull_on(t, &o, &mut w) {
                Ok(_) => {}
                Err(RemoteError::Io(e)) => {
                    return Ok(Err(CliError::Output(w.f.shown().to_path_buf(), e)));
                }
                Err(e) => return Err(e),
            }
            Ok(w.f.commit(Some(o.obj.meta.mtime)))
        })?;
        bar.finish_and_clear();
        let mut failed = 0;
        for r in results {
            if let Err(e) = r {
                failed += 1;
                eprintln!("vault: {}", printable(&e.to_string()));
            }
        }
        if failed > 0 {
            return Err(CliError::Usage(format!(
                "{failed} of {n} object(s) could not be written (see above); the others were"
            )));
        }
        s.say(&format!(
            "pulled {n} objects ({}) to {}",
            human(total),
            dir.display()
        ));
    }
    s.done();
    Ok(())
}

/// Open each object's head (from the cache when it has them), with the
/// user's identities.
fn open_all(s: &mut Session, jobs: &[(Object, String)]) -> Result<Vec<(Opened, String)>, CliError> {
    let (vault, ids) = s.vault_ids()?;
    jobs.iter()
        .map(|(o, rel)| Ok((vault.open_object(o, ids)?, rel.clone())))
        .collect()
}

/// An I/O error of the local side, named by the file it concerns.
fn local(e: RemoteError, shown: &std::path::Path) -> CliError {
    match e {
        RemoteError::Io(e) => CliError::Output(shown.to_path_buf(), e),
        other => other.into(),
    }
}

/// `pull -o FILE` (or `-o -`): the user's own choice of path.
fn pull_to_output(
    s: &mut Session,
    a: &PullArgs,
    o: &Object,
    path: &std::path::Path,
) -> Result<(), CliError> {
    let target = Target::resolve(Some(path), a.force, None)?;
    if a.dry_run {
        println!(
            "pull {} ({}) to {}",
            printable(&o.meta.name),
            human(o.meta.size),
            target.name().display()
        );
        return Ok(());
    }
    let opened = {
        let (vault, ids) = s.vault_ids()?;
        vault.open_object(o, ids)?
    };
    let mut out = target.create(a.force)?;
    // Into standard output (likely a pager on this terminal): no bar
    // unless --progress.
    let hide = s.quiet || (matches!(target, Target::Stdout) && !a.remote.progress);
    let bar = progress(o.meta.size, &o.meta.name, hide);
    let result = match out.positioned() {
        Some(file) => s.vault.pull_to_file(&opened, &file, &|n| bar.inc(n)),
        None => s.vault.pull(&opened, &mut bar.wrap_write(&mut out)),
    };
    bar.finish_and_clear();
    result.map_err(|e| match e {
        RemoteError::Io(e) => CliError::Output(target.name(), e),
        other => other.into(),
    })?;
    out.commit()
        .map_err(|e| CliError::Output(target.name(), e))?;
    if let Target::Regular(p) = &target
        && let Some(t) = super::outdir::representable(o.meta.mtime)
    {
        let _ = std::fs::File::options()
            .write(true)
            .open(p)
            .and_then(|f| f.set_modified(t));
    }
    if !matches!(target, Target::Stdout) {
        s.say(&format!(
            "pulled {} ({}, id {}) to {}",
            o.meta.name,
            human(o.meta.size),
            short(&o.id),
            target.name().display()
        ));
    }
    s.done();
    Ok(())
}

/// A file being pulled that moves the job's progress bar.
struct Counting<'a> {
    f: super::outdir::SafeFile,
    bar: &'a indicatif::ProgressBar,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.f.write(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
