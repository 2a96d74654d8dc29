//! The documents the server holds: notebooks (cells with URIs) and Python files (percent
//! scripts are notebooks too).

pub mod notebook;
pub mod percent;
pub mod text;

pub use notebook::{NotebookCellDocument, NotebookDocument};
pub use text::{PositionError, TextDocument};

use coral_core::Notebook;
use tower_lsp_server::ls_types::Uri;

/// An open document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Notebook(NotebookDocument),
    /// A Python file; labelled when it is a `# %%` percent script.
    Text(TextDocument),
}

impl Document {
    /// The notebook coral-core labels: the notebook's cells, the percent script's cells, or
    /// none for a Python file that is not a percent script.
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
        }
    }

    pub fn version(&self) -> i32 {
        match self {
            Document::Notebook(nb) => nb.version(),
            Document::Text(text) => text.version(),
        }
    }

    /// The URIs that diagnostics go to: every cell of a notebook, or the file itself.
    pub fn diagnostic_uris(&self, own: &Uri) -> Vec<Uri> {
        match self {
            Document::Notebook(nb) => nb.cell_uris().cloned().collect(),
            Document::Text(_) => vec![own.clone()],
        }
    }
}
