//! `textDocument/didSave`: a saved virtual notebook is labelled again, so that the `.ipynb`
//! just written is read and its cells give exact boundaries (jupyterlab-lsp sends `didSave`
//! when `JupyterLab` saves the notebook). Other documents need nothing.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::lsp::document::DocumentKind;
use crate::lsp::session::Session;

pub fn did_save(session: &Arc<Session>, params: &DidSaveTextDocumentParams) {
    let key = &params.text_document.uri;
    let is_virtual = session
        .with_document(key, |state| state.document.kind() == DocumentKind::Virtual)
        .unwrap_or(false);
    if is_virtual {
        session.touch(key);
    }
}
