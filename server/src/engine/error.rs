//! Why the model could not be used.

use std::path::PathBuf;

use super::MODEL_FILE;

/// Why the model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("heuristics only: the model is switched off")]
    Disabled,
    #[error(
        "no model found (looked for {MODEL_FILE} in {})",
        display_paths(searched)
    )]
    NoModel { searched: Vec<PathBuf> },
    #[error("no ONNX Runtime library found (looked at {}); set ORT_DYLIB_PATH or run scripts/fetch-onnxruntime.sh", display_paths(searched))]
    NoLibrary { searched: Vec<PathBuf> },
    #[error("ONNX Runtime could not be loaded: {0}")]
    Library(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Vocab { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Seeds { path: PathBuf, message: String },
    #[error("{}: ONNX Runtime cannot load it: {message}", path.display())]
    Model { path: PathBuf, message: String },
    #[error("{}: not a coral model: {message}", path.display())]
    Contract { path: PathBuf, message: String },
    #[error("{}: built for featurizer `{model}`, but this coral-lsp featurizes with `{expected}`; use a model trained with this version of coral", path.display())]
    FeaturizerMismatch {
        path: PathBuf,
        model: String,
        expected: String,
    },
    #[error("{}: the model was trained with vocabulary {model} but {} has {vocab}; ship the model with its own vocab.json", path.display(), vocab_path.display())]
    VocabMismatch {
        path: PathBuf,
        vocab_path: PathBuf,
        model: String,
        vocab: String,
    },
    #[error("{}: metadata `{key}` is missing (a coral model records it)", path.display())]
    MissingMetadata { path: PathBuf, key: &'static str },
    #[error("ONNX Runtime: {0}")]
    Ort(String),
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
