//! The report's pictures, as inline SVG: the stage strip, the stage-share bars and the
//! entropy percentile gauge. Colours come from the page's `s-*` classes ([`super::style`]).

use std::fmt::Write as _;

use coral_core::Stage;

use super::escape;
use super::style::stage_class;
use crate::engine::CellLabel;

/// Strip height in pixels.
const STRIP_HEIGHT: u32 = 36;

/// The tooltip of a cell's block, worded as the VS Code pipeline view words it
/// (`Cell 3: EXPLORE 91% · 4 lines`).
pub fn cell_title(cell: &CellLabel) -> String {
    let stage = cell.stage.map_or("no stage", Stage::as_str);
    let confidence = match (cell.stage, cell.probabilities) {
        (Some(stage), Some(probs)) => format!(" {}", percent(f64::from(probs[stage.index()]))),
        (Some(_), None) => " (heuristic)".to_owned(),
        (None, _) => String::new(),
    };
    let lines = if cell.lines == 1 { "line" } else { "lines" };
    format!(
        "Cell {}: {stage}{confidence} · {} {lines}",
        cell.index, cell.lines
    )
}

/// A share in [0, 1] as a whole percentage (`91%`), clamped like the extension's.
pub fn percent(p: f64) -> String {
    let clamped = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("{}%", (clamped * 100.0).round())
}

/// One block per code cell, in notebook order, as wide as its code lines (an empty cell gets
/// the width of one line, as it weighs one line in the stage shares), each a link to `anchor`
/// of its cell.
pub fn strip(cells: &[CellLabel], anchor: impl Fn(usize) -> String) -> String {
    if cells.is_empty() {
        return "<p class=\"empty\">No code cells.</p>\n".to_owned();
    }
    let total: usize = cells.iter().map(|c| c.lines.max(1)).sum();
    let mut out = format!(
        "<svg class=\"strip\" viewBox=\"0 0 {total} {STRIP_HEIGHT}\" width=\"100%\" \
         height=\"{STRIP_HEIGHT}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"Stage of each code cell, in notebook order, sized by its lines\">\n"
    );
    let mut x = 0;
    for cell in cells {
        let width = cell.lines.max(1);
        let _ = writeln!(
            out,
            "<a href=\"#{}\"><rect class=\"{}\" x=\"{x}\" y=\"0\" width=\"{width}\" \
             height=\"{STRIP_HEIGHT}\"><title>{}</title></rect></a>",
            anchor(cell.index),
            stage_class(cell.stage),
            escape(&cell_title(cell))
        );
        x += width;
    }
    out.push_str("</svg>\n");
    out
}

/// A small horizontal bar filled to `share` (0..1) in `class`'s colour.
pub fn share_bar(share: f64, class: &str) -> String {
    let filled = if share.is_finite() {
        share.clamp(0.0, 1.0) * 100.0
    } else {
        0.0
    };
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 100 10\" width=\"160\" height=\"10\" \
         preserveAspectRatio=\"none\" aria-hidden=\"true\"><rect class=\"track\" width=\"100\" \
         height=\"10\"/><rect class=\"{class}\" width=\"{filled:.1}\" height=\"10\"/></svg>"
    )
}

/// The corpus from its 0th to its 100th percentile, with a mark where the notebook stands.
pub fn percentile_gauge(percentile: f64) -> String {
    let at = if percentile.is_finite() {
        percentile.clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!(
        "<svg class=\"gauge\" viewBox=\"0 0 100 12\" width=\"240\" height=\"12\" \
         preserveAspectRatio=\"none\" role=\"img\" aria-label=\"percentile {at:.0} of 100\">\
         <rect class=\"track\" y=\"3\" width=\"100\" height=\"6\"/>\
         <rect class=\"mark\" x=\"{:.1}\" width=\"1.5\" height=\"12\"/></svg>",
        (at - 0.75).clamp(0.0, 98.5)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::LabelSource;

    fn cell(index: usize, stage: Option<Stage>, lines: usize) -> CellLabel {
        CellLabel {
            index,
            stage,
            probabilities: None,
            source: LabelSource::Heuristic,
            heuristic_rule: None,
            lines,
            has_imports: false,
        }
    }

    #[test]
    fn titles_read_like_the_extension() {
        let mut c = cell(3, Some(Stage::Explore), 4);
        assert_eq!(cell_title(&c), "Cell 3: EXPLORE (heuristic) · 4 lines");
        c.probabilities = Some([0.02, 0.03, 0.906, 0.04, 0.004]);
        assert_eq!(cell_title(&c), "Cell 3: EXPLORE 91% · 4 lines");
        assert_eq!(cell_title(&cell(0, None, 1)), "Cell 0: no stage · 1 line");
    }

    #[test]
    fn blocks_are_as_wide_as_their_lines() {
        let cells = [
            cell(1, Some(Stage::Import), 3),
            cell(2, None, 0),
            cell(4, Some(Stage::Model), 6),
        ];
        let svg = strip(&cells, |i| format!("c{i}"));
        assert!(svg.contains("viewBox=\"0 0 10 36\""), "{svg}");
        assert!(svg.contains("href=\"#c1\"><rect class=\"s-import\" x=\"0\" y=\"0\" width=\"3\""));
        assert!(svg.contains("href=\"#c2\"><rect class=\"s-none\" x=\"3\" y=\"0\" width=\"1\""));
        assert!(svg.contains("href=\"#c4\"><rect class=\"s-model\" x=\"4\" y=\"0\" width=\"6\""));
        assert!(strip(&[], |i| i.to_string()).contains("No code cells"));
    }

    #[test]
    fn bars_and_gauges_clamp() {
        assert!(share_bar(0.25, "s-model").contains("width=\"25.0\""));
        assert!(share_bar(f64::NAN, "s-model").contains("width=\"0.0\""));
        assert!(share_bar(3.0, "s-model").contains("width=\"100.0\""));
        assert!(percentile_gauge(50.0).contains("x=\"49.2\""));
        assert!(percentile_gauge(100.0).contains("x=\"98.5\""));
        assert_eq!(percent(0.905), "91%");
        assert_eq!(percent(-1.0), "0%");
    }
}
