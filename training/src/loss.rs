//! The four CORAL losses (paper §IV-C..E, eq. 9, 10, 12, 13, 14).
//!
//! `L = λ1·CE + λ2·H(p_stage) + λ3·hinge + λ4·‖T̂T̂ᵀ − I‖_F`, each term averaged over the batch:
//!
//! - **CE** (eq. 9): `−log p_stage[label]` averaged over the cells that have a weak label; cells
//!   without one contribute nothing (a batch without labels has CE 0). The softmax runs over all
//!   six outputs; labels only ever name the five real stages.
//! - **Entropy** (eq. 10): `H(p_stage) = −Σ p log p`, averaged over all cells.
//! - **Hinge** (eq. 12): `Σ_i max(0, 1 − r_c·z_c + r_c·n_i)` over `m` negatives, averaged over
//!   cells. The paper's text calls `n_i` "the reconstructed vector of each negative sample", but
//!   the objective it cites (He et al., ABAE) uses the negative sentence's *representation*,
//!   and only that reading makes the loss a reconstruction objective: `r_c` must be closer to its
//!   own `z_c` than to other cells' `z`. (With `n_i = r_neg` the loss would merely push the
//!   reconstructions of different cells apart.) So here `n_i = z` of another cell in the same
//!   batch. As in ABAE's reference code, z, r and n are L2-normalised first by default
//!   ([`LossConfig::normalize_hinge`]): raw post-`LayerNorm` vectors have norm ≈ √`d_model`, which
//!   would make the margin of 1 meaningless.
//! - **Topic uniqueness** (eq. 13): the topic embeddings (rows of `Rᵀ`, i.e. the columns of the
//!   paper's `d_model × K` matrix R) are L2-normalised per topic; the loss is the Frobenius norm
//!   of `T̂T̂ᵀ − I` (K × K).
//!
//! Optional CE warm-up: for the first [`LossConfig::ce_warmup_steps`] steps only `λ1·CE` is used
//! (as the reference implementation does).

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu};
use coral_core::Stage;
use serde::{Deserialize, Serialize};

use crate::model::{CoralOutput, ModelConfig};

const NORM_EPS: f32 = 1e-12;

/// Loss weights λ1..λ4 (paper Appendix B: 0.1, 0.3, 1, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossWeights {
    pub ce: f32,
    pub entropy: f32,
    pub hinge: f32,
    pub ortho: f32,
    /// Per-stage weights of the CE term (set by the training loop from
    /// [`LossConfig::class_balance`]; all 1 otherwise, and always in validation).
    #[serde(skip)]
    pub class: [f32; 5],
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            ce: 0.1,
            entropy: 0.3,
            hinge: 1.0,
            ortho: 1.0,
            class: [1.0; 5],
        }
    }
}

/// CE weight per stage for weak-label counts `counts`: `share^(-alpha)`, scaled so that the
/// weights average to 1 over the labelled cells (the CE keeps its scale). `alpha = 0` gives
/// all ones, `alpha = 1` full inverse-frequency balancing (a stage without cells has no CE term
/// to weigh).
pub fn class_weights(counts: [usize; 5], alpha: f32) -> [f32; 5] {
    let total: usize = counts.iter().sum();
    if total == 0 || alpha == 0.0 {
        return [1.0; 5];
    }
    let mut weights = [1.0f32; 5];
    for (w, &n) in weights.iter_mut().zip(&counts) {
        if n > 0 {
            *w = (n as f32 / total as f32).powf(-alpha);
        }
    }
    let mean: f32 = weights
        .iter()
        .zip(&counts)
        .map(|(w, &n)| w * n as f32)
        .sum::<f32>()
        / total as f32;
    weights.map(|w| w / mean)
}

/// How the loss is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    pub weights: LossWeights,
    /// Negatives per cell for the hinge loss (paper: m = 5), drawn from the other cells of the
    /// batch (with replacement only when the batch has fewer than `m` other cells).
    pub negatives: usize,
    /// L2-normalise z, r and the negatives before the hinge's dot products.
    pub normalize_hinge: bool,
    /// Steps at the start of training during which only the CE term is used.
    pub ce_warmup_steps: u64,
    /// Exponent of the CE's class balancing (see [`class_weights`]): 0 = none (the paper),
    /// 0.5 = inverse square root of each stage's weak-label share.
    pub class_balance: f32,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            weights: LossWeights::default(),
            negatives: 5,
            normalize_hinge: true,
            ce_warmup_steps: 0,
            class_balance: 0.0,
        }
    }
}

