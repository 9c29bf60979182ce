//! The `vault` binary: all behaviour lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    vault::cli::main()
}
