//! What the engine answers: a label per cell, the notebook's report, and the model's identity.

use std::path::PathBuf;

use coral_core::metrics::PipelineReport;
use coral_core::{CellFeatures, Stage};

use super::cache::StageProbs;

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

pub(super) fn make_label(cell: &CellFeatures, probs: Option<StageProbs>) -> CellLabel {
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