impl LossConfig {
    /// The weights in force at `step` (0-based), honouring the warm-up and the
    /// `no_topic_losses` ablation.
    pub fn weights_at(&self, step: u64, model: &ModelConfig) -> LossWeights {
        let mut w = self.weights;
        if model.no_topic_losses {
            w.hinge = 0.0;
            w.ortho = 0.0;
        }
        if step < self.ce_warmup_steps {
            w.entropy = 0.0;
            w.hinge = 0.0;
            w.ortho = 0.0;
        }
        w
    }
}

/// The weighted total and each unweighted term (a term whose weight is 0 is not computed and
/// reads 0).
#[derive(Debug, Clone)]
pub struct LossTerms {
    pub total: Tensor<1>,
    pub ce: Tensor<1>,
    pub entropy: Tensor<1>,
    pub hinge: Tensor<1>,
    pub ortho: Tensor<1>,
}

/// Host-side copies of the loss terms, for logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossValues {
    pub total: f64,
    pub ce: f64,
    pub entropy: f64,
    pub hinge: f64,
    pub ortho: f64,
}

impl LossTerms {
    /// Reads the five scalars back (one device sync).
    pub fn values(&self) -> LossValues {
        let all = Tensor::cat(
            vec![
                self.total.clone().detach(),
                self.ce.clone().detach(),
                self.entropy.clone().detach(),
                self.hinge.clone().detach(),
                self.ortho.clone().detach(),
            ],
            0,
        );
        let v = all.into_data().try_to_vec::<f32>().unwrap_or_default();
        let at = |i: usize| v.get(i).copied().map_or(f64::NAN, f64::from);
        LossValues {
            total: at(0),
            ce: at(1),
            entropy: at(2),
            hinge: at(3),
            ortho: at(4),
        }
    }
}

/// All four terms for one batch. `negatives` holds `b · m` row indices into the batch (see
/// [`crate::batch::sample_negatives`]); `topic_embeddings` is the model's `[K, d]` matrix.
pub fn coral_loss(
    out: &CoralOutput,
    topic_embeddings: Tensor<2>,
    labels: &[Option<Stage>],
    negatives: &[u32],
    weights: LossWeights,
    normalize_hinge: bool,
) -> LossTerms {
    let device = out.z.device();
    let zero = || Tensor::<1>::zeros([1], &device);
    let ce = if weights.ce == 0.0 {
        zero()
    } else {
        weighted_cross_entropy(out.stage_logits.clone(), labels, &weights.class)
    };
    let entropy = if weights.entropy == 0.0 {
        zero()
    } else {
        entropy(out.stage_logits.clone())
    };
    let hinge = if weights.hinge == 0.0 {
        zero()
    } else {
        hinge(out.z.clone(), out.r.clone(), negatives, normalize_hinge)
    };
    let ortho = if weights.ortho == 0.0 {
        zero()
    } else {
        orthogonality(topic_embeddings)
    };
    let total = ce.clone().mul_scalar(weights.ce)
        + entropy.clone().mul_scalar(weights.entropy)
        + hinge.clone().mul_scalar(weights.hinge)
        + ortho.clone().mul_scalar(weights.ortho);
    LossTerms {
        total,
        ce,
        entropy,
        hinge,
        ortho,
    }
}

/// Eq. 9: mean over labelled cells of `−log softmax(logits)[label]`; 0 when no cell is labelled.
/// `logits`: `[b, 6]`.
pub fn cross_entropy(logits: Tensor<2>, labels: &[Option<Stage>]) -> Tensor<1> {
    weighted_cross_entropy(logits, labels, &[1.0; 5])
}

/// [`cross_entropy`] with a weight per stage: `Σ w_y·(−log p_y) / Σ w_y` over labelled cells.
pub fn weighted_cross_entropy(
    logits: Tensor<2>,
    labels: &[Option<Stage>],
    class: &[f32; 5],
) -> Tensor<1> {
    let [b, outputs] = logits.dims();
    let weight = |stage: &Stage| class.get(stage.index()).copied().unwrap_or(1.0);
    let total: f32 = labels.iter().take(b).flatten().map(weight).sum();
    let device = logits.device();
    if total <= 0.0 {
        return Tensor::zeros([1], &device);
    }
    // A weight matrix with w/Σw at each labelled cell's label: the loss is one multiply-add.
    let mut target = vec![0.0f32; b * outputs];
    for (row, label) in labels.iter().take(b).enumerate() {
        if let Some(stage) = label {
            target[row * outputs + stage.index()] = weight(stage) / total;
        }
    }
    let target = Tensor::<2>::from_data(TensorData::new(target, [b, outputs]), &device);
    (log_softmax(logits, 1) * target).sum().neg()
}

