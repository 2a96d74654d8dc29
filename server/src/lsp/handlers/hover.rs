//! `textDocument/hover` on a code cell's first line (on any line of a cell in a `JupyterLab`
//! virtual notebook): all five probabilities, the weak rule that fired and the notebook's stage
//! strip. A position the document does not have is an
//! `InvalidParams` error; an unknown document gets no hover.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    Hover, HoverContents, HoverParams, MarkupContent, MarkupKind, Range,
};

use crate::lsp::analysis::hover_markdown;
use crate::lsp::document::{percent, Document};
use crate::lsp::session::Session;

pub fn hover(session: &Arc<Session>, params: &HoverParams) -> Result<Option<Hover>> {
    if !session.client_settings().hover {
        return Ok(None);
    }
    let uri = &params.text_document_position_params.text_document.uri;
    let position = params.text_document_position_params.position;
    let Some(key) = session.key_for(uri) else {
        return Ok(None);
    };
    let encoding = session.encoding();
    let found = session.with_document(&key, |state| -> Result<Option<Hover>> {
        let analysis = state.analysis.as_ref();
        let (text, label) = match &state.document {
            Document::Notebook(notebook) => {
                let Some((_, cell)) = notebook.cell(uri) else {
                    return Ok(None);
                };
                let label = analysis
                    .filter(|_| position.line == 0)
                    .and_then(|a| a.label_for_cell(uri));
                (&cell.document, label)
            }
            // Anywhere in a cell: `JupyterLab` has no other place for the label.
            Document::Virtual(virtual_notebook) => (
                virtual_notebook.text(),
                analysis.and_then(|a| a.label_on_line(uri, position.line)),
            ),
            Document::Text(text) => {
                let index = percent::cell_starts(text.text())
                    .iter()
                    .position(|start| start.line == position.line as usize);
                (
                    text,
                    index.and_then(|i| analysis.and_then(|a| a.label_at(i))),
                )
            }
        };
        text.check(position)
            .map_err(|e| Error::invalid_params(e.to_string()))?;
        let (Some(label), Some(analysis)) = (label, analysis) else {
            return Ok(None);
        };
        let range: Option<Range> = text.line_range(position.line as usize, encoding);
        Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: hover_markdown(label, analysis, label.index),
            }),
            range,
        }))
    });
    found.unwrap_or(Ok(None))
}
