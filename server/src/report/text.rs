//! The text format: one block per notebook with its stage strip (one letter per code cell) and
//! its findings, then unreadable files, a legend and a summary line.

use std::fmt::Write as _;

use coral_core::{Severity, Stage};

use super::{plural, severity_str, stage_letter};
use crate::check::CheckReport;

/// Cells shown per strip line.
const STRIP_WIDTH: usize = 100;
/// Cells shown at most per notebook; the rest are counted.
const STRIP_MAX: usize = 400;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn stage_style(stage: Option<Stage>) -> &'static str {
    match stage {
        Some(Stage::Import) => "\x1b[1;37;44m",   // white on blue
        Some(Stage::Wrangle) => "\x1b[1;30;43m",  // black on yellow
        Some(Stage::Explore) => "\x1b[1;30;46m",  // black on cyan
        Some(Stage::Model) => "\x1b[1;37;45m",    // white on magenta
        Some(Stage::Evaluate) => "\x1b[1;30;42m", // black on green
        None => DIM,
    }
}

fn severity_style(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Info => "\x1b[1;36m",
    }
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

pub fn render(report: &CheckReport, color: bool) -> String {
    let p = Painter { color };
    let mut out = String::new();
    let model = &report.model;
    let engine_line = match (&model.path, model.fallback) {
        (Some(path), false) => format!(
            "model {} ({}, featurizer {})",
            path.display(),
            model.device,
            model.featurizer_version
        ),
        _ => "heuristics only (no model): cells no rule covers get no stage".to_owned(),
    };
    let _ = writeln!(out, "{}", p.paint(DIM, &format!("coral · {engine_line}")));

    for file in &report.files {
        let cells = &file.labels.cells;
        let summary = &file.labels.report.summary;
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", p.paint(BOLD, &file.display));
        let shown = cells.len().min(STRIP_MAX);
        let mut strip = String::new();
        for (i, cell) in cells[..shown].iter().enumerate() {
            if i % STRIP_WIDTH == 0 {
                if i > 0 {
                    strip.push('\n');
                }
                strip.push_str("  ");
            }
            let letter = stage_letter(cell.stage).to_string();
            strip.push_str(&p.paint(stage_style(cell.stage), &letter));
        }
        if cells.is_empty() {
            strip.push_str("  (no code cells)");
        }
        if cells.len() > shown {
            let _ = write!(strip, " … {} more", cells.len() - shown);
        }
        let _ = writeln!(out, "{strip}");
        let labelled = cells.iter().filter(|c| c.stage.is_some()).count();
        let _ = writeln!(
            out,
            "  {}",
            p.paint(
                DIM,
                &format!(
                    "{} ({labelled} labelled) · entropy {:.2} · transitions {:.2}",
                    plural(cells.len(), "code cell", "code cells"),
                    summary.normalized_entropy + 0.0, // no "-0.00"
                    summary.transition_rate + 0.0
                )
            )
        );
        for finding in &file.labels.report.findings {
            let place = match finding.cell {
                Some(cell) => format!("cell {cell}, line {}", file.line_of(Some(cell))),
                None => "notebook".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {} {} {} ({place}): {}",
                p.paint(
                    severity_style(finding.severity),
                    &format!("{:<7}", severity_str(finding.severity))
                ),
                finding.rule.code(),
                finding.rule.name(),
                finding.message
            );
        }
    }

    if !report.errors.is_empty() {
        let _ = writeln!(out);
        for error in &report.errors {
            let _ = writeln!(
                out,
                "{} {}: {}",
                p.paint(severity_style(Severity::Error), "error"),
                error.display,
                error.message
            );
        }
    }

    let _ = writeln!(out);
    let legend: Vec<String> = Stage::ALL
        .iter()
        .map(|&s| Some(s))
        .chain([None])
        .map(|s| {
            format!(
                "{} {}",
                p.paint(stage_style(s), &stage_letter(s).to_string()),
                s.map_or("no stage", Stage::as_str)
            )
        })
        .collect();
    let _ = writeln!(out, "{}", legend.join("  "));

    let findings: Vec<_> = report
        .files
        .iter()
        .flat_map(|f| &f.labels.report.findings)
        .collect();
    let by_severity: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == s).count();
            (n > 0).then(|| match s {
                Severity::Info => format!("{n} info"),
                _ => plural(n, severity_str(s), &format!("{}s", severity_str(s))),
            })
        })
        .collect();
    let mut summary = format!(
        "{}, {}, {}",
        plural(report.files.len(), "notebook", "notebooks"),
        plural(report.code_cells(), "code cell", "code cells"),
        plural(findings.len(), "finding", "findings"),
    );
    if !by_severity.is_empty() {
        let _ = write!(summary, " ({})", by_severity.join(", "));
    }
    if !report.errors.is_empty() {
        let _ = write!(
            summary,
            ", {} could not be read",
            plural(report.errors.len(), "file", "files")
        );
    }
    let _ = writeln!(out, "{}", p.paint(BOLD, &summary));
    out
}
