//! coral-training: the CORAL model, its losses and training loop (burn), and its ONNX export.
//!
//! The boundary to the corpus side is [`train::train`]: it takes featurised cells
//! ([`train::TrainSample`]: a [`coral_core::ModelInput`], an optional weak label and a notebook
//! id) and a [`config::TrainConfig`], and writes a run folder. [`onnx::export_onnx`] turns the
//! trained model into the artefact the server loads (`coral_core::artefact`).

pub mod baseline;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod corpus;
pub mod eval;
pub mod labels;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod pipeline;
pub mod reference;
pub mod rng;
pub mod samples_file;
pub mod schedule;
pub mod split;
pub mod synthetic;
pub mod teacher;
pub mod temperature;
pub mod train;
pub mod transitions;
pub mod weak_report;

pub use config::{DeviceChoice, OptimizerConfig, TrainConfig};
pub use loss::{LossConfig, LossWeights};
pub use model::{CoralModel, ModelConfig};
pub use train::{train, TrainError, TrainReport, TrainSample};
