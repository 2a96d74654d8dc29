//! The notebook model: nbformat 4 `.ipynb` files and `# %%` percent scripts.

use serde::Deserialize;

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Code,
    Markdown,
    Raw,
}

/// One cell. Its index is its position in [`Notebook::cells`], markdown included.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    pub kind: CellKind,
    pub source: String,
}

impl Cell {
    pub fn code(source: impl Into<String>) -> Cell {
        Cell {
            kind: CellKind::Code,
            source: source.into(),
        }
    }

    pub fn markdown(source: impl Into<String>) -> Cell {
        Cell {
            kind: CellKind::Markdown,
            source: source.into(),
        }
    }

    /// Lines that are neither blank nor only a comment.
    pub fn code_lines(&self) -> usize {
        self.source
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .count()
    }

    /// True when the source holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.source.trim().is_empty()
    }
}

/// A notebook: its cells in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Notebook {
    pub cells: Vec<Cell>,
}

/// How far back (in cells) a markdown cell may be and still give a code cell its context.
pub const MARKDOWN_CONTEXT_WINDOW: usize = 3;

/// Why a notebook file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotebookError {
    #[error("not valid notebook JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("nbformat {0} is not supported (coral reads nbformat 4; convert with `jupyter nbconvert --to notebook --nbformat 4`)")]
    UnsupportedNbformat(u64),
    #[error("the notebook has no `cells` list")]
    MissingCells,
    #[error("cell {index}: {reason}")]
    InvalidCell { index: usize, reason: String },
}

#[derive(Deserialize)]
struct RawNotebook {
    nbformat: Option<u64>,
    cells: Option<Vec<serde_json::Value>>,
    worksheets: Option<serde_json::Value>,
}

