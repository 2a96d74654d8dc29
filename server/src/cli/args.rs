//! The command-line arguments.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use coral_core::{Rule, Stage};

use crate::engine::Device;
use crate::report::Format;

/// When to colour the text report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// coral labels every code cell of a Jupyter notebook with its data-analysis stage (IMPORT,
/// WRANGLE, EXPLORE, MODEL, EVALUATE) and reports what the stages say about the pipeline.
///
/// Without arguments it serves the Language Server Protocol over stdio; with --check it checks
/// files and folders and exits 0 (clean), 1 (findings) or 2 (a file could not be read).
#[derive(Debug, Parser)]
#[command(name = "coral-lsp", version, about, long_about)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct Cli {
    /// Check notebooks headless and print a report (instead of serving LSP).
    #[arg(long)]
    pub check: bool,

    /// Files and folders to check: .ipynb files and `# %%` percent scripts (.py), folders
    /// recursively (hidden folders skipped). Default: the current folder.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format: text, json, sarif, github or html.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Normalized stage entropy (0..1) below which a notebook gets CRL001 low-entropy.
    #[arg(long, value_name = "H")]
    pub min_entropy: Option<f64>,

    /// A stage every notebook must have (CRL006 missing-stage); repeatable.
    #[arg(long = "require-stage", value_name = "STAGE")]
    pub require_stage: Vec<Stage>,

    /// Report only these rules (code such as CRL002 or name such as model-without-evaluate);
    /// repeatable or comma-separated.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub select: Vec<Rule>,

    /// Never report these rules (code or name); repeatable or comma-separated.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub ignore: Vec<Rule>,

    /// A seed table (TOML, same layout as the built-in one) extending the heuristics.
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,

    /// Model directory holding coral.onnx and vocab.json (default: `$CORAL_MODEL_DIR` when set,
    /// else models/ beside the executable, then the project's models/). Given explicitly, a model
    /// that cannot be used is an error (exit 2) instead of a fallback to the heuristics.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Label with the heuristics only; do not look for a model.
    #[arg(long, conflicts_with_all = ["model", "device"])]
    pub no_model: bool,

    /// Where the model runs: auto (CUDA when available), cpu or cuda. Given explicitly, a
    /// model that cannot be used is an error (exit 2).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<Device>,

    /// Threads for featurizing and for ONNX Runtime (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// ONNX Runtime sessions that run batches side by side, sharing the threads (default: one
    /// per thread, at most 4). One-thread sessions avoid ONNX Runtime's per-operator thread
    /// synchronisation: on two cores, two of them label a folder ~25 % faster than one
    /// two-thread session.
    #[arg(long, value_name = "N")]
    pub sessions: Option<usize>,

    /// Cells per model run.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// Read settings from this file (coral.toml layout, or a pyproject.toml's [tool.coral])
    /// instead of looking for coral.toml / pyproject.toml from the current folder upwards.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore configuration files.
    #[arg(long)]
    pub no_config: bool,

    /// Colour the text report.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,

    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Log filter for stderr (error, warn, info, debug, trace, or a tracing filter); default
    /// from `CORAL_LOG`, then `RUST_LOG`, else warn.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
}
