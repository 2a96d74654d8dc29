//! The CORAL model (paper §IV, Appendix B/C; the design notes in ../shared/DESIGN.md §4) in burn.
//!
//! Embedding (token + segment, optional learned position) → N post-LN transformer layers with
//! graph-masked multi-head attention → z = output at [CLS] → `p_topic = softmax(W_topic z + b)`
//! → `r = R p_topic` → `p_stage = softmax(W_stage p_topic + b_stage)` over the five stages and
//! the dummy "none" stage.
//!
//! The attention mask is the dense bool mask of [`coral_core::ModelInput::fill_mask`] (true = may
//! attend). It is turned into an additive mask (0 or [`MASKED_SCORE`]) once per forward pass and
//! shared by every layer and head.
//!
//! The last layer computes only the [CLS] query: nothing downstream reads the other positions,
//! so their attention rows and feed-forward passes would be wasted work. The result is the same.

use burn::module::Param;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
use coral_core::input::SEGMENT_COUNT;
use coral_core::Stage;
use serde::{Deserialize, Serialize};

/// Additive score for a masked (query, key) pair. Finite, so a row can never turn into NaN;
/// every row keeps at least its own position, so no row is all-masked.
pub const MASKED_SCORE: f32 = -1.0e9;

/// Hyper-parameters of the CORAL model and its ablation switches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // independent switches, not a state machine
pub struct ModelConfig {
    /// Vocabulary size (token ids are `0..vocab_size`; 0 = [PAD], 1 = [UNK], 2 = [CLS]).
    pub vocab_size: usize,
    /// Width of every hidden representation (paper: 256).
    pub d_model: usize,
    /// Attention heads per layer (paper: 4). Must divide `d_model`.
    pub heads: usize,
    /// Transformer layers (paper: 4).
    pub layers: usize,
    /// Inner width of the feed-forward sublayer (paper: 1024).
    pub ffn: usize,
    /// Number of topics K (paper: 50).
    pub topics: usize,
    /// Longest input the model takes (paper M = 160); longer inputs are truncated by the batcher.
    pub max_len: usize,
    /// Dropout on embeddings, attention weights and sublayer outputs (training only).
    pub dropout: f64,
    /// Learned absolute position embedding (the paper has none: the graph mask carries structure).
    pub position_embedding: bool,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
    /// Ablation: ignore the graph mask, every real position attends to every real position
    /// (padding stays masked; it is read from the mask's column 0, which only real rows set).
    pub full_attention: bool,
    /// Ablation: no markdown context. Handled on the data side — whoever builds the
    /// [`coral_core::ModelInput`]s must drop the markdown positions; the model only records it.
    pub no_markdown: bool,
    /// Ablation: no topic-model losses (λ3 = λ4 = 0 in [`crate::loss`]).
    pub no_topic_losses: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            vocab_size: 32_000,
            d_model: 256,
            heads: 4,
            layers: 4,
            ffn: 1024,
            topics: 50,
            max_len: coral_core::artefact::DEFAULT_WINDOW,
            dropout: 0.1,
            position_embedding: false,
            layer_norm_eps: 1e-5,
            full_attention: false,
            no_markdown: false,
            no_topic_losses: false,
        }
    }
}

/// A configuration the model cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be positive")]
    Zero(&'static str),
    #[error("d_model {d_model} is not divisible by heads {heads}")]
    HeadsDoNotDivide { d_model: usize, heads: usize },
    #[error("vocab_size {0} is too small: ids 0..=2 are [PAD], [UNK] and [CLS]")]
    VocabTooSmall(usize),
    #[error("dropout {0} is outside [0, 1)")]
    Dropout(String),
}