impl Notebook {
    /// Parses nbformat 4 JSON. `source` may be a string or a list of strings.
    pub fn from_ipynb(bytes: &[u8]) -> Result<Notebook, NotebookError> {
        let raw: RawNotebook = serde_json::from_slice(bytes).map_err(|e| NotebookError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
        reject_list(bytes)?;
        match raw.nbformat {
            Some(4) | None => {}
            Some(version) => return Err(NotebookError::UnsupportedNbformat(version)),
        }
        if raw.worksheets.is_some() && raw.cells.is_none() {
            return Err(NotebookError::UnsupportedNbformat(
                raw.nbformat.unwrap_or(3),
            ));
        }
        let raw_cells = raw.cells.ok_or(NotebookError::MissingCells)?;
        let cells = raw_cells
            .iter()
            .enumerate()
            .map(|(index, value)| {
                parse_cell(value).map_err(|reason| NotebookError::InvalidCell { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Notebook { cells })
    }

    /// Splits a `# %%` percent script into cells. Text before the first marker is a code cell
    /// when it holds anything; `# %% [markdown]` (or `[md]`) cells hold commented markdown,
    /// which is uncommented here.
    pub fn from_percent_script(text: &str) -> Notebook {
        let cells = percent_spans(text)
            .into_iter()
            .map(|span| finish_percent_cell(span.kind, text.get(span.body).unwrap_or("")))
            .collect();
        Notebook { cells }
    }

    /// Whether a `.py` text is a percent script (has at least one `# %%` marker line).
    pub fn is_percent_script(text: &str) -> bool {
        text.lines().any(|line| percent_marker(line).is_some())
    }

    /// The index of the markdown cell that gives the cell at `index` its context: the nearest
    /// markdown cell at most [`MARKDOWN_CONTEXT_WINDOW`] cells before it.
    pub fn markdown_context(&self, index: usize) -> Option<usize> {
        let start = index.saturating_sub(MARKDOWN_CONTEXT_WINDOW);
        (start..index.min(self.cells.len()))
            .rev()
            .find(|&i| self.cells[i].kind == CellKind::Markdown)
    }

    /// Indices of code cells, in order.
    pub fn code_cell_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.kind == CellKind::Code)
            .map(|(i, _)| i)
    }
}

/// One notebook of the shared corpus (`shard-*.jsonl.gz`, one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusRecord {
    pub id: String,
    pub notebook: Notebook,
}

#[derive(Deserialize)]
struct RawCorpusRecord {
    id: String,
    cells: Vec<serde_json::Value>,
}

impl CorpusRecord {
    /// Parses one line of a corpus shard: `{"id", "repo", "path", "commit", "cells": [...]}`.
    pub fn from_json_line(line: &str) -> Result<CorpusRecord, NotebookError> {
        let raw: RawCorpusRecord = serde_json::from_str(line).map_err(|e| NotebookError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
        reject_list(line.as_bytes())?;
        let cells = raw
            .cells
            .iter()
            .enumerate()
            .map(|(index, value)| {
                parse_cell(value).map_err(|reason| NotebookError::InvalidCell { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CorpusRecord {
            id: raw.id,
            notebook: Notebook { cells },
        })
    }
}

/// serde also reads a struct written as a JSON list of its fields in order, so `[4, []]` was
/// an empty notebook and `["id", []]` a corpus record (fuzzing). nbformat says an object. Called
/// after a successful parse, so the first non-blank byte is `{` or `[`.
fn reject_list(bytes: &[u8]) -> Result<(), NotebookError> {
    let Some(at) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(());
    };
    if bytes[at] != b'[' {
        return Ok(());
    }
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Err(NotebookError::Json {
        line: before.split(|&b| b == b'\n').count(),
        column: at - line_start + 1,
        message: "invalid type: sequence, expected a JSON object".to_owned(),
    })
}

/// serde's message without the position it ends with (the error has fields for that). Only
/// the exact suffix is cut: a quoted value earlier in the message may hold " at line " too
/// (`"nbformat": " at line x"`), and cutting there left a message that named nothing (fuzzing).
fn strip_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(cut) => cut.to_owned(),
        None => message,
    }
}

fn parse_cell(value: &serde_json::Value) -> Result<Cell, String> {
    let object = value.as_object().ok_or("not a JSON object")?;
    let kind = match object.get("cell_type").and_then(serde_json::Value::as_str) {
        Some("code") => CellKind::Code,
        Some("markdown") => CellKind::Markdown,
        Some("raw") => CellKind::Raw,
        Some(other) => return Err(format!("unknown cell_type `{other}`")),
        None => return Err("missing cell_type".to_owned()),
    };
    let source = match object.get("source") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                text.push_str(part.as_str().ok_or("`source` list holds a non-string")?);
            }
            text
        }
        Some(_) => return Err("`source` is neither a string nor a list of strings".to_owned()),
    };
    Ok(Cell { kind, source })
}

/// One cell of a percent script, located in its text. [`percent_spans`] is the one splitter:
/// the notebook reader, the LSP's document model and `--check`'s line finder all use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentSpan {
    pub kind: CellKind,
    /// 0-based line the cell starts on: its marker line, or for text before the first marker,
    /// its first non-blank line.
    pub line: usize,
    /// Byte range of the cell's body (the lines after its marker).
    pub body: std::ops::Range<usize>,
}

/// The cells of a percent script, in order ([`Notebook::from_percent_script`] gives their
/// contents).
pub fn percent_spans(text: &str) -> Vec<PercentSpan> {
    let mut spans = Vec::new();
    let mut kind = CellKind::Code;
    let mut start_line: Option<usize> = None;
    let mut body_start = 0;
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        if let Some(marker_kind) = percent_marker(line) {
            if let Some(line) = start_line {
                spans.push(PercentSpan {
                    kind,
                    line,
                    body: body_start..offset,
                });
            }
            kind = marker_kind;
            start_line = Some(line_no);
            body_start = offset + line.len();
        } else if start_line.is_none() && !line.trim().is_empty() {
            start_line = Some(line_no);
        }
        offset += line.len();
    }
    if let Some(line) = start_line {
        spans.push(PercentSpan {
            kind,
            line,
            body: body_start..offset,
        });
    }
    spans
}

