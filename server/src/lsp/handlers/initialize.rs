//! `initialize`: client capabilities, position encoding, settings from
//! `initializationOptions`, the engine, and the server's capabilities.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    HoverProviderCapability, InitializeParams, InitializeResult, Notebook, NotebookCellSelector,
    NotebookDocumentSyncOptions, NotebookSelector, OneOf, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};

use crate::logging;
use crate::lsp::configure;
use crate::lsp::encoding::PositionEncoding;
use crate::lsp::session::{ClientSupport, Session};

pub async fn initialize(
    session: &Arc<Session>,
    params: InitializeParams,
) -> Result<InitializeResult> {
    let support = ClientSupport::from_capabilities(&params.capabilities);
    session.set_support(support);
    let problems =
        session.set_init_options(params.initialization_options.clone().unwrap_or(Value::Null));
    for problem in problems {
        tracing::warn!("initializationOptions: {problem}");
    }
    // The configuration file is read before the engine first loads; its problems reach the
    // user's log from `initialized`, when the client can take messages.
    for problem in session.set_workspace_root(workspace_root(&params)) {
        tracing::warn!("{problem}");
    }
    let settings = session.client_settings();
    for problem in logging::apply(settings.log_level.as_deref(), settings.log_file.as_deref()) {
        tracing::warn!("{problem}");
    }
    configure::reload_engine(session, true).await;
    tracing::info!(
        "coral-lsp {} initialized; positions in {:?}",
        env!("CARGO_PKG_VERSION"),
        support.encoding
    );
    Ok(InitializeResult {
        capabilities: capabilities(support.encoding),
        server_info: Some(ServerInfo {
            name: "coral-lsp".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
        ..InitializeResult::default()
    })
}

/// The folder `coral.toml` is looked for from: the first workspace folder, else the root URI.
fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    #[allow(deprecated)] // `rootUri` is what older clients send
    let root_uri = params.root_uri.as_ref();
    params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| &folder.uri)
        .or(root_uri)
        .and_then(Uri::to_file_path)
        .map(std::borrow::Cow::into_owned)
}

/// What the server does.
pub fn capabilities(encoding: PositionEncoding) -> ServerCapabilities {
    let cells = |language: &str| NotebookCellSelector {
        language: language.to_owned(),
    };
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                // A saved JupyterLab notebook gives exact cell boundaries: relabel on save.
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        // Python cells of every notebook type; markdown cells too, as context for the model.
        notebook_document_sync: Some(OneOf::Left(NotebookDocumentSyncOptions {
            notebook_selector: vec![NotebookSelector::ByNotebook {
                notebook: Notebook::String("*".to_owned()),
                cells: Some(vec![cells("python"), cells("markdown")]),
            }],
            save: Some(false),
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        experimental: Some(json!({ "coralNotebookSummary": true })),
        ..ServerCapabilities::default()
    }
}
