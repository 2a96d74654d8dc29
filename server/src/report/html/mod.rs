//! The HTML format: one self-contained page (inline CSS and SVG, no script, nothing fetched)
//! with, per notebook, the stage strip, the stage shares, the entropy against the reference
//! corpus, the findings linked to their cells, and every code cell with its stage.
//!
//! Everything that comes from a notebook or a path goes through [`escape`]; the page's
//! Content-Security-Policy forbids loading anything, so a slip could not reach the network.

mod style;
mod svg;

use std::fmt::Write as _;

use coral_core::Stage;

use super::reference::ReferenceStats;
use super::{plural, severity_str, stage_letter};
use crate::check::{CheckReport, FileReport};
use style::stage_class;

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Anchor ids are built from positions only, never from notebook text.
fn notebook_id(file: usize) -> String {
    format!("nb{file}")
}

fn cell_id(file: usize, cell: usize) -> String {
    format!("nb{file}-cell{cell}")
}

/// `-0.00` reads as a defect; `+ 0.0` turns it into `0.00`.
fn fixed2(x: f64) -> String {
    format!("{:.2}", x + 0.0)
}

fn swatch(stage: Option<Stage>) -> String {
    format!(
        "<span class=\"swatch {}\" aria-hidden=\"true\"></span>",
        stage_class(stage)
    )
}

pub fn render(report: &CheckReport, reference: Option<&ReferenceStats>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>coral pipeline report</title>\n<style>{}</style>\n</head>\n<body>\n",
        style::css()
    );
    header(&mut out, report);
    for (i, file) in report.files.iter().enumerate() {
        notebook(&mut out, i, file, reference);
    }
    errors(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(out: &mut String, report: &CheckReport) {
    let model = &report.model;
    let engine = match (&model.path, model.fallback) {
        (Some(path), false) => format!(
            "labelled by the model {} ({}, featurizer {})",
            path.display(),
            model.device,
            model.featurizer_version
        ),
        _ => "labelled by the heuristics only (no model): cells no rule covers get no stage"
            .to_owned(),
    };
    let _ = writeln!(
        out,
        "<header>\n<h1>coral pipeline report</h1>\n<p class=\"sub\">{} · {}, {}, {}, {} \
         unreadable</p>",
        escape(&engine),
        plural(report.files.len(), "notebook", "notebooks"),
        plural(report.code_cells(), "code cell", "code cells"),
        plural(report.findings(), "finding", "findings"),
        report.errors.len()
    );
    out.push_str("<ul class=\"legend\">");
    for stage in Stage::ALL.iter().map(|&s| Some(s)).chain([None]) {
        let _ = write!(
            out,
            "<li>{}{} {}</li>",
            swatch(stage),
            stage_letter(stage),
            stage.map_or("no stage", Stage::as_str)
        );
    }
    out.push_str("</ul>\n");
    if !report.files.is_empty() {
        out.push_str("<nav><ul>\n");
        for (i, file) in report.files.iter().enumerate() {
            let findings = file.labels.report.findings.len();
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{}</a> <span class=\"sub\">{}, {}</span></li>",
                notebook_id(i),
                escape(&file.display),
                plural(file.labels.cells.len(), "code cell", "code cells"),
                plural(findings, "finding", "findings")
            );
        }
        out.push_str("</ul></nav>\n");
    }
    out.push_str("</header>\n");
}