impl ModelConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("d_model", self.d_model),
            ("heads", self.heads),
            ("layers", self.layers),
            ("ffn", self.ffn),
            ("topics", self.topics),
            ("max_len", self.max_len),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.vocab_size < 3 {
            return Err(ConfigError::VocabTooSmall(self.vocab_size));
        }
        if !self.d_model.is_multiple_of(self.heads) {
            return Err(ConfigError::HeadsDoNotDivide {
                d_model: self.d_model,
                heads: self.heads,
            });
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ConfigError::Dropout(self.dropout.to_string()));
        }
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.heads
    }

    /// Builds a randomly initialised model on `device` (seed the device first for a reproducible
    /// initialisation).
    pub fn init(&self, device: &Device) -> Result<CoralModel, ConfigError> {
        self.validate()?;
        let d = self.d_model;
        let layers = (0..self.layers)
            .map(|_| EncoderLayer {
                qkv: LinearConfig::new(d, 3 * d).init(device),
                attn_out: LinearConfig::new(d, d).init(device),
                norm_attn: LayerNormConfig::new(d)
                    .with_epsilon(self.layer_norm_eps)
                    .init(device),
                ffn_in: LinearConfig::new(d, self.ffn).init(device),
                ffn_out: LinearConfig::new(self.ffn, d).init(device),
                norm_ffn: LayerNormConfig::new(d)
                    .with_epsilon(self.layer_norm_eps)
                    .init(device),
                dropout: DropoutConfig::new(self.dropout).init(),
                heads: self.heads,
            })
            .collect();
        let std = 1.0 / (d as f64).sqrt();
        Ok(CoralModel {
            token_embedding: EmbeddingConfig::new(self.vocab_size, d).init(device),
            segment_embedding: EmbeddingConfig::new(SEGMENT_COUNT, d).init(device),
            position_embedding: self
                .position_embedding
                .then(|| EmbeddingConfig::new(self.max_len, d).init(device)),
            layers,
            topic: LinearConfig::new(d, self.topics).init(device),
            topic_embeddings: Initializer::Normal { mean: 0.0, std }.init([self.topics, d], device),
            // p_topic lies on the simplex (entries ~1/K, not unit variance), so a fan-in scaled
            // init would leave the stage logits nearly flat for a long time; unit-variance
            // weights give one-hot topics logits of the usual scale.
            stage: LinearConfig::new(self.topics, Stage::OUTPUTS)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 1.0,
                })
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            full_attention: self.full_attention,
        })
    }
}

/// One post-LN transformer layer: `x = LN(x + MHA(x)); x = LN(x + FFN(x))`.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// Fused query/key/value projection, `[d_model, 3·d_model]` (q | k | v, heads contiguous).
    pub qkv: Linear,
    /// Output projection `W_O`.
    pub attn_out: Linear,
    pub norm_attn: LayerNorm,
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub norm_ffn: LayerNorm,
    pub dropout: Dropout,
    pub heads: usize,
}

/// The four linear layers of an encoder layer, in the order a forward pass reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinearSite {
    Qkv,
    AttnOut,
    FfnIn,
    FfnOut,
}

impl LinearSite {
    /// The parameter name of the layer (`layers.{i}.{name}`).
    pub fn name(self) -> &'static str {
        match self {
            LinearSite::Qkv => "qkv",
            LinearSite::AttnOut => "attn_out",
            LinearSite::FfnIn => "ffn_in",
            LinearSite::FfnOut => "ffn_out",
        }
    }
}

impl EncoderLayer {
    /// `[b, l, d]` → queries, keys and values, each `[b, h, l, dk]`.
    #[allow(clippy::many_single_char_names)]
    fn project(&self, x: Tensor<3>) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let [b, l, d] = x.dims();
        let h = self.heads;
        // [b, l, 3d] -> [b, 3h, l, dk]: heads 0..h are queries, h..2h keys, 2h..3h values.
        let qkv = self
            .qkv
            .forward(x)
            .reshape([b, l, 3 * h, d / h])
            .swap_dims(1, 2);
        (
            qkv.clone().slice(s![.., 0..h, .., ..]),
            qkv.clone().slice(s![.., h..2 * h, .., ..]),
            qkv.slice(s![.., 2 * h..3 * h, .., ..]),
        )
    }

    /// Softmax attention weights `[b, h, rows, l]` for queries `q` against keys `k`.
    fn weights(q: Tensor<4>, k: Tensor<4>, mask: Tensor<4>) -> Tensor<4> {
        let dk = q.dims()[3];
        let scores = q
            .mul_scalar(1.0 / (dk as f32).sqrt())
            .matmul(k.swap_dims(2, 3))
            .add(mask);
        softmax(scores, 3)
    }

    /// The attention weights of every position (before dropout), `[b, h, l, l]`, for
    /// inspection: masked pairs get exactly 0.
    pub fn attention_weights(&self, x: Tensor<3>, mask: &Tensor<4>) -> Tensor<4> {
        let (q, k, _) = self.project(x);
        Self::weights(q, k, mask.clone())
    }

    /// `x`: `[b, l, d]`; `mask`: additive, `[b, 1, l, l]` or `[b, 1, 1, l]`.
    /// With `cls_only` the result is `[b, 1, d]`: the layer's output at position 0 alone.
    pub fn forward(&self, x: Tensor<3>, mask: &Tensor<4>, cls_only: bool) -> Tensor<3> {
        self.forward_observed(x, mask, cls_only, &mut |_, _| {})
    }

    /// [`Self::forward`], showing `observe` the input of each linear layer (for int8
    /// calibration).
    #[allow(clippy::many_single_char_names)]
    pub fn forward_observed(
        &self,
        x: Tensor<3>,
        mask: &Tensor<4>,
        cls_only: bool,
        observe: &mut dyn FnMut(LinearSite, &Tensor<3>),
    ) -> Tensor<3> {
        let [b, _, d] = x.dims();
        observe(LinearSite::Qkv, &x);
        let (q, k, v) = self.project(x.clone());
        let (q, residual, mask) = if cls_only {
            let mask = if mask.dims()[2] == 1 {
                mask.clone()
            } else {
                mask.clone().slice(s![.., .., 0..1, ..])
            };
            (
                q.slice(s![.., .., 0..1, ..]),
                x.slice(s![.., 0..1, ..]),
                mask,
            )
        } else {
            (q, x, mask.clone())
        };
        let rows = q.dims()[2];
        let weights = self.dropout.forward(Self::weights(q, k, mask));
        let context = weights.matmul(v).swap_dims(1, 2).reshape([b, rows, d]);
        observe(LinearSite::AttnOut, &context);
        let attended = self.dropout.forward(self.attn_out.forward(context));
        let x = self.norm_attn.forward(residual + attended);

        observe(LinearSite::FfnIn, &x);
        let hidden = relu(self.ffn_in.forward(x.clone()));
        observe(LinearSite::FfnOut, &hidden);
        let ff = self.dropout.forward(self.ffn_out.forward(hidden));
        self.norm_ffn.forward(x + ff)
    }
}

