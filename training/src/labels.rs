//! Evaluation on an expert-labelled cell file (`{"notebook", "cell_index", "stage"}` per line):
//! accuracy, macro-F1, per-class precision/recall and the confusion matrix, beside the paper's
//! baselines (expert heuristics with a uniform random stage where no rule fires; majority class).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use coral_core::{CellFeatures, Stage};
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// One labelled cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledCell {
    pub notebook: String,
    pub cell_index: usize,
    pub stage: Stage,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
}

pub fn parse_labels(text: &str) -> Result<Vec<LabelledCell>, LabelsError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| LabelsError::Parse {
                line: n + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Metrics of one predictor against the labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub name: String,
    pub cells: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub precision: BTreeMap<Stage, f64>,
    pub recall: BTreeMap<Stage, f64>,
    pub f1: BTreeMap<Stage, f64>,
    /// `confusion[truth][predicted]`, rows and columns in stage order.
    pub confusion: Vec<Vec<usize>>,
}

pub fn score(name: &str, truth: &[Stage], predicted: &[Stage]) -> Scores {
    let mut confusion = vec![vec![0usize; 5]; 5];
    for (t, p) in truth.iter().zip(predicted) {
        confusion[t.index()][p.index()] += 1;
    }
    let n = truth.len();
    let correct: usize = (0..5).map(|i| confusion[i][i]).sum();
    let mut precision = BTreeMap::new();
    let mut recall = BTreeMap::new();
    let mut f1 = BTreeMap::new();
    for stage in Stage::ALL {
        let i = stage.index();
        let tp = confusion[i][i] as f64;
        let predicted_i: usize = (0..5).map(|t| confusion[t][i]).sum();
        let actual_i: usize = confusion[i].iter().sum();
        let p = if predicted_i == 0 {
            0.0
        } else {
            tp / predicted_i as f64
        };
        let r = if actual_i == 0 {
            0.0
        } else {
            tp / actual_i as f64
        };
        precision.insert(stage, p);
        recall.insert(stage, r);
        f1.insert(
            stage,
            if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            },
        );
    }
    let macro_f1 = f1.values().sum::<f64>() / 5.0;
    Scores {
        name: name.to_owned(),
        cells: n,
        accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        macro_f1,
        precision,
        recall,
        f1,
        confusion,
    }
}

/// The paper's "expert heuristics" baseline: the weak label, or a uniform random stage
/// (seeded, so the number is reproducible) where no rule fires.
pub fn heuristic_predictions(cells: &[&CellFeatures], seed: u64) -> Vec<Stage> {
    let weak: Vec<Option<Stage>> = cells
        .iter()
        .map(|c| c.weak_label.as_ref().map(|l| l.stage))
        .collect();
    fill_at_random(&weak, seed)
}

/// Weak labels with a uniform random stage (seeded) where there is none.
pub fn fill_at_random(weak: &[Option<Stage>], seed: u64) -> Vec<Stage> {
    let mut rng = SplitMix64::new(seed);
    weak.iter()
        .map(|label| label.unwrap_or_else(|| Stage::ALL[(rng.next_u64() % 5) as usize]))
        .collect()
}

/// Majority-class baseline: the most frequent stage among the *weak labels of the training
/// corpus* (never the expert labels).
pub fn majority_predictions(n: usize, majority: Stage) -> Vec<Stage> {
    vec![majority; n]
}

/// The labelled cells found in `features` (by notebook id and cell index), in label order;
/// labels whose cell is missing are returned separately.
#[allow(clippy::implicit_hasher)]
pub fn match_cells<'a>(
    labels: &'a [LabelledCell],
    features: &'a HashMap<String, Vec<CellFeatures>>,
) -> (
    Vec<(&'a LabelledCell, &'a CellFeatures)>,
    Vec<&'a LabelledCell>,
) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for label in labels {
        let cell = features
            .get(&label.notebook)
            .and_then(|cells| cells.iter().find(|c| c.index == label.cell_index));
        match cell {
            Some(cell) => found.push((label, cell)),
            None => missing.push(label),
        }
    }
    (found, missing)
}

/// A table of several predictors' scores, for the terminal.
pub fn render_table(all: &[Scores]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{:<36} {:>6} {:>9} {:>9}",
        "predictor", "cells", "accuracy", "macro-F1"
    );
    for stage in Stage::ALL {
        let _ = write!(out, " {:>9}", format!("F1 {}", &stage.as_str()[..3]));
    }
    out.push('\n');
    for s in all {
        let _ = write!(
            out,
            "{:<36} {:>6} {:>8.1}% {:>9.3}",
            s.name,
            s.cells,
            s.accuracy * 100.0,
            s.macro_f1
        );
        for stage in Stage::ALL {
            let _ = write!(out, " {:>9.3}", s.f1[&stage]);
        }
        out.push('\n');
    }
    for s in all {
        let _ = write!(
            out,
            "\nconfusion matrix, {} (rows: truth, columns: predicted)\n",
            s.name
        );
        let _ = write!(out, "{:<10}", "");
        for stage in Stage::ALL {
            let _ = write!(out, "{:>9}", stage.as_str());
        }
        out.push('\n');
        for stage in Stage::ALL {
            let _ = write!(out, "{:<10}", stage.as_str());
            for count in &s.confusion[stage.index()] {
                let _ = write!(out, "{count:>9}");
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        use Stage::{Evaluate as V, Explore as E, Import as I, Model as M, Wrangle as W};
        let truth = [I, I, W, E, E, M];
        let pred = [I, W, W, E, M, M];
        let s = score("x", &truth, &pred);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // IMPORT: p = 1/1, r = 1/2, f1 = 2/3; WRANGLE: p = 1/2, r = 1 → 2/3;
        // EXPLORE: p = 1, r = 1/2 → 2/3; MODEL: p = 1/2, r = 1 → 2/3; EVALUATE: 0
        assert!((s.f1[&I] - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.f1[&M] - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.f1[&V]).abs() < 1e-12);
        assert!((s.macro_f1 - (4.0 * 2.0 / 3.0) / 5.0).abs() < 1e-12);
        assert_eq!(s.confusion[I.index()][W.index()], 1);
        assert_eq!(s.confusion[E.index()][M.index()], 1);
        let labels =
            parse_labels("{\"notebook\":\"nb-1\",\"cell_index\":3,\"stage\":\"EXPLORE\"}\n\n")
                .expect("valid");
        assert_eq!(labels[0].stage, E);
        assert!(parse_labels("{\"notebook\":1}").is_err());
    }
}
