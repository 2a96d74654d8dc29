//! Notebook sequence context: an HMM over a notebook's code cells in order, whose hidden states
//! are the five stages. The model's per-cell probabilities are the emissions (divided by the
//! stage prior, so they act as scaled likelihoods); forward–backward gives each cell's stage
//! posterior given the whole notebook. Transitions are estimated from the pseudo-labelled
//! corpus (`coral-train transitions`) and ship beside the model (`transitions.json`).
//!
//! Pure and total: any input gives an output of the same length; malformed tables are a typed
//! error at parse time.

use serde::{Deserialize, Serialize};

use crate::stage::Stage;

const STAGES: usize = 5;
const FORMAT: &str = "coral-transitions";

/// Why a transitions file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionsError {
    #[error("invalid transitions JSON: {0}")]
    Json(String),
    #[error("not a coral transitions file (format `{0}`)")]
    Format(String),
    #[error("transitions must be positive and finite ({0})")]
    Values(&'static str),
}

/// Stage-to-stage transition probabilities between consecutive code cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transitions {
    pub format: String,
    /// The stage of a notebook's first code cell.
    pub start: [f64; STAGES],
    /// `matrix[from][to]`, each row summing to 1.
    pub matrix: [[f64; STAGES]; STAGES],
    /// The stage prior the model's probabilities are divided by (its mean output).
    pub prior: [f64; STAGES],
    /// Transitions are raised to this power (1: the plain HMM; 0: no sequence context).
    pub strength: f64,
    /// Where the counts came from (model, corpus, cells), for the model card.
    #[serde(default)]
    pub source: serde_json::Value,
}

impl Transitions {
    /// Counts of consecutive stage pairs, first stages and the mean model output → a table,
    /// with add-one smoothing so no transition is impossible.
    pub fn from_counts(
        starts: [u64; STAGES],
        pairs: [[u64; STAGES]; STAGES],
        prior: [f64; STAGES],
        strength: f64,
    ) -> Transitions {
        let normalise = |row: [f64; STAGES]| {
            let sum: f64 = row.iter().sum();
            row.map(|v| v / sum)
        };
        Transitions {
            format: FORMAT.to_owned(),
            start: normalise(starts.map(|c| c as f64 + 1.0)),
            matrix: pairs.map(|row| normalise(row.map(|c| c as f64 + 1.0))),
            prior: normalise(prior.map(|p| p.max(1e-6))),
            strength,
            source: serde_json::Value::Null,
        }
    }

    pub fn from_json(text: &str) -> Result<Transitions, TransitionsError> {
        let table: Transitions =
            serde_json::from_str(text).map_err(|e| TransitionsError::Json(e.to_string()))?;
        if table.format != FORMAT {
            return Err(TransitionsError::Format(table.format));
        }
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        if !table.start.iter().all(positive) {
            return Err(TransitionsError::Values("start"));
        }
        if !table.matrix.iter().flatten().all(positive) {
            return Err(TransitionsError::Values("matrix"));
        }
        if !table.prior.iter().all(positive) {
            return Err(TransitionsError::Values("prior"));
        }
        if !(table.strength.is_finite() && table.strength >= 0.0) {
            return Err(TransitionsError::Values("strength"));
        }
        Ok(table)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Each cell's stage posterior given every cell of the notebook, in the model's output
    /// layout (the dummy stage gets 0). `cells` are the model's probabilities in notebook
    /// order; `None` marks a cell with no prediction (empty), which breaks no chain and is
    /// returned as `None`.
    pub fn smooth(
        &self,
        cells: &[Option<[f32; Stage::OUTPUTS]>],
    ) -> Vec<Option<[f32; Stage::OUTPUTS]>> {
        let observed: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].is_some()).collect();
        let emissions: Vec<[f64; STAGES]> = observed
            .iter()
            .filter_map(|&i| cells[i])
            .map(|p| {
                let mut e = [0.0; STAGES];
                for s in 0..STAGES {
                    e[s] = (f64::from(p[s]).max(1e-9)) / self.prior[s];
                }
                normalised(e)
            })
            .collect();
        let n = emissions.len();
        let mut out: Vec<Option<[f32; Stage::OUTPUTS]>> = vec![None; cells.len()];
        if n == 0 {
            return out;
        }
        let power = |p: f64| p.powf(self.strength);
        let start = normalised(self.start.map(power));
        let matrix = self.matrix.map(|row| normalised(row.map(power)));
        // Forward, normalised at every step so long notebooks cannot underflow.
        let mut alpha = vec![[0.0; STAGES]; n];
        for s in 0..STAGES {
            alpha[0][s] = start[s] * emissions[0][s];
        }
        alpha[0] = normalised(alpha[0]);
        for t in 1..n {
            for s in 0..STAGES {
                let reach: f64 = (0..STAGES).map(|r| alpha[t - 1][r] * matrix[r][s]).sum();
                alpha[t][s] = reach * emissions[t][s];
            }
            alpha[t] = normalised(alpha[t]);
        }
        let mut beta = vec![[1.0; STAGES]; n];
        for t in (0..n - 1).rev() {
            for r in 0..STAGES {
                beta[t][r] = (0..STAGES)
                    .map(|s| matrix[r][s] * emissions[t + 1][s] * beta[t + 1][s])
                    .sum();
            }
            beta[t] = normalised(beta[t]);
        }
        for (k, &i) in observed.iter().enumerate() {
            let mut post = [0.0; STAGES];
            for s in 0..STAGES {
                post[s] = alpha[k][s] * beta[k][s];
            }
            let post = normalised(post);
            let mut row = [0.0f32; Stage::OUTPUTS];
            for s in 0..STAGES {
                row[s] = post[s] as f32;
            }
            out[i] = Some(row);
        }
        out
    }
}

