//! The `.ipynb` reader on notebooks built from an `Arbitrary` description: cells with known,
//! unknown or missing `cell_type`, `source` as a string, a list, a list holding non-strings,
//! null or a number, metadata, outputs, execution counts, and odd `nbformat` values (3, 5,
//! 4.0, "4", negative, null, missing) with or without `worksheets`. Invariant: the reader's
//! answer equals an oracle that applies nbformat's rules to the description (which cells,
//! which error, which cell index), and a notebook it accepts reads the same when pretty-printed.
#![no_main]

use arbitrary::Arbitrary;
use coral_core::{Cell, CellKind, Notebook, NotebookError};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

#[derive(Arbitrary, Debug)]
enum Nbformat {
    Missing,
    Null,
    Int(u64),
    Four,
    Three,
    Float(f32),
    Negative(i8),
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum CellType {
    Code,
    Markdown,
    Raw,
    Missing,
    Null,
    Other(String),
    Number(u8),
}

#[derive(Arbitrary, Debug)]
enum Source {
    Missing,
    Null,
    Text(String),
    Lines(Vec<String>),
    /// A list with one entry that is not a string, at `at`.
    LinesWithNumber {
        lines: Vec<String>,
        at: u8,
    },
    Number(i32),
    Object,
}

#[derive(Arbitrary, Debug)]
enum Output {
    Stream(String),
    ExecuteResult {
        count: Option<u32>,
        text: Vec<String>,
    },
    Error {
        name: String,
        traceback: Vec<String>,
    },
    Garbage(u8),
}

#[derive(Arbitrary, Debug)]
struct CellDesc {
    cell_type: CellType,
    source: Source,
    metadata: Option<Vec<(String, String)>>,
    outputs: Option<Vec<Output>>,
    execution_count: Option<Option<i64>>,
    id: Option<String>,
    /// An entry of the list that is not an object at all.
    not_an_object: bool,
}

#[derive(Arbitrary, Debug)]
enum Cells {
    Missing,
    Null,
    List(Vec<CellDesc>),
    NotAList,
}

#[derive(Arbitrary, Debug)]
struct NotebookDesc {
    nbformat: Nbformat,
    nbformat_minor: Option<i16>,
    metadata: Option<Vec<(String, String)>>,
    cells: Cells,
    worksheets: Option<bool>,
    pretty: bool,
}

/// What the reader must answer. `Json` stands for any JSON-level (type) error.
#[derive(Debug, PartialEq)]
enum Expected {
    Cells(Vec<Cell>),
    Json,
    Unsupported(u64),
    MissingCells,
    InvalidCell(usize),
}

fn object(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn output(output: &Output) -> Value {
    match output {
        Output::Stream(text) => json!({"output_type": "stream", "name": "stdout", "text": text}),
        Output::ExecuteResult { count, text } => json!({"output_type": "execute_result",
            "execution_count": count, "data": {"text/plain": text}, "metadata": {}}),
        Output::Error { name, traceback } => json!({"output_type": "error", "ename": name,
            "evalue": "", "traceback": traceback}),
        Output::Garbage(n) => json!(n),
    }
}

/// The cell's JSON and what nbformat's rules make of it.
fn cell(desc: &CellDesc) -> (Value, Result<Cell, ()>) {
    if desc.not_an_object {
        return (json!(["cell"]), Err(()));
    }
    let mut map = Map::new();
    let kind = match &desc.cell_type {
        CellType::Code => Some("code"),
        CellType::Markdown => Some("markdown"),
        CellType::Raw => Some("raw"),
        CellType::Missing | CellType::Null | CellType::Number(_) => None,
        CellType::Other(name) => Some(name.as_str()),
    };
    match &desc.cell_type {
        CellType::Missing => {}
        CellType::Null => {
            map.insert("cell_type".into(), Value::Null);
        }
        CellType::Number(n) => {
            map.insert("cell_type".into(), json!(n));
        }
        _ => {
            map.insert("cell_type".into(), json!(kind));
        }
    }
    let kind = match kind {
        Some("code") => Ok(CellKind::Code),
        Some("markdown") => Ok(CellKind::Markdown),
        Some("raw") => Ok(CellKind::Raw),
        _ => Err(()),
    };
    let source: Result<String, ()> = match &desc.source {
        Source::Missing => Ok(String::new()),
        Source::Null => {
            map.insert("source".into(), Value::Null);
            Ok(String::new())
        }
        Source::Text(text) => {
            map.insert("source".into(), json!(text));
            Ok(text.clone())
        }
        Source::Lines(lines) => {
            map.insert("source".into(), json!(lines));
            Ok(lines.concat())
        }
        Source::LinesWithNumber { lines, at } => {
            let mut list: Vec<Value> = lines.iter().map(|l| json!(l)).collect();
            let at = usize::from(*at) % (list.len() + 1);
            list.insert(at, json!(7));
            map.insert("source".into(), Value::Array(list));
            Err(())
        }
        Source::Number(n) => {
            map.insert("source".into(), json!(n));
            Err(())
        }
        Source::Object => {
            map.insert("source".into(), json!({"text": "x"}));
            Err(())
        }
    };
    if let Some(metadata) = &desc.metadata {
        map.insert("metadata".into(), object(metadata));
    }
    if let Some(outputs) = &desc.outputs {
        map.insert("outputs".into(), outputs.iter().map(output).collect());
    }
    if let Some(count) = desc.execution_count {
        map.insert("execution_count".into(), json!(count));
    }
    if let Some(id) = &desc.id {
        map.insert("id".into(), json!(id));
    }
    let expected = match (kind, source) {
        (Ok(kind), Ok(source)) => Ok(Cell { kind, source }),
        _ => Err(()),
    };
    (Value::Object(map), expected)
}

fn build(desc: &NotebookDesc) -> (Value, Expected) {
    let mut map = Map::new();
    // `nbformat` must be an unsigned integer (or null/absent) to deserialise at all.
    let nbformat: Result<Option<u64>, ()> = match &desc.nbformat {
        Nbformat::Missing => Ok(None),
        Nbformat::Null => {
            map.insert("nbformat".into(), Value::Null);
            Ok(None)
        }
        Nbformat::Int(n) => {
            map.insert("nbformat".into(), json!(n));
            Ok(Some(*n))
        }
        Nbformat::Four => {
            map.insert("nbformat".into(), json!(4));
            Ok(Some(4))
        }
        Nbformat::Three => {
            map.insert("nbformat".into(), json!(3));
            Ok(Some(3))
        }
        Nbformat::Float(f) => {
            // serde_json writes a non-finite float as null.
            map.insert("nbformat".into(), json!(f));
            if f.is_finite() {
                Err(())
            } else {
                Ok(None)
            }
        }
        Nbformat::Negative(n) => {
            map.insert(
                "nbformat".into(),
                json!(-i64::from(n.unsigned_abs().max(1))),
            );
            Err(())
        }
        Nbformat::Text(text) => {
            map.insert("nbformat".into(), json!(text));
            Err(())
        }
    };
    if let Some(minor) = desc.nbformat_minor {
        map.insert("nbformat_minor".into(), json!(minor));
    }
    if let Some(metadata) = &desc.metadata {
        map.insert("metadata".into(), object(metadata));
    }
    let mut cells_expected: Result<Option<Vec<Result<Cell, ()>>>, ()> = Ok(None);
    match &desc.cells {
        Cells::Missing => {}
        Cells::Null => {
            map.insert("cells".into(), Value::Null);
        }
        Cells::NotAList => {
            map.insert("cells".into(), json!({"0": {}}));
            cells_expected = Err(());
        }
        Cells::List(list) => {
            let (values, expected): (Vec<Value>, Vec<Result<Cell, ()>>) =
                list.iter().map(cell).unzip();
            map.insert("cells".into(), Value::Array(values));
            cells_expected = Ok(Some(expected));
        }
    }
    let worksheets = desc.worksheets.is_some_and(|present| present);
    if let Some(present) = desc.worksheets {
        map.insert(
            "worksheets".into(),
            if present {
                json!([{"cells": []}])
            } else {
                Value::Null
            },
        );
    }
    let (Ok(nbformat), Ok(cells)) = (nbformat, cells_expected) else {
        return (Value::Object(map), Expected::Json);
    };
    let expected = match nbformat {
        Some(version) if version != 4 => Expected::Unsupported(version),
        _ if worksheets && cells.is_none() => Expected::Unsupported(nbformat.unwrap_or(3)),
        _ => match cells {
            None => Expected::MissingCells,
            Some(cells) => match cells.iter().position(Result::is_err) {
                Some(index) => Expected::InvalidCell(index),
                None => Expected::Cells(cells.into_iter().flatten().collect()),
            },
        },
    };
    (Value::Object(map), expected)
}

fuzz_target!(|desc: NotebookDesc| {
    let (value, expected) = build(&desc);
    let bytes = if desc.pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    }
    .expect("JSON serialises");
    coral_fuzz::dump(&bytes);
    let got = match Notebook::from_ipynb(&bytes) {
        Ok(notebook) => {
            let compact = serde_json::to_vec(&value).expect("JSON serialises");
            assert_eq!(
                Notebook::from_ipynb(&compact).as_ref(),
                Ok(&notebook),
                "layout matters not"
            );
            Expected::Cells(notebook.cells)
        }
        Err(NotebookError::Json {
            line,
            column,
            message,
        }) => {
            let e = serde_json::from_slice::<serde_json::Value>(&bytes)
                .err()
                .or_else(|| serde_json::from_slice::<RawNotebook>(&bytes).err())
                .expect("serde rejects it too");
            assert_eq!((line, column), (e.line(), e.column()));
            assert_eq!(
                message,
                coral_fuzz::without_position(&e),
                "only the position is cut"
            );
            Expected::Json
        }
        Err(NotebookError::UnsupportedNbformat(version)) => Expected::Unsupported(version),
        Err(NotebookError::MissingCells) => Expected::MissingCells,
        Err(NotebookError::InvalidCell { index, .. }) => Expected::InvalidCell(index),
    };
    assert_eq!(got, expected, "{}", String::from_utf8_lossy(&bytes));
});

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct RawNotebook {
    nbformat: Option<u64>,
    cells: Option<Vec<Value>>,
    worksheets: Option<Value>,
}
