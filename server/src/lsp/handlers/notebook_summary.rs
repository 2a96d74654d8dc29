//! `coral/notebookSummary` (custom request): the `--check --format json` report for one
//! open notebook or percent script, labelled now (not waiting for the debounce).
//!
//! Params: `{"uri": "<notebook, cell or file URI>"}` (`textDocument.uri` and
//! `notebookDocument.uri` are accepted too).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use crate::check::discover::FileKind;
use crate::lsp::document::Document;
use crate::lsp::session::Session;
use crate::lsp::{summary, worker};

/// Method name.
pub const METHOD: &str = "coral/notebookSummary";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotebookSummaryParams {
    pub uri: Option<Uri>,
    pub text_document: Option<Identifier>,
    pub notebook_document: Option<Identifier>,
}

#[derive(Debug, Deserialize)]
pub struct Identifier {
    pub uri: Uri,
}

pub async fn notebook_summary(
    session: &Arc<Session>,
    params: NotebookSummaryParams,
) -> Result<Value> {
    let uri = params
        .uri
        .or(params.notebook_document.map(|d| d.uri))
        .or(params.text_document.map(|d| d.uri))
        .ok_or_else(|| Error::invalid_params("expected {\"uri\": …}"))?;
    let key = session.key_for(&uri).ok_or_else(|| {
        Error::invalid_params(format!("{} is not an open notebook or file", uri.as_str()))
    })?;
    let analysis = worker::label(session, &key)
        .await
        .ok_or_else(Error::internal_error)?;
    // A virtual notebook reports the saved notebook's path when it was found.
    let (saved_path, kind) = session
        .with_document(&key, |state| match &state.document {
            Document::Notebook(_) => (None, FileKind::Ipynb),
            Document::Virtual(v) => (v.saved().map(|s| s.path.clone()), FileKind::Ipynb),
            Document::Text(_) => (None, FileKind::PercentScript),
        })
        .unwrap_or((None, FileKind::Ipynb));
    let path = saved_path.map_or_else(
        || {
            key.to_file_path()
                .map_or_else(|| key.as_str().to_owned(), |p| p.display().to_string())
        },
        |p| p.display().to_string(),
    );
    Ok(summary::report(
        &path,
        key.as_str(),
        kind,
        &analysis.labels,
        &analysis.model,
    ))
}
