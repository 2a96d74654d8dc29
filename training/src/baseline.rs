//! `coral-train baseline`: the cheap, strong baseline the model card compares CORAL with — a
//! multinomial logistic regression trained on the same weak labels, over a bag of the cell's
//! qualified calls, its syntax-graph tokens (node kinds, value subtokens, data-flow `~kind`
//! tokens), its markdown words and its data-flow facts. If CORAL cannot beat this, the
//! transformer is not earning its cost.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use coral_core::{CellFeatures, Stage};

use crate::rng::SplitMix64;

/// Hashed feature space.
pub const BUCKETS: usize = 1 << 18;
const STAGES: usize = 5;

/// The hashed, deduplicated features of one cell (bucket ids, sorted).
pub fn features(cell: &CellFeatures) -> Vec<u32> {
    let mut names: Vec<String> = Vec::new();
    names.extend(cell.calls.iter().map(|c| format!("call:{c}")));
    for (token, &segment) in cell.graph.tokens.iter().zip(&cell.graph.segments) {
        if segment == coral_core::input::SEGMENT_MARKDOWN {
            names.push(format!("md:{token}"));
        } else {
            names.push(format!("tok:{token}"));
        }
    }
    let flow = &cell.flow;
    for (on, name) in [
        (flow.fits, "flow:fits"),
        (flow.displays, "flow:displays"),
        (flow.mutates_data, "flow:mutates"),
        (flow.setup_only, "flow:setup"),
        (flow.binds_untyped, "flow:untyped"),
        (cell.has_imports, "imports"),
    ] {
        if on {
            names.push(name.to_owned());
        }
    }
    names.extend(flow.shown.iter().map(|k| format!("flow:shown:{k}")));
    names.extend(flow.bound.iter().map(|k| format!("flow:bound:{k}")));
    names.extend(flow.read.iter().map(|k| format!("flow:read:{k}")));
    names.push(format!("lines:{}", cell.code_lines.min(12)));
    let mut ids: Vec<u32> = names
        .iter()
        .map(|n| {
            let mut h = DefaultHasher::new();
            n.hash(&mut h);
            (h.finish() % BUCKETS as u64) as u32
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The weak-labelled cells of a featurized corpus as `(features, stage)` pairs, split by
/// notebook into (training, validation) as the model's own split does.
pub fn weak_split(
    corpus: &crate::corpus::Corpus,
    featurized: &[Vec<CellFeatures>],
    validation_fraction: f64,
    split_seed: u64,
) -> (Vec<(Vec<u32>, Stage)>, Vec<(Vec<u32>, Stage)>) {
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for (nb, cells) in corpus.notebooks.iter().zip(featurized) {
        let held_out = crate::split::is_validation(
            crate::corpus::notebook_key(&nb.id),
            validation_fraction,
            split_seed,
        );
        let side = if held_out {
            &mut validation
        } else {
            &mut train
        };
        side.extend(
            cells
                .iter()
                .filter(|c| !c.is_empty)
                .filter_map(|c| c.weak_label.as_ref().map(|l| (features(c), l.stage))),
        );
    }
    (train, validation)
}

/// Logistic regression weights, `[BUCKETS][5]` plus a bias per stage.
#[derive(Debug, Clone)]
pub struct Baseline {
    weights: Vec<f32>,
    bias: [f32; STAGES],
}

/// Training settings; chosen by weak-label validation accuracy, never by expert labels.
#[derive(Debug, Clone, Copy)]
pub struct BaselineConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// CE weight of each stage: share^(−class_balance), as the model's `loss.class_balance`.
    pub class_balance: f64,
    pub seed: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            epochs: 4,
            learning_rate: 0.2,
            l2: 1e-6,
            class_balance: 0.5,
            seed: 0xBA5E,
        }
    }
}

impl Baseline {
    fn logits(&self, x: &[u32]) -> [f32; STAGES] {
        let scale = 1.0 / (x.len().max(1) as f32).sqrt();
        let mut z = self.bias;
        for &f in x {
            let row = &self.weights[f as usize * STAGES..f as usize * STAGES + STAGES];
            for s in 0..STAGES {
                z[s] += row[s] * scale;
            }
        }
        z
    }

    /// Stage probabilities in model output order (the dummy stage gets 0).
    pub fn predict(&self, x: &[u32]) -> [f32; Stage::OUTPUTS] {
        let z = self.logits(x);
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = z.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = e.iter().sum();
        let mut out = [0.0; Stage::OUTPUTS];
        for s in 0..STAGES {
            out[s] = e[s] / sum;
        }
        out
    }

    /// AdaGrad on class-weighted softmax cross-entropy.
    pub fn train(samples: &[(Vec<u32>, Stage)], config: BaselineConfig) -> Baseline {
        let mut counts = [0usize; STAGES];
        for (_, s) in samples {
            counts[s.index()] += 1;
        }
        let n = samples.len().max(1) as f64;
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&c| ((c.max(1) as f64 / n).powf(-config.class_balance)) as f32)
            .collect();
        let mean_w: f32 = (0..STAGES)
            .map(|s| class_weight[s] * counts[s] as f32)
            .sum::<f32>()
            / n as f32;
        let class_weight: Vec<f32> = class_weight.iter().map(|w| w / mean_w.max(1e-9)).collect();
        let mut model = Baseline {
            weights: vec![0.0; BUCKETS * STAGES],
            bias: [0.0; STAGES],
        };
        let mut g2 = vec![1e-8f32; BUCKETS * STAGES];
        let mut b2 = [1e-8f32; STAGES];
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = SplitMix64::new(config.seed);
        for _ in 0..config.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &i in &order {
                let (x, label) = &samples[i];
                let p = model.predict(x);
                let w = class_weight[label.index()];
                let scale = 1.0 / (x.len().max(1) as f32).sqrt();
                for s in 0..STAGES {
                    let target = if s == label.index() { 1.0 } else { 0.0 };
                    let grad = w * (p[s] - target);
                    b2[s] += grad * grad;
                    model.bias[s] -= config.learning_rate * grad / b2[s].sqrt();
                    for &f in x {
                        let k = f as usize * STAGES + s;
                        let gk = grad * scale + config.l2 * model.weights[k];
                        g2[k] += gk * gk;
                        model.weights[k] -= config.learning_rate * gk / g2[k].sqrt();
                    }
                }
            }
        }
        model
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coral_core::{featurize_notebook, Cell, Notebook, SeedTable};

    #[test]
    fn separates_import_cells_from_fit_cells() {
        let seeds = SeedTable::builtin();
        let mut samples = Vec::new();
        for i in 0..40 {
            let nb = Notebook {
                cells: vec![
                    Cell::code(&format!("import pandas as pd\nimport numpy as np{i}")),
                    Cell::code(&format!("model{i} = make()\nmodel{i}.fit(X, y)")),
                ],
            };
            let cells = featurize_notebook(&nb, &seeds);
            samples.push((features(&cells[0]), Stage::Import));
            samples.push((features(&cells[1]), Stage::Model));
        }
        let model = Baseline::train(&samples, BaselineConfig::default());
        let nb = Notebook {
            cells: vec![
                Cell::code("import os\nimport pandas as pd"),
                Cell::code("clf = build()\nclf.fit(A, b)"),
            ],
        };
        let cells = featurize_notebook(&nb, &seeds);
        let p0 = model.predict(&features(&cells[0]));
        let p1 = model.predict(&features(&cells[1]));
        assert!(p0[Stage::Import.index()] > 0.5, "{p0:?}");
        assert!(p1[Stage::Model.index()] > 0.5, "{p1:?}");
    }
}
