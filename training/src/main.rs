//! `coral-train`: corpus → vocabulary → weak labels → CORAL model → ONNX, and evaluation.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use coral_core::{EncodeOptions, Stage, FEATURIZER_VERSION};
use coral_training::checkpoint::load_model;
use coral_training::onnx::runtime::OnnxSession;
use coral_training::onnx::{export_onnx, ExportMetadata};
use coral_training::pipeline::{self, DEFAULT_CORPUS};
use coral_training::train::{CONFIG_FILE, MODEL_FILE, REPORT_FILE};
use coral_training::{train, DeviceChoice, TrainConfig, TrainSample};

/// Vocabulary file a corpus-trained run keeps beside its model.
const RUN_VOCAB_FILE: &str = "vocab.json";

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

#[derive(Args, Clone)]
struct CorpusArgs {
    /// Corpus: a folder of shard-*.jsonl.gz, .ipynb or percent scripts, or one such file.
    #[arg(long, default_value = DEFAULT_CORPUS)]
    corpus: PathBuf,
    /// Read at most this many notebooks.
    #[arg(long)]
    limit: Option<usize>,
    /// Keep every n-th notebook (a spread-out sample of the whole corpus), before --limit.
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// Extra seed functions (TOML, same shape as core/data/seeds.toml).
    #[arg(long)]
    seeds: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Build the token table from the corpus.
    Vocab {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Keep tokens seen at least this often.
        #[arg(long, default_value_t = 5)]
        min_count: u64,
        /// At most this many tokens (specials included).
        #[arg(long, default_value_t = 20_000)]
        max_size: usize,
        /// Where to write vocab.json.
        #[arg(long)]
        out: PathBuf,
    },
    /// Corpus statistics: cells, parse errors, window fit, weak-label coverage and distribution.
    Stats {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Model window (positions, [CLS] included).
        #[arg(long, default_value_t = 160)]
        window: usize,
        /// Also write the statistics as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Train a model, from the corpus (with --vocab) or from a samples file.
    Train {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Vocabulary built by `coral-train vocab` (train from the corpus).
        #[arg(long, conflicts_with = "samples")]
        vocab: Option<PathBuf>,
        /// Pre-featurised samples (JSON lines of {"input", "label", "notebook"}) instead.
        #[arg(long)]
        samples: Option<PathBuf>,
        /// Training configuration (JSON, see `default-config`); defaults for what it leaves out.
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
        /// Ablation: no markdown tokens in the input.
        #[arg(long)]
        no_markdown: bool,
        /// Ablation: full attention instead of the syntax-graph mask.
        #[arg(long)]
        full_attention: bool,
        /// Ablation: no topic losses (reconstruction and topic uniqueness).
        #[arg(long)]
        no_topic_losses: bool,
        /// Start afresh even when the run folder holds a checkpoint.
        #[arg(long)]
        no_resume: bool,
        #[arg(long)]
        no_progress: bool,
    },
    /// Export a trained run as the model artefact: coral.onnx and vocab.json in a folder.
    Export {
        /// Run folder written by `train`.
        #[arg(long)]
        run: PathBuf,
        /// Output folder (e.g. models/).
        #[arg(long)]
        out: PathBuf,
        /// Vocabulary (default: the run's own vocab.json).
        #[arg(long)]
        vocab: Option<PathBuf>,
    },
    /// Accuracy, macro-F1, per-class scores and confusion matrix on a labelled cell file,
    /// beside the expert-heuristics and majority baselines.
    Eval {
        /// Labelled cells, one {"notebook", "cell_index", "stage"} per line.
        #[arg(long)]
        labels: PathBuf,
        /// A run folder (burn model) to evaluate.
        #[arg(long, conflicts_with = "model")]
        run: Option<PathBuf>,
        /// A model folder (coral.onnx + vocab.json, e.g. models/) to evaluate through ONNX Runtime.
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Majority-class baseline stage (default: the most frequent weak label of the corpus,
        /// WRANGLE-vs-EXPLORE as measured by `stats`).
        #[arg(long, default_value = "EXPLORE")]
        majority: Stage,
        /// Also write the report as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
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

fn encode_options(config: &TrainConfig) -> EncodeOptions {
    EncodeOptions {
        max_len: config.model.max_len,
        markdown: !config.model.no_markdown,
    }
}

#[allow(clippy::print_stdout)] // the report is the command's output
fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Vocab {
            corpus,
            min_count,
            max_size,
            out,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let vocab = pipeline::build_vocab(
                &corpus.corpus,
                (corpus.stride, corpus.limit),
                &seeds,
                min_count,
                max_size,
            )?;
            std::fs::write(&out, vocab.to_json())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {} ({} tokens, sha256 {})",
                out.display(),
                vocab.len(),
                vocab.sha256()
            );
        }
        Command::Stats {
            corpus,
            window,
            json,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let (text, value) = pipeline::stats(
                &corpus.corpus,
                (corpus.stride, corpus.limit),
                &seeds,
                window,
            )?;
            print!("{text}");
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&value)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::Train {
            corpus,
            vocab,
            samples,
            config,
            out,
            device,
            epochs,
            max_steps,
            no_markdown,
            full_attention,
            no_topic_losses,
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
            cfg.model.no_markdown |= no_markdown;
            cfg.model.full_attention |= full_attention;
            cfg.model.no_topic_losses |= no_topic_losses;
            cfg.resume &= !no_resume;
            cfg.progress &= !no_progress;
            let samples = match (vocab, samples) {
                (Some(vocab_path), None) => {
                    let vocab = pipeline::read_vocab(&vocab_path)?;
                    cfg.model.vocab_size = vocab.len();
                    let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
                    let samples = pipeline::corpus_samples(
                        &corpus.corpus,
                        (corpus.stride, corpus.limit),
                        &seeds,
                        &vocab,
                        encode_options(&cfg),
                    )?;
                    std::fs::create_dir_all(&out)
                        .with_context(|| format!("creating {}", out.display()))?;
                    std::fs::write(out.join(RUN_VOCAB_FILE), vocab.to_json()).with_context(
                        || format!("writing the run's vocabulary into {}", out.display()),
                    )?;
                    let labelled = samples.iter().filter(|s| s.label.is_some()).count();
                    eprintln!(
                        "{} cells from the corpus, {labelled} weakly labelled",
                        samples.len()
                    );
                    samples
                }
                (None, Some(path)) => read_samples(&path)?,
                _ => bail!("give --vocab (train from --corpus) or --samples"),
            };
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
        Command::Export { run, out, vocab } => {
            let cfg = read_config(&run.join(CONFIG_FILE))?;
            let vocab = pipeline::read_vocab(&vocab.unwrap_or_else(|| run.join(RUN_VOCAB_FILE)))?;
            if vocab.len() != cfg.model.vocab_size {
                bail!(
                    "the vocabulary has {} tokens but the model was trained with {}",
                    vocab.len(),
                    cfg.model.vocab_size
                );
            }
            let device = DeviceChoice::Cpu.device()?;
            let model = load_model(&cfg.model, &run.join(MODEL_FILE), &device)
                .with_context(|| format!("loading the model of {}", run.display()))?;
            let report: serde_json::Value = std::fs::read_to_string(run.join(REPORT_FILE))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let metadata = ExportMetadata {
                featurizer_version: FEATURIZER_VERSION.to_owned(),
                vocab_sha256: vocab.sha256().to_owned(),
                training: serde_json::json!({
                    "run": run.display().to_string(),
                    "steps": report.get("steps"),
                    "epochs_completed": report.get("epochs_completed"),
                    "train_cells": report.get("train_cells"),
                    "train_labelled": report.get("train_labelled"),
                    "best_val_loss": report.get("best_val_loss"),
                    "elapsed_s": report.get("elapsed_s"),
                    "device": cfg.device.to_string(),
                }),
                ..ExportMetadata::default()
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let onnx = out.join("coral.onnx");
            export_onnx(&model, &cfg.model, &metadata, &onnx)
                .with_context(|| format!("exporting {}", onnx.display()))?;
            std::fs::write(out.join("vocab.json"), vocab.to_json())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} and vocab.json", onnx.display());
        }
        Command::Eval {
            labels,
            run,
            model,
            corpus,
            majority,
            json,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let report = if let Some(run) = run {
                let cfg = read_config(&run.join(CONFIG_FILE))?;
                let vocab = pipeline::read_vocab(&run.join(RUN_VOCAB_FILE))?;
                let device = DeviceChoice::Cpu.device()?;
                let model = load_model(&cfg.model, &run.join(MODEL_FILE), &device)
                    .with_context(|| format!("loading the model of {}", run.display()))?;
                let max_len = cfg.model.max_len;
                let mut predict = |inputs: &[&coral_core::ModelInput]| {
                    Ok(coral_training::eval::predict(
                        &model, inputs, max_len, 32, &device,
                    ))
                };
                let name = format!("CORAL ({})", run.display());
                pipeline::eval(
                    &labels,
                    &corpus.corpus,
                    &seeds,
                    Some(&vocab),
                    encode_options(&cfg),
                    majority,
                    &name,
                    Some(&mut predict),
                )?
            } else if let Some(dir) = model {
                let vocab = pipeline::read_vocab(&dir.join("vocab.json"))?;
                let onnx = dir.join("coral.onnx");
                let bytes =
                    std::fs::read(&onnx).with_context(|| format!("reading {}", onnx.display()))?;
                let meta = coral_training::onnx::read_metadata(&bytes);
                let mut session = OnnxSession::from_bytes(&bytes, 0)
                    .with_context(|| format!("loading {}", onnx.display()))?;
                let max_len: usize = meta
                    .get("coral.max_len")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(160);
                let markdown = meta.get("coral.no_markdown").is_none_or(|v| v != "true");
                let options = EncodeOptions { max_len, markdown };
                let mut predict =
                    |inputs: &[&coral_core::ModelInput]| -> Result<Vec<[f32; Stage::OUTPUTS]>> {
                        let mut out = Vec::with_capacity(inputs.len());
                        for chunk in inputs.chunks(32) {
                            let batch = coral_training::batch::collate(
                                chunk.iter().map(|i| (*i, None)),
                                max_len,
                            );
                            let outputs = session.run(&batch).context("running the ONNX model")?;
                            for row in outputs.stage_probs.chunks(Stage::OUTPUTS) {
                                let mut probs = [0.0f32; Stage::OUTPUTS];
                                probs.copy_from_slice(row);
                                out.push(probs);
                            }
                        }
                        Ok(out)
                    };
                let name = format!("CORAL ({})", dir.display());
                pipeline::eval(
                    &labels,
                    &corpus.corpus,
                    &seeds,
                    Some(&vocab),
                    options,
                    majority,
                    &name,
                    Some(&mut predict),
                )?
            } else {
                pipeline::eval(
                    &labels,
                    &corpus.corpus,
                    &seeds,
                    None,
                    EncodeOptions::default(),
                    majority,
                    "",
                    None,
                )?
            };
            println!(
                "{} labelled cells ({} not found in the corpus)\n",
                report.cells, report.missing_cells
            );
            print!("{}", coral_training::labels::render_table(&report.scores));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::DefaultConfig => {
            println!("{}", serde_json::to_string_pretty(&TrainConfig::default())?);
        }
    }
    Ok(())
}
