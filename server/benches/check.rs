//! Throughput of `coral-lsp --check` minus file IO: cells/s to featurize and label corpus
//! notebooks, with the model (ONNX Runtime) and with the heuristics only.
//!
//! ```text
//! cargo bench -p coral-server --bench check -- [--notebooks 1000] [--threads N]
//!     [--batch-size 32] [--sessions N] [--device cpu|auto|cuda] [--model DIR] [--random]
//!     [--weights f32|int8] [--ort-threads N] [--save-model DIR]
//! ```
//!
//! Notebooks come from `../shared/data/notebooks/shard-*.jsonl.gz` (or `$CORAL_CORPUS`), in
//! shard order. The model is `--model DIR`, else the repository's `models/` when it holds one
//! (and `--random` is not given), else a randomly initialised model of the full paper size
//! (`d_model` 256, 4 layers, 4 heads, FFN 1024, 50 topics, window 160) with a vocabulary built
//! from the same notebooks: speed does not depend on the weights. `--weights int8` exports it
//! with int8 encoder weights; `--save-model DIR` keeps that export, for later runs with
//! `--model DIR`. Relative paths are from the repository root. Each engine starts with an empty
//! cache, as one `--check` run does.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use coral_core::{
    featurize_notebook, CellFeatures, CorpusRecord, EncodeOptions, Notebook, SeedTable, Vocab,
    FEATURIZER_VERSION,
};
use coral_server::engine::Device as EngineDevice;
use coral_server::{Engine, EngineConfig};
use coral_training::onnx::calibrate::ActivationRanges;
use coral_training::onnx::{export_onnx, ExportMetadata, WeightPrecision};
use coral_training::ModelConfig;

struct Args {
    notebooks: usize,
    threads: Option<usize>,
    /// ONNX Runtime intra-op threads per session (default: as `--check` shares the threads).
    ort_threads: Option<usize>,
    batch_size: usize,
    /// Default: as `--check` chooses ([`coral_server::settings::share_threads`]).
    sessions: Option<usize>,
    device: EngineDevice,
    model: Option<PathBuf>,
    random: bool,
    weights: WeightPrecision,
    save_model: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        notebooks: 1000,
        threads: None,
        ort_threads: None,
        batch_size: 32,
        sessions: None,
        device: EngineDevice::Cpu,
        model: None,
        random: false,
        weights: WeightPrecision::F32,
        save_model: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match arg.as_str() {
            "--notebooks" => args.notebooks = value().parse().unwrap_or(args.notebooks),
            "--threads" => args.threads = value().parse().ok(),
            "--ort-threads" => args.ort_threads = value().parse().ok(),
            "--batch-size" => args.batch_size = value().parse().unwrap_or(args.batch_size),
            "--sessions" => args.sessions = value().parse().ok(),
            "--device" => args.device = value().parse().unwrap_or(EngineDevice::Cpu),
            "--model" => args.model = Some(from_repository_root(&value())),
            "--random" => args.random = true,
            "--weights" => args.weights = value().parse().unwrap_or(WeightPrecision::F32),
            "--save-model" => args.save_model = Some(from_repository_root(&value())),
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    args
}

/// `cargo bench` runs in `server/`: relative paths are taken from the repository root, where
/// the commands in the READMEs are typed.
fn from_repository_root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("CORAL_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/notebooks"),
        PathBuf::from,
    )
}

