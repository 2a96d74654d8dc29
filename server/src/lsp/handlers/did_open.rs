//! `textDocument/didOpen`: Python files (labelled when they are `# %%` percent scripts), and
//! `JupyterLab`'s virtual notebooks (an `.ipynb` URI in Python, sent by jupyter-lsp).

use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;
use tower_lsp_server::Client;

use crate::lsp::document::notebook::is_python;
use crate::lsp::document::{Document, TextDocument, VirtualNotebook};
use crate::lsp::session::Session;
use crate::lsp::worker;

pub fn did_open(session: &Arc<Session>, client: &Client, params: DidOpenTextDocumentParams) {
    let item = params.text_document;
    let virtual_notebook = VirtualNotebook::is_virtual_notebook(&item.uri, &item.language_id);
    let python = virtual_notebook
        || is_python(&item.language_id)
        || std::path::Path::new(item.uri.path().as_str())
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("py"));
    if !python {
        tracing::debug!("ignoring {} ({})", item.uri.as_str(), item.language_id);
        return;
    }
    if session
        .key_for(&item.uri)
        .is_some_and(|key| key != item.uri)
    {
        tracing::debug!(
            "{} is a notebook cell; it is synchronised with its notebook",
            item.uri.as_str()
        );
        return;
    }
    let key = item.uri;
    let text = TextDocument::new(item.text, item.version, item.language_id);
    let document = if virtual_notebook {
        tracing::debug!("{} is a virtual notebook (JupyterLab)", key.as_str());
        Document::Virtual(VirtualNotebook::new(text))
    } else {
        Document::Text(text)
    };
    let receiver = session.open(key.clone(), document);
    worker::spawn(session.clone(), client.clone(), key, receiver);
}
