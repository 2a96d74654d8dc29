//! `textDocument/inlayHint`: `EXPLORE 0.91` at the end of each code cell's first line (the
//! marker line in a percent script), from the latest labels.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    InlayHint, InlayHintLabel, InlayHintParams, InlayHintTooltip, Position, Range,
};

use crate::engine::{CellLabel, ModelInfo};
use crate::lsp::analysis::{hint_text, provenance};
use crate::lsp::document::{percent, Document};
use crate::lsp::session::Session;

pub fn inlay_hint(session: &Arc<Session>, params: &InlayHintParams) -> Option<Vec<InlayHint>> {
    if !session.client_settings().inlay_hints {
        return None;
    }
    let uri = &params.text_document.uri;
    let key = session.key_for(uri)?;
    let encoding = session.encoding();
    session
        .with_document(&key, |state| {
            let analysis = state.analysis.as_ref()?;
            let mut hints = Vec::new();
            match &state.document {
                Document::Notebook(notebook) => {
                    let (_, cell) = notebook.cell(uri)?;
                    let label = analysis.label_for_cell(uri)?;
                    let position = cell.document.line_end(0, encoding)?;
                    hints.extend(hint(label, &analysis.model, position, params.range));
                }
                Document::Virtual(_) => {
                    for (label, slot) in analysis.labels.cells.iter().zip(&analysis.label_slots) {
                        let Some(slot) = slot.as_ref().filter(|s| &s.uri == uri) else {
                            continue;
                        };
                        let position = Position::new(slot.line, slot.line_end);
                        hints.extend(hint(label, &analysis.model, position, params.range));
                    }
                }
                Document::Text(text) => {
                    let starts = percent::cell_starts(text.text());
                    for label in &analysis.labels.cells {
                        let Some(start) = starts.get(label.index) else {
                            continue;
                        };
                        if let Some(position) = text.line_end(start.line, encoding) {
                            hints.extend(hint(label, &analysis.model, position, params.range));
                        }
                    }
                }
            }
            Some(hints)
        })
        .flatten()
}

fn hint(
    label: &CellLabel,
    model: &ModelInfo,
    position: Position,
    range: Range,
) -> Option<InlayHint> {
    if position.line < range.start.line || position.line > range.end.line {
        return None;
    }
    Some(InlayHint {
        position,
        label: InlayHintLabel::String(hint_text(label)?),
        kind: None,
        text_edits: None,
        tooltip: Some(InlayHintTooltip::String(provenance(label, model))),
        padding_left: Some(true),
        padding_right: None,
        data: None,
    })
}
