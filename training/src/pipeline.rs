//! The corpus-facing subcommands of `coral-train`: `vocab`, `stats`, sample preparation for
//! `train --corpus`, and `eval --labels`. Each reads notebooks, featurizes them with
//! coral-core (the one featurizer) and hands plain data to the model side.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use coral_core::{EncodeOptions, SeedTable, Stage, Vocab};

use crate::corpus::{corpus_stats, count_tokens, featurize_corpus, read_corpus, samples, Corpus};
use crate::labels::{self, Scores};
use crate::samples_file::MultiLabelSample;
use crate::train::TrainSample;

/// The shared corpus, relative to the repository root.
pub const DEFAULT_CORPUS: &str = "../shared/data/notebooks";

/// Seeds: the built-in table, extended by a user file when given.
pub fn seed_table(extra: Option<&Path>) -> Result<SeedTable> {
    let mut seeds = SeedTable::builtin();
    if let Some(path) = extra {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading seed file {}", path.display()))?;
        seeds.extend(
            SeedTable::from_toml(&text).with_context(|| format!("seed file {}", path.display()))?,
        );
    }
    Ok(seeds)
}

/// `(stride, limit)`: keep every `stride`-th notebook, then at most `limit` of them.
pub type Sample = (usize, Option<usize>);

pub fn load_corpus(path: &Path, (stride, limit): Sample) -> Result<Corpus> {
    let stride = stride.max(1);
    let read_limit = limit.map(|l| l.saturating_mul(stride));
    let mut corpus = read_corpus(path, read_limit)
        .with_context(|| format!("reading corpus {}", path.display()))?;
    if stride > 1 {
        corpus.notebooks = corpus.notebooks.into_iter().step_by(stride).collect();
    }
    if let Some(limit) = limit {
        corpus.notebooks.truncate(limit);
    }
    for (place, why) in corpus.skipped.iter().take(5) {
        eprintln!("warning: skipped {place}: {why}");
    }
    if corpus.skipped.len() > 5 {
        eprintln!(
            "warning: … and {} more notebooks skipped",
            corpus.skipped.len() - 5
        );
    }
    Ok(corpus)
}

/// `coral-train vocab`: token counts over the corpus → `vocab.json`.
pub fn build_vocab(
    corpus: &Path,
    limit: Sample,
    seeds: &SeedTable,
    min_count: u64,
    max_size: usize,
) -> Result<Vocab> {
    let corpus = load_corpus(corpus, limit)?;
    let features = featurize_corpus(&corpus, seeds);
    let counts = count_tokens(&features);
    Ok(Vocab::build(counts, min_count, max_size))
}

/// `coral-train stats`: the corpus report (text, and the JSON object).
pub fn stats(
    corpus: &Path,
    limit: Sample,
    seeds: &SeedTable,
    window: usize,
) -> Result<(String, serde_json::Value)> {
    let corpus = load_corpus(corpus, limit)?;
    let features = featurize_corpus(&corpus, seeds);
    let stats = corpus_stats(&corpus, &features, window);
    Ok((stats.render(), serde_json::to_value(&stats)?))
}

/// Samples for `train --corpus`: every non-empty code cell, encoded with the vocabulary.
/// Also returns the majority weak label (for the eval baseline) and the labelled share.
pub fn corpus_samples(
    corpus: &Path,
    limit: Sample,
    seeds: &SeedTable,
    vocab: &Vocab,
    options: EncodeOptions,
) -> Result<Vec<TrainSample>> {
    let corpus = load_corpus(corpus, limit)?;
    let features = featurize_corpus(&corpus, seeds);
    let samples = samples(&corpus, &features, vocab, options);
    if samples.is_empty() {
        bail!("the corpus holds no non-empty code cells");
    }
    Ok(samples)
}

