//! ONNX export of the CORAL model, written by hand (burn cannot export ONNX), and a small
//! ONNX Runtime runner to check it.
//!
//! Contract (`coral_core::artefact`): inputs `tokens` int64 `[batch, seq]`, `segments` int64
//! `[batch, seq]`, `mask` bool `[batch, seq, seq]` (true = may attend); outputs `stage_probs`
//! float32 `[batch, 6]`, `topic_probs` `[batch, K]`, `embedding` `[batch, d_model]`; batch and
//! seq dynamic (seq at most `max_len` when the model has a position embedding). Metadata:
//! `coral.featurizer_version`, `coral.vocab_sha256`, `coral.training`, `coral.config` and one
//! `coral.<name>` entry per configuration value.

mod builder;
pub mod calibrate;
mod export;
pub mod proto;
pub mod runtime;

pub use export::{
    build_model_proto, export_onnx, export_onnx_bytes, ExportError, ExportMetadata,
    WeightPrecision, IR_VERSION, MS_DOMAIN, OPSET,
};

/// The `metadata_props` of a serialised ONNX model (empty when the bytes are not a model).
pub fn read_metadata(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    use prost::Message as _;
    proto::ModelProto::decode(bytes)
        .map(|model| {
            model
                .metadata_props
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect()
        })
        .unwrap_or_default()
}
