//! The JSON format, version 1 (documented in server/README.md; other tools parse it, so change
//! it only by adding a new version).

use std::collections::BTreeMap;

use coral_core::Stage;
use serde::Serialize;

use super::severity_str;
use crate::check::CheckReport;
use crate::engine::{CellLabel, LabelSource};

/// Format version written as `"version"`.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    model: Model<'a>,
    files: Vec<File<'a>>,
    errors: Vec<Error<'a>>,
}

#[derive(Serialize)]
struct Model<'a> {
    path: Option<String>,
    featurizer_version: &'a str,
    device: &'a str,
    fallback: bool,
}

#[derive(Serialize)]
struct File<'a> {
    path: &'a str,
    cells: Vec<Cell<'a>>,
    summary: Summary,
    findings: Vec<Finding<'a>>,
}

#[derive(Serialize)]
struct Cell<'a> {
    index: usize,
    stage: Option<Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probabilities: Option<BTreeMap<Stage, f64>>,
    source: LabelSource,
    heuristic_rule: Option<&'a str>,
    lines: usize,
}

#[derive(Serialize)]
struct Summary {
    stage_shares: BTreeMap<Stage, f64>,
    entropy: f64,
    normalized_entropy: f64,
    transition_rate: f64,
}

#[derive(Serialize)]
struct Finding<'a> {
    rule: &'a str,
    severity: &'a str,
    message: &'a str,
    cell: Option<usize>,
}

#[derive(Serialize)]
struct Error<'a> {
    path: &'a str,
    message: &'a str,
}

/// Probabilities are rounded to 4 decimals: more is noise, and it keeps reports diffable.
fn round4(p: f32) -> f64 {
    (f64::from(p) * 1e4).round() / 1e4
}

fn cell(label: &CellLabel) -> Cell<'_> {
    Cell {
        index: label.index,
        stage: label.stage,
        probabilities: label.probabilities.map(|probs| {
            Stage::ALL
                .iter()
                .zip(probs)
                .map(|(&s, p)| (s, round4(p)))
                .collect()
        }),
        source: label.source,
        heuristic_rule: label.heuristic_rule.as_deref(),
        lines: label.lines,
    }
}

/// The report as a JSON value (the LSP's summary request returns it as is).
pub fn value(report: &CheckReport) -> serde_json::Value {
    serde_json::to_value(output(report))
        .unwrap_or_else(|e| serde_json::json!({ "version": VERSION, "error": e.to_string() }))
}

/// The report as pretty-printed JSON text, ending in a newline.
pub fn render(report: &CheckReport) -> String {
    let mut text = serde_json::to_string_pretty(&output(report))
        .unwrap_or_else(|e| format!("{{\"version\":{VERSION},\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

fn output(report: &CheckReport) -> Output<'_> {
    Output {
        version: VERSION,
        model: Model {
            path: report
                .model
                .path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            featurizer_version: &report.model.featurizer_version,
            device: &report.model.device,
            fallback: report.model.fallback,
        },
        files: report
            .files
            .iter()
            .map(|f| {
                let summary = &f.labels.report.summary;
                File {
                    path: &f.display,
                    cells: f.labels.cells.iter().map(cell).collect(),
                    summary: Summary {
                        // `+ 0.0` turns -0.0 (a one-stage notebook) into 0.0.
                        stage_shares: summary
                            .stage_shares
                            .iter()
                            .map(|(&s, &p)| (s, p + 0.0))
                            .collect(),
                        entropy: summary.entropy + 0.0,
                        normalized_entropy: summary.normalized_entropy + 0.0,
                        transition_rate: summary.transition_rate + 0.0,
                    },
                    findings: f
                        .labels
                        .report
                        .findings
                        .iter()
                        .map(|finding| Finding {
                            rule: finding.rule.code(),
                            severity: severity_str(finding.severity),
                            message: &finding.message,
                            cell: finding.cell,
                        })
                        .collect(),
                }
            })
            .collect(),
        errors: report
            .errors
            .iter()
            .map(|e| Error {
                path: &e.display,
                message: &e.message,
            })
            .collect(),
    }
}