/// The CORAL model. Build it with [`ModelConfig::init`].
#[derive(Module, Debug)]
pub struct CoralModel {
    pub token_embedding: Embedding,
    pub segment_embedding: Embedding,
    pub position_embedding: Option<Embedding>,
    pub layers: Vec<EncoderLayer>,
    /// `W_topic`, `b` of eq. 7.
    pub topic: Linear,
    /// The topic embeddings, `[K, d_model]`: this is `Rᵀ` of eq. 11 (the paper's `R` is
    /// `d_model × K` with one topic per column; here one topic per row), so `r = p_topic · Rᵀ`.
    pub topic_embeddings: Param<Tensor<2>>,
    /// `W_stage`, `b_stage` of eq. 8.
    pub stage: Linear,
    pub dropout: Dropout,
    pub full_attention: bool,
}

/// Everything the losses and the exporter need from one forward pass (`b` cells).
#[derive(Debug, Clone)]
pub struct CoralOutput {
    /// Cell representation at [CLS], `[b, d_model]`.
    pub z: Tensor<2>,
    /// Topic distribution, `[b, K]`.
    pub p_topic: Tensor<2>,
    /// Reconstruction `R p_topic`, `[b, d_model]`.
    pub r: Tensor<2>,
    /// Pre-softmax stage scores, `[b, 6]`.
    pub stage_logits: Tensor<2>,
    /// Stage distribution, `[b, 6]` (IMPORT, WRANGLE, EXPLORE, MODEL, EVALUATE, NONE).
    pub p_stage: Tensor<2>,
}

impl CoralModel {
    /// Width of the hidden representation.
    pub fn d_model(&self) -> usize {
        self.topic_embeddings.dims()[1]
    }

    /// Number of topics.
    pub fn topics(&self) -> usize {
        self.topic_embeddings.dims()[0]
    }

    /// Additive attention mask `[b, 1, l, l]` (or `[b, 1, 1, l]` with full attention) from the
    /// bool mask `[b, l, l]` (true = may attend): 0 where allowed, [`MASKED_SCORE`] elsewhere.
    pub fn additive_mask(&self, mask: Tensor<3, Bool>) -> Tensor<4> {
        let [b, l, _] = mask.dims();
        if self.full_attention {
            // Column 0 of row j is set exactly when j is a real position.
            let keys = mask.slice(s![.., .., 0..1]).reshape([b, 1, 1, l]);
            keys.float().sub_scalar(1.0).mul_scalar(-MASKED_SCORE)
        } else {
            mask.reshape([b, 1, l, l])
                .float()
                .sub_scalar(1.0)
                .mul_scalar(-MASKED_SCORE)
        }
    }

