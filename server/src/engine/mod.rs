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
mod config;
mod discover;
mod error;
mod labels;
mod load;
pub mod runtime;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use coral_core::metrics::{self, CellStage, FindingsConfig};
use coral_core::{
    featurize_notebook, CellFeatures, EncodeOptions, ModelInput, Notebook, SeedTable, Vocab,
    FEATURIZER_VERSION,
};
use rayon::prelude::*;

use cache::ProbCache;
pub use cache::StageProbs;

pub use config::{Device, EngineConfig, EngineKey, UnknownDevice, MODEL_DIR_ENV};
pub use coral_core::artefact::{MODEL_FILE, TRANSITIONS_FILE, VOCAB_FILE};
pub use error::EngineError;
use labels::make_label;
pub use labels::{
    argmax_stage, stage_probabilities, CellLabel, EngineStats, LabelSource, ModelInfo,
    NotebookLabels,
};
use load::{load_model, Loaded};
pub use load::{load_seeds, model_search_dirs};

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

#[cfg(test)]
mod tests {
    use super::*;
    use coral_core::{Cell, Stage};

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
