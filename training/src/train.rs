//! The training loop.
//!
//! Randomness: every random draw is a pure function of [`TrainConfig::seed`] and a position in
//! the run — the initialisation of the seed, each epoch's batch order of the seed and the
//! epoch, each step's negatives and dropout masks of the seed and the step. So a checkpoint
//! needs no generator state, and a resumed run takes exactly the steps an uninterrupted one
//! would have taken.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClipping;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use coral_core::{ModelInput, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::batch::{
    bucketed_batches, collate_padded, sample_negatives, validate_input, without_markdown,
    HostBatch, InputError,
};
use crate::checkpoint::{self, CheckpointError, TrainState};
use crate::config::{DeviceError, OptimizerConfig, TrainConfig};
use crate::eval::evaluate;
use crate::loss::{coral_loss, LossValues, LossWeights};
use crate::metrics::{EpochRecord, LossMean, MetricsLog, StepRecord, ValidationMetrics};
use crate::model::{ConfigError, CoralModel};
use crate::rng::{mix, SplitMix64};
use crate::split::is_validation;

/// One training cell: the featurised input, its weak label (if a heuristic fired) and the
/// notebook it comes from (any stable id; the train/validation split is by notebook).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrainSample {
    pub input: ModelInput,
    pub label: Option<Stage>,
    pub notebook: u64,
}

/// Files a run writes into its output folder.
pub const MODEL_FILE: &str = "model.bpk";
pub const CONFIG_FILE: &str = "config.json";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const REPORT_FILE: &str = "report.json";
pub const CHECKPOINT_DIR: &str = "checkpoint";

const SALT_INIT: u64 = 0x1A17;
const SALT_EPOCH: u64 = 0xE90C;
const SALT_NEGATIVES: u64 = 0x4E6A;
const SALT_DROPOUT: u64 = 0xD409;
const SALT_VALIDATION: u64 = 0x5A11;

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid model configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("sample {index} (notebook {notebook}): {source}")]
    Input {
        index: usize,
        notebook: u64,
        source: InputError,
    },
    #[error("no training samples ({total} samples in all, {validation} held out for validation)")]
    NoTrainingData { total: usize, validation: usize },
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a run produced.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// The model to ship: the best on validation loss, or the last one without validation data.
    /// In inference mode (no autodiff) on the run's device.
    #[serde(skip)]
    pub model: CoralModel,
    pub out_dir: PathBuf,
    /// Parameters of [`Self::model`] (load with [`checkpoint::load_model`]).
    pub model_path: PathBuf,
    pub metrics_path: PathBuf,
    pub steps: u64,
    pub epochs_completed: usize,
    pub stopped_early: bool,
    pub train_cells: usize,
    pub train_labelled: usize,
    pub validation_cells: usize,
    pub best_val_loss: Option<f64>,
    /// Loss of the last step this process took.
    pub last_step_loss: Option<LossValues>,
    pub history: Vec<EpochRecord>,
    /// Training time over all processes of the run.
    pub elapsed_s: f64,
}

/// Builds the optimiser a config asks for.
pub fn build_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let optimizer = match config.optimizer {
        OptimizerConfig::Sgd {
            momentum,
            nesterov,
            weight_decay,
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then_some(MomentumConfig {
                momentum,
                dampening: 0.0,
                nesterov,
            }))
            .with_weight_decay((weight_decay > 0.0).then_some(WeightDecayConfig {
                penalty: weight_decay,
            }))
            .init(),
        OptimizerConfig::Adam {
            beta1,
            beta2,
            epsilon,
            weight_decay,
        } => AdamConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_epsilon(epsilon)
            .with_weight_decay((weight_decay > 0.0).then_some(WeightDecayConfig {
                penalty: weight_decay,
            }))
            .init(),
        OptimizerConfig::AdamW {
            beta1,
            beta2,
            epsilon,
            weight_decay,
        } => AdamWConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .init(),
    };
    match config.grad_clip_norm {
        Some(norm) => optimizer.with_grad_clipping(GradientClipping::Norm(norm)),
        None => optimizer,
    }
}

