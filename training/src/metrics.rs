//! The metrics log: one JSON object per line (`kind` = `step` or `epoch`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::loss::LossValues;

/// A training step (logged every `log_every` steps; loss values averaged over those steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: u64,
    pub epoch: usize,
    pub lr: f64,
    pub loss: LossValues,
    /// Training cells per second over the logged interval.
    pub cells_per_s: f64,
}

/// Validation results.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ValidationMetrics {
    pub cells: usize,
    /// Loss with the full (post-warm-up) weights, averaged over batches.
    pub loss: LossValues,
    /// Cells with a weak label.
    pub labelled: usize,
    /// Share of labelled cells whose argmax over the five stages is their weak label.
    pub weak_accuracy: Option<f64>,
}

/// The end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub step: u64,
    /// Mean training loss over the epoch's steps.
    pub train_loss: LossValues,
    pub validation: Option<ValidationMetrics>,
    pub improved: bool,
    pub elapsed_s: f64,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Line<'a> {
    Step(&'a StepRecord),
    Epoch(&'a EpochRecord),
}

/// Appends records to a JSONL file.
pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsLog {
    /// Opens `path` for appending (a resumed run continues the same log).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn step(&mut self, record: &StepRecord) -> std::io::Result<()> {
        self.write(&Line::Step(record))
    }

    pub fn epoch(&mut self, record: &EpochRecord) -> std::io::Result<()> {
        self.write(&Line::Epoch(record))?;
        self.out.flush()
    }

    fn write(&mut self, line: &Line<'_>) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, line)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Running mean of loss values.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossMean {
    sum: LossValues,
    count: usize,
}

impl LossMean {
    pub fn add(&mut self, v: &LossValues) {
        self.sum.total += v.total;
        self.sum.ce += v.ce;
        self.sum.entropy += v.entropy;
        self.sum.hinge += v.hinge;
        self.sum.ortho += v.ortho;
        self.count += 1;
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn mean(&self) -> LossValues {
        let n = self.count.max(1) as f64;
        LossValues {
            total: self.sum.total / n,
            ce: self.sum.ce / n,
            entropy: self.sum.entropy / n,
            hinge: self.sum.hinge / n,
            ortho: self.sum.ortho / n,
        }
    }
}
