//! `vault completions SHELL` and `vault man`: shell completions
//! (`clap_complete`) and manual pages (`clap_mangen`), generated from the
//! same clap definition the parser uses, so they cannot drift from it.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::error::CliError;

/// `vault completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `vault man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write vault.1 and a page per command (vault-push.1, ...) into DIR
    /// instead of printing vault.1
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

fn stdout_err(e: std::io::Error) -> CliError {
    CliError::Output("<stdout>".into(), e)
}

/// Print the completion script for `a.shell`.
pub fn completions(a: &CompletionsArgs) -> Result<(), CliError> {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "vault", &mut buf);
    std::io::stdout().lock().write_all(&buf).map_err(stdout_err)
}

/// Print the manual page, or write every page into `a.out_dir`.
pub fn man(a: &ManArgs) -> Result<(), CliError> {
    let cmd = super::Cli::command();
    match &a.out_dir {
        Some(dir) => {
            clap_mangen::generate_to(cmd, dir).map_err(|e| CliError::Output(dir.clone(), e))?;
            eprintln!("vault: wrote the manual pages to {}", dir.display());
            Ok(())
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(stdout_err)?;
            std::io::stdout().lock().write_all(&buf).map_err(stdout_err)
        }
    }
}
