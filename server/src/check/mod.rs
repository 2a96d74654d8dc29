//! `coral-lsp --check`: find notebooks, label them with the [`Engine`], collect findings and
//! unreadable files into a [`CheckReport`] that the formats in [`crate::report`] print.

pub mod discover;
pub mod locate;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use coral_core::metrics::FindingsConfig;
use coral_core::Notebook;
use rayon::prelude::*;

use crate::engine::{Engine, ModelInfo, NotebookLabels};
use discover::{Discovered, FileKind};

/// Notebooks read and labelled together (bounds memory on large folders; progress steps).
pub const CHUNK: usize = 64;

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    /// Thresholds and the rules that report (`select`/`ignore`), applied by core.
    pub findings: FindingsConfig,
    /// Directory report paths are shown relative to (normally the working directory).
    pub cwd: PathBuf,
    /// Root that SARIF and GitHub URIs are relative to (the repository's top level).
    pub root: PathBuf,
}

/// One checked notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The path as found (relative when the argument was).
    pub path: PathBuf,
    /// Path shown in text and JSON output.
    pub display: String,
    /// URI relative to the repository root (SARIF, GitHub annotations).
    pub uri: String,
    pub kind: FileKind,
    /// 1-based line of each cell (all cells, markdown included) in the file.
    pub cell_lines: Vec<usize>,
    pub labels: NotebookLabels,
}

impl FileReport {
    /// The line of the cell at `index` (line 1 for the notebook as a whole).
    pub fn line_of(&self, cell: Option<usize>) -> usize {
        cell.and_then(|i| self.cell_lines.get(i).copied())
            .unwrap_or(1)
            .max(1)
    }
}

/// A file that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub display: String,
    pub uri: String,
    pub message: String,
}

/// Everything a format needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub model: ModelInfo,
    pub files: Vec<FileReport>,
    pub errors: Vec<FileError>,
}

impl CheckReport {
    pub fn findings(&self) -> usize {
        self.files
            .iter()
            .map(|f| f.labels.report.findings.len())
            .sum()
    }

    pub fn code_cells(&self) -> usize {
        self.files.iter().map(|f| f.labels.cells.len()).sum()
    }

    /// 2 when any file could not be read, else 1 when there are findings, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.errors.is_empty() {
            u8::from(self.findings() > 0)
        } else {
            2
        }
    }
}

/// A parsed notebook and where its cells are in the file.
struct Parsed {
    notebook: Notebook,
    cell_lines: Vec<usize>,
}

fn parse_file(path: &Path, kind: FileKind) -> Result<Parsed, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    match kind {
        FileKind::Ipynb => {
            let notebook = Notebook::from_ipynb(&bytes).map_err(|e| e.to_string())?;
            Ok(Parsed {
                cell_lines: locate::ipynb_cell_lines(&bytes),
                notebook,
            })
        }
        FileKind::PercentScript => {
            let text = String::from_utf8(bytes).map_err(|e| {
                format!(
                    "not valid UTF-8 (byte {}); coral reads UTF-8 Python files",
                    e.utf8_error().valid_up_to()
                )
            })?;
            Ok(Parsed {
                cell_lines: locate::percent_cell_lines(&text),
                notebook: Notebook::from_percent_script(&text),
            })
        }
    }
}

/// Shows `path` relative to `base` when it is below it.
pub fn display_path(path: &Path, base: &Path) -> String {
    let shown = if path.is_absolute() {
        path.strip_prefix(base).unwrap_or(path)
    } else {
        path
    };
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// The URI of `path` relative to `root` (percent-encoded, `/`-separated), or a `file://` URI
/// when it is outside.
pub fn relative_uri(path: &Path, cwd: &Path, root: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match absolute.strip_prefix(&root) {
        Ok(relative) => {
            let parts: Vec<String> = relative
                .components()
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect();
            parts.join("/")
        }
        Err(_) => format!(
            "file://{}",
            percent_encode(&absolute.to_string_lossy()).replace("%2F", "/")
        ),
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The repository top level containing `dir` (a folder with `.git`), else `dir` itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Checks every notebook under `options.paths`. `progress` is called with the number of files
/// done and the total after each chunk.
pub fn run_check(
    engine: &Engine,
    options: &CheckOptions,
    mut progress: impl FnMut(usize, usize),
) -> CheckReport {
    let found = discover::discover(&options.paths);
    let total = found.len();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let make_error = |path: &Path, message: String| FileError {
        display: display_path(path, &options.cwd),
        uri: relative_uri(path, &options.cwd, &options.root),
        path: path.to_path_buf(),
        message,
    };
    let mut done = 0;
    for chunk in found.chunks(CHUNK) {
        let parsed: Vec<(&Discovered, Result<Parsed, String>)> = chunk
            .par_iter()
            .map(|d| {
                let result = match &d.problem {
                    Some(problem) => Err(problem.clone()),
                    None => parse_file(&d.path, d.kind),
                };
                (d, result)
            })
            .collect();
        let mut good: Vec<(&Discovered, Vec<usize>)> = Vec::new();
        let mut notebooks = Vec::new();
        for (d, result) in parsed {
            match result {
                Ok(p) => {
                    good.push((d, p.cell_lines));
                    notebooks.push(p.notebook);
                }
                Err(message) => errors.push(make_error(&d.path, message)),
            }
        }
        let labels = engine.label_notebooks_with(&notebooks, &options.findings);
        for ((d, cell_lines), labels) in good.into_iter().zip(labels) {
            files.push(FileReport {
                display: display_path(&d.path, &options.cwd),
                uri: relative_uri(&d.path, &options.cwd, &options.root),
                path: d.path.clone(),
                kind: d.kind,
                cell_lines,
                labels,
            });
        }
        done += chunk.len();
        progress(done, total);
    }
    CheckReport {
        model: engine.model_info(),
        files,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let root = Path::new("/repo");
        assert_eq!(
            relative_uri(Path::new("nb/a b.ipynb"), root, root),
            "nb/a%20b.ipynb"
        );
        assert_eq!(
            relative_uri(Path::new("/elsewhere/x.ipynb"), root, root),
            "file:///elsewhere/x.ipynb"
        );
        assert_eq!(display_path(Path::new("./a/b.ipynb"), root), "a/b.ipynb");
        assert_eq!(display_path(Path::new("/repo/a.ipynb"), root), "a.ipynb");
    }
}
