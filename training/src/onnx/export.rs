//! The CORAL graph written as ONNX (IR 9, opset 17). It computes what [`CoralModel::forward`]
//! computes (`tests/onnx_parity.rs` holds it to burn's outputs), laid out for ONNX Runtime:
//! activations as rows `[batch·positions, d]`, and a last layer that projects only the [CLS]
//! query.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;
use coral_core::Stage;
use prost::Message;
use serde::{Deserialize, Serialize};

use super::builder::{value_info, Attr, Dim, GraphBuilder};
use super::calibrate::{uint8_params, ActivationRanges};
use super::proto::{
    tensor_proto::DataType, ModelProto, OperatorSetIdProto, StringStringEntryProto,
};
use crate::model::{CoralModel, ModelConfig, MASKED_SCORE};

/// ONNX IR version written (ONNX Runtime 1.31 reads up to 11).
pub const IR_VERSION: i64 = 9;
/// Default-domain opset (`LayerNormalization` needs 17).
pub const OPSET: i64 = 17;

use coral_core::artefact::{key, tensor, ModelMetadata};

/// How the weights of the encoder's linear layers are stored (the `--weights` choice; the
/// export itself follows [`ExportMetadata::int8`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightPrecision {
    /// float32, exactly the trained weights.
    #[default]
    F32,
    /// int8: see [`ExportMetadata::int8`].
    Int8,
}

impl WeightPrecision {
    pub fn as_str(self) -> &'static str {
        match self {
            WeightPrecision::F32 => "f32",
            WeightPrecision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for WeightPrecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" | "float32" => Ok(WeightPrecision::F32),
            "int8" => Ok(WeightPrecision::Int8),
            other => Err(format!("unknown weight precision `{other}` (f32 or int8)")),
        }
    }
}

/// Metadata written into the model (`metadata_props`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportMetadata {
    /// `coral.featurizer_version`: the featurizer the model's inputs come from.
    pub featurizer_version: String,
    /// `coral.vocab_sha256`: hash of the vocabulary file shipped beside the model.
    pub vocab_sha256: String,
    /// `coral.training`: facts about training (data, date, steps, …) as JSON.
    pub training: serde_json::Value,
    /// Further `key → value` pairs, written as they are.
    pub extra: BTreeMap<String, String>,
    /// `Some`: int8 encoder weights (symmetric, one scale per output column), each linear
    /// layer's input quantized to uint8 over these calibrated ranges and multiplied by ONNX
    /// Runtime's `MatMulIntegerToFloat`. The embeddings, layer norms, attention and the topic
    /// and stage heads stay float32. `None`: float32 throughout. Written as `coral.weights`.
    #[serde(default)]
    pub int8: Option<ActivationRanges>,
    /// The stage head's logits are divided by this (temperature scaling, fitted on weak-label
    /// validation cells); folded into its weights. Written as `coral.temperature`.
    #[serde(default)]
    pub temperature: Option<f64>,
}

impl ExportMetadata {
    pub fn weights(&self) -> WeightPrecision {
        if self.int8.is_some() {
            WeightPrecision::Int8
        } else {
            WeightPrecision::F32
        }
    }
}

/// Export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the model does not match its configuration: {0}")]
    Mismatch(String),
    #[error("reading parameter {name}: {message}")]
    Read { name: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

fn values<const D: usize>(name: &str, t: Tensor<D>) -> Result<(Vec<usize>, Vec<f32>), ExportError> {
    let dims = t.dims().to_vec();
    let data = t
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ExportError::Read {
            name: name.to_owned(),
            message: format!("{e:?}"),
        })?;
    Ok((dims, data))
}

fn param<const D: usize>(
    g: &mut GraphBuilder,
    name: &str,
    p: &Param<Tensor<D>>,
) -> Result<String, ExportError> {
    let (dims, data) = values(name, p.val())?;
    Ok(g.float(name, &dims, &data))
}

