//! Any input yields a result or a typed error, never a panic; pathological cells finish.

use coral_core::{featurize_cell, featurize_notebook, Notebook, Scope, SeedTable, Stage};
use proptest::prelude::*;

fn featurize_source(source: &str) -> coral_core::CellFeatures {
    featurize_cell(
        0,
        source,
        None,
        None,
        &mut Scope::new(),
        &SeedTable::builtin(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_as_notebook_file(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Notebook::from_ipynb(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let notebook = Notebook::from_percent_script(&text);
        let _ = featurize_notebook(&notebook, &SeedTable::builtin());
    }

    #[test]
    fn any_string_as_cell(source in "\\PC{0,400}") {
        let features = featurize_source(&source);
        prop_assert_eq!(features.graph.tokens.first().map(String::as_str), Some("[CLS]"));
        prop_assert_eq!(features.graph.tokens.len(), features.graph.segments.len());
    }

    #[test]
    fn python_like_strings_as_cell(source in "([a-z_]{1,6}|[ \\n\\t]|[()\\[\\]{}.,:=+%!?#'\"]|import |def |class |for |in ){0,120}") {
        let features = featurize_source(&source);
        let vocab = coral_core::Vocab::build(std::iter::empty(), 1, 10);
        let input = features.graph.encode(&vocab, coral_core::EncodeOptions::default());
        prop_assert!(input.len() <= 160);
        prop_assert!(input.node_of.iter().all(|&n| n == coral_core::input::NO_NODE || (n as usize) < input.node_parent.len()));
        let _ = input.dense_mask();
    }

    #[test]
    fn json_shaped_notebooks(cells in proptest::collection::vec(("(code|markdown|raw|other)", "\\PC{0,40}"), 0..8)) {
        let cells: Vec<serde_json::Value> = cells
            .into_iter()
            .map(|(kind, source)| serde_json::json!({"cell_type": kind, "source": [source]}))
            .collect();
        let text = serde_json::json!({"nbformat": 4, "cells": cells}).to_string();
        if let Ok(notebook) = Notebook::from_ipynb(text.as_bytes()) {
            let _ = featurize_notebook(&notebook, &SeedTable::builtin());
        }
    }
}

#[test]
fn five_thousand_nested_brackets() {
    let source = format!("x = {}1{}\nprint(x)", "[".repeat(5000), "]".repeat(5000));
    let features = featurize_source(&source);
    assert!(features.graph.code_positions > 5000);
    assert!(features.graph.len() <= coral_core::syntax::MAX_STORED_POSITIONS + 1);
    let unbalanced = featurize_source(&"(".repeat(5000));
    assert!(unbalanced.syntax_error);
}

#[test]
fn five_megabyte_cell() {
    let line = "df = pd.read_csv('data.csv').dropna()  # load\n";
    let source = format!(
        "import pandas as pd\n{}",
        line.repeat(5_000_000 / line.len())
    );
    assert!(source.len() > 4_900_000);
    let features = featurize_source(&source);
    assert!(!features.syntax_error);
    assert_eq!(features.weak_label.map(|l| l.stage), Some(Stage::Wrangle));
    assert!(features.graph.len() <= coral_core::syntax::MAX_STORED_POSITIONS + 1);
    assert!(features.calls.len() > 200_000);
}

#[test]
fn invalid_utf8_notebook_is_an_error_not_a_panic() {
    let mut bytes = br#"{"nbformat":4,"cells":[{"cell_type":"code","source":""#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'"', b'}', b']', b'}']);
    assert!(Notebook::from_ipynb(&bytes).is_err());
}
