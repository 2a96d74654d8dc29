//! coral-core: the one featurizer shared by training and serving.
//!
//! Pure: takes strings, returns plain data. No IO, no LSP, no async, no ML runtime.
//! Malformed input is data (a typed error or a result with issues), never a panic.
//!
//! The pipeline: [`Notebook`] → [`featurize_notebook`] → [`CellFeatures`] (graph, qualified
//! calls, weak label) → [`CellGraph::encode`] with a [`Vocab`] → [`ModelInput`] for the model;
//! stages of all cells → [`metrics::check`] → summary and findings.

pub mod artefact;
pub mod dataflow;
pub mod featurize;
pub mod fxhash;
pub mod graph;
pub mod input;
pub mod magics;
pub mod metrics;
pub mod notebook;
pub mod scope;
pub mod sequence;
pub mod stage;
pub mod subtokens;
pub mod syntax;
pub mod ts;
pub mod vocab;
pub mod weak;

pub use artefact::ModelMetadata;
pub use dataflow::{CellFlow, KindSet, ValueKind};
pub use featurize::{featurize_cell, featurize_notebook, CellFeatures};
pub use graph::{CellGraph, EncodeOptions};
pub use input::ModelInput;
pub use metrics::{
    CellStage, Finding, FindingsConfig, PipelineReport, PipelineSummary, Rule, Severity,
};
pub use notebook::{
    percent_spans, Cell, CellKind, CorpusRecord, Notebook, NotebookError, PercentSpan,
};
pub use scope::Scope;
pub use sequence::{Transitions, TransitionsError};
pub use stage::{Stage, StageSet};
pub use vocab::Vocab;
pub use weak::{FlowRule, SeedTable, WeakLabel, WeakRule};

/// Changes whenever the featurizer's output for some input changes. A model records the
/// version it was trained with; the server refuses a model built for another version.
pub const FEATURIZER_VERSION: &str = "coral-features-2";
