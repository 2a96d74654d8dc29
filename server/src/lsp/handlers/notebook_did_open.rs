//! `notebookDocument/didOpen`: stores the notebook and starts its worker.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenNotebookDocumentParams;
use tower_lsp_server::Client;

use crate::lsp::document::{Document, NotebookDocument};
use crate::lsp::session::Session;
use crate::lsp::worker;

pub fn notebook_did_open(
    session: &Arc<Session>,
    client: &Client,
    params: DidOpenNotebookDocumentParams,
) {
    let key = params.notebook_document.uri.clone();
    let notebook = NotebookDocument::open(params);
    tracing::debug!(
        "opened notebook {} ({}, {} cells, version {})",
        key.as_str(),
        notebook.notebook_type(),
        notebook.cells().len(),
        notebook.version()
    );
    let receiver = session.open(key.clone(), Document::Notebook(notebook));
    worker::spawn(session.clone(), client.clone(), key, receiver);
}
