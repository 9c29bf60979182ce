//! The command line the vector generators share: `NAME [--check] DIR`
//! (re)writes the vectors into DIR, or with `--check` only compares them,
//! and either way reports every difference and fails on any. The
//! comparison is the same for every generator, so it is here too.

use std::path::Path;
use std::process::ExitCode;

/// What one generator supplies: its vectors, how it writes them (an error
/// already names the file) and how it compares them with a folder.
pub struct Generator<V> {
    pub name: &'static str,
    pub all: fn() -> Vec<V>,
    pub write: fn(&Path, &[V]) -> Result<(), String>,
    pub compare: fn(&Path, &[V]) -> Vec<String>,
}

/// Run `g` on the process's arguments.
pub fn main<V>(g: Generator<V>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (check, dir) = match args.as_slice() {
        [dir] if !dir.starts_with('-') => (false, Path::new(dir)),
        [flag, dir] if flag == "--check" => (true, Path::new(dir)),
        _ => {
            eprintln!("usage: {} [--check] DIR", g.name);
            return ExitCode::from(2);
        }
    };
    let vectors = (g.all)();
    if !check && let Err(e) = (g.write)(dir, &vectors) {
        eprintln!("{}: {e}", g.name);
        return ExitCode::FAILURE;
    }
    let problems = (g.compare)(dir, &vectors);
    for p in &problems {
        eprintln!("{}: {p}", g.name);
    }
    if !problems.is_empty() {
        return ExitCode::FAILURE;
    }
    println!(
        "{} vectors in {} match the generator",
        vectors.len(),
        dir.display()
    );
    ExitCode::SUCCESS
}

/// Differences between the folder `dir` and the `(name, bytes)` files a
/// generator makes: a file missing, unreadable or different, and a file the
/// generator does not make (a `README.md` may stand beside the vectors).
pub fn compare<'a>(dir: &Path, files: impl IntoIterator<Item = (&'a str, Vec<u8>)>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = Vec::new();
    for (name, bytes) in files {
        match std::fs::read(dir.join(name)) {
            Ok(b) if b == bytes => {}
            Ok(_) => problems.push(format!("{name}: differs from the generator's")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
        names.push(name);
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                match entry.map(|e| e.file_name().to_string_lossy().into_owned()) {
                    Ok(n) if n == "README.md" || names.contains(&n.as_str()) => {}
                    Ok(n) => problems.push(format!("{n}: not made by the generator")),
                    Err(e) => problems.push(format!("{}: {e}", dir.display())),
                }
            }
        }
        Err(e) => problems.push(format!("{}: {e}", dir.display())),
    }
    problems
}