/// Recognises `# %%`, `#%%`, `# %% title`, `# %% [markdown]`, `# %% [md]`, `# %% [raw]`.
fn percent_marker(line: &str) -> Option<CellKind> {
    let rest = line
        .trim_end()
        .strip_prefix('#')?
        .trim_start()
        .strip_prefix("%%")?;
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('[')) {
        return None;
    }
    let rest = rest.trim_start();
    if rest.starts_with("[markdown]") || rest.starts_with("[md]") {
        Some(CellKind::Markdown)
    } else if rest.starts_with("[raw]") {
        Some(CellKind::Raw)
    } else {
        Some(CellKind::Code)
    }
}

fn finish_percent_cell(kind: CellKind, body: &str) -> Cell {
    let trimmed = body.trim_matches('\n');
    let source = match kind {
        CellKind::Markdown => trimmed
            .lines()
            .map(|line| {
                let line = line.trim_start();
                line.strip_prefix("# ")
                    .or_else(|| line.strip_prefix('#'))
                    .unwrap_or(line)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        CellKind::Code | CellKind::Raw => trimmed.to_owned(),
    };
    Cell { kind, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipynb_source_as_list_or_string() {
        let nb = Notebook::from_ipynb(
            br##"{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[
              {"cell_type":"markdown","source":["# Title\n","text"]},
              {"cell_type":"code","source":"import pandas as pd","outputs":[]},
              {"cell_type":"raw","source":[]}]}"##,
        )
        .expect("valid notebook");
        assert_eq!(nb.cells.len(), 3);
        assert_eq!(nb.cells[0].source, "# Title\ntext");
        assert_eq!(nb.cells[1], Cell::code("import pandas as pd"));
        assert_eq!(nb.cells[2].kind, CellKind::Raw);
    }

    #[test]
    fn nbformat3_and_broken_json_are_typed_errors() {
        let v3 = br#"{"nbformat":3,"worksheets":[{"cells":[]}]}"#;
        assert_eq!(
            Notebook::from_ipynb(v3),
            Err(NotebookError::UnsupportedNbformat(3))
        );
        let broken = Notebook::from_ipynb(b"{\"cells\": [").expect_err("truncated JSON");
        assert!(
            matches!(broken, NotebookError::Json { line: 1, .. }),
            "{broken:?}"
        );
        let bad_cell =
            Notebook::from_ipynb(br#"{"nbformat":4,"cells":[{"cell_type":"code","source":[1]}]}"#);
        assert!(matches!(
            bad_cell,
            Err(NotebookError::InvalidCell { index: 0, .. })
        ));
        assert_eq!(
            Notebook::from_ipynb(br#"{"nbformat":4}"#),
            Err(NotebookError::MissingCells)
        );
    }

    #[test]
    fn percent_script_cells_and_markdown() {
        let nb = Notebook::from_percent_script(
            "import os\n\n# %% [markdown]\n# # Load\n# the data\n# %% load\ndf = 1\n#%%\nprint(df)\n",
        );
        let kinds: Vec<_> = nb.cells.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                CellKind::Code,
                CellKind::Markdown,
                CellKind::Code,
                CellKind::Code
            ]
        );
        assert_eq!(nb.cells[1].source, "# Load\nthe data");
        assert_eq!(nb.cells[2].source, "df = 1");
        assert!(Notebook::is_percent_script("# %%\nx"));
        let lines: Vec<usize> = percent_spans("\n\nimport os\n# %%\nx\n#%% [md]\n# t\n")
            .iter()
            .map(|s| s.line)
            .collect();
        assert_eq!(lines, [2, 3, 5]);
        assert!(percent_spans(" \n\n").is_empty());
        assert!(!Notebook::is_percent_script(
            "# %%timeit is not a marker\nx"
        ));
    }

    #[test]
    fn markdown_context_looks_at_most_three_cells_back() {
        let nb = Notebook {
            cells: vec![
                Cell::markdown("intro"),
                Cell::code("a"),
                Cell::code("b"),
                Cell::code("c"),
                Cell::code("d"),
            ],
        };
        assert_eq!(nb.markdown_context(1), Some(0));
        assert_eq!(nb.markdown_context(3), Some(0));
        assert_eq!(nb.markdown_context(4), None);
        assert_eq!(nb.markdown_context(0), None);
    }
}
