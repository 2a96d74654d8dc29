//! `textDocument/didChange`: incremental edits to a Python file. A change whose version does
//! not rise, or that names a position the file does not have, is ignored.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeTextDocumentParams;

use crate::lsp::document::Document;
use crate::lsp::session::Session;

pub fn did_change(session: &Arc<Session>, params: DidChangeTextDocumentParams) {
    let key = params.text_document.uri;
    let version = params.text_document.version;
    let encoding = session.encoding();
    let changes = params.content_changes;
    let result = session.change(&key, |document| match document {
        Document::Text(text) => {
            if version <= text.version() {
                return (
                    Err(format!(
                        "version {version} is not above {}; change ignored",
                        text.version()
                    )),
                    None,
                );
            }
            match text.apply_changes(&changes, version, encoding) {
                Ok(()) => (Ok(()), Some(vec![key.clone()])),
                Err(e) => (Err(format!("change rejected: {e}")), None),
            }
        }
        Document::Notebook(_) => (
            Err("is a notebook; use notebookDocument/didChange".to_owned()),
            None,
        ),
    });
    match result {
        None => tracing::debug!(
            "textDocument/didChange for {}, which is not open",
            key.as_str()
        ),
        Some(Err(e)) => tracing::warn!("textDocument/didChange for {}: {e}", key.as_str()),
        Some(Ok(())) => {}
    }
}
