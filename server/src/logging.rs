//! Logging, for the command line and the language server alike: to stderr (stdout carries the
//! report or the protocol) or, in the server, to a log file, at a level the client's settings
//! may change while it runs. One precedence everywhere: the `--log-level` flag (or the
//! server's initial level), then `CORAL_LOG`, then `RUST_LOG`, then the mode's default (`warn`
//! for `--check`, `info` for the server).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Environment variable with the initial filter (before `RUST_LOG`).
pub const LOG_ENV: &str = "CORAL_LOG";

/// The filter for `level`, else `CORAL_LOG`, else `RUST_LOG`, else `default`; an invalid
/// filter falls through to the next.
fn filter(level: Option<&str>, default: &str) -> EnvFilter {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    [
        level.map(str::to_owned),
        from_env(LOG_ENV),
        from_env("RUST_LOG"),
    ]
    .into_iter()
    .flatten()
    .find_map(|f| EnvFilter::try_new(f).ok())
    .unwrap_or_else(|| EnvFilter::new(default))
}

/// Sets up tracing on stderr for the command line (`--check`).
pub fn init_cli(level: Option<&str>) {
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(level, "warn"))
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();
static FILE: Mutex<Option<File>> = Mutex::new(None);

/// Writes to the log file when one is set, else to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogTarget;

impl Write for LogTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = FILE.lock().unwrap_or_else(PoisonError::into_inner);
        match file.as_ref() {
            Some(mut f) => f.write(buf),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let file = FILE.lock().unwrap_or_else(PoisonError::into_inner);
        match file.as_ref() {
            Some(mut f) => f.flush(),
            None => io::stderr().flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogTarget {
    type Writer = LogTarget;

    fn make_writer(&'a self) -> Self::Writer {
        LogTarget
    }
}

/// Builds the server's subscriber (level from `level`, else `CORAL_LOG`, else `RUST_LOG`, else
/// `info`) and
/// installs it for the process. When the process already has one (the command line set up its
/// own), the returned dispatcher must be made the default of the server's threads instead
/// ([`enter`]). `None` when it was installed globally.
pub fn init(level: Option<&str>) -> Option<Dispatch> {
    let (layer, handle) = reload::Layer::new(filter(level, "info"));
    let subscriber = tracing_subscriber::registry().with(layer).with(
        tracing_subscriber::fmt::layer()
            .with_writer(LogTarget)
            .with_ansi(false)
            .with_target(false),
    );
    let dispatch = Dispatch::new(subscriber);
    let _ = FILTER.set(handle);
    match tracing::dispatcher::set_global_default(dispatch.clone()) {
        Ok(()) => None,
        Err(_) => Some(dispatch),
    }
}

/// Makes `dispatch` this thread's default for the rest of the thread's life.
pub fn enter(dispatch: &Dispatch) {
    std::mem::forget(tracing::dispatcher::set_default(dispatch));
}

/// Applies the `logLevel` and `logFile` settings. Returns a message for what failed.
pub fn apply(level: Option<&str>, file: Option<&Path>) -> Vec<String> {
    let mut problems = Vec::new();
    if let (Some(level), Some(handle)) = (level, FILTER.get()) {
        match EnvFilter::try_new(level) {
            Ok(filter) => {
                if let Err(e) = handle.reload(filter) {
                    problems.push(format!("logLevel: {e}"));
                }
            }
            Err(e) => problems.push(format!("logLevel `{level}`: {e}")),
        }
    }
    let mut slot = FILE.lock().unwrap_or_else(PoisonError::into_inner);
    match file {
        Some(path) => match File::options().create(true).append(true).open(path) {
            Ok(f) => *slot = Some(f),
            Err(e) => problems.push(format!("logFile {}: {e}", path.display())),
        },
        None => *slot = None,
    }
    problems
}
