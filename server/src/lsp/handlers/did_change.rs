//! `textDocument/didChange`: incremental edits to a Python file or a virtual notebook. A change
//! whose version does not rise, or that names a position the file does not have, is ignored —
//! except the resend jupyterlab-lsp makes right after `didOpen` (`LspWsConnection.sendOpen`
//! sends the whole text again under the same version), which changes nothing.

use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, TextDocumentContentChangeEvent};

use crate::lsp::document::TextDocument;
use crate::lsp::session::Session;

pub fn did_change(session: &Arc<Session>, params: DidChangeTextDocumentParams) {
    let key = params.text_document.uri;
    let version = params.text_document.version;
    let encoding = session.encoding();
    let changes = params.content_changes;
    let result = session.change(&key, |document| {
        let Some(text) = document.text_document_mut() else {
            return (
                Err("is a notebook; use notebookDocument/didChange".to_owned()),
                None,
            );
        };
        if version <= text.version() {
            if version == text.version() && resends_the_text(text, &changes) {
                return (Ok(()), None);
            }
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

/// A change that replaces the whole text with the text the document already has.
fn resends_the_text(text: &TextDocument, changes: &[TextDocumentContentChangeEvent]) -> bool {
    matches!(changes, [only] if only.range.is_none() && only.text == text.text())
}
