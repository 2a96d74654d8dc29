//! The corpus side of training: reading notebooks (shared-corpus shards or folders of
//! `.ipynb` / percent scripts), featurizing them with coral-core, counting tokens for the
//! vocabulary, and the corpus statistics report.

// The corpus names its files in lower case (`shard-*.jsonl.gz`, `*.ipynb`).
#![allow(clippy::case_sensitive_file_extension_comparisons)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use coral_core::{
    featurize_notebook, CellFeatures, CorpusRecord, EncodeOptions, Notebook, SeedTable, Stage,
    Vocab,
};
use rayon::prelude::*;

use crate::train::TrainSample;

/// A notebook of the corpus and a stable id (the shard's `id`, or the file path).
#[derive(Debug, Clone)]
pub struct CorpusNotebook {
    pub id: String,
    pub notebook: Notebook,
}

/// Why the corpus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no shard-*.jsonl.gz, .ipynb or percent-script .py files found")]
    Empty { path: PathBuf },
}

/// What was read, and what could not be.
#[derive(Debug, Default)]
pub struct Corpus {
    pub notebooks: Vec<CorpusNotebook>,
    /// `(where, why)` for each notebook that could not be parsed; reading goes on.
    pub skipped: Vec<(String, String)>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a corpus: a `.jsonl.gz` shard, an `.ipynb`, a percent script, or a folder holding any
/// of these (walked recursively, in sorted order, skipping hidden folders and checkpoints).
/// `limit` caps the number of notebooks.
pub fn read_corpus(path: &Path, limit: Option<usize>) -> Result<Corpus, CorpusError> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    if files.is_empty() {
        return Err(CorpusError::Empty {
            path: path.to_owned(),
        });
    }
    let limit = limit.unwrap_or(usize::MAX);
    let mut corpus = Corpus::default();
    for file in files {
        if corpus.notebooks.len() >= limit {
            break;
        }
        let name = file.to_string_lossy().into_owned();
        if name.ends_with(".jsonl.gz") || name.ends_with(".jsonl") {
            let raw = std::fs::File::open(&file).map_err(io_error(&file))?;
            let reader: Box<dyn BufRead> = if name.ends_with(".gz") {
                Box::new(BufReader::new(flate2::read::GzDecoder::new(raw)))
            } else {
                Box::new(BufReader::new(raw))
            };
            for (n, line) in reader.lines().enumerate() {
                if corpus.notebooks.len() >= limit {
                    break;
                }
                let line = line.map_err(io_error(&file))?;
                match CorpusRecord::from_json_line(&line) {
                    Ok(record) => corpus.notebooks.push(CorpusNotebook {
                        id: record.id,
                        notebook: record.notebook,
                    }),
                    Err(e) => corpus
                        .skipped
                        .push((format!("{name}:{}", n + 1), e.to_string())),
                }
            }
        } else {
            let bytes = std::fs::read(&file).map_err(io_error(&file))?;
            let parsed = if name.ends_with(".ipynb") {
                Notebook::from_ipynb(&bytes).map_err(|e| e.to_string())
            } else {
                Ok(Notebook::from_percent_script(&String::from_utf8_lossy(
                    &bytes,
                )))
            };
            match parsed {
                Ok(notebook) => corpus.notebooks.push(CorpusNotebook { id: name, notebook }),
                Err(e) => corpus.skipped.push((name, e)),
            }
        }
    }
    Ok(corpus)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    if path.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io_error(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if entry.is_dir() {
            if !name.starts_with('.') {
                collect_files(&entry, out)?;
            }
        } else if name.ends_with(".ipynb")
            || name.ends_with(".jsonl.gz")
            || is_percent_script(&entry)
        {
            out.push(entry);
        }
    }
    Ok(())
}

fn is_percent_script(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
        && std::fs::read_to_string(path).is_ok_and(|text| Notebook::is_percent_script(&text))
}

/// Featurized notebooks, in corpus order (parallel over notebooks).
pub fn featurize_corpus(corpus: &Corpus, seeds: &SeedTable) -> Vec<Vec<CellFeatures>> {
    corpus
        .notebooks
        .par_iter()
        .map(|nb| featurize_notebook(&nb.notebook, seeds))
        .collect()
}

/// Token counts over all non-empty code cells (code and markdown positions).
pub fn count_tokens(features: &[Vec<CellFeatures>]) -> HashMap<String, u64> {
    features
        .par_iter()
        .fold(HashMap::new, |mut counts: HashMap<String, u64>, cells| {
            for cell in cells.iter().filter(|c| !c.is_empty) {
                for token in &cell.graph.tokens {
                    *counts.entry(token.clone()).or_default() += 1;
                }
            }
            counts
        })
        .reduce(HashMap::new, |mut a, b| {
            for (token, n) in b {
                *a.entry(token).or_default() += n;
            }
            a
        })
}

