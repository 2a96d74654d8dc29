//! The inference engine shared by `--check` and the language server.
//!
//! [`Engine::load`] finds `coral.onnx` + `vocab.json`, checks them against the artefact contract
//! (`coral_core::artefact`: inputs, outputs, featurizer version, vocabulary hash) and opens ONNX Runtime
//! sessions (CUDA when asked or available, else the CPU). It never fails: with no model, no
//! ONNX Runtime library, or a model that does not meet the contract, it runs on the weak-label
//! heuristics and says why once ([`Engine::fallback_reason`]). [`Engine::try_load`] is the strict
//! variant that returns the reason as an error.
//!
//! Labelling featurizes with coral-core (the one featurizer), looks each cell's model input up
//! in a content-hash cache, runs only the misses — deduplicated, sorted by length and cut into
//! batches so padding stays small — and turns the outputs into [`CellLabel`]s plus the
//! notebook's [`PipelineReport`].
//!
//! [`Engine`] is `Send + Sync` and a cheap clone (an `Arc`): call it from async code through
//! `spawn_blocking`.

pub mod cache;
mod discover;
pub mod runtime;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use coral_core::metrics::{self, CellStage, FindingsConfig, PipelineReport};
use coral_core::{
    featurize_notebook, CellFeatures, EncodeOptions, ModelInput, Notebook, SeedTable, Stage, Vocab,
    FEATURIZER_VERSION,
};
use rayon::prelude::*;

use cache::ProbCache;
pub use cache::StageProbs;
use runtime::{Provider, SessionPool};

pub use coral_core::artefact::{MODEL_FILE, TRANSITIONS_FILE, VOCAB_FILE};
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

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    Model,
    Heuristic,
}

impl LabelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Model => "model",
            LabelSource::Heuristic => "heuristic",
        }
    }
}

/// The label of one code cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellLabel {
    /// Position in the notebook's cell list, markdown included.
    pub index: usize,
    /// `None` for an empty cell, or under the heuristics for a cell no rule covers.
    pub stage: Option<Stage>,
    /// The five stage probabilities in [`Stage::ALL`] order, renormalised without the model's
    /// dummy NONE output; `None` unless the model labelled the cell.
    pub probabilities: Option<[f32; 5]>,
    pub source: LabelSource,
    /// The weak-label heuristic that fires on the cell (`seed:pandas.read_csv`, …), if any;
    /// also given when the model labelled the cell.
    pub heuristic_rule: Option<String>,
    /// Code lines (blank and comment-only lines excluded).
    pub lines: usize,
    pub has_imports: bool,
}

/// Labels and pipeline report of one notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookLabels {
    /// One per code cell, in notebook order.
    pub cells: Vec<CellLabel>,
    pub report: PipelineReport,
}

/// What the engine runs on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelInfo {
    /// The loaded `coral.onnx` (`None` under the fallback).
    pub path: Option<PathBuf>,
    /// The model's featurizer version (the built-in one under the fallback).
    pub featurizer_version: String,
    /// `cpu`, `cuda`, or `none` under the fallback.
    pub device: String,
    /// ONNX Runtime execution provider (`CPUExecutionProvider`, …), if a model is loaded.
    pub provider: Option<String>,
    /// True when labels come from the heuristics.
    pub fallback: bool,
    /// Why the heuristics are used.
    pub fallback_reason: Option<String>,
    /// Model window (positions per cell).
    pub max_len: usize,
    /// The vocabulary hash the model was trained with.
    pub vocab_sha256: Option<String>,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Cells sent through the model.
    pub cells_inferred: u64,
    /// Model runs (batches).
    pub batches: u64,
    /// Cells answered from the cache (or deduplicated within a call).
    pub cache_hits: u64,
}

struct Loaded {
    pool: SessionPool,
    vocab: Vocab,
    encode: EncodeOptions,
    /// Re-decodes each notebook's cells in sequence (`transitions.json`), when shipped.
    sequence: Option<coral_core::Transitions>,
}

struct Inner {
    seeds: SeedTable,
    model: Option<Loaded>,
    info: ModelInfo,
    cache: ProbCache,
    batch_size: usize,
    findings: FindingsConfig,
    cells_inferred: AtomicU64,
    batches: AtomicU64,
    dedup_hits: AtomicU64,
    run_failure: Once,
}

/// The inference engine. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
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

