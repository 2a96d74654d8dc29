//! Bad input costs nothing else: a folder with a truncated .ipynb, a binary file named .ipynb,
//! an nbformat 3 file, a notebook with 20,000 cells and one with a 5 MB cell, beside good
//! notebooks. Every good file is reported, the bad ones are in `errors`, the exit code is 2,
//! and nothing panics — with the heuristics and with the model.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

fn notebook(cells: &[Value]) -> String {
    json!({
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": cells
    })
    .to_string()
}

fn code(source: &str) -> Value {
    json!({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null, "source": source})
}

fn build_folder(dir: &Path) {
    let root = common::workspace();
    for (from, to) in [
        ("fixtures/notebooks/truncated.ipynb", "bad/truncated.ipynb"),
        ("fixtures/notebooks/binary.ipynb", "bad/binary.ipynb"),
        ("fixtures/notebooks/nbformat3.ipynb", "bad/nbformat3.ipynb"),
        ("examples/titanic_classifier.ipynb", "good/titanic.ipynb"),
        ("examples/percent_script.py", "good/script.py"),
        ("fixtures/notebooks/unicode.ipynb", "good/unicode.ipynb"),
    ] {
        let target = dir.join(to);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(root.join(from), target).expect("copy");
    }

    // 20,000 cells: code and markdown, with repeats (the cache and dedup see them).
    let mut cells = Vec::with_capacity(20_000);
    for i in 0..20_000 {
        cells.push(match i % 5 {
            0 => json!({"cell_type": "markdown", "metadata": {}, "source": format!("## Step {i}")}),
            1 => code("import pandas as pd"),
            2 => code(&format!("df{i} = pd.read_csv('data_{i}.csv')")),
            3 => code(&format!("df{}.describe()", i - 1)),
            _ => code("model.fit(X, y)\nscore = model.score(X, y)"),
        });
    }
    std::fs::create_dir_all(dir.join("huge")).expect("mkdir");
    std::fs::write(dir.join("huge/many_cells.ipynb"), notebook(&cells)).expect("write");

    // One 5 MB cell.
    let mut big = String::with_capacity(5 << 20);
    let mut line = 0;
    while big.len() < 5 << 20 {
        let _ = writeln!(big, "value_{line} = frame['column_{line}'].mean() * {line}");
        line += 1;
    }
    std::fs::write(
        dir.join("huge/big_cell.ipynb"),
        notebook(&[
            code("import pandas as pd"),
            code(&big),
            code("frame.head()"),
        ]),
    )
    .expect("write");
    // Not a notebook at all, and plain Python: skipped in a folder.
    std::fs::write(dir.join("good/module.py"), "x = 1\n").expect("write");
    // Checkpoints are skipped (this one is broken and must not show up in `errors`).
    std::fs::create_dir_all(dir.join("good/.ipynb_checkpoints")).expect("mkdir");
    std::fs::write(
        dir.join("good/.ipynb_checkpoints/titanic-checkpoint.ipynb"),
        "{",
    )
    .expect("write");
}

fn run(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--check", "--no-config", "--format=json"];
    args.extend_from_slice(extra);
    args.push(".");
    let out = common::coral(dir, &args);
    let stderr = common::stderr(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    serde_json::from_str(&common::stdout(&out)).expect("a JSON report")
}

fn assert_report(json: &Value) {
    let files: Vec<&str> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        files,
        [
            "good/script.py",
            "good/titanic.ipynb",
            "good/unicode.ipynb",
            "huge/big_cell.ipynb",
            "huge/many_cells.ipynb"
        ]
    );
    let errors: Vec<(&str, &str)> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path"),
                e["message"].as_str().expect("message"),
            )
        })
        .collect();
    let paths: Vec<&str> = errors.iter().map(|e| e.0).collect();
    assert_eq!(
        paths,
        [
            "bad/binary.ipynb",
            "bad/nbformat3.ipynb",
            "bad/truncated.ipynb"
        ]
    );
    assert!(
        errors[0].1.contains("not valid notebook JSON"),
        "{}",
        errors[0].1
    );
    assert!(errors[1].1.contains("nbformat 3"), "{}", errors[1].1);
    assert!(errors[2].1.contains("line"), "{}", errors[2].1);

    let many = &json["files"][4];
    let cells = many["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 16_000);
    assert_eq!(cells[0]["index"], 1);
    assert_eq!(cells[15_999]["index"], 19_999);
    let big = &json["files"][3]["cells"];
    assert_eq!(big.as_array().expect("cells").len(), 3);
    assert!(big[1]["lines"].as_u64().expect("lines") > 50_000);
}

#[test]
fn bad_and_huge_notebooks_heuristics() {
    let dir = tempfile::tempdir().expect("temp dir");
    build_folder(dir.path());
    let json = run(dir.path(), &["--no-model"]);
    assert_report(&json);
    assert_eq!(json["files"][4]["cells"][0]["stage"], "IMPORT");
}

#[test]
fn bad_and_huge_notebooks_model() {
    if !common::ort_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    build_folder(dir.path());
    let model = common::tiny_model_dir();
    let json = run(
        dir.path(),
        &["--model", model.to_str().expect("utf-8"), "--device=cpu"],
    );
    assert_eq!(json["model"]["fallback"], false);
    assert_report(&json);
    assert_eq!(json["files"][4]["cells"][1]["source"], "model");
}
