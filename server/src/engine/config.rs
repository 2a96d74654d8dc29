//! What an engine is asked for: where inference runs and how the model is found and run.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use coral_core::metrics::FindingsConfig;

/// Environment variable naming a model directory.
pub const MODEL_DIR_ENV: &str = "CORAL_MODEL_DIR";

/// Where inference runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// CUDA when ONNX Runtime can use it, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// CUDA; falls back to the CPU with a warning when CUDA cannot be used.
    Cuda,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device `{0}` (expected auto, cpu or cuda)")]
pub struct UnknownDevice(pub String);

impl FromStr for Device {
    type Err = UnknownDevice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            _ => Err(UnknownDevice(s.to_owned())),
        }
    }
}

/// How to build an [`Engine`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// A directory holding `coral.onnx` and `vocab.json`, or the `.onnx` file itself. `None`:
    /// `$CORAL_MODEL_DIR` when set (only there), else `models/` next to the executable, then
    /// the project's `models/`.
    pub model_dir: Option<PathBuf>,
    pub device: Device,
    /// ONNX Runtime intra-op threads per session (`None`: ONNX Runtime's default, all cores).
    pub threads: Option<usize>,
    /// A seed table (TOML) extending the built-in one.
    pub seeds: Option<PathBuf>,
    /// Most cells per model run.
    pub batch_size: usize,
    /// ONNX Runtime sessions run concurrently (each with `threads` threads).
    pub sessions: usize,
    /// Entries kept in the content-hash cache (0 disables it).
    pub cache_capacity: usize,
    /// `false`: heuristics only, no model is looked for.
    pub use_model: bool,
    /// The ONNX Runtime library to load, before the usual search.
    pub ort_library: Option<PathBuf>,
    /// Thresholds of the findings [`Engine::label_notebook`] reports.
    pub findings: FindingsConfig,
}

/// What an engine is built from. Settings that change it need a new engine; the rest (the
/// findings' thresholds and rules) apply to the engine in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineKey {
    pub model_dir: Option<PathBuf>,
    pub use_model: bool,
    pub device: Device,
    pub seeds: Option<PathBuf>,
    pub threads: Option<usize>,
    pub sessions: usize,
    pub batch_size: usize,
}

impl EngineConfig {
    pub fn key(&self) -> EngineKey {
        EngineKey {
            model_dir: self.model_dir.clone(),
            use_model: self.use_model,
            device: self.device,
            seeds: self.seeds.clone(),
            threads: self.threads,
            sessions: self.sessions,
            batch_size: self.batch_size,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            model_dir: None,
            device: Device::Auto,
            threads: None,
            seeds: None,
            batch_size: 32,
            sessions: 1,
            cache_capacity: 200_000,
            use_model: true,
            ort_library: None,
            findings: FindingsConfig::default(),
        }
    }
}
