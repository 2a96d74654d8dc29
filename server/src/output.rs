//! The one place that writes to stdout: the finished report of `--check`.
//!
//! The crate denies `clippy::print_stdout` everywhere; this module does not need the `allow`
//! because it writes through a locked `io::stdout()` instead of `print!`, which would panic on
//! a closed pipe (`coral-lsp --check . | head`).

use std::io::{self, Write};

/// Writes `report` to stdout. A reader that went away (broken pipe) is not an error.
pub fn write_report(report: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
