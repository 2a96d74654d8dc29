//! `coral-train reference`: where notebooks of the corpus stand, by the shipped model's
//! predictions — the distribution of stage entropy, transition rate and stage shares that the
//! server turns into percentiles (`models/reference-stats.json`).

use std::collections::BTreeMap;

use coral_core::metrics::{summarize, CellStage, PipelineSummary};
use coral_core::{CellFeatures, Stage};
use serde::Serialize;

/// Quantiles at every percent (101 values, 0 to 100) of `values` (nearest rank).
pub fn quantiles(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Vec::new();
    }
    let last = sorted.len() - 1;
    (0..=100)
        .map(|p| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let rank = ((f64::from(p) / 100.0) * last as f64).round() as usize;
            sorted[rank.min(last)]
        })
        .collect()
}

/// A distribution as the server reads it (`quantiles`), with its mean and spread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub mean: f64,
    pub std: f64,
    pub quantiles: Vec<f64>,
}

impl Distribution {
    pub fn of(values: &[f64]) -> Distribution {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Distribution {
            mean,
            std: var.sqrt(),
            quantiles: quantiles(values),
        }
    }
}

/// The file's content.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceStats {
    pub format: u32,
    /// What produced the stages (model path, featurizer, vocabulary hash).
    pub source: serde_json::Value,
    /// Notebooks with at least one non-empty code cell.
    pub notebooks: usize,
    pub cells: usize,
    pub normalized_entropy: Distribution,
    pub entropy: Distribution,
    pub transition_rate: Distribution,
    /// Per stage: the distribution of its share of a notebook's code lines.
    pub stage_share: BTreeMap<Stage, Distribution>,
    /// Per stage: the share of notebooks with at least one cell of that stage.
    pub stage_present: BTreeMap<Stage, f64>,
    /// Share of all non-empty code cells predicted as each stage.
    pub cell_stage_share: BTreeMap<Stage, f64>,
}

/// One notebook's cells with the stage predicted for each non-empty one (in cell order).
pub fn notebook_summary(cells: &[CellFeatures], stages: &[Stage]) -> PipelineSummary {
    let mut predicted = stages.iter();
    let cell_stages: Vec<CellStage> = cells
        .iter()
        .map(|c| CellStage {
            index: c.index,
            stage: if c.is_empty {
                None
            } else {
                predicted.next().copied()
            },
            lines: c.code_lines,
            has_imports: c.has_imports,
            called_stages: c.called_stages,
        })
        .collect();
    summarize(&cell_stages)
}

/// Builds the statistics from per-notebook summaries and all cell predictions.
pub fn build(
    summaries: &[PipelineSummary],
    cell_stages: &[Stage],
    source: serde_json::Value,
) -> ReferenceStats {
    let pick =
        |f: &dyn Fn(&PipelineSummary) -> f64| -> Vec<f64> { summaries.iter().map(f).collect() };
    let n = summaries.len().max(1) as f64;
    let mut stage_share = BTreeMap::new();
    let mut stage_present = BTreeMap::new();
    let mut cell_stage_share = BTreeMap::new();
    for stage in Stage::ALL {
        let shares = pick(&|s| s.stage_shares.get(&stage).copied().unwrap_or(0.0));
        let present = shares.iter().filter(|&&v| v > 0.0).count() as f64 / n;
        stage_share.insert(stage, Distribution::of(&shares));
        stage_present.insert(stage, present);
        let cells = cell_stages.iter().filter(|&&s| s == stage).count();
        cell_stage_share.insert(stage, cells as f64 / cell_stages.len().max(1) as f64);
    }
    ReferenceStats {
        format: 1,
        source,
        notebooks: summaries.len(),
        cells: cell_stages.len(),
        normalized_entropy: Distribution::of(&pick(&|s| s.normalized_entropy)),
        entropy: Distribution::of(&pick(&|s| s.entropy)),
        transition_rate: Distribution::of(&pick(&|s| s.transition_rate)),
        stage_share,
        stage_present,
        cell_stage_share,
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<f64> = (0..=10).map(f64::from).collect();
        let q = quantiles(&values);
        assert_eq!(q.len(), 101);
        assert_eq!((q[0], q[50], q[100]), (0.0, 5.0, 10.0));
        assert_eq!(q[25], 3.0); // rank 2.5 rounds to 3
        assert!(quantiles(&[]).is_empty());
        assert_eq!(quantiles(&[f64::NAN, 1.0]), vec![1.0; 101]);
    }

    #[test]
    fn stage_presence_and_shares() {
        let summary = |stages: &[(Stage, f64)]| PipelineSummary {
            stage_shares: stages.iter().copied().collect(),
            entropy: 0.0,
            normalized_entropy: 0.0,
            transition_rate: 0.0,
        };
        let stats = build(
            &[
                summary(&[(Stage::Import, 0.5), (Stage::Explore, 0.5)]),
                summary(&[(Stage::Explore, 1.0)]),
            ],
            &[Stage::Import, Stage::Explore, Stage::Explore],
            serde_json::Value::Null,
        );
        assert_eq!(stats.stage_present[&Stage::Import], 0.5);
        assert_eq!(stats.stage_present[&Stage::Explore], 1.0);
        assert_eq!(stats.stage_present[&Stage::Model], 0.0);
        assert!((stats.stage_share[&Stage::Explore].mean - 0.75).abs() < 1e-12);
        assert!((stats.cell_stage_share[&Stage::Explore] - 2.0 / 3.0).abs() < 1e-12);
    }
}
