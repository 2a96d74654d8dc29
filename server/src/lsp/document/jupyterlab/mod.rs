//! Notebook cells recovered from the one Python document that `JupyterLab` sends.
//!
//! jupyter-lsp relays jupyterlab-lsp's messages, and jupyterlab-lsp sends no
//! `notebookDocument/*`: it sends a *virtual document*. What it holds, from the sources
//! (`JupyterLab` 4 `packages/lsp/src/virtual/document.ts` and `connection_manager.ts`,
//! jupyterlab-lsp 5 `packages/jupyterlab-lsp/src/virtual/document.ts`):
//!
//! - every cell becomes a block, `lines.join("\n") + "\n"`, and the blocks are joined with
//!   `"\n".repeat(blankLinesBetweenCells)`, which is 2 — two empty lines between cells, one
//!   newline at the end;
//! - code cells go through the `IPython` overrides first ([`overrides`]): magics and `!` lines
//!   become `get_ipython()…` calls;
//! - markdown and raw cells: `JupyterLab` 4 registers a whole-cell extractor for each
//!   (`@jupyterlab/lsp-extension:code-extractor-manager`), so their text leaves for a foreign
//!   document and an empty line stays behind; older clients leave them out. Either way they
//!   carry no text here;
//! - the URI is the notebook's path under jupyter-lsp's virtual documents folder
//!   (`file:///<root>/.virtual_documents/<path>.ipynb`: notebooks have
//!   `hasLspSupportedFile: false`), the language id the kernel's (`python`).
//!
//! So the cell boundaries are gone, and the text alone cannot restore them: a cell may hold
//! blank lines itself. [`recover`] finds them by matching the saved `.ipynb` (read at the
//! server's edge, see `crate::lsp::ipynb_on_disk`) against the text ([`align`]), which also
//! brings back the markdown cells and so the model's markdown context; cells typed since the
//! save, or all cells when there is no saved notebook, are split at blank-line runs
//! ([`blocks::split`]).

pub mod align;
pub mod blocks;
pub mod overrides;

use std::ops::Range;

use coral_core::{Cell, CellKind, Notebook};

use blocks::{is_blank, Chunk};
use overrides::{decode_block, is_cell_override, is_override_line};

/// How the boundaries were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Every saved code cell was found, and nothing else: the text is the saved notebook.
    Exact,
    /// `matched` of the `saved` non-empty code cells were found; the rest of the text was split.
    Aligned { matched: usize, saved: usize },
    /// No saved notebook (or none that matches): the text was split at blank-line runs.
    Split,
}

/// A cell of the recovered notebook and where it is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredCell {
    pub cell: Cell,
    /// Its lines in the text (first to last non-blank line); `None` for a cell that is not
    /// there (markdown, raw or empty cells of the saved notebook).
    pub lines: Option<Range<usize>>,
    /// The line its label goes on: the first line jupyterlab-lsp shows diagnostics on.
    pub label_line: Option<usize>,
}

/// The recovered notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub cells: Vec<RecoveredCell>,
    pub method: Method,
}

impl Recovery {
    /// The notebook coral-core labels (indices as in [`Recovery::cells`]).
    pub fn notebook(&self) -> Notebook {
        Notebook {
            cells: self.cells.iter().map(|c| c.cell.clone()).collect(),
        }
    }
}

/// Recovers the cells of virtual document `text`, using the saved notebook when there is one.
pub fn recover(text: &str, saved: Option<&Notebook>) -> Recovery {
    let lines: Vec<&str> = text.split('\n').collect();
    let chunks = blocks::chunks(&lines);
    if let Some(saved) = saved {
        let matches = align::align(&lines, &chunks, &saved.cells);
        if !matches.is_empty() {
            return assemble(&lines, &chunks, saved, &matches);
        }
    }
    Recovery {
        cells: blocks::split(&lines, &chunks)
            .into_iter()
            .map(|range| typed_cell(&lines, range))
            .collect(),
        method: Method::Split,
    }
}