fn read_corpus(limit: usize) -> Vec<Notebook> {
    let dir = corpus_dir();
    let mut shards: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".jsonl.gz"))
        })
        .collect();
    shards.sort();
    let mut out = Vec::new();
    for shard in shards {
        let file = std::fs::File::open(&shard).expect("open shard");
        let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Ok(record) = CorpusRecord::from_json_line(&line) {
                out.push(record.notebook);
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

/// A full-size random model and a corpus vocabulary, exported into `dir`.
fn export_full_size(dir: &Path, notebooks: &[Notebook], weights: WeightPrecision) {
    let seeds = SeedTable::builtin();
    let features: Vec<Vec<CellFeatures>> = notebooks
        .iter()
        .map(|nb| featurize_notebook(nb, &seeds))
        .collect();
    let mut counts = std::collections::HashMap::<String, u64>::new();
    for cell in features.iter().flatten() {
        for token in &cell.graph.tokens {
            *counts.entry(token.clone()).or_default() += 1;
        }
    }
    let vocab = Vocab::build(counts, 2, 32_000);
    let config = ModelConfig {
        vocab_size: vocab.len(),
        ..ModelConfig::default()
    };
    let device = Device::flex();
    device.seed(7);
    let model = config.init(&device).expect("model config");
    let int8 = (weights == WeightPrecision::Int8).then(|| {
        let options = EncodeOptions {
            max_len: config.max_len,
            markdown: true,
        };
        let inputs: Vec<_> = features
            .iter()
            .step_by(10)
            .flatten()
            .filter(|c| !c.is_empty)
            .map(|c| c.graph.encode(&vocab, options))
            .collect();
        ActivationRanges::measure(&model, &inputs, config.max_len, 64, &device)
    });
    let metadata = ExportMetadata {
        featurizer_version: FEATURIZER_VERSION.to_owned(),
        vocab_sha256: vocab.sha256().to_owned(),
        training: serde_json::json!({"data": "none: random weights for the speed benchmark"}),
        int8,
        ..ExportMetadata::default()
    };
    export_onnx(
        &model,
        &config,
        &metadata,
        &dir.join(coral_core::artefact::MODEL_FILE),
    )
    .expect("export");
    std::fs::write(dir.join("vocab.json"), vocab.to_json()).expect("vocab");
}

/// Labels `notebooks` in `--check`'s chunks; returns (code cells, seconds).
fn time_check(engine: &Engine, notebooks: &[Notebook]) -> (usize, f64) {
    let start = Instant::now();
    let mut cells = 0;
    for chunk in notebooks.chunks(coral_server::check::CHUNK) {
        for labels in engine.label_notebooks(chunk) {
            cells += labels.cells.len();
        }
    }
    (cells, start.elapsed().as_secs_f64())
}

fn main() {
    let args = parse_args();
    if let Some(threads) = args.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let load = Instant::now();
    let notebooks = read_corpus(args.notebooks);
    eprintln!(
        "read {} notebooks in {:.1}s",
        notebooks.len(),
        load.elapsed().as_secs_f64()
    );

    let heuristics = Engine::heuristics_only(SeedTable::builtin());
    let (cells, secs) = time_check(&heuristics, &notebooks);
    println!(
        "heuristics-only: {cells} cells in {secs:.2}s = {:.0} cells/s",
        cells as f64 / secs
    );

    let temp = tempfile::tempdir().expect("temp dir");
    let model_dir = args.model.clone().unwrap_or_else(|| {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        if shipped.join(coral_core::artefact::MODEL_FILE).is_file() && !args.random {
            shipped
        } else {
            let dir = args
                .save_model
                .clone()
                .unwrap_or_else(|| temp.path().to_path_buf());
            eprintln!("exporting a full-size random model to {}", dir.display());
            std::fs::create_dir_all(&dir).expect("model dir");
            export_full_size(&dir, &notebooks, args.weights);
            dir
        }
    });
    let (sessions, session_threads) =
        coral_server::settings::share_threads(args.threads, args.sessions);
    let ort_threads = args.ort_threads.or(session_threads);
    let config = EngineConfig {
        model_dir: Some(model_dir),
        device: args.device,
        threads: ort_threads,
        batch_size: args.batch_size,
        sessions,
        ..EngineConfig::default()
    };
    match Engine::try_load(&config) {
        Ok(engine) => {
            let info = engine.model_info();
            if let (Some(vocab), Some(options)) = (engine.vocab(), engine.encode_options()) {
                let lengths: Vec<usize> = notebooks
                    .iter()
                    .flat_map(|nb| featurize_notebook(nb, engine.seeds()))
                    .filter(|c| !c.is_empty)
                    .map(|c| c.graph.encode(vocab, options).len())
                    .collect();
                let full = lengths.iter().filter(|&&l| l >= options.max_len).count();
                println!(
                    "model input: mean {:.1} positions per cell, {:.1}% of cells fill the {}-position window",
                    lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64,
                    100.0 * full as f64 / lengths.len().max(1) as f64,
                    options.max_len
                );
            }
            let (cells, secs) = time_check(&engine, &notebooks);
            let stats = engine.stats();
            println!(
                "model ({}, {}, batch {}, sessions {}, threads {}, ONNX Runtime threads {}): {cells} cells in {secs:.2}s = {:.0} cells/s ({} cells inferred in {} batches, {} cache/dedup hits)",
                info.path.map(|p| p.display().to_string()).unwrap_or_default(),
                info.provider.unwrap_or_default(),
                args.batch_size,
                sessions,
                args.threads.map_or_else(|| "default".to_owned(), |t| t.to_string()),
                ort_threads.map_or_else(|| "default".to_owned(), |t| t.to_string()),
                cells as f64 / secs,
                stats.cells_inferred,
                stats.batches,
                stats.cache_hits,
            );
        }
        Err(e) => println!("model: not run ({e})"),
    }
}
