//! The `vault` binary: the command line ([`cli`]) over the `vault` library.
#![deny(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
