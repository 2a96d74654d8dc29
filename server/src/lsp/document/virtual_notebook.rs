//! A notebook that arrives as one Python text document: `JupyterLab`'s virtual document (through
//! jupyter-lsp), `file:///…/notebook.ipynb` with language id `python`. It is a text document
//! (same sync, same positions) plus the saved `.ipynb` when the server could read it; its cells
//! are recovered from both ([`super::jupyterlab::recover`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use coral_core::Notebook;
use tower_lsp_server::ls_types::Uri;

use super::jupyterlab::{recover, Recovery};
use super::notebook::is_python;
use super::text::TextDocument;

/// Identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskStamp {
    pub modified: Option<SystemTime>,
    pub len: u64,
}

/// The saved notebook read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedNotebook {
    pub path: PathBuf,
    pub stamp: DiskStamp,
    pub notebook: Notebook,
}

/// An open virtual notebook document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualNotebook {
    text: TextDocument,
    saved: Option<Arc<SavedNotebook>>,
}

impl VirtualNotebook {
    pub fn new(text: TextDocument) -> VirtualNotebook {
        VirtualNotebook { text, saved: None }
    }

    /// Whether a text document is a virtual notebook: an `.ipynb` URI in Python.
    pub fn is_virtual_notebook(uri: &Uri, language_id: &str) -> bool {
        is_python(language_id)
            && Path::new(uri.path().as_str())
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ipynb"))
    }

    pub fn text(&self) -> &TextDocument {
        &self.text
    }

    pub fn text_mut(&mut self) -> &mut TextDocument {
        &mut self.text
    }

    pub fn saved(&self) -> Option<&Arc<SavedNotebook>> {
        self.saved.as_ref()
    }

    pub fn set_saved(&mut self, saved: Option<Arc<SavedNotebook>>) {
        self.saved = saved;
    }

    /// The cells, recovered from the text and the saved notebook.
    pub fn recover(&self) -> Recovery {
        recover(
            self.text.text(),
            self.saved.as_deref().map(|saved| &saved.notebook),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recognises_jupyterlab_documents() {
        let uri: Uri = "file:///home/a/.virtual_documents/sub/Analysis.IPYNB"
            .parse()
            .unwrap();
        assert!(VirtualNotebook::is_virtual_notebook(&uri, "python"));
        assert!(!VirtualNotebook::is_virtual_notebook(&uri, "r"));
        let py: Uri = "file:///home/a/x.py".parse().unwrap();
        assert!(!VirtualNotebook::is_virtual_notebook(&py, "python"));
    }
}
