//! coral-server: the inference engine shared by the language server and `coral-lsp --check`,
//! and the headless check itself (file discovery, configuration, report formats).
//!
//! stdout belongs to the report alone (and, later, to the LSP wire): nothing in this crate
//! prints there except [`output`], which writes the finished report.
#![deny(clippy::print_stdout)]

pub mod check;
pub mod cli;
pub mod engine;
pub mod logging;
pub mod output;
pub mod report;
pub mod settings;

pub use engine::{
    CellLabel, Device, Engine, EngineConfig, EngineError, EngineStats, LabelSource, ModelInfo,
    NotebookLabels,
};
pub mod lsp;
