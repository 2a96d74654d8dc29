//! The command line (the binary edge: `anyhow` errors with context, exit codes).
//!
//! `coral-lsp --check PATH...` checks notebooks headless; `coral-lsp` with no arguments serves
//! LSP over stdio. [`args`] is what clap parses, [`settings`] turns it (over the configuration
//! file) into settings for either mode, [`run`] runs them.

pub mod args;
pub mod run;
pub mod settings;

pub use args::{Cli, ColorChoice};
pub use run::{main, run, EXIT_ERROR};
pub use settings::{check_settings, lsp_options, CheckSettings};
