//! The documents the server holds: notebooks (cells with URIs), Python files (percent scripts
//! are notebooks too) and `JupyterLab`'s virtual notebooks (one Python text per notebook).

pub mod jupyterlab;
pub mod notebook;
pub mod percent;
pub mod text;
pub mod virtual_notebook;

pub use notebook::{NotebookCellDocument, NotebookDocument};
pub use text::{PositionError, TextDocument};
pub use virtual_notebook::VirtualNotebook;

use coral_core::Notebook;
use tower_lsp_server::ls_types::Uri;

/// An open document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Notebook(NotebookDocument),
    /// A Python file; labelled when it is a `# %%` percent script.
    Text(TextDocument),
    /// A notebook sent as one Python text (`JupyterLab` through jupyter-lsp).
    Virtual(VirtualNotebook),
}

/// Which kind of document, for what the surfaces show by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Notebook,
    Text,
    Virtual,
}

impl Document {
    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Notebook(_) => DocumentKind::Notebook,
            Document::Text(_) => DocumentKind::Text,
            Document::Virtual(_) => DocumentKind::Virtual,
        }
    }

    /// The notebook coral-core labels: the notebook's cells, the percent script's cells, the
    /// virtual notebook's recovered cells, or none for a Python file that is not a percent
    /// script.
    pub fn to_core(&self) -> Notebook {
        match self {
            Document::Notebook(nb) => nb.to_core(),
            Document::Text(text) => {
                if Notebook::is_percent_script(text.text()) {
                    Notebook::from_percent_script(text.text())
                } else {
                    Notebook::default()
                }
            }
            Document::Virtual(virtual_notebook) => virtual_notebook.recover().notebook(),
        }
    }

    pub fn version(&self) -> i32 {
        match self {
            Document::Notebook(nb) => nb.version(),
            Document::Text(text) => text.version(),
            Document::Virtual(virtual_notebook) => virtual_notebook.text().version(),
        }
    }

    /// The text of a text document (a Python file or a virtual notebook).
    pub fn text_document(&self) -> Option<&TextDocument> {
        match self {
            Document::Notebook(_) => None,
            Document::Text(text) => Some(text),
            Document::Virtual(virtual_notebook) => Some(virtual_notebook.text()),
        }
    }

    /// As [`Document::text_document`], to edit.
    pub fn text_document_mut(&mut self) -> Option<&mut TextDocument> {
        match self {
            Document::Notebook(_) => None,
            Document::Text(text) => Some(text),
            Document::Virtual(virtual_notebook) => Some(virtual_notebook.text_mut()),
        }
    }

    /// The URIs that diagnostics go to: every cell of a notebook, or the file itself.
    pub fn diagnostic_uris(&self, own: &Uri) -> Vec<Uri> {
        match self {
            Document::Notebook(nb) => nb.cell_uris().cloned().collect(),
            Document::Text(_) | Document::Virtual(_) => vec![own.clone()],
        }
    }
}
