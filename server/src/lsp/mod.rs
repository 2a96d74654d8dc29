//! `coral-lsp` as a language server (LSP 3.17 over stdio): stage inlay hints, hover and
//! pipeline diagnostics on notebooks (`notebookDocument/*`), `# %%` percent scripts and
//! `JupyterLab`'s virtual notebooks (one Python text per notebook, through jupyter-lsp).
//!
//! Layout, after `ruff_server`: [`server`] dispatches each LSP method to its own file in
//! [`handlers`]; [`document`] is the notebook/text model; [`session`] holds the state;
//! [`worker`] labels documents off the handler path (debounced, on a snapshot, through the
//! shared [`crate::engine::Engine`]); [`analysis`] turns labels into what the surfaces show.
//!
//! stdout carries the protocol: nothing here prints; logs go to stderr or a log file.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod analysis;
pub mod configure;
pub mod document;
pub mod encoding;
pub mod features;
pub mod handlers;
pub mod ipynb_on_disk;
pub mod server;
pub mod session;
pub mod settings;
pub mod summary;
pub mod worker;

use std::time::Duration;

use tower_lsp_server::{ClientSocket, LspService, Server};

pub use server::CoralServer;

use crate::engine::EngineConfig;
use crate::settings::Layer;

/// Builds the service (for stdio, or for an in-memory transport in tests).
pub fn service(options: impl Into<LspOptions>) -> (LspService<CoralServer>, ClientSocket) {
    let options = options.into();
    LspService::build(|client| CoralServer::new(client, options))
        .custom_method(
            handlers::notebook_summary::METHOD,
            CoralServer::notebook_summary,
        )
        .finish()
}

/// How the server is started. The command line builds it ([`crate::cli`]); this module does not
/// know the command line.
#[derive(Debug, Clone, Default)]
pub struct LspOptions {
    /// What no layer sets (the ONNX Runtime library, the cache size) and the defaults.
    pub engine: EngineConfig,
    /// The command line's settings: over the workspace's `coral.toml`, under the editor's.
    pub cli: Layer,
    /// Initial log filter (else `CORAL_LOG`, else `info`); the `logLevel` setting overrides it.
    pub log_level: Option<String>,
}

impl From<EngineConfig> for LspOptions {
    fn from(engine: EngineConfig) -> LspOptions {
        LspOptions {
            engine,
            ..LspOptions::default()
        }
    }
}

/// Serves LSP over stdin/stdout until the client says `exit`.
pub fn run_stdio(options: LspOptions) -> anyhow::Result<()> {
    let dispatch = crate::logging::init(options.log_level.as_deref());
    if let Some(dispatch) = &dispatch {
        crate::logging::enter(dispatch);
    }
    let thread_dispatch = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("coral-lsp")
        .on_thread_start(move || {
            if let Some(dispatch) = &thread_dispatch {
                crate::logging::enter(dispatch);
            }
        })
        .enable_all()
        .build()?;
    tracing::info!(
        "coral-lsp {} serving LSP on stdio",
        env!("CARGO_PKG_VERSION")
    );
    runtime.block_on(async {
        let (service, socket) = service(options);
        Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    // Labelling still running on a blocking thread must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_millis(500));
    tracing::info!("exited");
    Ok(())
}
