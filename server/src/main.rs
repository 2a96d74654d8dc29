//! `coral-lsp`: the coral language server (no arguments) and `coral-lsp --check PATH...`.
#![deny(clippy::print_stdout)]

fn main() -> std::process::ExitCode {
    coral_server::cli::main()
}