fn load_model(config: &EngineConfig) -> Result<(Loaded, ModelInfo), EngineError> {
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

impl Engine {
    /// Loads the model, or falls back to the heuristics with a logged reason. Never fails.
    pub fn load(config: &EngineConfig) -> Engine {
        let seeds = load_seeds(config.seeds.as_deref()).unwrap_or_else(|e| {
            tracing::warn!("{e}; using the built-in seed table");
            SeedTable::builtin()
        });
        match load_model(config) {
            Ok((model, info)) => Engine::new(seeds, Some(model), info, config),
            Err(e) => {
                if matches!(e, EngineError::Disabled) {
                    tracing::info!("{e}");
                } else {
                    tracing::warn!("{e}; labelling with the heuristics only");
                }
                Engine::heuristic(seeds, e.to_string(), config)
            }
        }
    }

    /// Loads the model; any reason to fall back is an error instead.
    pub fn try_load(config: &EngineConfig) -> Result<Engine, EngineError> {
        let seeds = load_seeds(config.seeds.as_deref())?;
        let (model, info) = load_model(config)?;
        Ok(Engine::new(seeds, Some(model), info, config))
    }

    /// An engine on the heuristics alone.
    pub fn heuristics_only(seeds: SeedTable) -> Engine {
        Engine::heuristic(
            seeds,
            EngineError::Disabled.to_string(),
            &EngineConfig::default(),
        )
    }

    fn heuristic(seeds: SeedTable, reason: String, config: &EngineConfig) -> Engine {
        let info = ModelInfo {
            path: None,
            featurizer_version: FEATURIZER_VERSION.to_owned(),
            device: "none".to_owned(),
            provider: None,
            fallback: true,
            fallback_reason: Some(reason),
            max_len: coral_core::artefact::DEFAULT_WINDOW,
            vocab_sha256: None,
        };
        Engine::new(seeds, None, info, config)
    }

    fn new(
        seeds: SeedTable,
        model: Option<Loaded>,
        info: ModelInfo,
        config: &EngineConfig,
    ) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                seeds,
                model,
                info,
                cache: ProbCache::new(config.cache_capacity),
                batch_size: config.batch_size.max(1),
                findings: config.findings.clone(),
                cells_inferred: AtomicU64::new(0),
                batches: AtomicU64::new(0),
                dedup_hits: AtomicU64::new(0),
                run_failure: Once::new(),
            }),
        }
    }

    /// Why the heuristics are used, or `None` when the model is.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.inner.info.fallback_reason.as_deref()
    }

    /// Whether the model labels cells.
    pub fn has_model(&self) -> bool {
        self.inner.model.is_some()
    }

    pub fn model_info(&self) -> ModelInfo {
        self.inner.info.clone()
    }

    /// The seed table the heuristics use.
    pub fn seeds(&self) -> &SeedTable {
        &self.inner.seeds
    }

    /// The thresholds [`Engine::label_notebook`] reports findings with.
    pub fn findings_config(&self) -> &FindingsConfig {
        &self.inner.findings
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            cells_inferred: self.inner.cells_inferred.load(Ordering::Relaxed),
            batches: self.inner.batches.load(Ordering::Relaxed),
            cache_hits: self.inner.cache.hits() + self.inner.dedup_hits.load(Ordering::Relaxed),
        }
    }

    /// The model's vocabulary, when a model is loaded.
    pub fn vocab(&self) -> Option<&Vocab> {
        self.inner.model.as_ref().map(|m| &m.vocab)
    }

    /// How cells are cut into model input, when a model is loaded.
    pub fn encode_options(&self) -> Option<EncodeOptions> {
        self.inner.model.as_ref().map(|m| m.encode)
    }

    /// The model's six raw outputs (five stages and NONE) for `inputs`, in one batch, without
    /// the cache; `None` without a model.
    pub fn raw_stage_probs(
        &self,
        inputs: &[ModelInput],
    ) -> Option<Result<Vec<StageProbs>, EngineError>> {
        let model = self.inner.model.as_ref()?;
        let refs: Vec<&ModelInput> = inputs.iter().collect();
        let padded = inputs.iter().map(ModelInput::len).max().unwrap_or(1);
        Some(model.pool.run(&refs, padded))
    }

    /// Labels one notebook.
    pub fn label_notebook(&self, notebook: &Notebook) -> NotebookLabels {
        self.label_notebooks_with(std::slice::from_ref(notebook), &self.inner.findings)
            .pop()
            .unwrap_or_else(|| NotebookLabels {
                cells: Vec::new(),
                report: metrics::check(&[], &self.inner.findings),
            })
    }

    /// Labels many notebooks, batching model runs across them.
    pub fn label_notebooks(&self, notebooks: &[Notebook]) -> Vec<NotebookLabels> {
        self.label_notebooks_with(notebooks, &self.inner.findings)
    }

    /// Labels many notebooks and reports findings with `findings`.
    pub fn label_notebooks_with(
        &self,
        notebooks: &[Notebook],
        findings: &FindingsConfig,
    ) -> Vec<NotebookLabels> {
        let features: Vec<Vec<CellFeatures>> = notebooks
            .par_iter()
            .map(|nb| featurize_notebook(nb, &self.inner.seeds))
            .collect();
        self.label_features(&features, findings)
    }

    /// Labels already featurized notebooks (one `Vec<CellFeatures>` per notebook).
    pub fn label_features(
        &self,
        features: &[Vec<CellFeatures>],
        findings: &FindingsConfig,
    ) -> Vec<NotebookLabels> {
        let probs = match &self.inner.model {
            Some(model) => {
                let raw = self.infer(model, features);
                match &model.sequence {
                    // The cache holds each cell's own probabilities; the sequence pass is
                    // re-run over the whole notebook on every call (microseconds).
                    Some(table) => raw.iter().map(|cells| table.smooth(cells)).collect(),
                    None => raw,
                }
            }
            None => vec![Vec::new(); features.len()],
        };
        features
            .par_iter()
            .zip(probs)
            .map(|(cells, probs)| {
                let labels: Vec<CellLabel> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, cell)| make_label(cell, probs.get(i).copied().flatten()))
                    .collect();
                let stages: Vec<CellStage> = labels
                    .iter()
                    .zip(cells)
                    .map(|(l, cell)| CellStage {
                        index: l.index,
                        stage: l.stage,
                        lines: l.lines,
                        has_imports: l.has_imports,
                        called_stages: cell.called_stages,
                    })
                    .collect();
                NotebookLabels {
                    report: metrics::check(&stages, findings),
                    cells: labels,
                }
            })
            .collect()
    }

    /// Model probabilities for every code cell (`None` for empty cells and failed runs).
    fn infer(
        &self,
        model: &Loaded,
        features: &[Vec<CellFeatures>],
    ) -> Vec<Vec<Option<StageProbs>>> {
        type Encoded = Option<(ModelInput, [u8; 32])>;
        let encoded: Vec<Vec<Encoded>> = features
            .par_iter()
            .map(|cells| {
                cells
                    .iter()
                    .map(|cell| {
                        (!cell.is_empty).then(|| {
                            let input = cell.graph.encode(&model.vocab, model.encode);
                            let hash = input.content_hash();
                            (input, hash)
                        })
                    })
                    .collect()
            })
            .collect();

        // Cache lookups; misses deduplicated by hash.
        let mut known: HashMap<[u8; 32], StageProbs> = HashMap::new();
        let mut pending: HashMap<[u8; 32], &ModelInput> = HashMap::new();
        for (input, hash) in encoded.iter().flatten().flatten() {
            if known.contains_key(hash) {
                self.inner.dedup_hits.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if pending.contains_key(hash) {
                self.inner.dedup_hits.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match self.inner.cache.get(hash) {
                Some(probs) => {
                    known.insert(*hash, probs);
                }
                None => {
                    pending.insert(*hash, input);
                }
            }
        }

        // Length-bucketed batches: sort by length, cut every `batch_size` cells.
        let mut misses: Vec<([u8; 32], &ModelInput)> = pending.into_iter().collect();
        misses.sort_unstable_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(&b.0)));
        let results: Vec<Vec<([u8; 32], StageProbs)>> = misses
            .par_chunks(self.inner.batch_size)
            .with_max_len(1)
            .map(|batch| {
                let inputs: Vec<&ModelInput> = batch.iter().map(|(_, i)| *i).collect();
                let padded = inputs.iter().map(|i| i.len()).max().unwrap_or(1);
                match model.pool.run(&inputs, padded) {
                    Ok(out) => {
                        self.inner.batches.fetch_add(1, Ordering::Relaxed);
                        self.inner
                            .cells_inferred
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        batch.iter().map(|(h, _)| *h).zip(out).collect()
                    }
                    Err(e) => {
                        self.inner.run_failure.call_once(|| {
                            tracing::error!(
                                "model run failed ({e}); those cells get heuristic labels"
                            );
                        });
                        Vec::new()
                    }
                }
            })
            .collect();
        for (hash, probs) in results.into_iter().flatten() {
            self.inner.cache.insert(hash, probs);
            known.insert(hash, probs);
        }

        encoded
            .into_iter()
            .map(|cells| {
                cells
                    .into_iter()
                    .map(|cell| cell.and_then(|(_, hash)| known.get(&hash).copied()))
                    .collect()
            })
            .collect()
    }
}