/// Scales to sum 1; an all-zero (or non-finite) vector becomes uniform.
fn normalised(v: [f64; STAGES]) -> [f64; STAGES] {
    let sum: f64 = v.iter().sum();
    if sum.is_finite() && sum > 0.0 {
        v.map(|x| x / sum)
    } else {
        [1.0 / STAGES as f64; STAGES]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sticky() -> Transitions {
        let mut pairs = [[1u64; STAGES]; STAGES];
        for (s, row) in pairs.iter_mut().enumerate() {
            row[s] = 50;
        }
        Transitions::from_counts([10, 1, 1, 1, 1], pairs, [0.2; STAGES], 1.0)
    }

    fn p(stage: usize, confidence: f32) -> Option<[f32; 6]> {
        let mut row = [(1.0 - confidence) / 4.0; 6];
        row[stage] = confidence;
        row[5] = 0.0;
        Some(row)
    }

    fn argmax(row: &[f32; 6]) -> usize {
        (0..STAGES).fold(0, |b, s| if row[s] > row[b] { s } else { b })
    }

    #[test]
    fn an_unsure_cell_between_two_sure_ones_takes_their_stage() {
        let out = sticky().smooth(&[p(2, 0.9), p(1, 0.3), p(2, 0.9)]);
        let middle = out[1].expect("observed");
        assert_eq!(argmax(&middle), 2);
        // Sure cells keep their stage.
        assert_eq!(argmax(&out[0].expect("observed")), 2);
    }

    #[test]
    fn strength_zero_leaves_predictions_alone_and_empty_cells_stay_empty() {
        let mut table = sticky();
        table.strength = 0.0;
        let cells = [p(2, 0.9), None, p(1, 0.4), p(2, 0.9)];
        let out = table.smooth(&cells);
        assert!(out[1].is_none());
        assert_eq!(argmax(&out[2].expect("observed")), 1);
        assert!(table.smooth(&[]).is_empty());
        assert_eq!(table.smooth(&[None]), vec![None]);
    }

    #[test]
    fn json_round_trips_and_bad_tables_are_errors() {
        let table = sticky();
        assert_eq!(Transitions::from_json(&table.to_json()), Ok(table.clone()));
        let mut bad = table;
        bad.matrix[0][0] = -1.0;
        assert_eq!(
            Transitions::from_json(&bad.to_json()),
            Err(TransitionsError::Values("matrix"))
        );
        assert!(matches!(
            Transitions::from_json("{"),
            Err(TransitionsError::Json(_))
        ));
    }
}
