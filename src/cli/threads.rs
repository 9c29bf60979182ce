//! How many threads (or connections) a command uses: `--threads N`, else
//! `VAULT_THREADS`, else a default.
//!
//! One rule checks both sources: a whole number from 1 to [`MAX_THREADS`];
//! anything else is a usage error naming where it came from (`--threads
//! must be ...`, `VAULT_THREADS must be ...`), never silently replaced by
//! the default. clap's `env` and range parsers cannot say which source was
//! wrong in vault's one-line form, and push and pull cap the variable at
//! their connection limit instead of refusing it (one setting serves every
//! command), so both sources are checked here, by one function.

use super::error::CliError;

/// Most worker threads `--threads` or `VAULT_THREADS` may ask for.
pub const MAX_THREADS: usize = 1024;

/// The environment variable.
pub const ENV: &str = "VAULT_THREADS";

fn check(source: &str, value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{source} must be a whole number from 1 to {MAX_THREADS}, not {value:?}"
        )),
    }
}

/// `flag` (the `--threads` value), else `VAULT_THREADS`, else `default`;
/// a value from the variable is capped at `cap`.
pub fn resolve(flag: Option<&str>, default: usize, cap: usize) -> Result<usize, CliError> {
    if let Some(v) = flag {
        return check("--threads", v).map_err(CliError::Usage);
    }
    match std::env::var_os(ENV) {
        Some(v) => check(ENV, &v.to_string_lossy())
            .map(|n| n.min(cap))
            .map_err(CliError::Usage),
        None => Ok(default),
    }
}

/// Worker threads for `seal` and `open`: every core the process may use by
/// default.
pub fn for_payload(flag: Option<&str>) -> Result<usize, CliError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    resolve(flag, cores, MAX_THREADS)
}
