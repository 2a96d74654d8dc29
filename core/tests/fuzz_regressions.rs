//! Every input that made a fuzz target (`fuzz/`) fail, replayed through the invariants that
//! target checks. The files in `fixtures/fuzz/<target>/` are what the target derived from the
//! crashing input (`CORAL_FUZZ_DUMP`, see fuzz/README.md): notebook bytes, a percent script,
//! a cell's source, or a notebook's cells as JSON.

use std::path::{Path, PathBuf};

use coral_core::input::NO_NODE;
use coral_core::{
    featurize_cell, featurize_notebook, percent_spans, Cell, CellKind, CorpusRecord, EncodeOptions,
    Notebook, NotebookError, Scope, SeedTable, Vocab,
};

fn fixtures(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/fuzz")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable fixture");
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// The shape `Notebook::from_ipynb` deserialises (its name is part of serde's messages).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct RawNotebook {
    nbformat: Option<u64>,
    cells: Option<Vec<serde_json::Value>>,
    worksheets: Option<serde_json::Value>,
}

fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

fn check_ipynb(path: &Path, bytes: &[u8]) {
    match Notebook::from_ipynb(bytes) {
        Ok(notebook) => {
            featurize_notebook(&notebook, &SeedTable::builtin());
        }
        Err(NotebookError::Json {
            line,
            column,
            message,
        }) => {
            match serde_json::from_slice::<RawNotebook>(bytes) {
                Err(e) => {
                    assert_eq!((line, column), (e.line(), e.column()), "{}", path.display());
                    assert_eq!(
                        message,
                        without_position(&e),
                        "{}: only the position is cut from the message",
                        path.display()
                    );
                }
                // serde reads a struct from a JSON list of its fields; a notebook is an object.
                Ok(_) => assert!(
                    bytes.trim_ascii_start().starts_with(b"["),
                    "{}: {message}",
                    path.display()
                ),
            }
        }
        Err(_) => {}
    }
    if let Ok(line) = std::str::from_utf8(bytes) {
        if let Ok(record) = CorpusRecord::from_json_line(line) {
            let value: serde_json::Value = serde_json::from_str(line).expect("accepted JSON");
            let cells = value.get("cells").and_then(serde_json::Value::as_array);
            assert_eq!(
                cells.map(Vec::len),
                Some(record.notebook.cells.len()),
                "{}: a record is an object with a cells list",
                path.display()
            );
        }
    }
}

#[test]
fn ipynb_fixtures() {
    for target in ["ipynb_bytes", "ipynb_structured"] {
        for (path, bytes) in fixtures(target) {
            check_ipynb(&path, &bytes);
        }
    }
}

#[test]
fn percent_fixtures() {
    for (path, bytes) in fixtures("percent") {
        let text = String::from_utf8(bytes).expect("percent fixtures are UTF-8");
        let spans = percent_spans(&text);
        let mut end = None;
        for span in &spans {
            assert!(
                text.get(span.body.clone()).is_some(),
                "{}: {span:?}",
                path.display()
            );
            if let Some(end) = end {
                assert!(end <= span.body.start, "{}: {span:?}", path.display());
            }
            end = Some(span.body.end);
        }
        assert_eq!(end.unwrap_or(text.len()), text.len(), "{}", path.display());
        let notebook = Notebook::from_percent_script(&text);
        assert_eq!(notebook.cells.len(), spans.len(), "{}", path.display());
    }
}

#[test]
fn featurize_fixtures() {
    let seeds = SeedTable::builtin();
    for (path, bytes) in fixtures("featurize") {
        let source = String::from_utf8(bytes).expect("featurize fixtures are UTF-8");
        let started = std::time::Instant::now();
        let features = featurize_cell(0, &source, None, None, &mut Scope::new(), &seeds);
        // The 120 k-character line ran past the fuzzer's timeout (45 s with AddressSanitizer)
        // while the data-flow pass asked tree-sitter for each identifier's parent, a descent
        // from the root; a quarter of a second optimised since the pass walks with one cursor.
        // The bound is loose for loaded machines and still catches the quadratic.
        assert!(
            started.elapsed() < std::time::Duration::from_mins(1),
            "{}: {:?}",
            path.display(),
            started.elapsed()
        );
        let graph = &features.graph;
        assert_eq!(graph.tokens.first().map(String::as_str), Some("[CLS]"));
        for (node, &parent) in graph.node_parent.iter().enumerate() {
            assert!(
                parent == NO_NODE || (parent as usize) < node,
                "{}: node {node}'s parent {parent}",
                path.display()
            );
        }
        let vocab = Vocab::build(graph.tokens.iter().map(|t| (t.clone(), 1)), 1, 64);
        let input = graph.encode(&vocab, EncodeOptions::default());
        assert!(input.len() <= EncodeOptions::default().max_len);
        let again = featurize_cell(0, &source, None, None, &mut Scope::new(), &seeds);
        assert_eq!(again, features, "{}: deterministic", path.display());
    }
}

/// `{"cells": [{"kind": "code", "source": "…"}, …]}`, as the dataflow target writes it.
fn notebook_from_json(bytes: &[u8]) -> Notebook {
    let value: serde_json::Value = serde_json::from_slice(bytes).expect("a dataflow fixture");
    let cells = value["cells"]
        .as_array()
        .expect("a cells list")
        .iter()
        .map(|cell| Cell {
            kind: match cell["kind"].as_str() {
                Some("markdown") => CellKind::Markdown,
                Some("raw") => CellKind::Raw,
                _ => CellKind::Code,
            },
            source: cell["source"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    Notebook { cells }
}

#[test]
fn dataflow_fixtures() {
    let seeds = SeedTable::builtin();
    for (path, bytes) in fixtures("dataflow") {
        let notebook = notebook_from_json(&bytes);
        let full = featurize_notebook(&notebook, &seeds);
        for cut in 0..=notebook.cells.len() {
            let head = Notebook {
                cells: notebook.cells[..cut].to_vec(),
            };
            let head = featurize_notebook(&head, &seeds);
            assert_eq!(
                head[..],
                full[..head.len()],
                "{}: later cells change nothing before",
                path.display()
            );
        }
    }
}