/// Like [`corpus_samples`], with one weak label per seed table (the inputs do not depend on
/// the seeds, so they are encoded once). With a teacher, a last column holds the
/// self-training labels of the first table ([`crate::teacher`]).
pub fn multi_label_samples(
    corpus: &Path,
    limit: Sample,
    seed_tables: &[&SeedTable],
    vocab: &Vocab,
    options: EncodeOptions,
    teacher: Option<crate::teacher::TeacherConfig>,
) -> Result<(Vec<MultiLabelSample>, Option<crate::teacher::TeacherReport>)> {
    let corpus = load_corpus(corpus, limit)?;
    let Some((first, others)) = seed_tables.split_first() else {
        bail!("no seed table given");
    };
    let features = featurize_corpus(&corpus, first);
    let self_training =
        teacher.map(|config| crate::teacher::self_training_labels(&corpus, &features, config));
    let mut out: Vec<MultiLabelSample> = samples(&corpus, &features, vocab, options)
        .into_iter()
        .map(|s| MultiLabelSample {
            labels: vec![s.label],
            input: s.input,
            notebook: s.notebook,
        })
        .collect();
    drop(features);
    for table in others {
        let features = featurize_corpus(&corpus, table);
        let labels = features
            .iter()
            .flat_map(|cells| cells.iter().filter(|c| !c.is_empty))
            .map(|c| c.weak_label.as_ref().map(|l| l.stage));
        let mut count = 0;
        for (sample, label) in out.iter_mut().zip(labels) {
            sample.labels.push(label);
            count += 1;
        }
        if count != out.len() {
            bail!(
                "featurising the corpus twice gave {count} and {} cells",
                out.len()
            );
        }
    }
    let report = match self_training {
        Some((labels, report)) => {
            if labels.len() != out.len() {
                bail!(
                    "the teacher labelled {} cells of {}",
                    labels.len(),
                    out.len()
                );
            }
            for (sample, label) in out.iter_mut().zip(labels) {
                sample.labels.push(label);
            }
            Some(report)
        }
        None => None,
    };
    if out.is_empty() {
        bail!("the corpus holds no non-empty code cells");
    }
    Ok((out, report))
}

pub fn read_vocab(path: &Path) -> Result<Vocab> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading vocabulary {}", path.display()))?;
    Vocab::from_json(&text).with_context(|| format!("vocabulary {}", path.display()))
}

/// How `eval` gets the model's stage probabilities for encoded cells.
pub type Predictor<'a> =
    dyn FnMut(&[&coral_core::ModelInput]) -> Result<Vec<[f32; Stage::OUTPUTS]>> + 'a;

/// Everything `eval` reports.
#[derive(Debug, serde::Serialize)]
pub struct EvalReport {
    pub labels: PathBuf,
    pub cells: usize,
    pub missing_cells: usize,
    pub majority_stage: Stage,
    pub scores: Vec<Scores>,
    /// How well the model's top probability matches its accuracy (with a model).
    pub calibration: Option<CalibrationReport>,
}

/// Expected calibration error and the reliability diagram's bins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CalibrationReport {
    pub ece: f64,
    pub mean_confidence: f64,
    pub bins: Vec<crate::temperature::ReliabilityBin>,
}

impl CalibrationReport {
    pub fn from_probs(probs: &[[f32; Stage::OUTPUTS]], truth: &[Stage]) -> CalibrationReport {
        let mut confidence = Vec::with_capacity(probs.len());
        let mut correct = Vec::with_capacity(probs.len());
        for (p, t) in probs.iter().zip(truth) {
            let five = crate::temperature::scaled(p, 1.0);
            confidence.push(five.iter().copied().fold(0.0, f64::max));
            correct.push(crate::eval::predicted_stage(p) == *t);
        }
        let (ece, bins) = crate::temperature::calibration(&confidence, &correct, 10);
        CalibrationReport {
            ece,
            mean_confidence: confidence.iter().sum::<f64>() / confidence.len().max(1) as f64,
            bins,
        }
    }

    /// A text reliability diagram: one row per bin, accuracy as a bar, confidence marked.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!(
            "calibration: ECE {:.3} (10 bins), mean confidence {:.3}\n",
            self.ece, self.mean_confidence
        );
        for bin in self.bins.iter().filter(|b| b.cells > 0) {
            let bar = "#".repeat((bin.accuracy * 40.0).round() as usize);
            let _ = writeln!(
                out,
                "  {:.1}-{:.1} {:>5} cells  conf {:.3}  acc {:.3}  {bar}",
                bin.lower, bin.upper, bin.cells, bin.mean_confidence, bin.accuracy
            );
        }
        out
    }
}

/// The expert-labelled cells of a labels file, found in the corpus and featurised.
pub struct LabelledCells {
    pub truth: Vec<Stage>,
    pub cells: Vec<coral_core::CellFeatures>,
    /// The notebook of each cell.
    pub notebooks: Vec<String>,
    /// The weak label of each cell under the paper's seed table alone.
    pub paper_labels: Vec<Option<Stage>>,
    /// The weak label of each cell under the same seeds without the data-flow rules.
    pub no_flow_labels: Vec<Option<Stage>>,
    pub missing: usize,
}

