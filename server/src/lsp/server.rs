//! The language server: [`CoralServer`] implements tower-lsp-server's `LanguageServer` by
//! handing each method to its file in [`super::handlers`].

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DidChangeConfigurationParams, DidChangeNotebookDocumentParams, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidCloseNotebookDocumentParams, DidCloseTextDocumentParams,
    DidOpenNotebookDocumentParams, DidOpenTextDocumentParams, DidSaveNotebookDocumentParams,
    DidSaveTextDocumentParams, Hover, HoverParams, InitializeParams, InitializeResult,
    InitializedParams, InlayHint, InlayHintParams,
};
use tower_lsp_server::{Client, LanguageServer};

use super::handlers;
use super::handlers::notebook_summary::NotebookSummaryParams;
use super::session::Session;
use super::LspOptions;

/// The coral language server.
pub struct CoralServer {
    client: Client,
    session: Arc<Session>,
}

impl CoralServer {
    pub fn new(client: Client, options: LspOptions) -> CoralServer {
        CoralServer {
            client,
            session: Arc::new(Session::new(options)),
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// `coral/notebookSummary`.
    pub async fn notebook_summary(&self, params: NotebookSummaryParams) -> Result<Value> {
        handlers::notebook_summary::notebook_summary(&self.session, params).await
    }
}

impl LanguageServer for CoralServer {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        handlers::initialize::initialize(&self.session, params).await
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialized::initialized(&self.session, &self.client).await;
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutting down");
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open::did_open(&self.session, &self.client, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::did_change::did_change(&self.session, params);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::did_save::did_save(&self.session, &params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::did_close(&self.session, &self.client, params).await;
    }

    async fn notebook_did_open(&self, params: DidOpenNotebookDocumentParams) {
        handlers::notebook_did_open::notebook_did_open(&self.session, &self.client, params);
    }

    async fn notebook_did_change(&self, params: DidChangeNotebookDocumentParams) {
        handlers::notebook_did_change::notebook_did_change(&self.session, params);
    }

    async fn notebook_did_save(&self, _: DidSaveNotebookDocumentParams) {}

    async fn notebook_did_close(&self, params: DidCloseNotebookDocumentParams) {
        handlers::notebook_did_close::notebook_did_close(&self.session, &self.client, params).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::did_change_configuration::did_change_configuration(
            &self.session,
            &self.client,
            params,
        )
        .await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        handlers::did_change_watched_files::did_change_watched_files(
            &self.session,
            &self.client,
            &params,
        )
        .await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover::hover(&self.session, &params)
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        Ok(handlers::inlay_hint::inlay_hint(&self.session, &params))
    }
}
