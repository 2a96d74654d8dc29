//! The saved `.ipynb` behind a `JupyterLab` virtual notebook: where it is, and reading it. This
//! is the server's edge — the only file IO of the language server — so it is async (on the
//! blocking pool), bounded in size and time, and never an error: a notebook that cannot be read
//! only means the cells are split from the text alone.
//!
//! Where: jupyterlab-lsp names the virtual document after the notebook's path under
//! jupyter-lsp's virtual documents folder (`<root>/.virtual_documents/<path>`; the folder is
//! `LanguageServerManager.virtual_documents_dir`, `$JP_LSP_VIRTUAL_DIR`, default
//! `.virtual_documents`). When another server asks for documents on disk, jupyter-lsp writes the
//! *virtual text* there under the same name, so that file is never taken for the notebook
//! unless it parses as one. The coral spec (`jupyterlab-coral`) passes the folder in
//! `$CORAL_JUPYTER_VIRTUAL_DIR`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use coral_core::Notebook;
use tower_lsp_server::ls_types::Uri;

use super::document::virtual_notebook::{DiskStamp, SavedNotebook};
use super::document::Document;
use super::session::Session;

/// Largest notebook read.
pub const MAX_BYTES: u64 = 64 << 20;
/// How long one look at the disk (stat or read) may take.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// jupyter-lsp's default virtual documents folder.
pub const DEFAULT_VIRTUAL_DIR: &str = ".virtual_documents";

/// The virtual documents folder, relative to the Jupyter root.
pub fn virtual_documents_dir() -> PathBuf {
    ["CORAL_JUPYTER_VIRTUAL_DIR", "JP_LSP_VIRTUAL_DIR"]
        .iter()
        .find_map(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
        .map_or_else(|| PathBuf::from(DEFAULT_VIRTUAL_DIR), PathBuf::from)
}

/// Where the notebook of a virtual document may be, most likely first: the path with the
/// virtual documents folder taken out, then the path itself.
pub fn candidates(path: &Path, virtual_dir: &Path) -> Vec<PathBuf> {
    let parts: Vec<Component<'_>> = path.components().collect();
    let folder: Vec<Component<'_>> = virtual_dir
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let mut out = Vec::new();
    if !folder.is_empty() {
        if let Some(at) = parts
            .windows(folder.len())
            .position(|window| window == folder.as_slice())
        {
            let real: PathBuf = parts[..at]
                .iter()
                .chain(&parts[at + folder.len()..])
                .collect();
            out.push(real);
        }
    }
    out.push(path.to_path_buf());
    out
}

/// Finds and reads the saved notebook of virtual notebook `key` if it changed since the last
/// look, and records it in the session.
pub async fn refresh(session: &Session, key: &Uri) {
    let Some(known) = session.with_document(key, |state| match &state.document {
        Document::Virtual(v) => Some(v.saved().cloned()),
        _ => None,
    }) else {
        return;
    };
    let Some(known) = known else { return };
    let Some(path) = key.to_file_path() else {
        return;
    };
    let found = find(&candidates(&path, &virtual_documents_dir()), known.as_ref()).await;
    let same = match (&found, &known) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    if !same {
        if let Some(saved) = &found {
            tracing::info!(
                "{}: cell boundaries from the saved notebook {}",
                key.as_str(),
                saved.path.display()
            );
        } else {
            tracing::info!(
                "{}: no saved notebook found; cells are split from the text",
                key.as_str()
            );
        }
        session.set_saved(key, found);
    }
}

/// The first candidate that is a readable notebook (`known` again when it is unchanged).
async fn find(
    candidates: &[PathBuf],
    known: Option<&Arc<SavedNotebook>>,
) -> Option<Arc<SavedNotebook>> {
    for path in candidates {
        let at = path.clone();
        let Some(Ok(meta)) = blocking(move || std::fs::metadata(at)).await else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_BYTES {
            continue;
        }
        let stamp = DiskStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        };
        if let Some(known) = known.filter(|k| &k.path == path && k.stamp == stamp) {
            return Some(known.clone());
        }
        let at = path.clone();
        let Some(Ok(bytes)) = blocking(move || std::fs::read(at)).await else {
            continue;
        };
        match Notebook::from_ipynb(&bytes) {
            Ok(notebook) => {
                return Some(Arc::new(SavedNotebook {
                    path: path.clone(),
                    stamp,
                    notebook,
                }))
            }
            Err(e) => tracing::debug!("{}: not a notebook ({e})", path.display()),
        }
    }
    None
}

/// Runs file IO on the blocking pool; `None` when it takes longer than [`IO_TIMEOUT`] (the
/// thread is left to finish on its own; nothing waits for it).
async fn blocking<T: Send + 'static>(io: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::time::timeout(IO_TIMEOUT, tokio::task::spawn_blocking(io)).await {
        Ok(Ok(value)) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_virtual_documents_folder_is_taken_out_first() {
        let dir = Path::new(DEFAULT_VIRTUAL_DIR);
        assert_eq!(
            candidates(Path::new("/home/a/.virtual_documents/sub/nb.ipynb"), dir),
            [
                PathBuf::from("/home/a/sub/nb.ipynb"),
                PathBuf::from("/home/a/.virtual_documents/sub/nb.ipynb")
            ]
        );
        assert_eq!(
            candidates(Path::new("/home/a/nb.ipynb"), dir),
            [PathBuf::from("/home/a/nb.ipynb")]
        );
        assert_eq!(
            candidates(Path::new("/r/x/.vd/nb.ipynb"), Path::new("x/.vd")),
            [
                PathBuf::from("/r/nb.ipynb"),
                PathBuf::from("/r/x/.vd/nb.ipynb")
            ]
        );
    }

    #[tokio::test]
    async fn reads_notebooks_and_skips_what_is_not_one() {
        let dir = tempfile::tempdir().unwrap();
        let shadow = dir.path().join("shadow.ipynb");
        std::fs::write(&shadow, "import pandas as pd\n").unwrap();
        let real = dir.path().join("real.ipynb");
        std::fs::write(
            &real,
            r#"{"nbformat": 4, "cells": [{"cell_type": "code", "source": ["x = 1"]}]}"#,
        )
        .unwrap();
        let fifo_like = dir.path().join("folder.ipynb");
        std::fs::create_dir(&fifo_like).unwrap();
        let list = [
            fifo_like,
            shadow,
            dir.path().join("missing.ipynb"),
            real.clone(),
        ];
        let found = find(&list, None).await.unwrap();
        assert_eq!(found.path, real);
        assert_eq!(found.notebook.cells.len(), 1);
        let again = find(&list, Some(&found)).await.unwrap();
        assert!(
            Arc::ptr_eq(&found, &again),
            "unchanged file is not read again"
        );
    }
}