/// A stable 64-bit id for a notebook id string (FNV-1a), for the by-notebook split.
pub fn notebook_key(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Training samples: every non-empty code cell, encoded with `vocab`, with its weak label.
pub fn samples(
    corpus: &Corpus,
    features: &[Vec<CellFeatures>],
    vocab: &Vocab,
    options: EncodeOptions,
) -> Vec<TrainSample> {
    corpus
        .notebooks
        .par_iter()
        .zip(features.par_iter())
        .flat_map_iter(|(nb, cells)| {
            let key = notebook_key(&nb.id);
            cells
                .iter()
                .filter(|c| !c.is_empty)
                .map(move |c| TrainSample {
                    input: c.graph.encode(vocab, options),
                    label: c.weak_label.as_ref().map(|l| l.stage),
                    notebook: key,
                })
        })
        .collect()
}

/// The corpus report of `coral-train stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CorpusStats {
    pub notebooks: usize,
    pub skipped_notebooks: usize,
    pub code_cells: usize,
    pub empty_code_cells: usize,
    pub parse_error_rate: f64,
    pub magic_cell_rate: f64,
    pub markdown_context_rate: f64,
    /// Code positions (syntax nodes + value subtokens) per non-empty cell.
    pub positions_mean: f64,
    pub positions_p50: usize,
    pub positions_p90: usize,
    pub positions_p99: usize,
    /// Share of non-empty cells whose [CLS] + code positions exceed the window.
    pub share_over_window: f64,
    pub window: usize,
    /// Selected syntax nodes per non-empty cell.
    pub syntax_nodes_mean: f64,
    pub weak_label_coverage: f64,
    pub label_distribution: BTreeMap<Stage, usize>,
    /// Cells per rule kind (`import-share`, `seed`, `one-line-expression`, `markdown`).
    pub rule_distribution: BTreeMap<String, usize>,
    /// The most frequent seeds that fired.
    pub top_seeds: Vec<(String, usize)>,
}

pub fn corpus_stats(corpus: &Corpus, features: &[Vec<CellFeatures>], window: usize) -> CorpusStats {
    let cells: Vec<&CellFeatures> = features.iter().flatten().collect();
    let non_empty: Vec<&&CellFeatures> = cells.iter().filter(|c| !c.is_empty).collect();
    let n = non_empty.len().max(1) as f64;
    let mut positions: Vec<usize> = non_empty.iter().map(|c| c.graph.code_positions).collect();
    positions.sort_unstable();
    let pct = |q: f64| -> usize {
        if positions.is_empty() {
            return 0;
        }
        let rank = ((q * positions.len() as f64).ceil() as usize).clamp(1, positions.len());
        positions[rank - 1]
    };
    let mut label_distribution: BTreeMap<Stage, usize> =
        Stage::ALL.iter().map(|&s| (s, 0)).collect();
    let mut rule_distribution: BTreeMap<String, usize> = BTreeMap::new();
    let mut seeds: HashMap<String, usize> = HashMap::new();
    for cell in &non_empty {
        if let Some(label) = &cell.weak_label {
            *label_distribution.entry(label.stage).or_default() += 1;
            let rule = label.rule.to_string();
            let kind = rule.split(':').next().unwrap_or_default().to_owned();
            *rule_distribution.entry(kind).or_default() += 1;
            if let coral_core::WeakRule::Seed(name) = &label.rule {
                *seeds.entry(name.clone()).or_default() += 1;
            }
        }
    }
    let mut top_seeds: Vec<(String, usize)> = seeds.into_iter().collect();
    top_seeds.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top_seeds.truncate(15);
    let labelled: usize = label_distribution.values().sum();
    CorpusStats {
        notebooks: corpus.notebooks.len(),
        skipped_notebooks: corpus.skipped.len(),
        code_cells: cells.len(),
        empty_code_cells: cells.len() - non_empty.len(),
        parse_error_rate: non_empty.iter().filter(|c| c.syntax_error).count() as f64 / n,
        magic_cell_rate: non_empty.iter().filter(|c| c.magics > 0).count() as f64 / n,
        markdown_context_rate: cells
            .iter()
            .filter(|c| c.markdown_context.is_some())
            .count() as f64
            / cells.len().max(1) as f64,
        positions_mean: positions.iter().sum::<usize>() as f64 / n,
        positions_p50: pct(0.5),
        positions_p90: pct(0.9),
        positions_p99: pct(0.99),
        share_over_window: positions.iter().filter(|&&p| p + 1 > window).count() as f64 / n,
        window,
        syntax_nodes_mean: non_empty.iter().map(|c| c.syntax_nodes as f64).sum::<f64>() / n,
        weak_label_coverage: labelled as f64 / n,
        label_distribution,
        rule_distribution,
        top_seeds,
    }
}

impl CorpusStats {
    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let labelled: usize = self.label_distribution.values().sum();
        let _ = writeln!(
            out,
            "notebooks            {} ({} could not be read)",
            self.notebooks, self.skipped_notebooks
        );
        let _ = writeln!(
            out,
            "code cells           {} ({} empty)",
            self.code_cells, self.empty_code_cells
        );
        let _ = writeln!(
            out,
            "parse errors         {} of non-empty cells",
            pct(self.parse_error_rate)
        );
        let _ = writeln!(out, "cells with magics    {}", pct(self.magic_cell_rate));
        let _ = writeln!(
            out,
            "markdown context     {} of code cells (markdown ≤ 3 cells back)",
            pct(self.markdown_context_rate)
        );
        let _ = writeln!(
            out,
            "code positions/cell  mean {:.1}, p50 {}, p90 {}, p99 {}; over the {}-position window: {}",
            self.positions_mean, self.positions_p50, self.positions_p90, self.positions_p99, self.window, pct(self.share_over_window)
        );
        let _ = writeln!(
            out,
            "syntax nodes/cell    mean {:.1}",
            self.syntax_nodes_mean
        );
        let _ = writeln!(
            out,
            "weak-label coverage  {} ({labelled} cells)",
            pct(self.weak_label_coverage)
        );
        for (stage, count) in &self.label_distribution {
            let _ = writeln!(
                out,
                "  {:<9} {:>8}  {}",
                stage.as_str(),
                count,
                pct(*count as f64 / labelled.max(1) as f64)
            );
        }
        out.push_str("rules that fired\n");
        for (rule, count) in &self.rule_distribution {
            let _ = writeln!(out, "  {rule:<20} {count:>8}");
        }
        out.push_str("top seeds\n");
        for (seed, count) in &self.top_seeds {
            let _ = writeln!(out, "  {seed:<45} {count:>8}");
        }
        out
    }
}
