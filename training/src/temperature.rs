//! Calibration: temperature scaling of the stage head (Guo et al. 2017) and the expected
//! calibration error that checks it.
//!
//! The stage probabilities are `softmax(logits)`; dividing the logits by `T` changes how sure
//! the model is, never what it predicts. `T` is fitted on weak-label validation cells (never on
//! expert labels) by minimising their negative log-likelihood, and the export folds it into the
//! stage head's weights, so the served graph is unchanged in shape and cost.

use coral_core::Stage;
use serde::Serialize;

/// Temperatures tried, log-spaced over [1/4, 8].
const GRID: usize = 241;
const T_MIN: f64 = 0.25;
const T_MAX: f64 = 8.0;

/// Probabilities over the five real stages after dividing the logits by `t` (the dummy
/// stage's share is dropped and the rest renormalised, as prediction ignores it).
pub fn scaled(probs: &[f32; Stage::OUTPUTS], t: f64) -> [f64; 5] {
    let logs: Vec<f64> = probs[..5]
        .iter()
        .map(|&p| f64::from(p).max(1e-12).ln() / t)
        .collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    let mut out = [0.0; 5];
    for (o, e) in out.iter_mut().zip(exps) {
        *o = e / sum;
    }
    out
}

fn nll(probs: &[[f32; Stage::OUTPUTS]], labels: &[Stage], t: f64) -> f64 {
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(p, l)| -scaled(p, t)[l.index()].max(1e-12).ln())
        .sum();
    total / probs.len().max(1) as f64
}

/// The temperature that minimises the negative log-likelihood of `labels` (1 with no cells).
pub fn fit(probs: &[[f32; Stage::OUTPUTS]], labels: &[Stage]) -> f64 {
    if probs.is_empty() {
        return 1.0;
    }
    let ratio = (T_MAX / T_MIN).ln();
    (0..GRID)
        .map(|i| T_MIN * (ratio * i as f64 / (GRID - 1) as f64).exp())
        .map(|t| (t, nll(probs, labels, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1.0, |(t, _)| t)
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub cells: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

/// Expected calibration error over `bins` equal-width confidence bins, and the bins.
/// `confidence` is the top probability over the five stages; `correct` whether it was right.
pub fn calibration(
    confidence: &[f64],
    correct: &[bool],
    bins: usize,
) -> (f64, Vec<ReliabilityBin>) {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += c;
        sums[b].2 += usize::from(ok);
    }
    let n = confidence.len().max(1) as f64;
    let mut ece = 0.0;
    let table = sums
        .iter()
        .enumerate()
        .map(|(i, &(cells, conf, right))| {
            let (mean_confidence, accuracy) = if cells == 0 {
                (0.0, 0.0)
            } else {
                (conf / cells as f64, right as f64 / cells as f64)
            };
            ece += cells as f64 / n * (mean_confidence - accuracy).abs();
            ReliabilityBin {
                lower: i as f64 / bins as f64,
                upper: (i + 1) as f64 / bins as f64,
                cells,
                mean_confidence,
                accuracy,
            }
        })
        .collect();
    (ece, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_predictions_get_a_temperature_above_one() {
        // Always 95 % sure, right 60 % of the time.
        let probs: Vec<[f32; 6]> = (0..100)
            .map(|_| [0.95, 0.0125, 0.0125, 0.0125, 0.0125, 0.0])
            .collect();
        let labels: Vec<Stage> = (0..100)
            .map(|i| {
                if i < 60 {
                    Stage::Import
                } else {
                    Stage::Wrangle
                }
            })
            .collect();
        let t = fit(&probs, &labels);
        assert!(t > 1.5, "t = {t}");
        let p = scaled(&probs[0], t)[0];
        assert!((p - 0.6).abs() < 0.05, "calibrated top probability {p}");
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy_and_large_when_not() {
        let confidence = vec![0.75; 4];
        let (ece, bins) = calibration(&confidence, &[true, true, true, false], 10);
        assert!(ece.abs() < 1e-12);
        assert_eq!(bins[7].cells, 4);
        let (ece, _) = calibration(&[0.95; 2], &[false, false], 10);
        assert!((ece - 0.95).abs() < 1e-12);
    }
}
