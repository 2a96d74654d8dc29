//! Helpers shared by the server's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::prelude::*;
use coral_core::{featurize_notebook, Notebook, SeedTable, Vocab, FEATURIZER_VERSION};
use coral_training::onnx::{export_onnx, ExportMetadata};
use coral_training::{CoralModel, ModelConfig};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// The committed tiny test model (random weights; see `engine_onnx.rs`).
pub fn tiny_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-model")
}

/// The notebooks the snapshot tests read, as (relative path, notebook).
pub fn fixture_notebooks() -> Vec<(String, Notebook)> {
    let root = workspace();
    let mut out = Vec::new();
    for dir in ["examples", "fixtures/notebooks"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("fixture folder")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("read fixture");
            let nb = match path.extension().and_then(|e| e.to_str()) {
                Some("ipynb") => Notebook::from_ipynb(&bytes).ok(),
                Some("py") => Some(Notebook::from_percent_script(&String::from_utf8_lossy(
                    &bytes,
                ))),
                _ => None,
            };
            if let Some(nb) = nb {
                let rel = path.strip_prefix(&root).expect("under root");
                out.push((rel.to_string_lossy().into_owned(), nb));
            }
        }
    }
    out
}

/// A vocabulary of every token in the fixture notebooks.
pub fn fixture_vocab() -> Vocab {
    let seeds = SeedTable::builtin();
    let mut counts = std::collections::HashMap::<String, u64>::new();
    for (_, nb) in fixture_notebooks() {
        for cell in featurize_notebook(&nb, &seeds) {
            for token in cell.graph.tokens {
                *counts.entry(token).or_default() += 1;
            }
        }
    }
    Vocab::build(counts, 1, 4_000)
}

/// A small model configuration.
pub fn tiny_config(vocab_size: usize) -> ModelConfig {
    ModelConfig {
        vocab_size,
        d_model: 32,
        heads: 4,
        layers: 2,
        ffn: 64,
        topics: 8,
        max_len: 160,
        dropout: 0.0,
        ..ModelConfig::default()
    }
}

/// A randomly initialised model of `config` (reproducible for a seed).
pub fn random_model(config: &ModelConfig, seed: u64) -> CoralModel {
    let device = Device::flex();
    device.seed(seed);
    config.init(&device).expect("valid model config")
}

/// Writes `model` as `coral.onnx` + `vocab.json` into `dir`, recording `featurizer_version`.
pub fn write_model_dir(
    dir: &Path,
    model: &CoralModel,
    config: &ModelConfig,
    vocab: &Vocab,
    featurizer_version: &str,
) {
    std::fs::create_dir_all(dir).expect("model dir");
    let metadata = ExportMetadata {
        featurizer_version: featurizer_version.to_owned(),
        vocab_sha256: vocab.sha256().to_owned(),
        training: serde_json::json!({"data": "none: random initialisation for tests"}),
        ..ExportMetadata::default()
    };
    export_onnx(
        model,
        config,
        &metadata,
        &dir.join(coral_core::artefact::MODEL_FILE),
    )
    .expect("export");
    std::fs::write(dir.join("vocab.json"), vocab.to_json()).expect("vocab");
}

/// Exports a fresh tiny model for the fixtures into `dir`.
pub fn export_tiny_model(dir: &Path, seed: u64) -> (CoralModel, ModelConfig, Vocab) {
    let vocab = fixture_vocab();
    let config = tiny_config(vocab.len());
    let model = random_model(&config, seed);
    write_model_dir(dir, &model, &config, &vocab, FEATURIZER_VERSION);
    (model, config, vocab)
}

/// Runs the built `coral-lsp` in `cwd` with a clean environment for reports.
pub fn coral(cwd: &Path, args: &[&str]) -> Output {
    coral_env(cwd, args, &[])
}

/// Runs the built `coral-lsp` with extra environment variables.
pub fn coral_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coral-lsp"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("CORAL_MODEL_DIR")
        .env_remove("RUST_LOG")
        // A test run inside GitHub Actions must not move the github format's paths.
        .env_remove("GITHUB_WORKSPACE")
        .env("CORAL_LOG", "warn")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run coral-lsp")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether the ONNX Runtime library is there (tests that need it fail without it unless
/// `CORAL_SKIP_ORT=1`; `scripts/fetch-onnxruntime.sh` fetches it).
pub fn ort_available() -> bool {
    if !coral_server::engine::runtime::library_candidates(None)
        .iter()
        .any(|p| p.is_file())
    {
        let script = workspace().join("scripts/fetch-onnxruntime.sh");
        let _ = Command::new("bash").arg(&script).status();
    }
    let found = coral_server::engine::runtime::library_candidates(None)
        .iter()
        .any(|p| p.is_file());
    if !found {
        assert!(
            std::env::var("CORAL_SKIP_ORT").as_deref() == Ok("1"),
            "no ONNX Runtime library: run scripts/fetch-onnxruntime.sh (or set CORAL_SKIP_ORT=1 to skip)"
        );
        eprintln!("ONNX Runtime missing and CORAL_SKIP_ORT=1: skipping");
    }
    found
}
