//! Finding and opening a model folder: the search order, the contract checks, the sessions.

use std::path::{Path, PathBuf};

use coral_core::{EncodeOptions, SeedTable, Vocab, FEATURIZER_VERSION};

use super::runtime::{self, Provider, SessionPool};
use super::{
    discover, Device, EngineConfig, EngineError, ModelInfo, MODEL_DIR_ENV, MODEL_FILE,
    TRANSITIONS_FILE, VOCAB_FILE,
};

pub(super) struct Loaded {
    pub(super) pool: SessionPool,
    pub(super) vocab: Vocab,
    pub(super) encode: EncodeOptions,
    /// Re-decodes each notebook's cells in sequence (`transitions.json`), when shipped.
    pub(super) sequence: Option<coral_core::Transitions>,
}

/// Candidate model directories for `config`, in search order.
pub fn model_search_dirs(config: &EngineConfig) -> Vec<PathBuf> {
    if let Some(dir) = &config.model_dir {
        return vec![dir.clone()];
    }
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        // Set, it is the only place looked at (like a flag, but a miss falls back).
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("models"));
        dirs.push(exe_dir.join("../share/coral/models"));
    }
    let in_project = discover::in_project(&Path::new("models").join(MODEL_FILE))
        .and_then(|file| file.parent().map(Path::to_path_buf));
    dirs.push(in_project.unwrap_or_else(|| PathBuf::from("models")));
    dirs
}

/// The model file of a directory (or the file itself when given one).
fn model_file(dir: &Path) -> PathBuf {
    if dir.extension().is_some_and(|e| e == "onnx") {
        dir.to_path_buf()
    } else {
        dir.join(MODEL_FILE)
    }
}

/// Reads the seed table: the built-in one, extended by `path`.
pub fn load_seeds(path: Option<&Path>) -> Result<SeedTable, EngineError> {
    let mut seeds = SeedTable::builtin();
    if let Some(path) = path {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let extra = SeedTable::from_toml(&text).map_err(|e| EngineError::Seeds {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        seeds.extend(extra);
    }
    Ok(seeds)
}

pub(super) fn load_model(config: &EngineConfig) -> Result<(Loaded, ModelInfo), EngineError> {
    if !config.use_model {
        return Err(EngineError::Disabled);
    }
    let searched: Vec<PathBuf> = model_search_dirs(config);
    let path = searched
        .iter()
        .map(|d| model_file(d))
        .find(|p| p.is_file())
        .ok_or_else(|| EngineError::NoModel {
            searched: searched.clone(),
        })?;
    let vocab_path = path.with_file_name(VOCAB_FILE);
    let vocab_text = std::fs::read_to_string(&vocab_path).map_err(|source| EngineError::Io {
        path: vocab_path.clone(),
        source,
    })?;
    let vocab = Vocab::from_json(&vocab_text).map_err(|e| EngineError::Vocab {
        path: vocab_path.clone(),
        message: e.to_string(),
    })?;

    let transitions_path = path.with_file_name(TRANSITIONS_FILE);
    let sequence = if transitions_path.is_file() {
        let text =
            std::fs::read_to_string(&transitions_path).map_err(|source| EngineError::Io {
                path: transitions_path.clone(),
                source,
            })?;
        Some(
            coral_core::Transitions::from_json(&text).map_err(|e| EngineError::Contract {
                path: transitions_path.clone(),
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };

    let env = runtime::environment(config.ort_library.as_deref())?;
    let (first, provider) = runtime::create_session(env, &path, config.device, config.threads)?;
    let meta = runtime::inspect(&first, &path)?;
    let model_version =
        meta.featurizer_version
            .clone()
            .ok_or_else(|| EngineError::MissingMetadata {
                path: path.clone(),
                key: coral_core::artefact::key::FEATURIZER_VERSION,
            })?;
    if model_version != FEATURIZER_VERSION {
        return Err(EngineError::FeaturizerMismatch {
            path,
            model: model_version,
            expected: FEATURIZER_VERSION.to_owned(),
        });
    }
    let model_vocab = meta
        .vocab_sha256
        .clone()
        .ok_or_else(|| EngineError::MissingMetadata {
            path: path.clone(),
            key: coral_core::artefact::key::VOCAB_SHA256,
        })?;
    if !model_vocab.eq_ignore_ascii_case(vocab.sha256()) {
        return Err(EngineError::VocabMismatch {
            path,
            vocab_path,
            model: model_vocab,
            vocab: vocab.sha256().to_owned(),
        });
    }
    if let Some(size) = meta.vocab_size {
        if vocab.len() > size {
            return Err(EngineError::Contract {
                path,
                message: format!(
                    "its embedding has {size} tokens but {} has {}",
                    vocab_path.display(),
                    vocab.len()
                ),
            });
        }
    }
    let max_len = meta.window();
    let mut sessions = vec![first];
    for _ in 1..config.sessions.max(1) {
        // Later sessions use the provider the first one got, so all agree.
        let device = match provider {
            Provider::Cuda => Device::Cuda,
            Provider::Cpu => Device::Cpu,
        };
        sessions.push(runtime::create_session(env, &path, device, config.threads)?.0);
    }
    let info = ModelInfo {
        path: Some(path),
        featurizer_version: model_version,
        device: provider.device().to_owned(),
        provider: Some(provider.name().to_owned()),
        fallback: false,
        fallback_reason: None,
        max_len,
        vocab_sha256: Some(model_vocab),
    };
    Ok((
        Loaded {
            pool: SessionPool::new(sessions),
            vocab,
            encode: EncodeOptions {
                max_len,
                markdown: !meta.no_markdown,
            },
            sequence,
        },
        info,
    ))
}
