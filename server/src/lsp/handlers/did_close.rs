//! `textDocument/didClose`: forgets a Python file or a virtual notebook and clears its
//! diagnostics.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;
use tower_lsp_server::Client;

use super::notebook_did_close::clear;
use crate::lsp::session::Session;

pub async fn did_close(
    session: &Arc<Session>,
    client: &Client,
    params: DidCloseTextDocumentParams,
) {
    let key = params.text_document.uri;
    let is_text = session
        .with_document(&key, |state| state.document.text_document().is_some())
        .unwrap_or(false);
    if !is_text {
        tracing::debug!(
            "textDocument/didClose for {}, which is not an open file",
            key.as_str()
        );
        return;
    }
    if let Some(uris) = session.close(&key) {
        clear(session, client, uris).await;
    }
}