/// The five stage probabilities without the dummy NONE output, renormalised to sum to 1.
pub fn stage_probabilities(probs: &StageProbs) -> [f32; 5] {
    let mut five = [0.0f32; 5];
    five.copy_from_slice(&probs[..5]);
    let sum: f32 = five.iter().sum();
    if sum.is_finite() && sum > 0.0 {
        for p in &mut five {
            *p /= sum;
        }
    }
    five
}

/// The predicted stage: argmax over the five real stages.
pub fn argmax_stage(probs: &[f32; 5]) -> Option<Stage> {
    probs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .and_then(|(i, _)| Stage::from_index(i))
}

fn make_label(cell: &CellFeatures, probs: Option<StageProbs>) -> CellLabel {
    let heuristic_rule = cell.weak_label.as_ref().map(|w| w.rule.to_string());
    let (stage, probabilities, source) = match probs {
        Some(probs) if !cell.is_empty => {
            let five = stage_probabilities(&probs);
            (argmax_stage(&five), Some(five), LabelSource::Model)
        }
        _ => (
            cell.weak_label.as_ref().map(|w| w.stage),
            None,
            LabelSource::Heuristic,
        ),
    };
    CellLabel {
        index: cell.index,
        stage: if cell.is_empty { None } else { stage },
        probabilities,
        source,
        heuristic_rule,
        lines: cell.code_lines,
        has_imports: cell.has_imports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coral_core::Cell;

    #[test]
    fn engine_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Engine>();
    }

    #[test]
    fn probabilities_drop_none_and_renormalise() {
        let five = stage_probabilities(&[0.1, 0.2, 0.3, 0.1, 0.1, 0.2]);
        assert!((five.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(argmax_stage(&five), Some(Stage::Explore));
    }

    #[test]
    fn heuristics_label_and_report() {
        let engine = Engine::heuristics_only(SeedTable::builtin());
        let nb = Notebook {
            cells: vec![
                Cell::code("import pandas as pd\nimport numpy as np"),
                Cell::markdown("## Load"),
                Cell::code("df = pd.read_csv('a.csv')"),
                Cell::code("   "),
                Cell::code("df.head()"),
            ],
        };
        let labels = engine.label_notebook(&nb);
        let indices: Vec<usize> = labels.cells.iter().map(|c| c.index).collect();
        assert_eq!(indices, [0, 2, 3, 4]);
        assert_eq!(labels.cells[0].stage, Some(Stage::Import));
        assert_eq!(labels.cells[2].stage, None, "empty cell has no stage");
        assert!(labels
            .cells
            .iter()
            .all(|c| c.source == LabelSource::Heuristic));
        assert!(labels.cells.iter().all(|c| c.probabilities.is_none()));
        assert!(engine.fallback_reason().is_some());
        assert!(engine.model_info().fallback);
    }

    #[test]
    fn missing_model_falls_back_with_a_reason() {
        let dir = std::env::temp_dir().join("coral-no-model-here");
        let engine = Engine::load(&EngineConfig {
            model_dir: Some(dir.clone()),
            ..EngineConfig::default()
        });
        assert!(!engine.has_model());
        let reason = engine.fallback_reason().unwrap_or_default();
        assert!(reason.contains("no model found"), "{reason}");
        assert!(Engine::try_load(&EngineConfig {
            model_dir: Some(dir),
            ..EngineConfig::default()
        })
        .is_err());
    }

    #[test]
    fn devices_parse() {
        assert_eq!("CUDA".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
        assert!("tpu".parse::<Device>().is_err());
    }
}
