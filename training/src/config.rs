//! Training configuration: everything a run needs besides its data, serialisable to JSON.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::loss::LossConfig;
use crate::model::ModelConfig;
use crate::schedule::LrSchedule;

/// Optimiser and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// SGD with (optionally Nesterov) momentum, as in the paper (momentum 0.9, lr 1e-5).
    Sgd {
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f32,
    },
    /// Adam with L2 weight decay added to the gradient.
    Adam {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        #[serde(default)]
        weight_decay: f32,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        weight_decay: f32,
    },
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Where the model trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// burn's Flex backend (pure Rust, SIMD, multi-threaded).
    #[default]
    Cpu,
    /// burn's wgpu backend (Vulkan on Linux); needs the `gpu` cargo feature.
    Gpu,
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            other => Err(format!("unknown device `{other}` (expected cpu or gpu)")),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        })
    }
}

/// The device could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("this build has no GPU support: rebuild with `--features gpu`")]
    NoGpuSupport,
}

impl DeviceChoice {
    /// The burn device (without autodiff). `Gpu` is burn's wgpu device; `BURN_DEVICE` can still
    /// steer burn's own choice of adapter.
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "gpu")]
            Self::Gpu => Ok(Device::wgpu(burn::prelude::DeviceKind::default())),
            #[cfg(not(feature = "gpu"))]
            Self::Gpu => Err(DeviceError::NoGpuSupport),
        }
    }
}

/// A whole training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: LrSchedule,
    /// Cells per batch (paper: 16).
    pub batch_size: usize,
    /// Passes over the training split (paper: up to 8).
    pub epochs: usize,
    /// Stop after this many optimiser steps in total (the schedule still spans all epochs).
    pub max_steps: Option<u64>,
    /// Stop training after this many minutes (then validate and keep the best model). The
    /// learning-rate schedule then follows whichever is further along, steps or time, so it
    /// still decays to its end; such a run is not bit-for-bit reproducible.
    pub max_minutes: Option<f64>,
    /// Early stopping: epochs without a better validation loss before stopping (paper: 3).
    pub patience: usize,
    /// Share of notebooks held out for validation (split by notebook id, never by cell).
    pub validation_fraction: f64,
    /// Largest number of validation cells evaluated per epoch (a deterministic subset).
    pub max_validation_cells: Option<usize>,
    /// Clip each parameter's gradient to this L2 norm (burn's per-tensor norm clipping).
    pub grad_clip_norm: Option<f32>,
    /// Write a checkpoint every this many steps (and always at epoch end and at the stop).
    pub checkpoint_every: Option<u64>,
    /// Continue from `out_dir/checkpoint` when one is there.
    pub resume: bool,
    /// Write a step record to the metrics log every this many steps.
    pub log_every: u64,
    /// Pad each batch's length up to a multiple of this (1 = no extra padding; GPUs like 16 or
    /// 32, which bounds how many shapes get compiled).
    pub pad_multiple: usize,
    /// Batches of a length-sorted chunk (see [`crate::batch::bucketed_batches`]).
    pub bucket_chunk_batches: usize,
    /// All randomness of a run (initialisation, batch order, negatives, dropout, the split)
    /// derives from this seed.
    pub seed: u64,
    pub device: DeviceChoice,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            loss: LossConfig::default(),
            optimizer: OptimizerConfig::default(),
            schedule: LrSchedule::default(),
            batch_size: 16,
            epochs: 8,
            max_steps: None,
            max_minutes: None,
            patience: 3,
            validation_fraction: 0.05,
            max_validation_cells: Some(20_000),
            grad_clip_norm: Some(1.0),
            checkpoint_every: Some(2_000),
            resume: true,
            log_every: 50,
            pad_multiple: 1,
            bucket_chunk_batches: 64,
            seed: 0x000C_04A1,
            device: DeviceChoice::Cpu,
            progress: true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_json_round_trip_and_partial_files() {
        let cfg = TrainConfig::default();
        let json = serde_json::to_string_pretty(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), cfg);
        let partial: TrainConfig = serde_json::from_str(
            r#"{"batch_size": 8, "optimizer": {"kind": "sgd", "momentum": 0.9},
                "model": {"vocab_size": 500}}"#,
        )
        .unwrap();
        assert_eq!(partial.batch_size, 8);
        assert_eq!(partial.model.vocab_size, 500);
        assert!(matches!(partial.optimizer, OptimizerConfig::Sgd { .. }));
        assert!(serde_json::from_str::<TrainConfig>(r#"{"batch": 8}"#).is_err());
    }

    #[test]
    fn device_choice_parses() {
        assert_eq!("CPU".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("gpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Gpu));
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!(DeviceChoice::Cpu.device().is_ok());
    }
}
