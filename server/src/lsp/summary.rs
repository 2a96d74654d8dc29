//! `coral/notebookSummary`: the `--check --format json` report for one document, rendered by
//! the check's own JSON writer ([`crate::report::json`]) so both stay one schema.

use std::path::PathBuf;

use serde_json::Value;

use crate::check::discover::FileKind;
use crate::check::{CheckReport, FileReport};
use crate::engine::{ModelInfo, NotebookLabels};

/// The report for one labelled document.
pub fn report(
    path: &str,
    uri: &str,
    kind: FileKind,
    labels: &NotebookLabels,
    model: &ModelInfo,
) -> Value {
    let report = CheckReport {
        model: model.clone(),
        files: vec![FileReport {
            path: PathBuf::from(path),
            display: path.to_owned(),
            uri: uri.to_owned(),
            kind,
            cell_lines: Vec::new(),
            labels: labels.clone(),
        }],
        errors: Vec::new(),
    };
    crate::report::json::value(&report)
}