/// One optimiser step on one batch; returns the updated model and the batch's loss terms.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    model: CoralModel,
    optimizer: &mut ModuleOptimizer,
    batch: &HostBatch,
    negatives: &[u32],
    weights: LossWeights,
    normalize_hinge: bool,
    lr: f64,
    device: &Device,
) -> (CoralModel, LossValues) {
    let b = batch.to_device(device);
    let out = model.forward(b.tokens, b.segments, b.mask);
    let terms = coral_loss(
        &out,
        model.topic_embeddings.val(),
        &b.labels,
        negatives,
        weights,
        normalize_hinge,
    );
    let values = terms.values();
    let grads = GradientsParams::from_grads(terms.total.backward(), &model);
    (optimizer.step(lr, model, grads), values)
}

/// The negatives of step `step` of a run seeded with `seed`.
pub fn step_negatives(seed: u64, step: u64, batch: usize, m: usize) -> Vec<u32> {
    let mut rng = SplitMix64::new(mix(seed ^ mix(step ^ SALT_NEGATIVES)));
    sample_negatives(batch, m, &mut rng)
}

/// Seeds the device's generator (dropout) for step `step`.
fn seed_step(device: &Device, seed: u64, step: u64) {
    device.seed(mix(seed ^ mix(step.wrapping_add(SALT_DROPOUT))));
}

/// The batches of epoch `epoch`.
fn epoch_batches(config: &TrainConfig, lengths: &[usize], epoch: usize) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(mix(config.seed ^ mix(epoch as u64 ^ SALT_EPOCH)));
    bucketed_batches(
        lengths,
        config.batch_size,
        config.bucket_chunk_batches,
        &mut rng,
    )
}

fn progress_bar(config: &TrainConfig, total: u64, position: u64) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} steps ({per_sec}, eta {eta}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(position);
    bar
}