/// Reads a labels file and featurises the labelled cells' notebooks from `corpus`.
pub fn labelled_cells(
    labels_path: &Path,
    corpus: &Path,
    seeds: &SeedTable,
) -> Result<LabelledCells> {
    let text = std::fs::read_to_string(labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    let labelled = labels::parse_labels(&text)
        .with_context(|| format!("labels file {}", labels_path.display()))?;
    let wanted: std::collections::HashSet<&str> =
        labelled.iter().map(|l| l.notebook.as_str()).collect();
    let corpus = load_corpus(corpus, (1, None))?;
    let kept = Corpus {
        notebooks: corpus
            .notebooks
            .into_iter()
            .filter(|nb| wanted.contains(nb.id.as_str()))
            .collect(),
        skipped: Vec::new(),
    };
    let featurize_by_id = |seeds: &SeedTable| -> HashMap<String, Vec<coral_core::CellFeatures>> {
        let features = featurize_corpus(&kept, seeds);
        kept.notebooks
            .iter()
            .map(|nb| nb.id.clone())
            .zip(features)
            .collect()
    };
    let by_id = featurize_by_id(seeds);
    let (found, missing) = labels::match_cells(&labelled, &by_id);
    if found.is_empty() {
        bail!(
            "none of the {} labelled cells was found in the corpus",
            labelled.len()
        );
    }
    let paper_by_id = featurize_by_id(&SeedTable::paper());
    let (paper_found, _) = labels::match_cells(&labelled, &paper_by_id);
    let no_flow_by_id = featurize_by_id(&seeds.clone().without_flow_rules());
    let (no_flow_found, _) = labels::match_cells(&labelled, &no_flow_by_id);
    Ok(LabelledCells {
        truth: found.iter().map(|(l, _)| l.stage).collect(),
        cells: found.iter().map(|(_, c)| (*c).clone()).collect(),
        notebooks: found.iter().map(|(l, _)| l.notebook.clone()).collect(),
        paper_labels: paper_found
            .iter()
            .map(|(_, c)| c.weak_label.as_ref().map(|l| l.stage))
            .collect(),
        no_flow_labels: no_flow_found
            .iter()
            .map(|(_, c)| c.weak_label.as_ref().map(|l| l.stage))
            .collect(),
        missing: missing.len(),
    })
}

/// The sequence HMM over each notebook's cells in notebook order, as the server runs it
/// (every non-empty code cell of a labelled notebook is labelled, so these are its cells).
fn smooth_by_notebook(
    table: &coral_core::Transitions,
    labelled: &LabelledCells,
    probs: &[[f32; Stage::OUTPUTS]],
) -> Vec<[f32; Stage::OUTPUTS]> {
    let mut by_notebook: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, nb) in labelled.notebooks.iter().enumerate() {
        by_notebook.entry(nb.as_str()).or_default().push(i);
    }
    let mut out = probs.to_vec();
    for members in by_notebook.values_mut() {
        members.sort_by_key(|&i| labelled.cells[i].index);
        let cells: Vec<Option<[f32; Stage::OUTPUTS]>> =
            members.iter().map(|&i| Some(probs[i])).collect();
        for (&i, smoothed) in members.iter().zip(table.smooth(&cells)) {
            if let Some(p) = smoothed {
                out[i] = p;
            }
        }
    }
    out
}