/// A linear layer's parameters read out of burn: the `[in, out]` weight, row-major, and the bias.
struct LinearParams {
    /// Initializer name prefix.
    name: String,
    inputs: usize,
    outputs: usize,
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl LinearParams {
    fn read(name: &str, l: &Linear) -> Result<Self, ExportError> {
        let (dims, weight) = values(&format!("{name}.weight"), l.weight.val())?;
        let bias = match &l.bias {
            Some(b) => Some(values(&format!("{name}.bias"), b.val())?.1),
            None => None,
        };
        Ok(LinearParams {
            name: name.to_owned(),
            inputs: dims[0],
            outputs: dims[1],
            weight,
            bias,
        })
    }

    /// The layer restricted to output columns `columns`, named `{name}.{suffix}`.
    fn columns(&self, columns: std::ops::Range<usize>, suffix: &str) -> LinearParams {
        let weight = self
            .weight
            .chunks(self.outputs)
            .flat_map(|row| &row[columns.clone()])
            .copied()
            .collect();
        LinearParams {
            name: format!("{}.{suffix}", self.name),
            inputs: self.inputs,
            outputs: columns.len(),
            weight,
            bias: self.bias.as_ref().map(|b| b[columns].to_vec()),
        }
    }
}

/// `x · W + b` on rows `x` `[n, in]`, which ONNX Runtime fuses into one `Gemm`.
#[allow(clippy::many_single_char_names)]
fn linear(g: &mut GraphBuilder, x: &str, l: &LinearParams) -> String {
    let w = g.float(
        &format!("{}.weight", l.name),
        &[l.inputs, l.outputs],
        &l.weight,
    );
    let y = g.node("MatMul", &[x, &w], None, &[]);
    match &l.bias {
        Some(b) => {
            let b = g.float(&format!("{}.bias", l.name), &[l.outputs], b);
            g.node("Add", &[&y, &b], None, &[])
        }
        None => y,
    }
}

/// Symmetric per-column int8 quantization of an `[in, out]` weight: `w ≈ q · scale[col]`.
fn quantize_columns(dims: &[usize], w: &[f32]) -> (Vec<i8>, Vec<f32>) {
    let cols = dims.last().copied().unwrap_or(1).max(1);
    let mut scales = vec![0.0f32; cols];
    for (i, v) in w.iter().enumerate() {
        let s = &mut scales[i % cols];
        *s = s.max(v.abs());
    }
    for s in &mut scales {
        // An all-zero column keeps scale 1 so nothing divides by zero.
        *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
    }
    let q = w
        .iter()
        .enumerate()
        .map(|(i, v)| (v / scales[i % cols]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scales)
}

/// ONNX Runtime's operator domain, for `MatMulIntegerToFloat`.
pub const MS_DOMAIN: &str = "com.microsoft";

/// [`linear`] with int8 weights: the input is quantized to uint8 over its measured range, and
/// ONNX Runtime's `MatMulIntegerToFloat` multiplies in integers and scales back and adds the
/// bias in the same pass. (The standard `MatMulInteger → Cast → Mul` chain computes the same,
/// but ONNX Runtime folds its constant scales before it can fuse the chain, leaving three
/// extra passes over the output.) Per-column scales make a column subset of a layer
/// ([`LinearParams::columns`]) quantize exactly as those columns of the whole layer.
#[allow(clippy::many_single_char_names)]
fn linear_int8(g: &mut GraphBuilder, x: &str, l: &LinearParams, range: (f32, f32)) -> String {
    let name = &l.name;
    let dims = [l.inputs, l.outputs];
    let (q, w_scales) = quantize_columns(&dims, &l.weight);
    let (x_scale, x_zero) = uint8_params(range);
    let w_q = g.int8(&format!("{name}.weight_int8"), &dims, &q);
    let w_scales = g.float(
        &format!("{name}.weight_scale"),
        &[w_scales.len()],
        &w_scales,
    );
    let x_scale = g.float_scalar(&format!("{name}.input_scale"), x_scale);
    let x_zero = g.uint8_scalar(&format!("{name}.input_zero_point"), x_zero);
    let x_q = g.node("QuantizeLinear", &[x, &x_scale, &x_zero], None, &[]);
    let bias = match &l.bias {
        Some(b) => g.float(&format!("{name}.bias"), &[l.outputs], b),
        None => String::new(),
    };
    // Inputs: A, B, a_scale, b_scale, a_zero_point, b_zero_point (absent: 0), bias.
    let out = g.fresh("matmulintegertofloat");
    g.node_in_domain(
        MS_DOMAIN,
        "MatMulIntegerToFloat",
        &[&x_q, &w_q, &x_scale, &w_scales, &x_zero, "", &bias],
        &[&out],
    );
    out
}

/// Splits projected rows `[b·l, N·h·dk]` (reshaped by `shape` to `[b, l, N·h, dk]`) into N
/// tensors `[b, h, l, dk]`.
fn split_heads<const N: usize>(
    g: &mut GraphBuilder,
    rows: &str,
    shape: &str,
    split: &str,
) -> [String; N] {
    let t = g.node("Reshape", &[rows, shape], None, &[]);
    let t = g.node(
        "Transpose",
        &[&t],
        None,
        &[("perm", Attr::Ints(vec![0, 2, 1, 3]))],
    );
    let outs: [String; N] = std::array::from_fn(|_| g.fresh("heads"));
    let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
    g.node_multi("Split", &[&t, split], &refs, &[("axis", Attr::Int(1))]);
    outs
}

fn layer_norm(
    g: &mut GraphBuilder,
    name: &str,
    x: &str,
    ln: &LayerNorm,
    eps: f64,
) -> Result<String, ExportError> {
    let gamma = param(g, &format!("{name}.gamma"), &ln.gamma)?;
    let mut inputs = vec![x.to_owned(), gamma];
    if let Some(beta) = &ln.beta {
        inputs.push(param(g, &format!("{name}.beta"), beta)?);
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    Ok(g.node(
        "LayerNormalization",
        &refs,
        None,
        &[
            ("axis", Attr::Int(-1)),
            ("epsilon", Attr::Float(eps as f32)),
        ],
    ))
}

/// Builds the ONNX model for `model`.
#[allow(clippy::many_single_char_names)]
pub fn build_model_proto(
    model: &CoralModel,
    config: &ModelConfig,
    metadata: &ExportMetadata,
) -> Result<ModelProto, ExportError> {
    let d = model.d_model();
    if d != config.d_model || model.topics() != config.topics || model.layers.len() != config.layers
    {
        return Err(ExportError::Mismatch(format!(
            "model has d_model {d}, {} topics, {} layers; config says {}, {}, {}",
            model.topics(),
            model.layers.len(),
            config.d_model,
            config.topics,
            config.layers
        )));
    }
    let h = config.heads as i64;
    let dk = config.head_dim();
    let mut g = GraphBuilder::default();

    // Embeddings.
    let tok_w = param(
        &mut g,
        "token_embedding.weight",
        &model.token_embedding.weight,
    )?;
    let seg_w = param(
        &mut g,
        "segment_embedding.weight",
        &model.segment_embedding.weight,
    )?;
    let tok = g.node(
        "Gather",
        &[&tok_w, tensor::TOKENS],
        None,
        &[("axis", Attr::Int(0))],
    );
    let seg = g.node(
        "Gather",
        &[&seg_w, tensor::SEGMENTS],
        None,
        &[("axis", Attr::Int(0))],
    );
    let mut x = g.node("Add", &[&tok, &seg], None, &[]);
    let zero_axis = g.ints("const.axis0", &[0]);
    let one_axis = g.ints("const.axis1", &[1]);
    let two_axis = g.ints("const.axis2", &[2]);
    let start0 = g.ints("const.start0", &[0]);
    let end1 = g.ints("const.end1", &[1]);
    if let Some(pos) = &model.position_embedding {
        let pos_w = param(&mut g, "position_embedding.weight", &pos.weight)?;
        let seq = g.node(
            "Shape",
            &[tensor::TOKENS],
            None,
            &[("start", Attr::Int(1)), ("end", Attr::Int(2))],
        );
        let pos = g.node("Slice", &[&pos_w, &start0, &seq, &zero_axis], None, &[]);
        x = g.node("Add", &[&x, &pos], None, &[]);
    }

    // Additive mask: 0 where allowed, MASKED_SCORE elsewhere.
    let zero = g.float_scalar("const.zero", 0.0);
    let masked = g.float_scalar("const.masked", MASKED_SCORE);
    let mask = if config.full_attention {
        // Key j is real iff mask[:, j, 0]: [b, l, 1] -> [b, 1, l] -> [b, 1, 1, l].
        let col = g.node(
            "Slice",
            &[tensor::MASK, &start0, &end1, &two_axis],
            None,
            &[],
        );
        let add = g.node("Where", &[&col, &zero, &masked], None, &[]);
        let t = g.node(
            "Transpose",
            &[&add],
            None,
            &[("perm", Attr::Ints(vec![0, 2, 1]))],
        );
        g.node("Unsqueeze", &[&t, &one_axis], None, &[])
    } else {
        let add = g.node("Where", &[tensor::MASK, &zero, &masked], None, &[]);
        g.node("Unsqueeze", &[&add, &one_axis], None, &[])
    };
    let mask_cls = if config.full_attention {
        mask.clone()
    } else {
        g.node("Slice", &[&mask, &start0, &end1, &two_axis], None, &[])
    };

    // The linear layers, layer norms and residuals work on rows `[b·l, d]`: every linear is
    // one 2-D matrix product (a `Gemm` with its bias for float32) with no broadcasting; only
    // attention reshapes rows into `[b, heads, l, dk]`.
    let rows_shape = g.ints("const.rows_shape", &[-1, d as i64]);
    let batch_seq = g.node("Shape", &[tensor::TOKENS], None, &[]);
    let seq_shape = |g: &mut GraphBuilder, name: &str, tail: &[i64]| {
        let tail = g.ints(name, tail);
        g.node(
            "Concat",
            &[&batch_seq, &tail],
            None,
            &[("axis", Attr::Int(0))],
        )
    };
    let cells_shape = seq_shape(&mut g, "const.model_dim", &[d as i64]);
    let qkv_shape = seq_shape(&mut g, "const.qkv_heads", &[3 * h, dk as i64]);
    let kv_shape = seq_shape(&mut g, "const.kv_heads", &[2 * h, dk as i64]);
    let cls_q_shape = g.ints("const.cls_q_shape", &[-1, h, 1, dk as i64]);
    let split3 = g.ints("const.split3", &[h, h, h]);
    let split2 = g.ints("const.split2", &[h, h]);
    let scale = g.float_scalar("const.scale", 1.0 / (dk as f32).sqrt());
    let eps = config.layer_norm_eps;
    let last = model.layers.len() - 1;
    // `site` names the calibrated input range: a column subset of a layer shares its input.
    let encoder_linear =
        |g: &mut GraphBuilder, site: &str, x: &str, l: &LinearParams| match &metadata.int8 {
            None => Ok(linear(g, x, l)),
            Some(ranges) => {
                let range = ranges.get(site).ok_or_else(|| {
                    ExportError::Mismatch(format!("no calibrated input range for {site}"))
                })?;
                Ok(linear_int8(g, x, l, range))
            }
        };
    let mut x = g.node("Reshape", &[&x, &rows_shape], None, &[]);
    for (i, layer) in model.layers.iter().enumerate() {
        let p = format!("layers.{i}");
        let site = format!("{p}.qkv");
        let qkv = LinearParams::read(&site, &layer.qkv)?;
        // The last layer only computes the [CLS] row: its queries come from [CLS] alone.
        let (q, k, v, residual, mask) = if i == last {
            let kv = encoder_linear(&mut g, &site, &x, &qkv.columns(d..3 * d, "kv"))?;
            let [k, v] = split_heads(&mut g, &kv, &kv_shape, &split2);
            let cells = g.node("Reshape", &[&x, &cells_shape], None, &[]);
            let cls = g.node("Slice", &[&cells, &start0, &end1, &one_axis], None, &[]);
            let cls = g.node("Reshape", &[&cls, &rows_shape], None, &[]);
            let q = encoder_linear(&mut g, &site, &cls, &qkv.columns(0..d, "q"))?;
            let q = g.node("Reshape", &[&q, &cls_q_shape], None, &[]);
            (q, k, v, cls, mask_cls.clone())
        } else {
            let qkv = encoder_linear(&mut g, &site, &x, &qkv)?;
            let [q, k, v] = split_heads(&mut g, &qkv, &qkv_shape, &split3);
            (q, k, v, x.clone(), mask.clone())
        };
        let q = g.node("Mul", &[&q, &scale], None, &[]);
        let kt = g.node(
            "Transpose",
            &[&k],
            None,
            &[("perm", Attr::Ints(vec![0, 1, 3, 2]))],
        );
        let scores = g.node("MatMul", &[&q, &kt], None, &[]);
        let scores = g.node("Add", &[&scores, &mask], None, &[]);
        let weights = g.node("Softmax", &[&scores], None, &[("axis", Attr::Int(-1))]);
        let ctx = g.node("MatMul", &[&weights, &v], None, &[]);
        let ctx = g.node(
            "Transpose",
            &[&ctx],
            None,
            &[("perm", Attr::Ints(vec![0, 2, 1, 3]))],
        );
        let ctx = g.node("Reshape", &[&ctx, &rows_shape], None, &[]);
        let attn_out = LinearParams::read(&format!("{p}.attn_out"), &layer.attn_out)?;
        let attended = encoder_linear(&mut g, &attn_out.name, &ctx, &attn_out)?;
        let sum = g.node("Add", &[&residual, &attended], None, &[]);
        let xa = layer_norm(
            &mut g,
            &format!("{p}.norm_attn"),
            &sum,
            &layer.norm_attn,
            eps,
        )?;
        let ffn_in = LinearParams::read(&format!("{p}.ffn_in"), &layer.ffn_in)?;
        let hidden = encoder_linear(&mut g, &ffn_in.name, &xa, &ffn_in)?;
        let hidden = g.node("Relu", &[&hidden], None, &[]);
        let ffn_out = LinearParams::read(&format!("{p}.ffn_out"), &layer.ffn_out)?;
        let ff = encoder_linear(&mut g, &ffn_out.name, &hidden, &ffn_out)?;
        let sum = g.node("Add", &[&xa, &ff], None, &[]);
        x = layer_norm(&mut g, &format!("{p}.norm_ffn"), &sum, &layer.norm_ffn, eps)?;
    }

    // x is [b, d] after the last ([CLS]-only) layer.
    let z = g.node("Identity", &[&x], Some(tensor::EMBEDDING), &[]);
    // The heads see one vector per cell: float32 costs nothing there and keeps them exact.
    let topic_logits = linear(&mut g, &z, &LinearParams::read("topic", &model.topic)?);
    let p_topic = g.node(
        "Softmax",
        &[&topic_logits],
        Some(tensor::TOPIC_PROBS),
        &[("axis", Attr::Int(1))],
    );
    let mut stage = LinearParams::read("stage", &model.stage)?;
    if let Some(t) = metadata.temperature.filter(|t| t.is_finite() && *t > 0.0) {
        let scale = (1.0 / t) as f32;
        stage.weight.iter_mut().for_each(|w| *w *= scale);
        if let Some(bias) = &mut stage.bias {
            bias.iter_mut().for_each(|b| *b *= scale);
        }
    }
    let stage_logits = linear(&mut g, &p_topic, &stage);
    g.node(
        "Softmax",
        &[&stage_logits],
        Some(tensor::STAGE_PROBS),
        &[("axis", Attr::Int(1))],
    );

    let (b, l) = (Dim::Named("batch"), Dim::Named("seq"));
    let inputs = vec![
        value_info(tensor::TOKENS, DataType::Int64, &[b, l]),
        value_info(tensor::SEGMENTS, DataType::Int64, &[b, l]),
        value_info(tensor::MASK, DataType::Bool, &[b, l, l]),
    ];
    let outputs = vec![
        value_info(
            tensor::STAGE_PROBS,
            DataType::Float,
            &[b, Dim::Fixed(Stage::OUTPUTS as i64)],
        ),
        value_info(
            tensor::TOPIC_PROBS,
            DataType::Float,
            &[b, Dim::Fixed(config.topics as i64)],
        ),
        value_info(
            tensor::EMBEDDING,
            DataType::Float,
            &[b, Dim::Fixed(d as i64)],
        ),
    ];
    let graph = g.finish("coral", inputs, outputs);

    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: std::iter::once(OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        })
        .chain(metadata.int8.as_ref().map(|_| OperatorSetIdProto {
            domain: MS_DOMAIN.to_owned(),
            version: 1,
        }))
        .collect(),
        producer_name: "coral-training".to_owned(),
        producer_version: env!("CARGO_PKG_VERSION").to_owned(),
        doc_string: "CORAL: data-analysis stage of a notebook code cell (IMPORT, WRANGLE, EXPLORE, MODEL, EVALUATE, NONE)".to_owned(),
        graph: Some(graph),
        metadata_props: metadata_props(config, metadata),
        ..Default::default()
    })
}

