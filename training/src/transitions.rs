//! `coral-train transitions`: the notebook-sequence HMM's table (coral-core `sequence`),
//! estimated from the corpus as a model labels it (pseudo-labels; no expert labels), and the
//! strength of the sequence context chosen on held-out notebooks' weak labels.

use coral_core::{CellFeatures, Stage, Transitions};

use crate::eval::predicted_stage;
use crate::split::is_validation;

/// Strengths tried: 0 (no sequence context) to 1 (the plain HMM).
pub const STRENGTHS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// One notebook as the model sees it: its cells and the model's probabilities (`None` for
/// empty cells).
pub struct LabelledNotebook<'a> {
    pub key: u64,
    pub cells: &'a [CellFeatures],
    pub probs: Vec<Option<[f32; Stage::OUTPUTS]>>,
}

/// Weak-label agreement of one strength on the held-out notebooks.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StrengthScore {
    pub strength: f64,
    pub weak_labelled: usize,
    pub agreement: f64,
}

/// Counts transitions between consecutive predicted stages on the training notebooks, then
/// picks the strength whose smoothed predictions agree best with the weak labels of the
/// validation notebooks (ties: the weaker context).
pub fn estimate(
    notebooks: &[LabelledNotebook<'_>],
    validation_fraction: f64,
    seed: u64,
) -> (Transitions, Vec<StrengthScore>) {
    let mut starts = [0u64; 5];
    let mut pairs = [[0u64; 5]; 5];
    let mut prior = [0.0f64; 5];
    let mut predicted_cells = 0usize;
    for nb in notebooks
        .iter()
        .filter(|nb| !is_validation(nb.key, validation_fraction, seed))
    {
        let stages: Vec<Stage> = nb.probs.iter().flatten().map(predicted_stage).collect();
        for p in nb.probs.iter().flatten() {
            let five = crate::temperature::scaled(p, 1.0);
            for s in 0..5 {
                prior[s] += five[s];
            }
            predicted_cells += 1;
        }
        if let Some(first) = stages.first() {
            starts[first.index()] += 1;
        }
        for w in stages.windows(2) {
            pairs[w[0].index()][w[1].index()] += 1;
        }
    }
    let prior = prior.map(|p| p / predicted_cells.max(1) as f64);
    let mut scores = Vec::new();
    for strength in STRENGTHS {
        let table = Transitions::from_counts(starts, pairs, prior, strength);
        let (mut labelled, mut agree) = (0usize, 0usize);
        for nb in notebooks
            .iter()
            .filter(|nb| is_validation(nb.key, validation_fraction, seed))
        {
            let smoothed = table.smooth(&nb.probs);
            for (cell, probs) in nb.cells.iter().zip(&smoothed) {
                let (Some(label), Some(probs)) = (&cell.weak_label, probs) else {
                    continue;
                };
                labelled += 1;
                agree += usize::from(predicted_stage(probs) == label.stage);
            }
        }
        scores.push(StrengthScore {
            strength,
            weak_labelled: labelled,
            agreement: agree as f64 / labelled.max(1) as f64,
        });
    }
    let best = scores
        .iter()
        .fold(None::<StrengthScore>, |best, s| match best {
            Some(b) if b.agreement >= s.agreement => Some(b),
            _ => Some(*s),
        })
        .map_or(0.0, |s| s.strength);
    let mut table = Transitions::from_counts(starts, pairs, prior, best);
    table.source = serde_json::json!({
        "pseudo_labelled_cells": predicted_cells,
        "strength_chosen_on": "weak labels of the validation notebooks",
        "strengths": scores,
    });
    (table, scores)
}
