//! `notebookDocument/didClose`: forgets the notebook, stops its worker and clears the
//! diagnostics of all its cells.

use std::sync::Arc;

use tower_lsp_server::ls_types::{DidCloseNotebookDocumentParams, Uri};
use tower_lsp_server::Client;

use crate::lsp::session::Session;

pub async fn notebook_did_close(
    session: &Arc<Session>,
    client: &Client,
    params: DidCloseNotebookDocumentParams,
) {
    let key = params.notebook_document.uri;
    let Some(uris) = session.close(&key) else {
        tracing::warn!(
            "notebookDocument/didClose for {}, which is not open",
            key.as_str()
        );
        return;
    };
    clear(session, client, uris).await;
}

/// Publishes empty diagnostics for `uris`.
pub async fn clear(session: &Arc<Session>, client: &Client, uris: Vec<Uri>) {
    let _guard = session.publish_lock.lock().await;
    for uri in uris {
        client.publish_diagnostics(uri, Vec::new(), None).await;
    }
}