fn notebook(out: &mut String, i: usize, file: &FileReport, reference: Option<&ReferenceStats>) {
    let cells = &file.labels.cells;
    let summary = &file.labels.report.summary;
    let labelled = cells.iter().filter(|c| c.stage.is_some()).count();
    let _ = writeln!(
        out,
        "<section class=\"notebook\" id=\"{}\">\n<h2>{}</h2>\n<p class=\"sub\">{} \
         ({labelled} labelled) · entropy {} · transitions {}</p>",
        notebook_id(i),
        escape(&file.display),
        plural(cells.len(), "code cell", "code cells"),
        fixed2(summary.normalized_entropy),
        fixed2(summary.transition_rate)
    );
    out.push_str(&svg::strip(cells, |cell| cell_id(i, cell)));

    out.push_str("<h3>Stage shares (code lines)</h3>\n<table class=\"shares\">\n");
    for &stage in &Stage::ALL {
        let share = summary.stage_shares.get(&stage).copied().unwrap_or(0.0);
        let _ = writeln!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            swatch(Some(stage)),
            stage.as_str(),
            svg::share_bar(share, stage_class(Some(stage))),
            svg::percent(share)
        );
    }
    out.push_str("</table>\n");

    let _ = write!(
        out,
        "<h3>Entropy</h3>\n<p>Normalized stage entropy <strong>{}</strong> (H = {} nats, \
         H / ln 5)",
        fixed2(summary.normalized_entropy),
        fixed2(summary.entropy)
    );
    let standing = reference.map(|r| r.standing(summary.normalized_entropy));
    match standing.as_ref().and_then(|s| s.phrase().map(|p| (s, p))) {
        Some((standing, phrase)) => {
            let _ = write!(out, ": {}.", escape(&phrase));
            if let Some(percentile) = standing.percentile {
                let _ = write!(out, "<br>{}", svg::percentile_gauge(percentile));
            }
        }
        None => out.push_str(". No reference statistics of the corpus were found."),
    }
    out.push_str("</p>\n");

    findings(out, i, file);
    cell_table(out, i, file);
    out.push_str("</section>\n");
}

fn findings(out: &mut String, i: usize, file: &FileReport) {
    out.push_str("<h3>Findings</h3>\n");
    let list = &file.labels.report.findings;
    if list.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n");
        return;
    }
    out.push_str("<ul class=\"findings\">\n");
    for finding in list {
        let severity = severity_str(finding.severity);
        let place = match finding.cell {
            Some(cell) if file.labels.cells.iter().any(|c| c.index == cell) => format!(
                "<a href=\"#{}\">cell {cell}</a>, line {}",
                cell_id(i, cell),
                file.line_of(Some(cell))
            ),
            Some(cell) => format!("cell {cell}, line {}", file.line_of(Some(cell))),
            None => "notebook".to_owned(),
        };
        let _ = writeln!(
            out,
            "<li><span class=\"sev sev-{severity}\">{severity}</span> <code>{}</code> {}: {} \
             ({place})</li>",
            finding.rule.code(),
            finding.rule.name(),
            escape(&finding.message)
        );
    }
    out.push_str("</ul>\n");
}

fn cell_table(out: &mut String, i: usize, file: &FileReport) {
    out.push_str("<h3>Cells</h3>\n");
    if file.labels.cells.is_empty() {
        out.push_str("<p class=\"empty\">No code cells.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"cells\">\n<tr><th>cell</th><th>line</th><th>stage</th>\
         <th>probability</th><th>code lines</th><th>heuristic rule</th></tr>\n",
    );
    for cell in &file.labels.cells {
        let probability = match (cell.stage, cell.probabilities) {
            (Some(stage), Some(probs)) => svg::percent(f64::from(probs[stage.index()])),
            (Some(_), None) => "heuristic".to_owned(),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr id=\"{}\"><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}{}</td>\
             <td class=\"num\">{probability}</td><td class=\"num\">{}</td><td><code>{}</code>\
             </td></tr>",
            cell_id(i, cell.index),
            cell.index,
            file.line_of(Some(cell.index)),
            swatch(cell.stage),
            cell.stage.map_or("no stage", Stage::as_str),
            cell.lines,
            escape(cell.heuristic_rule.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
}

fn errors(out: &mut String, report: &CheckReport) {
    if report.errors.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"errors\">\n<h2>Unreadable files</h2>\n<ul class=\"findings\">\n",
    );
    for error in &report.errors {
        let _ = writeln!(
            out,
            "<li><span class=\"sev sev-error\">error</span> {}: {}</li>",
            escape(&error.display),
            escape(&error.message)
        );
    }
    out.push_str("</ul>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<img src="x" onerror='y'> & co"#),
            "&lt;img src=&quot;x&quot; onerror=&#39;y&#39;&gt; &amp; co"
        );
        assert_eq!(escape("plain ✓"), "plain ✓");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn ids_never_hold_notebook_text() {
        assert_eq!(cell_id(2, 14), "nb2-cell14");
        assert_eq!(notebook_id(0), "nb0");
        assert_eq!(fixed2(-0.0), "0.00");
    }
}
