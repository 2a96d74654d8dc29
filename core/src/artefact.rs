//! The model artefact contract, written once: what a model folder holds, what the ONNX graph
//! takes and returns, and what its metadata says. The exporter (coral-training) writes through
//! this module and every reader (the server's engine, `coral-train eval`) reads through it, so
//! a name changed here changes on both sides.
//!
//! A model folder holds [`MODEL_FILE`] and [`VOCAB_FILE`], optionally [`TRANSITIONS_FILE`].
//! The graph takes `tokens` `[B, L]` int64, `segments` `[B, L]` int64 and `mask` `[B, L, L]`
//! bool (true = may attend), and returns `stage_probs` `[B, 6]` (five stages and a dummy),
//! `topic_probs` and `embedding`.

use std::collections::BTreeMap;

/// The ONNX graph inside a model folder.
pub const MODEL_FILE: &str = "coral.onnx";
/// The vocabulary the model was trained with, beside it.
pub const VOCAB_FILE: &str = "vocab.json";
/// The notebook-sequence HMM beside the model (optional).
pub const TRANSITIONS_FILE: &str = "transitions.json";

/// The window (positions, `[CLS]` included) of the paper's model, and of a model that does not
/// record [`key::MAX_LEN`].
pub const DEFAULT_WINDOW: usize = 160;

/// Tensor names of the graph.
pub mod tensor {
    pub const TOKENS: &str = "tokens";
    pub const SEGMENTS: &str = "segments";
    pub const MASK: &str = "mask";
    /// The inputs, in the order the exporter declares them.
    pub const INPUTS: [&str; 3] = [TOKENS, SEGMENTS, MASK];
    pub const STAGE_PROBS: &str = "stage_probs";
    pub const TOPIC_PROBS: &str = "topic_probs";
    pub const EMBEDDING: &str = "embedding";
}

/// Metadata keys (ONNX `metadata_props`).
pub mod key {
    pub const FEATURIZER_VERSION: &str = "coral.featurizer_version";
    pub const VOCAB_SHA256: &str = "coral.vocab_sha256";
    pub const VOCAB_SIZE: &str = "coral.vocab_size";
    pub const MAX_LEN: &str = "coral.max_len";
    pub const NO_MARKDOWN: &str = "coral.no_markdown";
    pub const TEMPERATURE: &str = "coral.temperature";
    pub const WEIGHTS: &str = "coral.weights";
    pub const CALIBRATION_CELLS: &str = "coral.calibration_cells";
    pub const STAGES: &str = "coral.stages";
    pub const TRAINING: &str = "coral.training";
    pub const CONFIG: &str = "coral.config";
    /// Every key a reader looks up (the exporter may write more, architecture numbers such as
    /// `coral.d_model`, kept in [`super::ModelMetadata::extra`]).
    pub const KNOWN: [&str; 11] = [
        FEATURIZER_VERSION,
        VOCAB_SHA256,
        VOCAB_SIZE,
        MAX_LEN,
        NO_MARKDOWN,
        TEMPERATURE,
        WEIGHTS,
        CALIBRATION_CELLS,
        STAGES,
        TRAINING,
        CONFIG,
    ];
    /// The prefix of every coral key.
    pub const PREFIX: &str = "coral.";
}

/// A metadata value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metadata `{key}` = `{value}` is not {expected}")]
pub struct MetadataError {
    pub key: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// The typed metadata of a model. Every field is optional on reading (an old or foreign model
/// may lack it); the engine decides which absences are fatal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelMetadata {
    pub featurizer_version: Option<String>,
    pub vocab_sha256: Option<String>,
    pub vocab_size: Option<usize>,
    /// The model's window; [`DEFAULT_WINDOW`] when absent ([`ModelMetadata::window`]).
    pub max_len: Option<usize>,
    pub no_markdown: bool,
    /// The temperature folded into the stage head at export.
    pub temperature: Option<f64>,
    /// How the encoder's weights are stored (`f32`, `int8`).
    pub weights: Option<String>,
    pub calibration_cells: Option<usize>,
    /// The output order, comma-separated (`IMPORT,…,NONE`).
    pub stages: Option<String>,
    /// The training report (JSON).
    pub training: Option<String>,
    /// The model configuration (JSON).
    pub config: Option<String>,
    /// Any other key, as written.
    pub extra: BTreeMap<String, String>,
}