/// Eq. 10: mean over cells of the entropy of `softmax(logits)`. `logits`: `[b, 6]`.
pub fn entropy(logits: Tensor<2>) -> Tensor<1> {
    let log_p = log_softmax(logits, 1);
    (log_p.clone().exp() * log_p).sum_dim(1).mean().neg()
}

/// Rows scaled to unit L2 norm.
fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).add_scalar(NORM_EPS).sqrt();
    x / norm
}

/// Eq. 12, averaged over cells: `Σ_i max(0, 1 − r_c·z_c + r_c·z_{neg_i})`.
/// `z`, `r`: `[b, d]`; `negatives`: `b·m` row indices (m = `negatives.len() / b`).
#[allow(clippy::many_single_char_names)]
pub fn hinge(z: Tensor<2>, r: Tensor<2>, negatives: &[u32], normalize: bool) -> Tensor<1> {
    let [b, d] = z.dims();
    let device = z.device();
    if b == 0 || negatives.is_empty() || !negatives.len().is_multiple_of(b) {
        return Tensor::zeros([1], &device);
    }
    let m = negatives.len() / b;
    let (z, r) = if normalize {
        (l2_normalize(z), l2_normalize(r))
    } else {
        (z, r)
    };
    let idx: Vec<i64> = negatives.iter().map(|&i| i64::from(i)).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b * m]), &device);
    let n = z.clone().select(0, idx).reshape([b, m, d]);
    let positive = (r.clone() * z).sum_dim(1); // [b, 1]
    let negative = (n * r.reshape([b, 1, d])).sum_dim(2).reshape([b, m]); // [b, m]
    relu((negative - positive).add_scalar(1.0))
        .sum_dim(1)
        .mean()
}