/// The saved notebook with the matched cells placed, and the rest of the text between matches
/// paired with the unmatched saved code cells there when their counts agree (edited cells keep
/// their place and markdown context), else added as new cells after that stretch's markdown.
fn assemble(
    lines: &[&str],
    chunks: &[Chunk],
    saved: &Notebook,
    matches: &[align::Match],
) -> Recovery {
    let mut cells = Vec::new();
    let mut exact = true;
    let (mut next_cell, mut next_chunk) = (0, 0);
    for found in matches.iter().map(Some).chain(std::iter::once(None)) {
        let (cell_end, chunk_end) = found.map_or((saved.cells.len(), chunks.len()), |m| {
            (m.cell, m.chunks.start)
        });
        let gap_cells = saved.cells.get(next_cell..cell_end).unwrap_or_default();
        let gap_chunks = chunks.get(next_chunk..chunk_end).unwrap_or_default();
        exact &= fill_gap(&mut cells, lines, gap_cells, gap_chunks);
        let Some(found) = found else { break };
        let range = chunks[found.chunks.start].start..chunks[found.chunks.end - 1].end;
        cells.push(RecoveredCell {
            cell: saved.cells[found.cell].clone(),
            label_line: Some(label_line(lines, &range)),
            lines: Some(range),
        });
        next_cell = found.cell + 1;
        next_chunk = found.chunks.end;
    }
    let saved_typed = saved
        .cells
        .iter()
        .filter(|c| c.kind == CellKind::Code && !c.is_blank())
        .count();
    Recovery {
        cells,
        method: if exact {
            Method::Exact
        } else {
            Method::Aligned {
                matched: matches.len(),
                saved: saved_typed,
            }
        },
    }
}

/// Places one stretch between matches; true when it holds nothing unmatched.
fn fill_gap(
    out: &mut Vec<RecoveredCell>,
    lines: &[&str],
    gap_cells: &[Cell],
    gap_chunks: &[Chunk],
) -> bool {
    let typed = |c: &Cell| c.kind == CellKind::Code && !c.is_blank();
    let untouched = |c: &Cell| RecoveredCell {
        cell: c.clone(),
        lines: None,
        label_line: None,
    };
    let blocks = blocks::split(lines, gap_chunks);
    let saved_typed = gap_cells.iter().filter(|c| typed(c)).count();
    if saved_typed == blocks.len() {
        let mut blocks = blocks.into_iter();
        for cell in gap_cells {
            let block = if typed(cell) { blocks.next() } else { None };
            match block {
                Some(range) => out.push(typed_cell(lines, range)),
                None => out.push(untouched(cell)),
            }
        }
        return saved_typed == 0;
    }
    out.extend(gap_cells.iter().filter(|c| !typed(c)).map(untouched));
    out.extend(blocks.into_iter().map(|range| typed_cell(lines, range)));
    false
}

/// A code cell made from lines of the text (the overrides undone).
fn typed_cell(lines: &[&str], range: Range<usize>) -> RecoveredCell {
    let text = lines.get(range.clone()).unwrap_or_default().join("\n");
    RecoveredCell {
        cell: Cell::code(decode_block(&text)),
        label_line: Some(label_line(lines, &range)),
        lines: Some(range),
    }
}

/// The first line of `range` that is neither blank nor written by an override (jupyterlab-lsp
/// drops diagnostics there); the first line when every line is (a cell magic).
fn label_line(lines: &[&str], range: &Range<usize>) -> usize {
    let first = lines.get(range.start).copied().unwrap_or_default();
    if is_cell_override(first) {
        return range.start;
    }
    range
        .clone()
        .find(|&i| {
            lines
                .get(i)
                .is_some_and(|l| !is_blank(l) && !is_override_line(l))
        })
        .unwrap_or(range.start)
}

#[cfg(test)]
mod tests;
