//! Which chunks of the virtual text are which saved code cells.
//!
//! Each saved code cell, rewritten as jupyterlab-lsp rewrites it ([`super::overrides`]), is
//! looked for as a run of whole chunks with exactly its lines. A dynamic programme over
//! (chunks consumed, cells consumed) picks the in-order set of such matches that covers the most
//! lines; a cell may be skipped (edited or deleted since the save) and so may a chunk (typed
//! since the save). When the text is what the saved notebook gives, every non-empty code cell
//! matches and the boundaries are exact.

use std::collections::HashMap;
use std::ops::Range;

use coral_core::{Cell, CellKind};

use super::blocks::{is_blank, Chunk};
use super::overrides::virtual_blocks;

/// Most (chunks + 1) × (cells + 1) states the programme may use (about 9 bytes each); a larger
/// notebook is matched greedily instead.
const MAX_STATES: usize = 2_000_000;
/// How many chunks ahead the greedy matcher looks for the next cell.
const GREEDY_WINDOW: usize = 64;

/// Saved cell `cell` is the text of chunks `chunks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub cell: usize,
    pub chunks: Range<usize>,
}

struct Matcher<'a> {
    lines: &'a [&'a str],
    chunks: &'a [Chunk],
    /// Per saved cell: its possible virtual lines, blank lines at both ends removed; empty for
    /// cells that cannot match (markdown, raw, blank code).
    expected: Vec<Vec<Vec<String>>>,
    /// Chunk index by the line its chunk ends before.
    chunk_ending_at: HashMap<usize, usize>,
}

impl<'a> Matcher<'a> {
    fn new(lines: &'a [&'a str], chunks: &'a [Chunk], cells: &[Cell]) -> Matcher<'a> {
        let expected = cells
            .iter()
            .map(|cell| {
                if cell.kind != CellKind::Code || cell.is_blank() {
                    return Vec::new();
                }
                virtual_blocks(&cell.source)
                    .iter()
                    .map(|block| trimmed_lines(block))
                    .filter(|lines| !lines.is_empty())
                    .collect()
            })
            .collect();
        let chunk_ending_at = chunks.iter().enumerate().map(|(i, c)| (c.end, i)).collect();
        Matcher {
            lines,
            chunks,
            expected,
            chunk_ending_at,
        }
    }

    /// The chunk range after `first` that cell `cell` matches, and the lines it covers.
    fn try_match(&self, cell: usize, first: usize) -> Option<(usize, u32)> {
        let start = self.chunks.get(first)?.start;
        self.expected.get(cell)?.iter().find_map(|expected| {
            let end = start + expected.len();
            let last = *self.chunk_ending_at.get(&end)?;
            let found = self.lines.get(start..end)?;
            (last >= first && found.iter().zip(expected).all(|(a, b)| *a == b.as_str()))
                .then(|| (last + 1, u32::try_from(expected.len()).unwrap_or(u32::MAX)))
        })
    }
}

/// Blank lines removed from both ends.
fn trimmed_lines(block: &str) -> Vec<String> {
    let lines: Vec<&str> = block.split('\n').collect();
    let start = lines
        .iter()
        .position(|l| !is_blank(l))
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !is_blank(l))
        .map_or(start, |i| i + 1);
    lines[start..end].iter().map(|l| (*l).to_owned()).collect()
}

/// The saved cells found in the text, in order.
pub fn align(lines: &[&str], chunks: &[Chunk], cells: &[Cell]) -> Vec<Match> {
    let matcher = Matcher::new(lines, chunks, cells);
    let states = (chunks.len() + 1).saturating_mul(cells.len() + 1);
    if states > MAX_STATES {
        tracing::debug!(
            "{} chunks × {} cells: matching greedily",
            chunks.len(),
            cells.len()
        );
        return greedy(&matcher, cells.len());
    }
    best(&matcher, chunks.len(), cells.len())
}

/// How a state was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Unreached,
    Start,
    /// The previous cell was skipped.
    SkipCell,
    /// The previous chunk was skipped.
    SkipChunk,
    /// The previous cell matched chunks from this one.
    Matched(u32),
}

fn best(matcher: &Matcher<'_>, chunk_count: usize, cell_count: usize) -> Vec<Match> {
    let width = cell_count + 1;
    let at = |p: usize, j: usize| p * width + j;
    let mut score = vec![0u32; (chunk_count + 1) * width];
    let mut step = vec![Step::Unreached; (chunk_count + 1) * width];
    step[0] = Step::Start;
    let relax = |score: &mut [u32], step: &mut [Step], to: usize, value: u32, how: Step| {
        if step[to] == Step::Unreached || value > score[to] {
            score[to] = value;
            step[to] = how;
        }
    };
    for p in 0..=chunk_count {
        for j in 0..=cell_count {
            let here = at(p, j);
            if step[here] == Step::Unreached {
                continue;
            }
            let value = score[here];
            if j < cell_count {
                if let Some((q, lines)) = matcher.try_match(j, p) {
                    let from = u32::try_from(p).unwrap_or(u32::MAX);
                    relax(
                        &mut score,
                        &mut step,
                        at(q, j + 1),
                        value + 1 + lines,
                        Step::Matched(from),
                    );
                }
                relax(&mut score, &mut step, at(p, j + 1), value, Step::SkipCell);
            }
            if p < chunk_count {
                relax(&mut score, &mut step, at(p + 1, j), value, Step::SkipChunk);
            }
        }
    }
    let mut matches = Vec::new();
    let (mut p, mut j) = (chunk_count, cell_count);
    loop {
        match step[at(p, j)] {
            Step::Start | Step::Unreached => break,
            Step::SkipCell => j -= 1,
            Step::SkipChunk => p -= 1,
            Step::Matched(from) => {
                let from = from as usize;
                matches.push(Match {
                    cell: j - 1,
                    chunks: from..p,
                });
                p = from;
                j -= 1;
            }
        }
    }
    matches.reverse();
    matches
}

fn greedy(matcher: &Matcher<'_>, cell_count: usize) -> Vec<Match> {
    let mut matches = Vec::new();
    let mut p = 0;
    for cell in 0..cell_count {
        let window = p..(p + GREEDY_WINDOW).min(matcher.chunks.len());
        if let Some((first, q)) = window
            .into_iter()
            .find_map(|first| matcher.try_match(cell, first).map(|(q, _)| (first, q)))
        {
            matches.push(Match {
                cell,
                chunks: first..q,
            });
            p = q;
        }
    }
    matches
}