/// `coral-train eval`: the model beside the heuristic and majority baselines on a labelled file.
/// The majority class is taken from the weak labels of `corpus` (never from the expert labels).
#[allow(clippy::too_many_arguments)]
pub fn eval(
    labels_path: &Path,
    corpus: &Path,
    seeds: &SeedTable,
    vocab: Option<&Vocab>,
    options: EncodeOptions,
    majority_stage: Stage,
    model_name: &str,
    predictor: Option<&mut Predictor<'_>>,
    sequence: Option<&coral_core::Transitions>,
) -> Result<EvalReport> {
    let labelled = labelled_cells(labels_path, corpus, seeds)?;
    let truth = &labelled.truth;
    let cells: Vec<&coral_core::CellFeatures> = labelled.cells.iter().collect();
    let mut scores = Vec::new();
    let mut calibration = None;
    if let (Some(predict), Some(vocab)) = (predictor, vocab) {
        let inputs: Vec<coral_core::ModelInput> = cells
            .iter()
            .map(|c| c.graph.encode(vocab, options))
            .collect();
        let refs: Vec<&coral_core::ModelInput> = inputs.iter().collect();
        let mut probs = predict(&refs)?;
        let predicted: Vec<Stage> = probs.iter().map(crate::eval::predicted_stage).collect();
        scores.push(labels::score(model_name, truth, &predicted));
        if let Some(table) = sequence {
            probs = smooth_by_notebook(table, &labelled, &probs);
            let predicted: Vec<Stage> = probs.iter().map(crate::eval::predicted_stage).collect();
            scores.push(labels::score(
                &format!("{model_name} + sequence (strength {})", table.strength),
                truth,
                &predicted,
            ));
        }
        calibration = Some(CalibrationReport::from_probs(&probs, truth));
    }
    let heuristic = labels::heuristic_predictions(&cells, 0x5EED);
    scores.push(labels::score(
        "expert heuristics (+random)",
        truth,
        &heuristic,
    ));
    scores.push(labels::score(
        "heuristics, no data flow (+random)",
        truth,
        &labels::fill_at_random(&labelled.no_flow_labels, 0x5EED),
    ));
    scores.push(labels::score(
        "paper's seeds only (+random)",
        truth,
        &labels::fill_at_random(&labelled.paper_labels, 0x5EED),
    ));
    let covered: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].weak_label.is_some())
        .collect();
    let covered_truth: Vec<Stage> = covered.iter().map(|&i| truth[i]).collect();
    let covered_pred: Vec<Stage> = covered.iter().map(|&i| heuristic[i]).collect();
    let mut on_covered = labels::score(
        "heuristics, covered cells only",
        &covered_truth,
        &covered_pred,
    );
    on_covered.name = format!(
        "heuristics on covered ({:.0}%)",
        100.0 * covered.len() as f64 / cells.len() as f64
    );
    scores.push(on_covered);
    scores.push(labels::score(
        &format!("majority class ({majority_stage})"),
        truth,
        &labels::majority_predictions(truth.len(), majority_stage),
    ));
    Ok(EvalReport {
        labels: labels_path.to_owned(),
        cells: truth.len(),
        missing_cells: labelled.missing,
        majority_stage,
        scores,
        calibration,
    })
}

/// `coral-train weak-report`: each weak rule's corpus coverage and dev precision.
pub fn weak_report(
    labels_path: &Path,
    corpus: &Path,
    sample: Sample,
    seeds: &SeedTable,
) -> Result<crate::weak_report::WeakReport> {
    let labelled = labelled_cells(labels_path, corpus, seeds)?;
    let dev: Vec<(Stage, &coral_core::CellFeatures)> = labelled
        .truth
        .iter()
        .copied()
        .zip(labelled.cells.iter())
        .collect();
    let corpus = load_corpus(corpus, sample)?;
    let features = featurize_corpus(&corpus, seeds);
    Ok(crate::weak_report::WeakReport::build(
        features.iter().flatten(),
        &dev,
    ))
}

/// `coral-train baseline`: logistic regression on the corpus's weak labels (training
/// notebooks), its weak-label accuracy on the validation notebooks, and its scores on a
/// labelled file.
pub fn baseline(
    labels_path: &Path,
    corpus: &Path,
    sample: Sample,
    seeds: &SeedTable,
    config: crate::baseline::BaselineConfig,
    validation_fraction: f64,
    split_seed: u64,
) -> Result<(Scores, f64, CalibrationReport)> {
    use crate::baseline::{features, weak_split, Baseline};
    let notebooks = load_corpus(corpus, sample)?;
    let featurized = featurize_corpus(&notebooks, seeds);
    let (train, validation) = weak_split(&notebooks, &featurized, validation_fraction, split_seed);
    eprintln!(
        "baseline: {} weak-labelled training cells, {} validation cells",
        train.len(),
        validation.len()
    );
    let model = Baseline::train(&train, config);
    let right = validation
        .iter()
        .filter(|(x, s)| crate::eval::predicted_stage(&model.predict(x)) == *s)
        .count();
    let weak_accuracy = right as f64 / validation.len().max(1) as f64;
    let labelled = labelled_cells(labels_path, corpus, seeds)?;
    let probs: Vec<[f32; Stage::OUTPUTS]> = labelled
        .cells
        .iter()
        .map(|c| model.predict(&features(c)))
        .collect();
    let predicted: Vec<Stage> = probs.iter().map(crate::eval::predicted_stage).collect();
    let scores = labels::score(
        "logistic regression (weak labels)",
        &labelled.truth,
        &predicted,
    );
    let calibration = CalibrationReport::from_probs(&probs, &labelled.truth);
    Ok((scores, weak_accuracy, calibration))
}
