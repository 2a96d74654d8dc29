//! `notebookDocument/didChange`: applies structure, data, text and metadata changes in that
//! order. A change whose version does not rise is ignored.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeNotebookDocumentParams;

use crate::lsp::document::Document;
use crate::lsp::session::Session;

pub fn notebook_did_change(session: &Arc<Session>, params: DidChangeNotebookDocumentParams) {
    let key = params.notebook_document.uri;
    let version = params.notebook_document.version;
    let encoding = session.encoding();
    let change = params.change;
    let result = session.change(&key, move |document| match document {
        Document::Notebook(notebook) => {
            if version <= notebook.version() {
                return (
                    Err(format!(
                        "version {version} is not above {}; change ignored",
                        notebook.version()
                    )),
                    None,
                );
            }
            let outcome = notebook.apply_change(change, version, encoding);
            (
                Ok(outcome.problems),
                outcome.changed.then_some(outcome.touched),
            )
        }
        Document::Text(_) | Document::Virtual(_) => {
            (Err("is a text document, not a notebook".to_owned()), None)
        }
    });
    match result {
        None => tracing::warn!(
            "notebookDocument/didChange for {}, which is not open",
            key.as_str()
        ),
        Some(Err(e)) => tracing::warn!("notebookDocument/didChange for {}: {e}", key.as_str()),
        Some(Ok(problems)) => {
            for problem in problems {
                tracing::warn!("notebookDocument/didChange for {}: {problem}", key.as_str());
            }
        }
    }
}
