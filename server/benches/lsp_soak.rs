//! Soak of the language server: one `coral-lsp` process on stdio, driven by a real LSP client
//! for ten minutes. 50 notebooks of 100–500 cells are opened; a few at a time are typed in at
//! typing speed, then saved, closed and reopened. Prints edit → diagnostics latency of the
//! edited cell (debounce 0: the server's work), the server's resident memory every 5 s, and the
//! memory after every notebook is closed again.
//!
//! ```text
//! CORAL_LSP=$PWD/target/release/coral-lsp cargo bench --profile dev -p coral-server --bench lsp_soak
//! SOAK_SECONDS=60 SOAK_NOTEBOOKS=20 SOAK_ACTIVE=2 cargo bench ...     # shorter
//! ```
//!
//! `SOAK_CELLS_MIN`/`SOAK_CELLS_MAX` (100/500), `SOAK_ROTATE_SECONDS` (10), `SOAK_ARGS` (extra
//! server arguments, e.g. `--no-model`), `SOAK_SEED`, `SOAK_LOG` (the server's log level, default
//! `warn`) and `SOAK_STDERR` (a file for the server's stderr). `tests/lsp_soak.rs` runs the same code
//! for a few seconds.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "support/lsp_process.rs"]
mod lsp_process;
#[path = "support/soak.rs"]
mod soak;

use std::time::Duration;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let program =
        std::env::var("CORAL_LSP").unwrap_or_else(|_| env!("CARGO_BIN_EXE_coral-lsp").to_owned());
    let args = std::env::var("SOAK_ARGS").unwrap_or_default();
    let args: Vec<&str> = args.split_whitespace().collect();
    let mut spawn = lsp_process::Spawn::new(&program, &args);
    spawn.capture_stderr = true;
    spawn.log_level = env("SOAK_LOG", "warn".to_owned());
    let config = soak::Config {
        spawn,
        notebooks: env("SOAK_NOTEBOOKS", 50),
        cells: (env("SOAK_CELLS_MIN", 100), env("SOAK_CELLS_MAX", 500)),
        active: env("SOAK_ACTIVE", 4),
        keystroke: Duration::from_millis(100),
        rotate: Duration::from_secs_f64(env("SOAK_ROTATE_SECONDS", 10.0)),
        duration: Duration::from_secs_f64(env("SOAK_SECONDS", 600.0)),
        min_cycles: 1,
        sample: Duration::from_secs(5),
        settle: Duration::from_secs(5),
        patience: Duration::from_secs(30),
        seed: env("SOAK_SEED", 16),
    };
    println!("lsp_soak: {program} {}", args.join(" "));
    let report = soak::run(config.clone());
    print!("{}", report.render(&config, Duration::from_secs(30)));
    for line in report.panics() {
        println!("  {line}");
    }
    if let Ok(path) = std::env::var("SOAK_STDERR") {
        std::fs::write(&path, report.stopped.stderr.join("\n")).unwrap();
        println!("server stderr: {path}");
    }
}
