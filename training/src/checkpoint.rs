//! Checkpoints: model record, optimiser state and loop state, written so that a resumed run
//! continues exactly where the interrupted one stopped.
//!
//! A checkpoint is a folder with `model.bpk` (burnpack module record, parameter ids included,
//! which the optimiser state is keyed by), `optimizer.bpk` and `state.json`. It is written into
//! a temporary folder and renamed into place, so a crash never leaves half a checkpoint.
//!
//! There is no random-generator state to save: every random draw of a run is a pure function of
//! the seed and the step or epoch (see [`crate::train`]).

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::Device;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::metrics::EpochRecord;
use crate::model::{CoralModel, ModelConfig};

pub const MODEL_FILE: &str = "model.bpk";
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
pub const STATE_FILE: &str = "state.json";

/// Where the training loop stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser steps taken so far.
    pub step: u64,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Index of the next batch of this epoch.
    pub batch_in_epoch: usize,
    /// Best validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Epochs since the best validation loss.
    pub epochs_since_best: usize,
    /// Early stopping has fired.
    pub stopped_early: bool,
    /// Finished epochs.
    pub history: Vec<EpochRecord>,
    /// Training time before this process, seconds.
    pub elapsed_s: f64,
}

impl TrainState {
    pub fn new() -> Self {
        Self {
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            best_val_loss: None,
            epochs_since_best: 0,
            stopped_early: false,
            history: Vec::new(),
            elapsed_s: 0.0,
        }
    }
}

impl Default for TrainState {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    config: TrainConfig,
    state: TrainState,
}

/// A checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Record { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: the checkpoint's model configuration differs from this run's")]
    ConfigMismatch { path: PathBuf },
    #[error(transparent)]
    Model(#[from] crate::model::ConfigError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn record(path: &Path) -> impl FnOnce(burn::store::RecordError) -> CheckpointError + '_ {
    move |e| CheckpointError::Record {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Saves the model's parameters to a burnpack file.
pub fn save_model(model: &CoralModel, path: &Path) -> Result<(), CheckpointError> {
    model.clone().into_record().save(path).map_err(record(path))
}

/// Builds a model from `config` and loads the parameters saved at `path`.
pub fn load_model(
    config: &ModelConfig,
    path: &Path,
    device: &Device,
) -> Result<CoralModel, CheckpointError> {
    let rec = ModuleRecord::load(path).map_err(record(path))?;
    config
        .init(device)?
        .try_load_record(rec)
        .map_err(record(path))
}

/// Writes a checkpoint into `dir` (replacing what was there).
pub fn save(
    dir: &Path,
    model: &CoralModel,
    optimizer: &ModuleOptimizer,
    config: &TrainConfig,
    state: &TrainState,
) -> Result<(), CheckpointError> {
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    save_model(model, &tmp.join(MODEL_FILE))?;
    let opt_path = tmp.join(OPTIMIZER_FILE);
    optimizer.save(&opt_path).map_err(record(&opt_path))?;
    let state_path = tmp.join(STATE_FILE);
    let json = serde_json::to_vec_pretty(&StateFile {
        config: config.clone(),
        state: state.clone(),
    })
    .map_err(|source| CheckpointError::Json {
        path: state_path.clone(),
        source,
    })?;
    fs::write(&state_path, json).map_err(io(&state_path))?;

    let old = dir.with_extension("old");
    if dir.exists() {
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        fs::rename(dir, &old).map_err(io(dir))?;
    }
    fs::rename(&tmp, dir).map_err(io(dir))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// Whether `dir` holds a checkpoint.
pub fn exists(dir: &Path) -> bool {
    dir.join(STATE_FILE).is_file()
}

/// A loaded checkpoint.
pub struct Restored {
    pub model: CoralModel,
    pub optimizer: ModuleOptimizer,
    pub state: TrainState,
}

/// Loads the checkpoint in `dir` into a model built from `config.model` on `device` and into
/// `optimizer` (a fresh one built from `config.optimizer`). The checkpoint must have been written
/// with the same model configuration.
pub fn load(
    dir: &Path,
    config: &TrainConfig,
    optimizer: ModuleOptimizer,
    device: &Device,
) -> Result<Restored, CheckpointError> {
    let state_path = dir.join(STATE_FILE);
    let bytes = fs::read(&state_path).map_err(io(&state_path))?;
    let file: StateFile =
        serde_json::from_slice(&bytes).map_err(|source| CheckpointError::Json {
            path: state_path.clone(),
            source,
        })?;
    if file.config.model != config.model {
        return Err(CheckpointError::ConfigMismatch { path: state_path });
    }
    let model = load_model(&config.model, &dir.join(MODEL_FILE), device)?;
    let opt_path = dir.join(OPTIMIZER_FILE);
    let optimizer = optimizer.load(&opt_path).map_err(record(&opt_path))?;
    Ok(Restored {
        model,
        optimizer,
        state: file.state,
    })
}