    /// Forward pass. `tokens`, `segments`: `[b, l]` ints; `mask`: `[b, l, l]`, true = may attend.
    /// `l` must not exceed the configured `max_len` when a position embedding is used.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        segments: Tensor<2, Int>,
        mask: Tensor<3, Bool>,
    ) -> CoralOutput {
        let z = self.encode(tokens, segments, mask);
        self.heads(z)
    }

    /// The encoder alone: z, the [CLS] output, `[b, d_model]`.
    pub fn encode(
        &self,
        tokens: Tensor<2, Int>,
        segments: Tensor<2, Int>,
        mask: Tensor<3, Bool>,
    ) -> Tensor<2> {
        let b = tokens.dims()[0];
        let mut x = self.dropout.forward(self.embed(tokens, segments));
        let mask = self.additive_mask(mask);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x, &mask, i == last);
        }
        let d = x.dims()[2];
        x.slice(s![.., 0..1, ..]).reshape([b, d])
    }

    /// [`Self::encode`] without dropout, showing `observe` the input of every encoder linear
    /// layer as `(layer index, site, input)`.
    pub fn encode_observed(
        &self,
        tokens: Tensor<2, Int>,
        segments: Tensor<2, Int>,
        mask: Tensor<3, Bool>,
        observe: &mut dyn FnMut(usize, LinearSite, &Tensor<3>),
    ) {
        let mut x = self.embed(tokens, segments);
        let mask = self.additive_mask(mask);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward_observed(x, &mask, i == last, &mut |site, input| {
                observe(i, site, input);
            });
        }
    }

    /// The input of the first layer, `[b, l, d_model]` (before dropout).
    pub fn embed(&self, tokens: Tensor<2, Int>, segments: Tensor<2, Int>) -> Tensor<3> {
        let l = tokens.dims()[1];
        let x = self.token_embedding.forward(tokens) + self.segment_embedding.forward(segments);
        match &self.position_embedding {
            Some(position) => {
                let positions = Tensor::<1, Int>::arange(0..l as i64, &x.device()).reshape([1, l]);
                x + position.forward(positions)
            }
            None => x,
        }
    }

    /// The topic and stage heads on top of z.
    pub fn heads(&self, z: Tensor<2>) -> CoralOutput {
        let p_topic = softmax(self.topic.forward(z.clone()), 1);
        let r = p_topic.clone().matmul(self.topic_embeddings.val());
        let stage_logits = self.stage.forward(p_topic.clone());
        let p_stage = softmax(stage_logits.clone(), 1);
        CoralOutput {
            z,
            p_topic,
            r,
            stage_logits,
            p_stage,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig {
            vocab_size: 20,
            d_model: 8,
            heads: 2,
            layers: 2,
            ffn: 16,
            topics: 3,
            max_len: 10,
            dropout: 0.0,
            ..ModelConfig::default()
        }
    }

    #[test]
    fn config_is_validated() {
        assert!(ModelConfig::default().validate().is_ok());
        let bad = ModelConfig { heads: 3, ..tiny() };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::HeadsDoNotDivide { .. })
        ));
        assert_eq!(
            ModelConfig {
                topics: 0,
                ..tiny()
            }
            .validate(),
            Err(ConfigError::Zero("topics"))
        );
    }

    #[test]
    fn config_round_trips_through_json_with_defaults() {
        let parsed: ModelConfig = serde_json::from_str(r#"{"vocab_size": 99}"#).unwrap();
        assert_eq!(parsed.vocab_size, 99);
        assert_eq!(parsed.d_model, 256);
        let json = serde_json::to_string(&tiny()).unwrap();
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), tiny());
    }

    #[test]
    fn forward_shapes_and_distributions() {
        let device = Device::flex();
        device.seed(1);
        let model = tiny().init(&device).unwrap();
        let tokens = Tensor::<2, Int>::from_data([[2, 5, 6, 0], [2, 7, 8, 9]], &device);
        let segments = Tensor::<2, Int>::from_data([[0, 0, 1, 0], [0, 0, 0, 1]], &device);
        let mask = Tensor::<3, Bool>::from_data(
            [
                [
                    [true, true, true, false],
                    [true, true, true, false],
                    [true, true, true, false],
                    [false, false, false, true],
                ],
                [[true; 4]; 4],
            ],
            &device,
        );
        let out = model.forward(tokens, segments, mask);
        assert_eq!(out.z.dims(), [2, 8]);
        assert_eq!(out.p_topic.dims(), [2, 3]);
        assert_eq!(out.r.dims(), [2, 8]);
        assert_eq!(out.p_stage.dims(), [2, 6]);
        let sums = out
            .p_stage
            .sum_dim(1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    }
}
