//! A notebook document (LSP 3.17 `notebookDocument/*`): its cells in order, each a text
//! document with its own URI. After `ruff_server`'s notebook model: a change is applied in the
//! protocol's order — structure, data, text, metadata — and a cell that moves keeps its text.

use std::collections::HashMap;

use coral_core::{Cell, CellKind, Notebook};
use tower_lsp_server::ls_types::{
    DidOpenNotebookDocumentParams, LSPObject, NotebookCell, NotebookCellKind,
    NotebookDocumentChangeEvent, TextDocumentItem, Uri,
};

use super::text::TextDocument;
use crate::lsp::encoding::PositionEncoding;

/// One cell: its URI, kind and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookCellDocument {
    pub uri: Uri,
    pub kind: NotebookCellKind,
    pub document: TextDocument,
}

impl NotebookCellDocument {
    /// A code cell whose text is Python (the cells coral labels).
    pub fn is_python_code(&self) -> bool {
        self.kind == NotebookCellKind::CODE && is_python(self.document.language_id())
    }

    fn core_kind(&self) -> CellKind {
        if self.kind == NotebookCellKind::MARKUP {
            CellKind::Markdown
        } else if self.is_python_code() {
            CellKind::Code
        } else {
            CellKind::Raw
        }
    }
}

/// Whether a cell's language id is Python.
pub fn is_python(language_id: &str) -> bool {
    matches!(
        language_id.to_ascii_lowercase().as_str(),
        "python" | "ipython" | "py" | "python3"
    )
}

/// An open notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookDocument {
    uri: Uri,
    notebook_type: String,
    version: i32,
    metadata: Option<LSPObject>,
    cells: Vec<NotebookCellDocument>,
}

/// What one `didChange` did, for the cell index and for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// Whether the cells changed (structure, kinds or text): labels must be redone.
    pub changed: bool,
    /// Cells whose text changed (or that are new).
    pub touched: Vec<Uri>,
    /// Problems with parts of the change that were skipped.
    pub problems: Vec<String>,
}

