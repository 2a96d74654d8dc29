//! The engine on a real ONNX model exported by coral-training: outputs are probabilities, ONNX
//! Runtime agrees with burn's forward pass on the same cells, the cache never re-runs an
//! unchanged cell, batching across notebooks changes nothing, and a model that does not meet
//! the contract is refused with a clear reason.

mod common;

use burn::prelude::*;
use coral_core::{featurize_notebook, ModelInput, Notebook, FEATURIZER_VERSION};
use coral_server::engine::{stage_probabilities, Device as EngineDevice, EngineError};
use coral_server::{Engine, EngineConfig, LabelSource};
use coral_training::batch::collate;

fn config_for(dir: &std::path::Path) -> EngineConfig {
    EngineConfig {
        model_dir: Some(dir.to_path_buf()),
        device: EngineDevice::Cpu,
        threads: Some(2),
        batch_size: 8,
        ..EngineConfig::default()
    }
}

fn notebooks() -> Vec<Notebook> {
    common::fixture_notebooks()
        .into_iter()
        .map(|(_, nb)| nb)
        .collect()
}

#[test]
fn onnx_runtime_matches_burn_forward_and_outputs_are_probabilities() {
    if !common::ort_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, config, _) = common::export_tiny_model(dir.path(), 41);
    let engine = Engine::try_load(&config_for(dir.path())).expect("model loads");
    let info = engine.model_info();
    assert!(!info.fallback);
    assert_eq!(info.device, "cpu");
    assert_eq!(info.featurizer_version, FEATURIZER_VERSION);
    assert_eq!(info.max_len, 160);

    let vocab = engine.vocab().expect("vocab");
    let options = engine.encode_options().expect("options");
    let mut inputs: Vec<ModelInput> = Vec::new();
    for nb in notebooks() {
        for cell in featurize_notebook(&nb, engine.seeds()) {
            if !cell.is_empty {
                inputs.push(cell.graph.encode(vocab, options));
            }
        }
    }
    assert!(inputs.len() > 60, "{} cells", inputs.len());

    let device = Device::flex();
    let mut worst = 0.0f32;
    for chunk in inputs.chunks(7) {
        let ort = engine
            .raw_stage_probs(chunk)
            .expect("a model is loaded")
            .expect("ONNX Runtime runs");
        let host = collate(chunk.iter().map(|i| (i, None)), config.max_len);
        let batch = host.to_device(&device);
        let out = model.forward(batch.tokens, batch.segments, batch.mask);
        let burn: Vec<f32> = out.p_stage.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(burn.len(), chunk.len() * 6);
        for (row, probs) in ort.iter().enumerate() {
            let sum: f32 = probs.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "stage_probs sum to {sum}");
            assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
            for (k, p) in probs.iter().enumerate() {
                worst = worst.max((p - burn[row * 6 + k]).abs());
            }
        }
    }
    eprintln!("{} cells: max |ort - burn| = {worst:.2e}", inputs.len());
    assert!(worst <= 1e-4, "ONNX Runtime and burn differ by {worst}");

    // Labels through the engine: model source, renormalised five-way probabilities.
    for labels in engine.label_notebooks(&notebooks()) {
        for cell in labels.cells {
            match cell.probabilities {
                Some(p) => {
                    assert_eq!(cell.source, LabelSource::Model);
                    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                    assert!(cell.stage.is_some());
                }
                None => assert_eq!(cell.stage, None, "only empty cells lack probabilities"),
            }
        }
    }
}

#[test]
fn cache_skips_unchanged_cells_and_batching_changes_nothing() {
    if !common::ort_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    common::export_tiny_model(dir.path(), 42);
    let engine = Engine::try_load(&config_for(dir.path())).expect("model loads");
    let nbs = notebooks();

    let together = engine.label_notebooks(&nbs);
    let first = engine.stats();
    assert!(first.cells_inferred > 0 && first.batches > 0);
    assert!(
        first.batches >= first.cells_inferred.div_ceil(8),
        "batches hold at most batch_size cells"
    );

    // Everything again: nothing runs.
    let again = engine.label_notebooks(&nbs);
    let second = engine.stats();
    assert_eq!(
        second.cells_inferred, first.cells_inferred,
        "unchanged cells re-ran"
    );
    assert!(second.cache_hits > first.cache_hits);
    assert_eq!(again, together);

    // One notebook at a time (fresh engine, no cache): same labels, same probabilities.
    let fresh = Engine::try_load(&EngineConfig {
        batch_size: 1,
        cache_capacity: 0,
        ..config_for(dir.path())
    })
    .expect("model loads");
    for (nb, expected) in nbs.iter().zip(&together) {
        let alone = fresh.label_notebook(nb);
        assert_eq!(alone.cells.len(), expected.cells.len());
        for (a, b) in alone.cells.iter().zip(&expected.cells) {
            assert_eq!(a.stage, b.stage);
            if let (Some(pa), Some(pb)) = (a.probabilities, b.probabilities) {
                for (x, y) in pa.iter().zip(pb) {
                    assert!((x - y).abs() < 1e-5, "batching changed a probability");
                }
            }
        }
    }

    // Edit one cell: only what changed runs.
    let mut edited = nbs[0].clone();
    let code = edited
        .cells
        .iter()
        .rposition(|c| c.kind == coral_core::CellKind::Code && !c.source.trim().is_empty())
        .expect("a code cell");
    edited.cells[code].source.push_str("\nprint('changed')\n");
    let before = engine.stats().cells_inferred;
    engine.label_notebook(&edited);
    let ran = engine.stats().cells_inferred - before;
    assert_eq!(ran, 1, "only the edited cell runs again");
}