/// Eq. 13: `‖T̂T̂ᵀ − I‖_F` with `T̂` the row-normalised `[K, d]` topic embeddings.
pub fn orthogonality(topic_embeddings: Tensor<2>) -> Tensor<1> {
    let k = topic_embeddings.dims()[0];
    let device = topic_embeddings.device();
    let t = l2_normalize(topic_embeddings);
    let gram = t.clone().matmul(t.transpose());
    let diff = gram - Tensor::<2>::eye(k, &device);
    diff.square().sum().add_scalar(NORM_EPS).sqrt()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    fn close(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-5, "{a} != {b}");
    }

    #[test]
    fn cross_entropy_by_hand() {
        // Row 0: uniform logits over 6 → −log(1/6). Row 1: unlabelled. Row 2: logits
        // [ln 2, 0, 0, 0, 0, 0] → p[0] = 2/7, label IMPORT → −log(2/7).
        let ln2 = 2f32.ln();
        let logits = Tensor::<2>::from_data(
            [
                [0.0f32; 6],
                [5.0, 1.0, 0.0, 0.0, 0.0, 0.0],
                [ln2, 0.0, 0.0, 0.0, 0.0, 0.0],
            ],
            &device(),
        );
        let labels = [Some(Stage::Explore), None, Some(Stage::Import)];
        let expected = f32::midpoint(6f32.ln(), (7.0f32 / 2.0).ln());
        close(scalar(cross_entropy(logits.clone(), &labels)), expected);
        close(
            scalar(cross_entropy(logits.clone(), &[None, None, None])),
            0.0,
        );
        // Weighted: EXPLORE counts 3×, IMPORT 1× → (3·ln 6 + ln 3.5) / 4.
        let mut class = [1.0; 5];
        class[Stage::Explore.index()] = 3.0;
        close(
            scalar(weighted_cross_entropy(logits, &labels, &class)),
            (3.0 * 6f32.ln() + 3.5f32.ln()) / 4.0,
        );
    }

    #[test]
    #[allow(clippy::float_cmp)] // all-ones is exact
    fn class_weights_balance_and_keep_the_scale() {
        assert_eq!(class_weights([10, 0, 90, 0, 0], 0.0), [1.0; 5]);
        let w = class_weights([10, 0, 90, 0, 0], 1.0);
        // Inverse frequency: 10·w0 = 90·w2, and the mean weight over cells is 1.
        close(10.0 * w[0], 90.0 * w[2]);
        close((10.0 * w[0] + 90.0 * w[2]) / 100.0, 1.0);
        let half = class_weights([10, 0, 90, 0, 0], 0.5);
        close(half[0] / half[2], 3.0);
    }

    #[test]
    fn entropy_by_hand() {
        // Uniform over 6 → ln 6; one-hot-ish (logit 100) → ~0. Mean: ln 6 / 2.
        let logits =
            Tensor::<2>::from_data([[0.0f32; 6], [100.0, 0.0, 0.0, 0.0, 0.0, 0.0]], &device());
        close(scalar(entropy(logits)), 6f32.ln() / 2.0);
    }

    #[test]
    fn hinge_by_hand() {
        // z0 = (1,0), z1 = (0,1); r0 = (1,0), r1 = (1,0). Unnormalised, one negative each:
        // cell 0: neg z1 → max(0, 1 − 1 + 0) = 0; cell 1: neg z0 → max(0, 1 − 0 + 1) = 2.
        let z = Tensor::<2>::from_data([[1.0f32, 0.0], [0.0, 1.0]], &device());
        let r = Tensor::<2>::from_data([[1.0f32, 0.0], [1.0, 0.0]], &device());
        close(scalar(hinge(z.clone(), r.clone(), &[1, 0], false)), 1.0);
        // Two negatives per cell (the other cell twice): cell 1 → 4, cell 0 → 0.
        close(
            scalar(hinge(z.clone(), r.clone(), &[1, 1, 0, 0], false)),
            2.0,
        );
        // Normalisation: scaling z and r leaves the normalised loss unchanged.
        let big = hinge(
            z.clone().mul_scalar(7.0),
            r.clone().mul_scalar(3.0),
            &[1, 0],
            true,
        );
        close(scalar(big), 1.0);
        // The unnormalised loss sees the scale: cell 1 → max(0, 1 − 0 + 21) = 22; cell 0:
        // max(0, 1 − 21 + 0) = 0.
        let raw = hinge(z.mul_scalar(7.0), r.mul_scalar(3.0), &[1, 0], false);
        close(scalar(raw), 11.0);
    }

    #[test]
    fn hinge_without_negatives_is_zero() {
        let z = Tensor::<2>::from_data([[1.0f32, 0.0]], &device());
        close(scalar(hinge(z.clone(), z, &[], true)), 0.0);
    }

    #[test]
    fn orthogonality_by_hand() {
        // Orthogonal topics (any lengths) → 0.
        let t = Tensor::<2>::from_data([[2.0f32, 0.0, 0.0], [0.0, 0.0, 5.0]], &device());
        assert!(scalar(orthogonality(t)) < 1e-4);
        // Two parallel topics → Gram = [[1,1],[1,1]], minus I → two off-diagonal 1s → √2.
        let t = Tensor::<2>::from_data([[1.0f32, 1.0], [3.0, 3.0]], &device());
        close(scalar(orthogonality(t)), 2f32.sqrt());
        // 45°: cos = 1/√2 off the diagonal → √(2 · 1/2) = 1.
        let t = Tensor::<2>::from_data([[1.0f32, 0.0], [1.0, 1.0]], &device());
        close(scalar(orthogonality(t)), 1.0);
    }

    #[test]
    fn weights_follow_warmup_and_ablation() {
        let cfg = LossConfig {
            ce_warmup_steps: 10,
            ..LossConfig::default()
        };
        let model = ModelConfig::default();
        let w = cfg.weights_at(3, &model);
        assert_eq!((w.ce, w.entropy, w.hinge, w.ortho), (0.1, 0.0, 0.0, 0.0));
        let w = cfg.weights_at(10, &model);
        assert_eq!((w.ce, w.entropy, w.hinge, w.ortho), (0.1, 0.3, 1.0, 1.0));
        let ablated = ModelConfig {
            no_topic_losses: true,
            ..ModelConfig::default()
        };
        let w = cfg.weights_at(10, &ablated);
        assert_eq!((w.hinge, w.ortho), (0.0, 0.0));
    }

    #[test]
    fn total_is_the_weighted_sum() {
        let d = device();
        let out = CoralOutput {
            z: Tensor::from_data([[1.0f32, 0.0], [0.0, 1.0]], &d),
            p_topic: Tensor::from_data([[1.0f32], [1.0]], &d),
            r: Tensor::from_data([[1.0f32, 0.0], [1.0, 0.0]], &d),
            stage_logits: Tensor::zeros([2, 6], &d),
            p_stage: Tensor::ones([2, 6], &d).div_scalar(6.0),
        };
        let topics = Tensor::<2>::from_data([[1.0f32, 0.0], [1.0, 1.0]], &d);
        let w = LossWeights::default();
        let terms = coral_loss(&out, topics, &[Some(Stage::Model), None], &[1, 0], w, false);
        let v = terms.values();
        let ln6 = 6f64.ln();
        assert!((v.ce - ln6).abs() < 1e-5);
        assert!((v.entropy - ln6).abs() < 1e-5);
        assert!((v.hinge - 1.0).abs() < 1e-5);
        assert!((v.ortho - 1.0).abs() < 1e-5);
        let expected = 0.1 * ln6 + 0.3 * ln6 + 1.0 + 1.0;
        assert!((v.total - expected).abs() < 1e-4, "{}", v.total);
    }
}
