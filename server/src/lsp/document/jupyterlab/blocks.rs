//! The virtual document's text cut into pieces that cell boundaries cannot cross.
//!
//! jupyterlab-lsp joins blocks as `block₁ + "\n" + "\n\n" + block₂ + "\n" …` (each block ends
//! with a newline, blocks are joined with `blankLinesBetweenCells = 2` more): two empty lines
//! always stand between the last line of one cell and the first line of the next. So a boundary
//! lies in a run of at least two blank lines, and the text between such runs — a *chunk* — is
//! never split between cells. A cell is one chunk or several consecutive ones (a cell may hold
//! two blank lines itself, as PEP 8 puts them between functions); empty cells, and in
//! `JupyterLab` 4 each markdown or raw cell (an empty line of its own), hide inside the runs.

use std::ops::Range;

use super::overrides::is_cell_override;

/// Whether a line holds only whitespace.
pub fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Lines `start..end`: the first and last are not blank and no two consecutive lines inside
/// are blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
}

/// The chunks of `lines`, in order.
pub fn chunks(lines: &[&str]) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut blank_run = 0usize;
    for (i, line) in lines.iter().enumerate() {
        if is_blank(line) {
            blank_run += 1;
            continue;
        }
        match out.last_mut() {
            Some(chunk) if blank_run < 2 => chunk.end = i + 1,
            _ => out.push(Chunk {
                start: i,
                end: i + 1,
            }),
        }
        blank_run = 0;
    }
    out
}

/// Cells from chunks when nothing better is known: every run of two or more blank lines is a
/// boundary, unless what follows cannot start a cell — an indented line continues a block, and
/// a cell override (`get_ipython().run_cell_magic(…"""…`) runs on to its closing line.
pub fn split(lines: &[&str], chunks: &[Chunk]) -> Vec<Range<usize>> {
    let mut cells: Vec<Range<usize>> = Vec::new();
    for chunk in chunks {
        let continues = cells.last().is_some_and(|cell| {
            let first = lines.get(chunk.start).copied().unwrap_or_default();
            first.starts_with([' ', '\t']) || open_cell_override(lines, cell)
        });
        match cells.last_mut() {
            Some(cell) if continues => cell.end = chunk.end,
            _ => cells.push(chunk.start..chunk.end),
        }
    }
    cells
}

/// Whether `cell` starts a cell override that has not reached its last line yet.
fn open_cell_override(lines: &[&str], cell: &Range<usize>) -> bool {
    let first = lines.get(cell.start).copied().unwrap_or_default();
    let last = lines
        .get(cell.end.saturating_sub(1))
        .copied()
        .unwrap_or_default();
    if !is_cell_override(first) {
        return false;
    }
    if first.starts_with("# START_CELL_MAGIC(") {
        last.trim_end() != "# END_CELL_MAGIC"
    } else {
        !last.trim_end().ends_with("\"\"\")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        text.split('\n').collect()
    }

    #[test]
    fn chunks_break_at_two_blank_lines() {
        let text = "a\nb\n\nc\n\n\nd\n  \n\n\n\ne\n";
        let found: Vec<(usize, usize)> = chunks(&lines(text))
            .iter()
            .map(|c| (c.start, c.end))
            .collect();
        assert_eq!(found, [(0, 4), (6, 7), (11, 12)]);
    }

    #[test]
    fn split_keeps_indented_continuations_and_open_cell_magics() {
        let text = "def f():\n    x = 1\n\n\n    return x\n\n\nimport os\n\n\nget_ipython().run_cell_magic(\"bash\", \"\", \"\"\"ls\n\n\npwd\"\"\")\n\n\ny";
        let l = lines(text);
        let cells = split(&l, &chunks(&l));
        assert_eq!(cells, [0..5, 7..8, 10..14, 16..17]);
    }
}