#[test]
fn mismatched_models_are_refused_with_a_reason() {
    if !common::ort_available() {
        return;
    }
    let vocab = common::fixture_vocab();
    let config = common::tiny_config(vocab.len());
    let model = common::random_model(&config, 43);

    let dir = tempfile::tempdir().expect("temp dir");
    common::write_model_dir(dir.path(), &model, &config, &vocab, "coral-features-0");
    let err = Engine::try_load(&config_for(dir.path())).expect_err("wrong featurizer");
    assert!(
        matches!(err, EngineError::FeaturizerMismatch { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("coral-features-0") && message.contains(FEATURIZER_VERSION),
        "{message}"
    );
    let engine = Engine::load(&config_for(dir.path()));
    assert!(!engine.has_model());
    assert!(engine
        .fallback_reason()
        .is_some_and(|r| r.contains("featurizer")));
    let labels = engine.label_notebook(&notebooks()[0]);
    assert!(labels
        .cells
        .iter()
        .all(|c| c.source == LabelSource::Heuristic));

    // The right model with another vocabulary beside it.
    let dir = tempfile::tempdir().expect("temp dir");
    common::write_model_dir(dir.path(), &model, &config, &vocab, FEATURIZER_VERSION);
    let other = coral_core::Vocab::build([("zzz".to_owned(), 5)], 1, 10);
    std::fs::write(dir.path().join("vocab.json"), other.to_json()).expect("write");
    let err = Engine::try_load(&config_for(dir.path())).expect_err("wrong vocabulary");
    assert!(matches!(err, EngineError::VocabMismatch { .. }), "{err}");

    // Not an ONNX file at all.
    std::fs::write(dir.path().join("coral.onnx"), b"not a model").expect("write");
    let err = Engine::try_load(&config_for(dir.path())).expect_err("garbage");
    assert!(matches!(err, EngineError::Model { .. }), "{err}");
}

#[test]
fn committed_tiny_model_meets_the_contract() {
    if !common::ort_available() {
        return;
    }
    let engine = Engine::try_load(&config_for(&common::tiny_model_dir())).unwrap_or_else(|e| {
        panic!("{e}\nregenerate it: CORAL_REGENERATE_TINY_MODEL=1 cargo test -p coral-server --test engine_onnx")
    });
    assert!(engine.has_model());
}

/// `server/tests/data/tiny-model` (the model the snapshot tests use) still fits today's
/// fixtures: its vocabulary is the one built from them (its featurizer version is checked by
/// the test above). Its weights are random and need not be reproducible. When this fails, rerun
/// with `CORAL_REGENERATE_TINY_MODEL=1` to rewrite it (as `INSTA_UPDATE` does for snapshots),
/// then review the snapshots.
#[test]
fn committed_tiny_model_fits_todays_fixtures() {
    let raw = stage_probabilities(&[0.2; 6]);
    assert!((raw.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let committed = common::tiny_model_dir();
    if std::env::var_os("CORAL_REGENERATE_TINY_MODEL").is_some() {
        common::export_tiny_model(&committed, 2024);
        return;
    }
    let text = std::fs::read_to_string(committed.join("vocab.json")).expect("committed vocab");
    let vocab = coral_core::Vocab::from_json(&text).expect("committed vocab parses");
    assert_eq!(
        vocab.sha256(),
        common::fixture_vocab().sha256(),
        "the fixtures' vocabulary changed: CORAL_REGENERATE_TINY_MODEL=1 cargo test -p coral-server --test engine_onnx"
    );
}

/// `transitions.json` beside the model re-decodes each notebook's cells in order: a table that
/// always stays in one stage makes every cell of a notebook agree; a broken table is refused
/// with a reason naming the file.
#[test]
fn a_transitions_table_beside_the_model_re_decodes_each_notebook() {
    if !common::ort_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    common::export_tiny_model(dir.path(), 43);
    let nbs = notebooks();
    let plain = Engine::try_load(&config_for(dir.path())).expect("model loads");
    let before = plain.label_notebooks(&nbs);

    let mut pairs = [[0u64; 5]; 5];
    for (s, row) in pairs.iter_mut().enumerate() {
        row[s] = 1_000_000_000;
    }
    let sticky = coral_core::Transitions::from_counts([1; 5], pairs, [0.2; 5], 1.0);
    std::fs::write(dir.path().join("transitions.json"), sticky.to_json()).expect("write");
    let smoothed = Engine::try_load(&config_for(dir.path())).expect("model loads");
    let after = smoothed.label_notebooks(&nbs);
    let mut changed = 0;
    for (b, a) in before.iter().zip(&after) {
        let stages: std::collections::BTreeSet<_> =
            a.cells.iter().filter_map(|c| c.stage).collect();
        assert!(
            stages.len() <= 1,
            "a sticky chain keeps one stage: {stages:?}"
        );
        changed += b
            .cells
            .iter()
            .zip(&a.cells)
            .filter(|(x, y)| match (x.probabilities, y.probabilities) {
                (Some(p), Some(q)) => p.iter().zip(q).any(|(a, b)| (a - b).abs() > 1e-3),
                _ => false,
            })
            .count();
        for cell in a.cells.iter().filter_map(|c| c.probabilities) {
            let sum: f32 = cell.iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "posteriors sum to {sum}");
        }
    }
    assert!(changed > 0, "the sequence pass changed nothing");

    std::fs::write(dir.path().join("transitions.json"), "{\"format\": \"x\"}").expect("write");
    let err = Engine::try_load(&config_for(dir.path())).expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("transitions.json"), "{message}");
}
