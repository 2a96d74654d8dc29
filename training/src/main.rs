//! `coral-train`: corpus → vocabulary → weak labels → CORAL model → ONNX, and evaluation.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use coral_core::{EncodeOptions, Stage, FEATURIZER_VERSION};
use coral_training::checkpoint::load_model;
use coral_training::onnx::calibrate::ActivationRanges;
use coral_training::onnx::runtime::OnnxSession;
use coral_training::onnx::{export_onnx, ExportMetadata, WeightPrecision};
use coral_training::pipeline::{self, DEFAULT_CORPUS};
use coral_training::samples_file;
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
        #[arg(long, default_value_t = coral_core::artefact::DEFAULT_WINDOW)]
        window: usize,
        /// Also write the statistics as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Featurise the corpus once into a compact samples file (for `train --samples`, e.g. on a
    /// machine that cannot read the corpus), with the weak labels of the built-in seed table
    /// and of the paper's seeds alone (label sets `builtin` and `paper`).
    Featurize {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Vocabulary built by `coral-train vocab`.
        #[arg(long)]
        vocab: PathBuf,
        /// Window the inputs are cut to ([CLS] included); a model with a smaller window cuts
        /// them further, identically.
        #[arg(long, default_value_t = coral_core::artefact::DEFAULT_WINDOW)]
        max_len: usize,
        /// Leave markdown tokens out.
        #[arg(long)]
        no_markdown: bool,
        /// Write only the cells of this expert-labelled file (label sets `expert` and
        /// `builtin`), for `eval --samples` on a machine without the corpus. Checking only:
        /// never train on it.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Add the label set `self`: the built-in weak labels, and where no rule fires, the
        /// logistic-regression teacher's stage when it is confident (self-training).
        #[arg(long)]
        teacher: bool,
        /// With --teacher: the held-out weak-label precision the teacher's confident cells
        /// must keep; the confidence threshold is the lowest that keeps it.
        #[arg(long, default_value_t = 0.99)]
        teacher_precision: f64,
        /// Where to write the samples (compact binary format).
        #[arg(long)]
        out: PathBuf,
    },
    /// Train a model, from the corpus (with --vocab) or from a samples file.
    Train {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Vocabulary built by `coral-train vocab` (train from the corpus; with --samples, the
        /// vocabulary the samples were made with, checked and kept in the run for `export`).
        #[arg(long)]
        vocab: Option<PathBuf>,
        /// Pre-featurised samples instead of the corpus: a file written by `featurize`, or JSON
        /// lines of {"input", "label", "notebook"} (`.jsonl`).
        #[arg(long)]
        samples: Option<PathBuf>,
        /// Which weak labels of a `featurize` file to train on: `builtin` or `paper`.
        #[arg(long, default_value = "builtin")]
        label_set: String,
        /// Stop after this many minutes of training (then validate and keep the best model).
        #[arg(long)]
        max_minutes: Option<f64>,
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
        /// How the encoder's linear weights are stored: f32 (exact) or int8 (faster on CPUs;
        /// check its accuracy with `eval --model`).
        #[arg(long, default_value = "f32")]
        weights: WeightPrecision,
        /// With int8: the notebooks whose cells fix each layer's input range (`--stride`
        /// spreads them over the corpus; no labels are read).
        #[command(flatten)]
        calibration: CorpusArgs,
        /// With int8: at most this many cells calibrate.
        #[arg(long, default_value_t = 20_000)]
        calibration_cells: usize,
        /// Fit a temperature for the stage probabilities on the weak-label validation cells
        /// of this samples file (the run's own split; no expert labels) and fold it into the
        /// stage head.
        #[arg(long)]
        temperature_samples: Option<PathBuf>,
        /// Use this temperature instead of fitting one.
        #[arg(long, conflicts_with = "temperature_samples")]
        temperature: Option<f64>,
    },
    /// Accuracy, macro-F1, per-class scores and confusion matrix on a labelled cell file,
    /// beside the expert-heuristics and majority baselines.
    Eval {
        /// Labelled cells, one `{"notebook", "cell_index", "stage"}` per line.
        #[arg(long)]
        labels: PathBuf,
        /// A run folder (burn model) to evaluate.
        #[arg(long, conflicts_with = "model")]
        run: Option<PathBuf>,
        /// A model folder (coral.onnx + vocab.json, e.g. models/) to evaluate through ONNX Runtime.
        #[arg(long)]
        model: Option<PathBuf>,
        /// With --run: score on a file from `featurize --labels` instead of reading the corpus
        /// (the model's accuracy and macro-F1 only; --labels is then its name in the report).
        #[arg(long, requires = "run")]
        samples: Option<PathBuf>,
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
    /// Corpus reference statistics for percentiles (models/reference-stats.json): the
    /// distribution over notebooks of stage entropy, transition rate and stage shares, by a
    /// model's predictions.
    Reference {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Model folder (coral.onnx + vocab.json).
        #[arg(long, default_value = "models")]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Weak-label report: each rule's coverage of the corpus and precision on a labelled file,
    /// the weak labels' stage mix, and a confusion table of the rules against the labels.
    WeakReport {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Labelled cells to measure precision on (checking only: never tune rules to it).
        #[arg(long)]
        labels: PathBuf,
        /// Also write the report as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Estimate the notebook-sequence HMM (`transitions.json` beside the model) from the corpus
    /// as the model labels it, choosing its strength on held-out notebooks' weak labels.
    Transitions {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Model folder (coral.onnx + vocab.json); transitions.json is written into it.
        #[arg(long, default_value = "models")]
        model: PathBuf,
        /// Share of notebooks held out to choose the strength (by notebook hash).
        #[arg(long, default_value_t = 0.05)]
        validation_fraction: f64,
    },
    /// The cheap baseline: logistic regression over bags of qualified calls, graph tokens,
    /// markdown words and data-flow facts, trained on the same weak labels, scored on a
    /// labelled file.
    Baseline {
        #[command(flatten)]
        corpus: CorpusArgs,
        /// Labelled cells to score on (checking only).
        #[arg(long)]
        labels: PathBuf,
        #[arg(long, default_value_t = 4)]
        epochs: usize,
        /// Also write the scores as JSON.
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

/// A model folder (coral.onnx + vocab.json) run through ONNX Runtime.
struct OnnxModel {
    session: OnnxSession,
    vocab: coral_core::Vocab,
    options: EncodeOptions,
    source: serde_json::Value,
    /// `transitions.json` beside the model, when there is one.
    sequence: Option<coral_core::Transitions>,
}

impl OnnxModel {
    fn load(dir: &Path) -> Result<OnnxModel> {
        use coral_core::artefact::{ModelMetadata, MODEL_FILE, TRANSITIONS_FILE, VOCAB_FILE};
        let vocab = pipeline::read_vocab(&dir.join(VOCAB_FILE))?;
        let onnx = dir.join(MODEL_FILE);
        let bytes = std::fs::read(&onnx).with_context(|| format!("reading {}", onnx.display()))?;
        let props = coral_training::onnx::read_metadata(&bytes);
        let meta = ModelMetadata::from_props(props.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .with_context(|| format!("{}", onnx.display()))?;
        let session = OnnxSession::from_bytes(&bytes, 0)
            .with_context(|| format!("loading {}", onnx.display()))?;
        let source = serde_json::json!({
            "model": onnx.display().to_string(),
            "featurizer_version": meta.featurizer_version,
            "vocab_sha256": meta.vocab_sha256,
        });
        let transitions = dir.join(TRANSITIONS_FILE);
        let sequence = if transitions.is_file() {
            let text = std::fs::read_to_string(&transitions)
                .with_context(|| format!("reading {}", transitions.display()))?;
            Some(
                coral_core::Transitions::from_json(&text)
                    .with_context(|| format!("{}", transitions.display()))?,
            )
        } else {
            None
        };
        Ok(OnnxModel {
            session,
            vocab,
            options: EncodeOptions {
                max_len: meta.window(),
                markdown: !meta.no_markdown,
            },
            source,
            sequence,
        })
    }

    fn predict(
        &mut self,
        inputs: &[&coral_core::ModelInput],
    ) -> Result<Vec<[f32; Stage::OUTPUTS]>> {
        let lengths: Vec<usize> = inputs.iter().map(|i| i.len()).collect();
        let mut probs = vec![[0.0f32; Stage::OUTPUTS]; inputs.len()];
        for chunk in coral_training::batch::sorted_batches(&lengths, 32) {
            let batch = coral_training::batch::collate(
                chunk.iter().map(|&i| (inputs[i], None)),
                self.options.max_len,
            );
            let outputs = self.session.run(&batch).context("running the ONNX model")?;
            for (&i, row) in chunk.iter().zip(outputs.stage_probs.chunks(Stage::OUTPUTS)) {
                probs[i].copy_from_slice(row);
            }
        }
        Ok(probs)
    }
}

/// Temperature scaling fitted on the weak labels of the run's validation notebooks.
fn fit_temperature(
    model: &coral_training::model::CoralModel,
    cfg: &TrainConfig,
    samples: &Path,
    device: &burn::prelude::Device,
) -> Result<f64> {
    use coral_training::split::is_validation;
    const MAX_CELLS: usize = 20_000;
    let (_, cells) = samples_file::read_label_set(samples, "builtin")
        .with_context(|| format!("reading {}", samples.display()))?;
    let held_out: Vec<(&coral_core::ModelInput, Stage)> = cells
        .iter()
        .filter(|s| is_validation(s.notebook, cfg.validation_fraction, cfg.seed))
        .filter_map(|s| Some((&s.input, s.label?)))
        .collect();
    let step = held_out.len().div_ceil(MAX_CELLS).max(1);
    let held_out: Vec<_> = held_out.into_iter().step_by(step).collect();
    let inputs: Vec<&coral_core::ModelInput> = held_out.iter().map(|(i, _)| *i).collect();
    let labels: Vec<Stage> = held_out.iter().map(|(_, l)| *l).collect();
    let probs = coral_training::eval::predict(model, &inputs, cfg.model.max_len, 64, device);
    let t = coral_training::temperature::fit(&probs, &labels);
    eprintln!(
        "temperature {t:.3}, fitted on {} weak-labelled validation cells",
        labels.len()
    );
    Ok(t)
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
        Command::WeakReport {
            corpus,
            labels,
            json,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let report = pipeline::weak_report(
                &labels,
                &corpus.corpus,
                (corpus.stride, corpus.limit),
                &seeds,
            )?;
            print!("{}", report.render());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
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
            label_set,
            max_minutes,
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
            if max_minutes.is_some() {
                cfg.max_minutes = max_minutes;
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
                (vocab_path, Some(path)) => {
                    let samples = if path.extension().is_some_and(|e| e == "jsonl") {
                        read_samples(&path)?
                    } else {
                        let (header, samples) = samples_file::read_label_set(&path, &label_set)?;
                        if header.featurizer_version != FEATURIZER_VERSION {
                            bail!(
                                "{} was featurised by {}, this build is {FEATURIZER_VERSION}",
                                path.display(),
                                header.featurizer_version
                            );
                        }
                        cfg.model.vocab_size = header.vocab_size;
                        if let Some(vocab_path) = vocab_path {
                            let vocab = pipeline::read_vocab(&vocab_path)?;
                            if vocab.sha256() != header.vocab_sha256 {
                                bail!(
                                    "{} was made with another vocabulary than {}",
                                    path.display(),
                                    vocab_path.display()
                                );
                            }
                            std::fs::create_dir_all(&out)
                                .with_context(|| format!("creating {}", out.display()))?;
                            std::fs::write(out.join(RUN_VOCAB_FILE), vocab.to_json())
                                .with_context(|| format!("writing {}", out.display()))?;
                        }
                        samples
                    };
                    let labelled = samples.iter().filter(|s| s.label.is_some()).count();
                    eprintln!(
                        "{} cells from {}, {labelled} weakly labelled ({label_set})",
                        samples.len(),
                        path.display()
                    );
                    samples
                }
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
        Command::Featurize {
            corpus,
            vocab,
            max_len,
            no_markdown,
            labels,
            teacher,
            teacher_precision,
            out,
        } => {
            let vocab = pipeline::read_vocab(&vocab)?;
            let options = EncodeOptions {
                max_len,
                markdown: !no_markdown,
            };
            let builtin = pipeline::seed_table(corpus.seeds.as_deref())?;
            if let Some(labels) = labels {
                let labelled = pipeline::labelled_cells(&labels, &corpus.corpus, &builtin)?;
                let samples: Vec<samples_file::MultiLabelSample> = labelled
                    .cells
                    .iter()
                    .zip(&labelled.truth)
                    .map(|(cell, truth)| samples_file::MultiLabelSample {
                        input: cell.graph.encode(&vocab, options),
                        labels: vec![Some(*truth), cell.weak_label.as_ref().map(|l| l.stage)],
                        notebook: 0,
                    })
                    .collect();
                let header = samples_file::SamplesHeader::new(
                    &vocab,
                    options,
                    &["expert", "builtin"],
                    samples.len(),
                );
                samples_file::write(&out, &header, &samples)?;
                eprintln!(
                    "wrote {} labelled cells to {}",
                    samples.len(),
                    out.display()
                );
                return Ok(());
            }
            let paper = coral_core::SeedTable::paper();
            let sample = (corpus.stride, corpus.limit);
            let defaults = TrainConfig::default();
            let teacher = teacher.then(|| coral_training::teacher::TeacherConfig {
                validation_fraction: defaults.validation_fraction,
                split_seed: defaults.seed,
                target_precision: teacher_precision,
                ..Default::default()
            });
            let (samples, report) = pipeline::multi_label_samples(
                &corpus.corpus,
                sample,
                &[&builtin, &paper],
                &vocab,
                options,
                teacher,
            )?;
            let mut sets = vec!["builtin", "paper"];
            if let Some(report) = &report {
                eprintln!("{}", report.render());
                sets.push("self");
                let path = out.with_extension("teacher.json");
                std::fs::write(&path, serde_json::to_string_pretty(report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let header = samples_file::SamplesHeader::new(&vocab, options, &sets, samples.len());
            samples_file::write(&out, &header, &samples)?;
            let labelled = |set: usize| samples.iter().filter(|s| s.labels[set].is_some()).count();
            eprintln!(
                "wrote {} cells to {} ({} labelled by the built-in seeds, {} by the paper's)",
                samples.len(),
                out.display(),
                labelled(0),
                labelled(1)
            );
        }
        Command::Export {
            run,
            out,
            vocab,
            weights,
            calibration,
            calibration_cells,
            temperature_samples,
            temperature,
        } => {
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
                int8: (weights == WeightPrecision::Int8)
                    .then(|| -> Result<ActivationRanges> {
                        let seeds = pipeline::seed_table(calibration.seeds.as_deref())?;
                        let mut samples = pipeline::corpus_samples(
                            &calibration.corpus,
                            (calibration.stride, calibration.limit),
                            &seeds,
                            &vocab,
                            encode_options(&cfg),
                        )?;
                        let step = samples.len().div_ceil(calibration_cells.max(1));
                        samples = samples.into_iter().step_by(step.max(1)).collect();
                        let inputs: Vec<_> = samples.into_iter().map(|s| s.input).collect();
                        let ranges = ActivationRanges::measure(
                            &model,
                            &inputs,
                            cfg.model.max_len,
                            64,
                            &device,
                        );
                        eprintln!("calibrated int8 input ranges on {} cells", ranges.cells);
                        Ok(ranges)
                    })
                    .transpose()?,
                temperature: match (&temperature_samples, temperature) {
                    (Some(path), _) => Some(fit_temperature(&model, &cfg, path, &device)?),
                    (None, t) => t,
                },
                ..ExportMetadata::default()
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let onnx = out.join(coral_core::artefact::MODEL_FILE);
            export_onnx(&model, &cfg.model, &metadata, &onnx)
                .with_context(|| format!("exporting {}", onnx.display()))?;
            std::fs::write(out.join(coral_core::artefact::VOCAB_FILE), vocab.to_json())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} and vocab.json", onnx.display());
        }
        Command::Eval {
            labels,
            run,
            model,
            samples,
            corpus,
            majority,
            json,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            if let (Some(run), Some(path)) = (&run, &samples) {
                let cfg = read_config(&run.join(CONFIG_FILE))?;
                let device = DeviceChoice::Cpu.device()?;
                let model = load_model(&cfg.model, &run.join(MODEL_FILE), &device)
                    .with_context(|| format!("loading the model of {}", run.display()))?;
                let (_, mut cells) = samples_file::read_label_set(path, "expert")?;
                if cfg.model.no_markdown {
                    for cell in &mut cells {
                        cell.input = coral_training::batch::without_markdown(&cell.input);
                    }
                }
                let inputs: Vec<&coral_core::ModelInput> = cells.iter().map(|s| &s.input).collect();
                let probs =
                    coral_training::eval::predict(&model, &inputs, cfg.model.max_len, 32, &device);
                let predicted: Vec<Stage> = probs
                    .iter()
                    .map(coral_training::eval::predicted_stage)
                    .collect();
                let truth: Vec<Stage> = cells.iter().filter_map(|s| s.label).collect();
                let scores = coral_training::labels::score(
                    &format!("CORAL ({})", run.display()),
                    &truth,
                    &predicted,
                );
                print!(
                    "{}",
                    coral_training::labels::render_table(std::slice::from_ref(&scores))
                );
                if let Some(json) = json {
                    std::fs::write(&json, serde_json::to_string_pretty(&scores)?)
                        .with_context(|| format!("writing {}", json.display()))?;
                }
                return Ok(());
            }
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
                    None,
                )?
            } else if let Some(dir) = model {
                let mut onnx = OnnxModel::load(&dir)?;
                let options = onnx.options;
                let vocab = onnx.vocab.clone();
                let sequence = onnx.sequence.clone();
                let mut predict = |inputs: &[&coral_core::ModelInput]| onnx.predict(inputs);
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
                    sequence.as_ref(),
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
                    None,
                )?
            };
            println!(
                "{} labelled cells ({} not found in the corpus)\n",
                report.cells, report.missing_cells
            );
            print!("{}", coral_training::labels::render_table(&report.scores));
            if let Some(calibration) = &report.calibration {
                print!("\n{}", calibration.render());
            }
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::Baseline {
            corpus,
            labels,
            epochs,
            json,
        } => {
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let defaults = TrainConfig::default();
            let config = coral_training::baseline::BaselineConfig {
                epochs,
                ..Default::default()
            };
            let (scores, weak_accuracy, calibration) = pipeline::baseline(
                &labels,
                &corpus.corpus,
                (corpus.stride, corpus.limit),
                &seeds,
                config,
                defaults.validation_fraction,
                defaults.seed,
            )?;
            println!(
                "weak-label validation accuracy {:.1}%\n",
                100.0 * weak_accuracy
            );
            print!(
                "{}",
                coral_training::labels::render_table(std::slice::from_ref(&scores))
            );
            print!("\n{}", calibration.render());
            if let Some(path) = json {
                let value = serde_json::json!({
                    "scores": scores,
                    "weak_validation_accuracy": weak_accuracy,
                    "calibration": calibration,
                });
                std::fs::write(&path, serde_json::to_string_pretty(&value)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Command::Transitions {
            corpus,
            model,
            validation_fraction,
        } => {
            let mut onnx = OnnxModel::load(&model)?;
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let notebooks = pipeline::load_corpus(&corpus.corpus, (corpus.stride, corpus.limit))?;
            let features = coral_training::corpus::featurize_corpus(&notebooks, &seeds);
            let bar = indicatif::ProgressBar::new(features.len() as u64);
            let mut labelled = Vec::with_capacity(features.len());
            for (nb, cells) in notebooks.notebooks.iter().zip(&features) {
                bar.inc(1);
                let inputs: Vec<coral_core::ModelInput> = cells
                    .iter()
                    .filter(|c| !c.is_empty)
                    .map(|c| c.graph.encode(&onnx.vocab, onnx.options))
                    .collect();
                let refs: Vec<&coral_core::ModelInput> = inputs.iter().collect();
                let mut predicted = onnx.predict(&refs)?.into_iter();
                let probs = cells
                    .iter()
                    .map(|c| if c.is_empty { None } else { predicted.next() })
                    .collect();
                labelled.push(coral_training::transitions::LabelledNotebook {
                    key: coral_training::corpus::notebook_key(&nb.id),
                    cells,
                    probs,
                });
            }
            bar.finish_and_clear();
            let (table, scores) = coral_training::transitions::estimate(
                &labelled,
                validation_fraction,
                TrainConfig::default().seed,
            );
            for s in &scores {
                eprintln!(
                    "strength {:.2}: weak-label agreement {:.4} on {} held-out cells",
                    s.strength, s.agreement, s.weak_labelled
                );
            }
            let path = model.join("transitions.json");
            std::fs::write(&path, table.to_json())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} (strength {})", path.display(), table.strength);
        }
        Command::Reference { corpus, model, out } => {
            let mut onnx = OnnxModel::load(&model)?;
            let seeds = pipeline::seed_table(corpus.seeds.as_deref())?;
            let notebooks = pipeline::load_corpus(&corpus.corpus, (corpus.stride, corpus.limit))?;
            let features = coral_training::corpus::featurize_corpus(&notebooks, &seeds);
            let mut summaries = Vec::new();
            let mut all_stages = Vec::new();
            let bar = indicatif::ProgressBar::new(features.len() as u64);
            for cells in &features {
                bar.inc(1);
                let inputs: Vec<coral_core::ModelInput> = cells
                    .iter()
                    .filter(|c| !c.is_empty)
                    .map(|c| c.graph.encode(&onnx.vocab, onnx.options))
                    .collect();
                if inputs.is_empty() {
                    continue;
                }
                let refs: Vec<&coral_core::ModelInput> = inputs.iter().collect();
                let stages: Vec<Stage> = onnx
                    .predict(&refs)?
                    .iter()
                    .map(coral_training::eval::predicted_stage)
                    .collect();
                summaries.push(coral_training::reference::notebook_summary(cells, &stages));
                all_stages.extend(stages);
            }
            bar.finish_and_clear();
            let mut source = onnx.source.clone();
            source["corpus"] = serde_json::json!({
                "path": corpus.corpus.display().to_string(),
                "stride": corpus.stride,
                "limit": corpus.limit,
            });
            let stats = coral_training::reference::build(&summaries, &all_stages, source);
            std::fs::write(&out, serde_json::to_string_pretty(&stats)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{} notebooks, {} cells; normalized entropy median {:.3}; wrote {}",
                stats.notebooks,
                stats.cells,
                stats
                    .normalized_entropy
                    .quantiles
                    .get(50)
                    .copied()
                    .unwrap_or(f64::NAN),
                out.display()
            );
        }
        Command::DefaultConfig => {
            println!("{}", serde_json::to_string_pretty(&TrainConfig::default())?);
        }
    }
    Ok(())
}
