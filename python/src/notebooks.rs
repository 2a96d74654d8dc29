//! Labelling notebooks held in memory.
//!
//! Each notebook comes back as the file object of `--check --format json` (`path`, `cells`,
//! `summary`, `findings`), rendered by coral-server's JSON report from a [`FileReport`] built as
//! `--check` builds it, so the package and the command line cannot drift apart.

use coral_core::metrics::FindingsConfig;
use coral_core::Notebook;
use rayon::prelude::*;

use coral_server::check::discover::FileKind;
use coral_server::check::{locate, CheckReport, FileReport};
use coral_server::report::json;
use coral_server::Engine;

/// One notebook to label.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Shown as the report's `path` and in errors.
    pub name: &'a str,
    /// The file's text: `.ipynb` JSON (a corpus shard's line reads the same way) or a
    /// percent script.
    pub text: &'a str,
    pub kind: FileKind,
}

/// A notebook that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct NotebookFailure {
    pub name: String,
    pub message: String,
}

/// A notebook's JSON file object, or why it was unreadable.
pub type Labelled = Result<serde_json::Value, NotebookFailure>;

/// Labels `inputs` together (model runs are batched across them, as `--check` batches a
/// folder) and returns, in input order, each one's JSON file object or why it was unreadable.
pub fn label_json(
    engine: &Engine,
    inputs: &[Input<'_>],
    findings: &FindingsConfig,
) -> Vec<Labelled> {
    let parsed: Vec<Result<(Notebook, Vec<usize>), NotebookFailure>> =
        inputs.par_iter().map(|input| parse(input)).collect();
    let mut notebooks = Vec::new();
    let mut lines = Vec::new();
    let mut slots = Vec::with_capacity(inputs.len());
    for (input, result) in inputs.iter().zip(parsed) {
        match result {
            Ok((notebook, cell_lines)) => {
                notebooks.push(notebook);
                lines.push((input, cell_lines));
                slots.push(Ok(()));
            }
            Err(failure) => slots.push(Err(failure)),
        }
    }
    let labels = engine.label_notebooks_with(&notebooks, findings);
    let files = lines
        .into_iter()
        .zip(labels)
        .map(|((input, cell_lines), labels)| FileReport {
            path: input.name.into(),
            display: input.name.to_owned(),
            uri: input.name.to_owned(),
            kind: input.kind,
            cell_lines,
            labels,
        })
        .collect();
    let report = CheckReport {
        model: engine.model_info(),
        files,
        errors: Vec::new(),
    };
    let mut value = json::value(&report);
    let mut rendered = value
        .get_mut("files")
        .and_then(serde_json::Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default()
        .into_iter();
    // Only a serialisation failure leaves fewer file objects than notebooks; it names itself.
    let render_error = value
        .get("error")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("the report could not be rendered")
        .to_owned();
    slots
        .into_iter()
        .zip(inputs)
        .map(|(slot, input)| {
            slot.and_then(|()| {
                rendered.next().ok_or_else(|| NotebookFailure {
                    name: input.name.to_owned(),
                    message: render_error.clone(),
                })
            })
        })
        .collect()
}

fn parse(input: &Input<'_>) -> Result<(Notebook, Vec<usize>), NotebookFailure> {
    match input.kind {
        FileKind::Ipynb => Notebook::from_ipynb(input.text.as_bytes())
            .map(|notebook| {
                let lines = locate::ipynb_cell_lines(input.text.as_bytes());
                (notebook, lines)
            })
            .map_err(|e| NotebookFailure {
                name: input.name.to_owned(),
                message: e.to_string(),
            }),
        FileKind::PercentScript => Ok((
            Notebook::from_percent_script(input.text),
            locate::percent_cell_lines(input.text),
        )),
    }
}
