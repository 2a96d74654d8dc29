//! The `.ipynb` reader on arbitrary bytes. Invariants: it never panics; a notebook it accepts
//! is a JSON object whose `cells` list it reproduces (same count, kinds and joined sources);
//! writing the result back as nbformat 4 and reading it again gives the same notebook; a JSON
//! error's message carries no position (the position is in its own fields). The corpus-shard
//! reader (`CorpusRecord::from_json_line`) gets the same bytes.
#![no_main]

use coral_core::{CellKind, CorpusRecord, Notebook, NotebookError};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// The shape the reader deserialises, so that serde's own error can be compared with the one
/// the reader reports.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct RawNotebook {
    nbformat: Option<u64>,
    cells: Option<Vec<Value>>,
    worksheets: Option<Value>,
}

fn joined(source: Option<&Value>) -> String {
    match source {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

fn kind_name(kind: CellKind) -> &'static str {
    match kind {
        CellKind::Code => "code",
        CellKind::Markdown => "markdown",
        CellKind::Raw => "raw",
    }
}

fn to_ipynb(notebook: &Notebook) -> Vec<u8> {
    let cells: Vec<Value> = notebook
        .cells
        .iter()
        .map(|cell| json!({"cell_type": kind_name(cell.kind), "metadata": {}, "source": cell.source}))
        .collect();
    serde_json::to_vec(&json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
        .expect("a notebook serialises")
}

fuzz_target!(|data: &[u8]| {
    coral_fuzz::dump(data);
    match Notebook::from_ipynb(data) {
        Ok(notebook) => {
            let value: Value = serde_json::from_slice(data).expect("accepted bytes are JSON");
            let cells = value
                .get("cells")
                .and_then(Value::as_array)
                .expect("an accepted notebook has a cells list");
            assert_eq!(cells.len(), notebook.cells.len(), "one cell per entry");
            for (cell, raw) in notebook.cells.iter().zip(cells) {
                assert_eq!(
                    Some(kind_name(cell.kind)),
                    raw.get("cell_type").and_then(Value::as_str)
                );
                assert_eq!(cell.source, joined(raw.get("source")));
            }
            let again = Notebook::from_ipynb(&to_ipynb(&notebook)).expect("round trip reads");
            assert_eq!(again, notebook, "write + read is the identity");
        }
        Err(NotebookError::Json {
            line,
            column,
            message,
        }) => {
            match serde_json::from_slice::<RawNotebook>(data) {
                Err(e) => {
                    assert_eq!((line, column), (e.line(), e.column()));
                    assert_eq!(
                        message,
                        coral_fuzz::without_position(&e),
                        "only the position is cut"
                    );
                }
                // serde reads a struct from a list of its fields; the reader refuses that.
                Ok(_) => assert!(data.trim_ascii_start().starts_with(b"["), "{message}"),
            }
        }
        Err(_) => {}
    }
    if let Ok(line) = std::str::from_utf8(data) {
        if let Ok(record) = CorpusRecord::from_json_line(line) {
            let value: Value = serde_json::from_str(line).expect("accepted line is JSON");
            let cells = value
                .get("cells")
                .and_then(Value::as_array)
                .expect("cells list");
            assert_eq!(cells.len(), record.notebook.cells.len());
        }
    }
});
