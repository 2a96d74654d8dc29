//! `coral-train`: trains a CORAL model and exports it to ONNX.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use coral_training::checkpoint::load_model;
use coral_training::onnx::{export_onnx, ExportMetadata};
use coral_training::train::{CONFIG_FILE, MODEL_FILE};
use coral_training::{train, DeviceChoice, TrainConfig, TrainSample};

#[derive(Parser)]
#[command(
    name = "coral-train",
    version,
    about = "Train the CORAL stage classifier and export it to ONNX"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on featurised samples (JSON lines of `{"input": ModelInput, "label": STAGE|null,
    /// "notebook": u64}`).
    Train {
        /// Samples file (JSON lines).
        #[arg(long)]
        samples: PathBuf,
        /// Training configuration (JSON); defaults for everything it leaves out.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run folder (model, metrics, checkpoints).
        #[arg(long)]
        out: PathBuf,
        /// cpu (burn Flex) or gpu (burn wgpu; needs a build with `--features gpu`).
        #[arg(long)]
        device: Option<DeviceChoice>,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        max_steps: Option<u64>,
        /// Vocabulary size (overrides the config's).
        #[arg(long)]
        vocab_size: Option<usize>,
        /// Start afresh even when the run folder holds a checkpoint.
        #[arg(long)]
        no_resume: bool,
        #[arg(long)]
        no_progress: bool,
    },
    /// Export a trained run to ONNX.
    Export {
        /// Run folder written by `train`.
        #[arg(long)]
        run: PathBuf,
        /// ONNX file to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "")]
        featurizer_version: String,
        #[arg(long, default_value = "")]
        vocab_sha256: String,
    },
    /// Print the default training configuration as JSON.
    DefaultConfig,
}

fn read_samples(path: &Path) -> Result<Vec<TrainSample>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut samples = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: reading line {}", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let sample: TrainSample = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        samples.push(sample);
    }
    Ok(samples)
}

fn read_config(path: &Path) -> Result<TrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train {
            samples,
            config,
            out,
            device,
            epochs,
            max_steps,
            vocab_size,
            no_resume,
            no_progress,
        } => {
            let mut cfg = match config {
                Some(path) => read_config(&path)?,
                None => TrainConfig::default(),
            };
            if let Some(device) = device {
                cfg.device = device;
            }
            if let Some(epochs) = epochs {
                cfg.epochs = epochs;
            }
            if max_steps.is_some() {
                cfg.max_steps = max_steps;
            }
            if let Some(vocab_size) = vocab_size {
                cfg.model.vocab_size = vocab_size;
            }
            cfg.resume &= !no_resume;
            cfg.progress &= !no_progress;
            let samples = read_samples(&samples)?;
            if samples.is_empty() {
                bail!("no samples to train on");
            }
            let report = train(samples, &cfg, &out)
                .with_context(|| format!("training into {}", out.display()))?;
            eprintln!(
                "trained {} steps over {} epochs in {:.0} s; model at {}",
                report.steps,
                report.epochs_completed,
                report.elapsed_s,
                report.model_path.display()
            );
        }
        Command::Export {
            run,
            out,
            featurizer_version,
            vocab_sha256,
        } => {
            let cfg = read_config(&run.join(CONFIG_FILE))?;
            let device = DeviceChoice::Cpu.device()?;
            let model = load_model(&cfg.model, &run.join(MODEL_FILE), &device)
                .with_context(|| format!("loading the model of {}", run.display()))?;
            let metadata = ExportMetadata {
                featurizer_version,
                vocab_sha256,
                training: serde_json::json!({ "run": run.display().to_string() }),
                ..ExportMetadata::default()
            };
            export_onnx(&model, &cfg.model, &metadata, &out)
                .with_context(|| format!("exporting {}", out.display()))?;
            eprintln!("wrote {}", out.display());
        }
        Command::DefaultConfig => {
            println!("{}", serde_json::to_string_pretty(&TrainConfig::default())?);
        }
    }
    Ok(())
}
