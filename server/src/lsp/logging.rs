//! Logging for the language server: to stderr (stdout carries the protocol) or to a log
//! file, at a level the client's settings may change while the server runs. The level comes
//! from `CORAL_LOG` (a tracing filter) until a setting says otherwise.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Environment variable with the initial filter.
pub const LOG_ENV: &str = "CORAL_LOG";

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

/// Builds the server's subscriber (level from `level`, else `CORAL_LOG`, else `info`) and
/// installs it for the process. When the process already has one (the command line set up its
/// own), the returned dispatcher must be made the default of the server's threads instead
/// ([`enter`]). `None` when it was installed globally.
pub fn init(level: Option<&str>) -> Option<Dispatch> {
    let filter = level
        .and_then(|l| EnvFilter::try_new(l).ok())
        .or_else(|| EnvFilter::try_from_env(LOG_ENV).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
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
