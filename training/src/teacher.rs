//! Self-training labels (issue 14, lever 4): a teacher trained on the weak labels labels the
//! cells the rules leave open, where it is confident, and the model trains on both.
//!
//! The teacher is the logistic-regression baseline ([`crate::baseline`]): it sees the same
//! featurizer output as the model (calls, graph tokens with their data-flow `~kind` tokens,
//! markdown words, flow facts), costs seconds, and on dev it is stronger than a model trained
//! on the weak labels alone, so its confident guesses on uncovered cells carry signal the
//! rules do not. The confidence threshold is chosen on the teacher's held-out weak-label
//! cells (validation notebooks of the same split the model uses), never on expert labels.

use coral_core::{CellFeatures, Stage};
use serde::Serialize;

use crate::baseline::{features, weak_split, Baseline, BaselineConfig};
use crate::corpus::Corpus;
use crate::eval::predicted_stage;

/// How the teacher is trained and how confident it must be.
#[derive(Debug, Clone, Copy)]
pub struct TeacherConfig {
    pub baseline: BaselineConfig,
    /// The model's validation split (fraction, seed): the teacher trains on the same side.
    pub validation_fraction: f64,
    pub split_seed: u64,
    /// Pseudo-labels are kept only where the teacher's held-out weak-label accuracy, among
    /// cells at least as confident, reaches this.
    pub target_precision: f64,
    /// Never accept a pseudo-label below this confidence, whatever the validation says.
    pub min_confidence: f32,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig {
            baseline: BaselineConfig::default(),
            validation_fraction: 0.05,
            split_seed: 0,
            target_precision: 0.99,
            min_confidence: 0.6,
        }
    }
}

/// What the teacher did, for the featurize log and the model card.
#[derive(Debug, Clone, Serialize)]
pub struct TeacherReport {
    pub training_cells: usize,
    pub validation_cells: usize,
    pub validation_accuracy: f64,
    pub threshold: f32,
    /// Cells without a weak label.
    pub uncovered_cells: usize,
    /// Uncovered cells the teacher labelled, by stage (model order).
    pub pseudo_labels: [usize; 5],
}

impl TeacherReport {
    pub fn render(&self) -> String {
        let total: usize = self.pseudo_labels.iter().sum();
        let mix: Vec<String> = Stage::ALL
            .iter()
            .zip(self.pseudo_labels)
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        format!(
            "teacher: {} training cells, held-out weak-label accuracy {:.1}% on {} cells; \
             threshold {:.3}; pseudo-labelled {total} of {} uncovered cells ({:.1}%): {}",
            self.training_cells,
            100.0 * self.validation_accuracy,
            self.validation_cells,
            self.threshold,
            self.uncovered_cells,
            100.0 * total as f64 / self.uncovered_cells.max(1) as f64,
            mix.join(", ")
        )
    }
}

/// The self-training label of every non-empty code cell, in `samples` order: the weak label
/// where a rule fires, else the teacher's stage where it is confident enough, else none.
pub fn self_training_labels(
    corpus: &Corpus,
    featurized: &[Vec<CellFeatures>],
    config: TeacherConfig,
) -> (Vec<Option<Stage>>, TeacherReport) {
    let (train, validation) = weak_split(
        corpus,
        featurized,
        config.validation_fraction,
        config.split_seed,
    );
    let teacher = Baseline::train(&train, config.baseline);
    let mut scored: Vec<(f32, bool)> = validation
        .iter()
        .map(|(x, stage)| {
            let (predicted, confidence) = top(&teacher.predict(x));
            (confidence, predicted == *stage)
        })
        .collect();
    let validation_accuracy =
        scored.iter().filter(|(_, right)| *right).count() as f64 / scored.len().max(1) as f64;
    let threshold =
        choose_threshold(&mut scored, config.target_precision).max(config.min_confidence);

    let mut labels = Vec::new();
    let mut uncovered_cells = 0;
    let mut pseudo_labels = [0usize; 5];
    for cells in featurized {
        for cell in cells.iter().filter(|c| !c.is_empty) {
            if let Some(label) = &cell.weak_label {
                labels.push(Some(label.stage));
                continue;
            }
            uncovered_cells += 1;
            let (stage, confidence) = top(&teacher.predict(&features(cell)));
            if confidence >= threshold {
                pseudo_labels[stage.index()] += 1;
                labels.push(Some(stage));
            } else {
                labels.push(None);
            }
        }
    }
    let report = TeacherReport {
        training_cells: train.len(),
        validation_cells: validation.len(),
        validation_accuracy,
        threshold,
        uncovered_cells,
        pseudo_labels,
    };
    (labels, report)
}

/// The predicted stage and its probability (the top one over the five stages, as the
/// calibration report counts it).
fn top(p: &[f32; Stage::OUTPUTS]) -> (Stage, f32) {
    let stage = predicted_stage(p);
    (stage, p[stage.index()])
}

/// The lowest confidence at which the cells at least that confident are right at least
/// `target` of the time (1.0 when no threshold reaches it).
fn choose_threshold(scored: &mut [(f32, bool)], target: f64) -> f32 {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut right = 0usize;
    let mut best = 1.0;
    for (n, (conf, ok)) in scored.iter().enumerate() {
        right += usize::from(*ok);
        if right as f64 / (n + 1) as f64 >= target {
            best = *conf;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_the_lowest_confidence_that_keeps_the_precision() {
        let mut scored = vec![
            (0.99, true),
            (0.95, true),
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.6, false),
        ];
        // 4/5 at 0.7 is 0.8; 3/3 at 0.9 is 1.0.
        assert!((choose_threshold(&mut scored.clone(), 1.0) - 0.9).abs() < 1e-6);
        assert!((choose_threshold(&mut scored, 0.8) - 0.7).abs() < 1e-6);
        assert!((choose_threshold(&mut [(0.5, false)], 0.9) - 1.0).abs() < 1e-6);
    }
}