impl NotebookDocument {
    pub fn open(params: DidOpenNotebookDocumentParams) -> NotebookDocument {
        let mut texts: HashMap<Uri, TextDocumentItem> = params
            .cell_text_documents
            .into_iter()
            .map(|item| (item.uri.clone(), item))
            .collect();
        let notebook = params.notebook_document;
        let cells = notebook
            .cells
            .into_iter()
            .map(|cell| {
                let document = texts.remove(&cell.document).map_or_else(
                    || TextDocument::new(String::new(), 0, ""),
                    |item| TextDocument::new(item.text, item.version, item.language_id),
                );
                NotebookCellDocument {
                    uri: cell.document,
                    kind: cell.kind,
                    document,
                }
            })
            .collect();
        NotebookDocument {
            uri: notebook.uri,
            notebook_type: notebook.notebook_type,
            version: notebook.version,
            metadata: notebook.metadata,
            cells,
        }
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    pub fn notebook_type(&self) -> &str {
        &self.notebook_type
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn metadata(&self) -> Option<&LSPObject> {
        self.metadata.as_ref()
    }

    pub fn cells(&self) -> &[NotebookCellDocument] {
        &self.cells
    }

    /// The cell with `uri` and its index.
    pub fn cell(&self, uri: &Uri) -> Option<(usize, &NotebookCellDocument)> {
        self.cells.iter().enumerate().find(|(_, c)| &c.uri == uri)
    }

    /// The cell URIs, in order.
    pub fn cell_uris(&self) -> impl Iterator<Item = &Uri> {
        self.cells.iter().map(|c| &c.uri)
    }

    /// The notebook as coral-core sees it: one cell per LSP cell, in order (so indices agree);
    /// code cells in another language than Python are raw cells.
    pub fn to_core(&self) -> Notebook {
        Notebook {
            cells: self
                .cells
                .iter()
                .map(|c| Cell {
                    kind: c.core_kind(),
                    source: c.document.text().to_owned(),
                })
                .collect(),
        }
    }

    /// Applies one `notebookDocument/didChange` (the caller has checked that `version` rises).
    /// Parts that name cells the notebook does not have, or positions a cell does not have,
    /// are skipped and reported; the rest is applied.
    pub fn apply_change(
        &mut self,
        change: NotebookDocumentChangeEvent,
        version: i32,
        encoding: PositionEncoding,
    ) -> ChangeOutcome {
        let mut outcome = ChangeOutcome::default();
        if let Some(cells) = change.cells {
            if let Some(structure) = cells.structure {
                let opened: HashMap<Uri, TextDocumentItem> = structure
                    .did_open
                    .unwrap_or_default()
                    .into_iter()
                    .map(|item| (item.uri.clone(), item))
                    .collect();
                self.apply_structure(
                    structure.array.start,
                    structure.array.delete_count,
                    structure.array.cells.unwrap_or_default(),
                    opened,
                    &mut outcome,
                );
                outcome.changed = true;
                // `didClose` needs no work: a closed cell left the array with the deletion,
                // and a cell that was moved is back in it with its text.
            }
            for data in cells.data.unwrap_or_default() {
                match self.cells.iter_mut().find(|c| c.uri == data.document) {
                    Some(cell) => {
                        if cell.kind != data.kind {
                            cell.kind = data.kind;
                            outcome.changed = true;
                            outcome.touched.push(cell.uri.clone());
                        }
                    }
                    None => outcome.problems.push(format!(
                        "cell data for {} names no cell of the notebook",
                        data.document.as_str()
                    )),
                }
            }
            for text in cells.text_content.unwrap_or_default() {
                let uri = text.document.uri;
                let Some(cell) = self.cells.iter_mut().find(|c| c.uri == uri) else {
                    outcome.problems.push(format!(
                        "text change for {} names no cell of the notebook",
                        uri.as_str()
                    ));
                    continue;
                };
                if text.document.version <= cell.document.version() && cell.document.version() > 0 {
                    outcome.problems.push(format!(
                        "text change for {} has version {}, not above {}; ignored",
                        uri.as_str(),
                        text.document.version,
                        cell.document.version()
                    ));
                    continue;
                }
                match cell
                    .document
                    .apply_changes(&text.changes, text.document.version, encoding)
                {
                    Ok(()) => {
                        outcome.changed = true;
                        outcome.touched.push(uri);
                    }
                    Err(e) => outcome
                        .problems
                        .push(format!("text change for {} rejected: {e}", uri.as_str())),
                }
            }
        }
        if let Some(metadata) = change.metadata {
            self.metadata = Some(metadata);
        }
        self.version = version;
        outcome
    }

    fn apply_structure(
        &mut self,
        start: u32,
        delete_count: u32,
        inserted: Vec<NotebookCell>,
        mut opened: HashMap<Uri, TextDocumentItem>,
        outcome: &mut ChangeOutcome,
    ) {
        let len = self.cells.len();
        let start_index = start as usize;
        if start_index > len {
            outcome.problems.push(format!(
                "cell array change starts at {start} but the notebook has {len} cells; appended at the end"
            ));
        }
        let start_index = start_index.min(len);
        let end = start_index.saturating_add(delete_count as usize).min(len);
        let mut removed: HashMap<Uri, NotebookCellDocument> = self
            .cells
            .drain(start_index..end)
            .map(|c| (c.uri.clone(), c))
            .collect();
        let mut new_cells = Vec::with_capacity(inserted.len());
        for cell in inserted {
            let document = if let Some(item) = opened.remove(&cell.document) {
                TextDocument::new(item.text, item.version, item.language_id)
            } else if let Some(moved) = removed.remove(&cell.document) {
                moved.document
            } else {
                outcome.problems.push(format!(
                    "new cell {} came without its text; treating it as empty",
                    cell.document.as_str()
                ));
                TextDocument::new(String::new(), 0, "")
            };
            outcome.touched.push(cell.document.clone());
            new_cells.push(NotebookCellDocument {
                uri: cell.document,
                kind: cell.kind,
                document,
            });
        }
        // Drop any stale duplicate of a URI that is being inserted again.
        self.cells
            .retain(|c| !new_cells.iter().any(|n| n.uri == c.uri));
        let at = start_index.min(self.cells.len());
        self.cells.splice(at..at, new_cells);
        for (uri, item) in opened {
            // A `didOpen` for a cell that is not in the array: it may update an existing cell.
            match self.cells.iter_mut().find(|c| c.uri == uri) {
                Some(cell) => {
                    cell.document = TextDocument::new(item.text, item.version, item.language_id);
                    outcome.touched.push(uri);
                }
                None => outcome.problems.push(format!(
                    "didOpen for {} names no cell of the notebook",
                    uri.as_str()
                )),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{
        NotebookCellArrayChange, NotebookDocumentCellChange, NotebookDocumentCellChangeStructure,
        NotebookDocumentChangeTextContent, Position, Range, TextDocumentContentChangeEvent,
        TextDocumentIdentifier, VersionedTextDocumentIdentifier,
    };

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    fn cell(name: &str, kind: NotebookCellKind) -> NotebookCell {
        NotebookCell {
            kind,
            document: uri(name),
            metadata: None,
            execution_summary: None,
        }
    }

    fn item(name: &str, text: &str, language: &str) -> TextDocumentItem {
        TextDocumentItem::new(uri(name), language.to_owned(), 1, text.to_owned())
    }

    fn open() -> NotebookDocument {
        NotebookDocument::open(DidOpenNotebookDocumentParams {
            notebook_document: tower_lsp_server::ls_types::NotebookDocument {
                uri: uri("file:///nb.ipynb"),
                notebook_type: "jupyter-notebook".to_owned(),
                version: 1,
                metadata: None,
                cells: vec![
                    cell("cell:a", NotebookCellKind::CODE),
                    cell("cell:b", NotebookCellKind::MARKUP),
                    cell("cell:c", NotebookCellKind::CODE),
                ],
            },
            cell_text_documents: vec![
                item("cell:a", "import pandas as pd", "python"),
                item("cell:b", "## Load", "markdown"),
                item("cell:c", "df = pd.read_csv('x.csv')", "python"),
            ],
        })
    }

    fn structure(
        start: u32,
        delete_count: u32,
        cells: Vec<NotebookCell>,
        did_open: Vec<TextDocumentItem>,
        did_close: Vec<&str>,
    ) -> NotebookDocumentChangeEvent {
        NotebookDocumentChangeEvent {
            metadata: None,
            cells: Some(NotebookDocumentCellChange {
                structure: Some(NotebookDocumentCellChangeStructure {
                    array: NotebookCellArrayChange {
                        start,
                        delete_count,
                        cells: Some(cells),
                    },
                    did_open: Some(did_open),
                    did_close: Some(
                        did_close
                            .into_iter()
                            .map(|u| TextDocumentIdentifier::new(uri(u)))
                            .collect(),
                    ),
                }),
                data: None,
                text_content: None,
            }),
        }
    }

    fn sources(nb: &NotebookDocument) -> Vec<(String, CellKind)> {
        nb.to_core()
            .cells
            .into_iter()
            .map(|c| (c.source, c.kind))
            .collect()
    }

    #[test]
    fn open_keeps_order_and_kinds() {
        let nb = open();
        assert_eq!(
            sources(&nb),
            [
                ("import pandas as pd".to_owned(), CellKind::Code),
                ("## Load".to_owned(), CellKind::Markdown),
                ("df = pd.read_csv('x.csv')".to_owned(), CellKind::Code),
            ]
        );
    }

    #[test]
    fn insert_move_delete() {
        let mut nb = open();
        // Insert a cell at 1.
        let out = nb.apply_change(
            structure(
                1,
                0,
                vec![cell("cell:d", NotebookCellKind::CODE)],
                vec![item("cell:d", "df.head()", "python")],
                vec![],
            ),
            2,
            PositionEncoding::Utf16,
        );
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let names: Vec<&str> = nb.cell_uris().map(|u| u.as_str()).collect();
        assert_eq!(names, ["cell:a", "cell:d", "cell:b", "cell:c"]);
        // Move cell:a to the end: delete 0..4, insert the new order, no didOpen.
        let out = nb.apply_change(
            structure(
                0,
                4,
                vec![
                    cell("cell:d", NotebookCellKind::CODE),
                    cell("cell:b", NotebookCellKind::MARKUP),
                    cell("cell:c", NotebookCellKind::CODE),
                    cell("cell:a", NotebookCellKind::CODE),
                ],
                vec![],
                vec![],
            ),
            3,
            PositionEncoding::Utf16,
        );
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(
            nb.cells()[3].document.text(),
            "import pandas as pd",
            "moves keep text"
        );
        // Delete cell:b.
        nb.apply_change(
            structure(1, 1, vec![], vec![], vec!["cell:b"]),
            4,
            PositionEncoding::Utf16,
        );
        let names: Vec<&str> = nb.cell_uris().map(|u| u.as_str()).collect();
        assert_eq!(names, ["cell:d", "cell:c", "cell:a"]);
        assert_eq!(nb.version(), 4);
    }

    #[test]
    fn bad_parts_are_skipped_not_fatal() {
        let mut nb = open();
        let change = NotebookDocumentChangeEvent {
            metadata: None,
            cells: Some(NotebookDocumentCellChange {
                structure: Some(NotebookDocumentCellChangeStructure {
                    array: NotebookCellArrayChange {
                        start: 99,
                        delete_count: 7,
                        cells: None,
                    },
                    did_open: None,
                    did_close: None,
                }),
                data: Some(vec![cell("cell:zzz", NotebookCellKind::CODE)]),
                text_content: Some(vec![
                    NotebookDocumentChangeTextContent {
                        document: VersionedTextDocumentIdentifier::new(uri("cell:nope"), 5),
                        changes: vec![],
                    },
                    NotebookDocumentChangeTextContent {
                        document: VersionedTextDocumentIdentifier::new(uri("cell:a"), 2),
                        changes: vec![TextDocumentContentChangeEvent {
                            range: Some(Range::new(Position::new(40, 0), Position::new(41, 0))),
                            range_length: None,
                            text: String::new(),
                        }],
                    },
                    NotebookDocumentChangeTextContent {
                        document: VersionedTextDocumentIdentifier::new(uri("cell:c"), 1),
                        changes: vec![],
                    },
                ]),
            }),
        };
        let out = nb.apply_change(change, 2, PositionEncoding::Utf16);
        assert_eq!(out.problems.len(), 5, "{:?}", out.problems);
        assert_eq!(nb.cells().len(), 3);
        assert_eq!(nb.cells()[0].document.text(), "import pandas as pd");
    }
}
