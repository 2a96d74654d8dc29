//! Throughput at the paper's sizes (`d_model` 256, 4 layers, 4 heads, FFN 1024, 50 topics,
//! vocabulary 32k): a full training step (forward, the four losses, backward, `AdamW`) at batch 16
//! with every cell L = 64 and L = 160 positions, burn inference, and ONNX Runtime inference of
//! the exported model.
//!
//! `cargo bench -p coral-training --bench train_step` (env: `CORAL_BENCH_STEPS`, default 5
//! timed repetitions after one warm-up; `CORAL_BENCH_THREADS` for ONNX Runtime's intra-op
//! threads, default 2).

use std::time::Instant;

use burn::module::Module;
use burn::prelude::*;
use coral_core::{ModelInput, Stage};
use coral_training::batch::{collate, HostBatch};
use coral_training::onnx::runtime::OnnxSession;
use coral_training::onnx::{export_onnx_bytes, ExportMetadata};
use coral_training::rng::SplitMix64;
use coral_training::synthetic::random_input;
use coral_training::train::{build_optimizer, step_negatives, train_step};
use coral_training::{ModelConfig, TrainConfig};

const BATCH: usize = 16;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn batch_of(len: usize, size: usize, vocab: usize, seed: u64) -> HostBatch {
    let mut rng = SplitMix64::new(seed);
    let inputs: Vec<ModelInput> = (0..size)
        .map(|_| {
            let markdown = rng.below(len / 8 + 1);
            random_input(&mut rng, len, markdown, |r, _| {
                3 + r.below(vocab - 3) as u32
            })
        })
        .collect();
    collate(
        inputs
            .iter()
            .enumerate()
            .map(|(i, input)| (input, Stage::from_index(i % 7))),
        len,
    )
}

fn report(what: &str, cells: usize, secs: &[f64]) {
    let mut sorted = secs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!(
        "{what:<44} median {:>8.1} ms   {:>8.1} cells/s   (min {:.1} ms, n = {})",
        median * 1e3,
        cells as f64 / median,
        sorted[0] * 1e3,
        sorted.len()
    );
}

fn main() {
    let reps = env_usize("CORAL_BENCH_STEPS", 5).max(1);
    let threads = env_usize("CORAL_BENCH_THREADS", 2);
    let config = ModelConfig::default();
    let train_config = TrainConfig {
        model: config.clone(),
        ..TrainConfig::default()
    };
    println!(
        "CORAL at paper sizes: vocab {}, d_model {}, {} layers, {} heads, FFN {}, {} topics; batch {BATCH}; {reps} timed runs",
        config.vocab_size, config.d_model, config.layers, config.heads, config.ffn, config.topics
    );

    let ad = Device::flex().autodiff();
    ad.seed(1);
    let mut model = config.init(&ad).expect("config");
    let mut optimizer = build_optimizer(&train_config);
    let loss = &train_config.loss;
    let weights = loss.weights_at(u64::MAX, &config);

    for len in [64usize, 160] {
        let host = batch_of(len, BATCH, config.vocab_size, len as u64);
        let mut secs = Vec::new();
        for step in 0..=reps as u64 {
            let negatives = step_negatives(7, step, host.size, loss.negatives);
            let started = Instant::now();
            let (next, _) = train_step(
                model,
                &mut optimizer,
                &host,
                &negatives,
                weights,
                loss.normalize_hinge,
                1e-4,
                &ad,
            );
            model = next;
            if step > 0 {
                secs.push(started.elapsed().as_secs_f64());
            }
        }
        report(
            &format!("train step (burn Flex), {BATCH} x {len}"),
            BATCH,
            &secs,
        );
    }

    let plain = Device::flex();
    let inference = model.valid();
    let shapes = [(1usize, 160usize), (BATCH, 64), (BATCH, 160)];
    for (size, len) in shapes {
        let host = batch_of(len, size, config.vocab_size, 99);
        let mut secs = Vec::new();
        for rep in 0..=reps {
            let started = Instant::now();
            let b = host.to_device(&plain);
            let out = inference.forward(b.tokens, b.segments, b.mask);
            let _ = out.p_stage.into_data();
            if rep > 0 {
                secs.push(started.elapsed().as_secs_f64());
            }
        }
        report(
            &format!("inference (burn Flex), {size} x {len}"),
            size,
            &secs,
        );
    }

    let bytes = export_onnx_bytes(&inference, &config, &ExportMetadata::default()).expect("export");
    match OnnxSession::from_bytes(&bytes, threads) {
        Ok(mut session) => {
            for (size, len) in shapes {
                let host = batch_of(len, size, config.vocab_size, 99);
                let mut secs = Vec::new();
                for rep in 0..=reps {
                    let started = Instant::now();
                    session.run(&host).expect("ONNX Runtime runs");
                    if rep > 0 {
                        secs.push(started.elapsed().as_secs_f64());
                    }
                }
                report(
                    &format!("inference (ONNX Runtime, {threads} threads), {size} x {len}"),
                    size,
                    &secs,
                );
            }
        }
        Err(e) => println!("ONNX Runtime inference skipped: {e}"),
    }
}
