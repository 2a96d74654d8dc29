//! The model that ships in `models/` (the default of every entry point) labels the example
//! notebooks as it did when it was trained: a change of model, featurizer or seeds that moves
//! a prediction shows up here as a snapshot diff to review.

mod common;

use std::fmt::Write as _;

use coral_server::engine::Device as EngineDevice;
use coral_server::{Engine, EngineConfig, LabelSource};

#[test]
fn shipped_model_labels_the_examples_stably() {
    if !common::ort_available() {
        return;
    }
    let engine = Engine::try_load(&EngineConfig {
        model_dir: Some(common::workspace().join("models")),
        device: EngineDevice::Cpu,
        threads: Some(2),
        ..EngineConfig::default()
    })
    .expect("models/ loads");
    let mut out = String::new();
    for (path, notebook) in common::fixture_notebooks()
        .into_iter()
        .filter(|(path, _)| path.starts_with("examples"))
    {
        let labels = engine.label_notebook(&notebook);
        let _ = writeln!(out, "{path}");
        for cell in &labels.cells {
            let stage = cell.stage.map_or("-".to_owned(), |s| s.to_string());
            let confident = cell
                .probabilities
                .and_then(|p| p.into_iter().reduce(f32::max))
                .is_some_and(|p| p >= 0.5);
            assert!(
                cell.stage.is_none() || cell.source == LabelSource::Model,
                "{path} cell {}: the model labels every non-empty cell",
                cell.index
            );
            let _ = writeln!(
                out,
                "  cell {:>2}  {stage:<8} {}  {}",
                cell.index,
                if confident { "p>=0.5" } else { "p<0.5 " },
                cell.heuristic_rule.as_deref().unwrap_or("")
            );
        }
        let summary = &labels.report.summary;
        let findings: Vec<&str> = labels
            .report
            .findings
            .iter()
            .map(|f| f.rule.code())
            .collect();
        let _ = writeln!(
            out,
            "  normalized entropy {:.2}, findings {findings:?}",
            summary.normalized_entropy
        );
    }
    insta::assert_snapshot!(out);
}

/// `models/int8/` is the same run exported with int8 weights: on every fixture and example
/// notebook it gives the float model's stage to nearly every cell.
#[test]
fn int8_model_agrees_with_the_shipped_model() {
    if !common::ort_available() {
        return;
    }
    let load = |dir: &str| {
        Engine::try_load(&EngineConfig {
            model_dir: Some(common::workspace().join(dir)),
            device: EngineDevice::Cpu,
            threads: Some(2),
            ..EngineConfig::default()
        })
        .unwrap_or_else(|e| panic!("{dir} loads: {e}"))
    };
    let (float, int8) = (load("models"), load("models/int8"));
    let (mut cells, mut same, mut worst) = (0usize, 0usize, 0.0f32);
    for (path, notebook) in common::fixture_notebooks() {
        let (a, b) = (
            float.label_notebook(&notebook),
            int8.label_notebook(&notebook),
        );
        assert_eq!(a.cells.len(), b.cells.len(), "{path}");
        for (x, y) in a.cells.iter().zip(&b.cells) {
            let (Some(p), Some(q)) = (x.probabilities, y.probabilities) else {
                continue;
            };
            cells += 1;
            same += usize::from(x.stage == y.stage);
            for (p, q) in p.iter().zip(&q) {
                worst = worst.max((p - q).abs());
            }
        }
    }
    eprintln!("int8 vs float32: {same}/{cells} cells agree, max |Δp| {worst:.3}");
    assert!(cells >= 50, "only {cells} cells were compared");
    assert!(
        same * 100 >= cells * 95,
        "only {same} of {cells} cells agree"
    );
    assert!(worst < 0.25, "a probability moved by {worst}");
}