/// Trains a CORAL model on `samples` and writes the run into `out_dir` (model, config,
/// metrics log, checkpoints, report). With [`TrainConfig::resume`] and a checkpoint in
/// `out_dir/checkpoint`, the run continues from it.
///
/// `samples` must be featurised with the vocabulary whose size is `config.model.vocab_size`.
/// With the `no_markdown` ablation, markdown positions are dropped here (and must be dropped the
/// same way when serving such a model).
pub fn train(
    mut samples: Vec<TrainSample>,
    config: &TrainConfig,
    out_dir: &Path,
) -> Result<TrainReport, TrainError> {
    config.model.validate()?;
    let started = Instant::now();
    if config.model.no_markdown {
        for sample in &mut samples {
            sample.input = without_markdown(&sample.input);
        }
    }
    for (index, sample) in samples.iter().enumerate() {
        validate_input(&sample.input, config.model.vocab_size).map_err(|source| {
            TrainError::Input {
                index,
                notebook: sample.notebook,
                source,
            }
        })?;
    }

    // Split by notebook.
    let (mut train_set, mut val_set) = (Vec::new(), Vec::new());
    for sample in &samples {
        if is_validation(sample.notebook, config.validation_fraction, config.seed) {
            val_set.push(sample);
        } else {
            train_set.push(sample);
        }
    }
    if train_set.is_empty() {
        return Err(TrainError::NoTrainingData {
            total: samples.len(),
            validation: val_set.len(),
        });
    }
    if let Some(max) = config.max_validation_cells {
        if val_set.len() > max {
            let mut rng = SplitMix64::new(mix(config.seed ^ SALT_VALIDATION));
            rng.shuffle(&mut val_set);
            val_set.truncate(max);
        }
    }
    let val_pairs: Vec<(&ModelInput, Option<Stage>)> =
        val_set.iter().map(|s| (&s.input, s.label)).collect();
    let train_lengths: Vec<usize> = train_set
        .iter()
        .map(|s| s.input.len().min(config.model.max_len))
        .collect();
    let train_labelled = train_set.iter().filter(|s| s.label.is_some()).count();

    fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let config_path = out_dir.join(CONFIG_FILE);
    let config_json = serde_json::to_vec_pretty(config).unwrap_or_default();
    fs::write(&config_path, config_json).map_err(io(&config_path))?;

    let device = config.device.device()?;
    let ad_device = device.clone().autodiff();
    let checkpoint_dir = out_dir.join(CHECKPOINT_DIR);
    let (mut model, mut optimizer, mut state) =
        if config.resume && checkpoint::exists(&checkpoint_dir) {
            let restored =
                checkpoint::load(&checkpoint_dir, config, build_optimizer(config), &ad_device)?;
            (restored.model, restored.optimizer, restored.state)
        } else {
            ad_device.seed(mix(config.seed ^ SALT_INIT));
            (
                config.model.init(&ad_device)?,
                build_optimizer(config),
                TrainState::new(),
            )
        };

    let batches_per_epoch = train_set.len().div_ceil(config.batch_size.max(1)) as u64;
    let total_steps = batches_per_epoch * config.epochs as u64;
    let metrics_path = out_dir.join(METRICS_FILE);
    let mut log = MetricsLog::open(&metrics_path).map_err(io(&metrics_path))?;
    let bar = progress_bar(
        config,
        config.max_steps.unwrap_or(total_steps).min(total_steps),
        state.step,
    );
    let model_path = out_dir.join(MODEL_FILE);
    let prior_elapsed = state.elapsed_s;
    let mut last_step_loss = None;
    let mut interval = LossMean::default();
    let mut interval_cells = 0usize;
    let mut interval_start = Instant::now();
    let mut epoch_loss = LossMean::default();
    let mut epoch_started = Instant::now();
    let mut last_checkpoint_step = state.step;
    let step_limit = config.max_steps.unwrap_or(u64::MAX);
    let time_limit_s = config.max_minutes.map(|m| m * 60.0);
    let class = {
        let mut counts = [0usize; 5];
        for stage in train_set.iter().filter_map(|s| s.label) {
            if let Some(n) = counts.get_mut(stage.index()) {
                *n += 1;
            }
        }
        crate::loss::class_weights(counts, config.loss.class_balance)
    };

    'epochs: while state.epoch < config.epochs && !state.stopped_early {
        let batches = epoch_batches(config, &train_lengths, state.epoch);
        while state.batch_in_epoch < batches.len() {
            if state.step >= step_limit {
                break 'epochs;
            }
            let elapsed_s = started.elapsed().as_secs_f64();
            if time_limit_s.is_some_and(|limit| elapsed_s >= limit) {
                break;
            }
            let indices = &batches[state.batch_in_epoch];
            let host = collate_padded(
                indices
                    .iter()
                    .map(|&i| (&train_set[i].input, train_set[i].label)),
                config.model.max_len,
                config.pad_multiple,
            );
            let step = state.step;
            let negatives = step_negatives(config.seed, step, host.size, config.loss.negatives);
            let schedule_step = match time_limit_s {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some(limit) => step.max((elapsed_s / limit * total_steps as f64) as u64),
                None => step,
            };
            let lr = config.schedule.lr_at(schedule_step, total_steps);
            let mut weights = config.loss.weights_at(step, &config.model);
            weights.class = class;
            seed_step(&ad_device, config.seed, step);
            let (next, values) = train_step(
                model,
                &mut optimizer,
                &host,
                &negatives,
                weights,
                config.loss.normalize_hinge,
                lr,
                &ad_device,
            );
            model = next;
            state.step += 1;
            state.batch_in_epoch += 1;
            last_step_loss = Some(values);
            interval.add(&values);
            epoch_loss.add(&values);
            interval_cells += host.size;
            bar.inc(1);

            if state.step % config.log_every.max(1) == 0 {
                let mean = interval.mean();
                let secs = interval_start.elapsed().as_secs_f64();
                log.step(&StepRecord {
                    step: state.step,
                    epoch: state.epoch,
                    lr,
                    loss: mean,
                    cells_per_s: interval_cells as f64 / secs.max(1e-9),
                })
                .map_err(io(&metrics_path))?;
                bar.set_message(format!(
                    "epoch {} loss {:.4} lr {lr:.2e}",
                    state.epoch + 1,
                    mean.total
                ));
                interval = LossMean::default();
                interval_cells = 0;
                interval_start = Instant::now();
            }
            if let Some(every) = config.checkpoint_every {
                if every > 0 && state.step % every == 0 {
                    state.elapsed_s = prior_elapsed + started.elapsed().as_secs_f64();
                    checkpoint::save(&checkpoint_dir, &model, &optimizer, config, &state)?;
                    last_checkpoint_step = state.step;
                }
            }
        }

        // A time limit ends the epoch early: validate what was trained, then stop.
        let out_of_time = state.batch_in_epoch < batches.len();
        // End of epoch: validate, early stopping, checkpoint.
        let validation = (!val_pairs.is_empty()).then(|| {
            evaluate(
                &model,
                &val_pairs,
                &config.model,
                &config.loss,
                config.batch_size.max(1) * 4,
                &device,
            )
        });
        // During the CE warm-up the objective is not the one validated (which uses all four
        // terms), so warm-up epochs neither set the best model nor use up patience.
        let in_warmup = state.step < config.loss.ce_warmup_steps;
        let improved = !in_warmup
            && match (&validation, state.best_val_loss) {
                (Some(v), Some(best)) => v.loss.total < best,
                (Some(_), None) => true,
                (None, _) => false,
            };
        if let Some(v) = validation.as_ref().filter(|_| !in_warmup) {
            if improved {
                state.best_val_loss = Some(v.loss.total);
                state.epochs_since_best = 0;
                checkpoint::save_model(&model, &model_path)?;
            } else {
                state.epochs_since_best += 1;
                if state.epochs_since_best >= config.patience.max(1) {
                    state.stopped_early = true;
                }
            }
        }
        let record = EpochRecord {
            epoch: state.epoch,
            step: state.step,
            train_loss: epoch_loss.mean(),
            validation,
            improved,
            elapsed_s: epoch_started.elapsed().as_secs_f64(),
        };
        log.epoch(&record).map_err(io(&metrics_path))?;
        if let Some(v) = &record.validation {
            bar.println(epoch_line(&record, v));
        }
        state.history.push(record);
        if !out_of_time {
            state.epoch += 1;
            state.batch_in_epoch = 0;
        }
        epoch_loss = LossMean::default();
        epoch_started = Instant::now();
        state.elapsed_s = prior_elapsed + started.elapsed().as_secs_f64();
        checkpoint::save(&checkpoint_dir, &model, &optimizer, config, &state)?;
        last_checkpoint_step = state.step;
        if out_of_time {
            bar.println(format!(
                "stopped after {:.1} minutes (the time limit), {} steps",
                started.elapsed().as_secs_f64() / 60.0,
                state.step
            ));
            break;
        }
    }
    bar.finish_and_clear();
    log.flush().map_err(io(&metrics_path))?;
    state.elapsed_s = prior_elapsed + started.elapsed().as_secs_f64();
    if state.step != last_checkpoint_step {
        checkpoint::save(&checkpoint_dir, &model, &optimizer, config, &state)?;
    }

    // The model to ship: best on validation, else the last.
    let shipped = if state.best_val_loss.is_some() && model_path.is_file() {
        checkpoint::load_model(&config.model, &model_path, &device)?
    } else {
        checkpoint::save_model(&model, &model_path)?;
        model.valid()
    };
    let report = TrainReport {
        model: shipped,
        out_dir: out_dir.to_path_buf(),
        model_path,
        metrics_path,
        steps: state.step,
        epochs_completed: state.history.len(),
        stopped_early: state.stopped_early,
        train_cells: train_set.len(),
        train_labelled,
        validation_cells: val_pairs.len(),
        best_val_loss: state.best_val_loss,
        last_step_loss,
        history: state.history,
        elapsed_s: state.elapsed_s,
    };
    let report_path = out_dir.join(REPORT_FILE);
    let json = serde_json::to_vec_pretty(&report).unwrap_or_default();
    fs::write(&report_path, json).map_err(io(&report_path))?;
    Ok(report)
}

fn epoch_line(record: &EpochRecord, v: &ValidationMetrics) -> String {
    let acc = v
        .weak_accuracy
        .map_or_else(|| "n/a".to_owned(), |a| format!("{:.1}%", a * 100.0));
    format!(
        "epoch {}: train loss {:.4}, validation loss {:.4} (ce {:.4}, entropy {:.4}, hinge {:.4}, ortho {:.4}), weak accuracy {acc} on {} labelled cells{}",
        record.epoch + 1,
        record.train_loss.total,
        v.loss.total,
        v.loss.ce,
        v.loss.entropy,
        v.loss.hinge,
        v.loss.ortho,
        v.labelled,
        if record.improved { " *" } else { "" },
    )
}