fn metadata_props(config: &ModelConfig, metadata: &ExportMetadata) -> Vec<StringStringEntryProto> {
    let stages: Vec<&str> = Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(["NONE"])
        .collect();
    // Architecture numbers no reader needs, kept for people inspecting a model.
    let mut extra: BTreeMap<String, String> = [
        ("d_model", config.d_model.to_string()),
        ("heads", config.heads.to_string()),
        ("layers", config.layers.to_string()),
        ("ffn", config.ffn.to_string()),
        ("topics", config.topics.to_string()),
        ("position_embedding", config.position_embedding.to_string()),
        ("full_attention", config.full_attention.to_string()),
        ("no_topic_losses", config.no_topic_losses.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (format!("{}{name}", key::PREFIX), value))
    .collect();
    extra.extend(metadata.extra.clone());
    let contract = ModelMetadata {
        featurizer_version: Some(metadata.featurizer_version.clone()),
        vocab_sha256: Some(metadata.vocab_sha256.clone()),
        vocab_size: Some(config.vocab_size),
        max_len: Some(config.max_len),
        no_markdown: config.no_markdown,
        temperature: metadata.temperature,
        weights: Some(metadata.weights().as_str().to_owned()),
        calibration_cells: metadata.int8.as_ref().map(|ranges| ranges.cells),
        stages: Some(stages.join(",")),
        training: Some(metadata.training.to_string()),
        config: Some(serde_json::to_string(config).unwrap_or_default()),
        extra,
    };
    contract
        .to_props()
        .into_iter()
        .map(|(key, value)| StringStringEntryProto { key, value })
        .collect()
}

/// Serialised ONNX bytes for `model`.
pub fn export_onnx_bytes(
    model: &CoralModel,
    config: &ModelConfig,
    metadata: &ExportMetadata,
) -> Result<Vec<u8>, ExportError> {
    Ok(build_model_proto(model, config, metadata)?.encode_to_vec())
}

/// Writes `model` as an ONNX file at `path` (the contract of `coral_core::artefact`).
pub fn export_onnx(
    model: &CoralModel,
    config: &ModelConfig,
    metadata: &ExportMetadata,
    path: &Path,
) -> Result<(), ExportError> {
    let bytes = export_onnx_bytes(model, config, metadata)?;
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_quantize_to_within_half_a_step() {
        // [in 3, out 2]: column 0 spans ±1.27, column 1 is all zero.
        let w = [1.27, 0.0, -0.6, 0.0, 0.001, 0.0];
        let (q, scales) = quantize_columns(&[3, 2], &w);
        assert_eq!(scales, vec![0.01, 1.0]);
        assert_eq!(q, vec![127, 0, -60, 0, 0, 0]);
        for (i, (&v, &q)) in w.iter().zip(&q).enumerate() {
            let back = f32::from(q) * scales[i % 2];
            assert!(
                (back - v).abs() <= scales[i % 2] / 2.0 + 1e-6,
                "{v} -> {back}"
            );
        }
    }

    #[test]
    fn precision_parses() {
        assert_eq!("int8".parse(), Ok(WeightPrecision::Int8));
        assert_eq!("f32".parse(), Ok(WeightPrecision::F32));
        assert!("fp16".parse::<WeightPrecision>().is_err());
    }
}