impl ModelMetadata {
    /// Reads the metadata from key/value pairs (all of a model's `metadata_props`, or just the
    /// [`key::KNOWN`] ones a runtime can look up).
    pub fn from_props<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ModelMetadata, MetadataError> {
        let mut meta = ModelMetadata::default();
        for (name, value) in props {
            let text = || Some(value.to_owned());
            match name {
                key::FEATURIZER_VERSION => meta.featurizer_version = text(),
                key::VOCAB_SHA256 => meta.vocab_sha256 = text(),
                key::VOCAB_SIZE => meta.vocab_size = Some(number(key::VOCAB_SIZE, value)?),
                key::MAX_LEN => meta.max_len = Some(number(key::MAX_LEN, value)?),
                key::NO_MARKDOWN => meta.no_markdown = value.trim() == "true",
                key::TEMPERATURE => {
                    meta.temperature = Some(value.trim().parse().map_err(|_| MetadataError {
                        key: key::TEMPERATURE,
                        value: value.to_owned(),
                        expected: "a number",
                    })?);
                }
                key::WEIGHTS => meta.weights = text(),
                key::CALIBRATION_CELLS => {
                    meta.calibration_cells = Some(number(key::CALIBRATION_CELLS, value)?);
                }
                key::STAGES => meta.stages = text(),
                key::TRAINING => meta.training = text(),
                key::CONFIG => meta.config = text(),
                other => {
                    meta.extra.insert(other.to_owned(), value.to_owned());
                }
            }
        }
        Ok(meta)
    }

    /// The key/value pairs the exporter writes (sorted by key).
    pub fn to_props(&self) -> BTreeMap<String, String> {
        let mut props = self.extra.clone();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                props.insert(name.to_owned(), value);
            }
        };
        put(key::FEATURIZER_VERSION, self.featurizer_version.clone());
        put(key::VOCAB_SHA256, self.vocab_sha256.clone());
        put(key::VOCAB_SIZE, self.vocab_size.map(|n| n.to_string()));
        put(key::MAX_LEN, self.max_len.map(|n| n.to_string()));
        put(key::NO_MARKDOWN, Some(self.no_markdown.to_string()));
        put(
            key::TEMPERATURE,
            self.temperature.map(|t| format!("{t:.4}")),
        );
        put(key::WEIGHTS, self.weights.clone());
        put(
            key::CALIBRATION_CELLS,
            self.calibration_cells.map(|n| n.to_string()),
        );
        put(key::STAGES, self.stages.clone());
        put(key::TRAINING, self.training.clone());
        put(key::CONFIG, self.config.clone());
        props
    }

    /// The window inputs are cut to (never 0).
    pub fn window(&self) -> usize {
        self.max_len.unwrap_or(DEFAULT_WINDOW).max(1)
    }
}

fn number(name: &'static str, value: &str) -> Result<usize, MetadataError> {
    value.trim().parse().map_err(|_| MetadataError {
        key: name,
        value: value.to_owned(),
        expected: "a whole number",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_survives_a_round_trip() {
        let meta = ModelMetadata {
            featurizer_version: Some("coral-features-2".into()),
            vocab_sha256: Some("ab".into()),
            vocab_size: Some(12_000),
            max_len: Some(128),
            no_markdown: false,
            temperature: Some(0.972),
            weights: Some("int8".into()),
            calibration_cells: Some(20_000),
            stages: Some("IMPORT,WRANGLE,EXPLORE,MODEL,EVALUATE,NONE".into()),
            training: Some("{}".into()),
            config: Some("{}".into()),
            extra: BTreeMap::from([("coral.d_model".to_owned(), "128".to_owned())]),
        };
        let props = meta.to_props();
        let back = ModelMetadata::from_props(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, Ok(meta));
    }

    #[test]
    fn a_bad_number_names_its_key() {
        let err = ModelMetadata::from_props([(key::MAX_LEN, "wide")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "metadata `coral.max_len` = `wide` is not a whole number"
        );
    }

    #[test]
    fn the_window_defaults_to_the_papers() {
        assert_eq!(ModelMetadata::default().window(), DEFAULT_WINDOW);
        let zero = ModelMetadata::from_props([(key::MAX_LEN, "0")]).unwrap();
        assert_eq!(zero.window(), 1);
    }
}
