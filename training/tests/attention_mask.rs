//! The graph mask does what it says: masked (query, key) pairs get exactly zero attention,
//! padding is invisible, and a cell's output does not depend on what it is batched with.

// Exact zeros are the point here, and the loops index three parallel buffers.
#![allow(
    clippy::float_cmp,
    clippy::many_single_char_names,
    clippy::needless_range_loop
)]

mod common;

use burn::prelude::*;
use coral_core::ModelInput;
use coral_training::batch::collate;
use coral_training::eval::predict;
use coral_training::synthetic::random_inputs;
use coral_training::ModelConfig;

const VOCAB: usize = 100;

fn inputs() -> Vec<ModelInput> {
    random_inputs(5, 6, 3, 30, VOCAB)
}

fn attention_check(config: &ModelConfig, expect_graph: bool) {
    let device = Device::flex();
    device.seed(3);
    let model = config.init(&device).expect("config");
    let inputs = inputs();
    let host = collate(inputs.iter().map(|i| (i, None)), config.max_len);
    let batch = host.to_device(&device);
    let x = model.embed(batch.tokens, batch.segments);
    let mask = model.additive_mask(batch.mask);
    let weights = model.layers[0]
        .attention_weights(x, &mask)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    let (b, l, h) = (host.size, host.len, config.heads);
    let (mut zeros, mut open) = (0, 0);
    for cell in 0..b {
        let n = inputs[cell].len();
        for head in 0..h {
            for i in 0..l {
                let row = &weights[((cell * h + head) * l + i) * l..][..l];
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "row sums to {sum}");
                for (j, &w) in row.iter().enumerate() {
                    let allowed = if expect_graph {
                        host.mask[(cell * l + i) * l + j]
                    } else {
                        // Full attention: every real key (padding rows see real keys too).
                        j < n
                    };
                    if allowed {
                        assert!(
                            w > 0.0,
                            "allowed pair ({i},{j}) of cell {cell} has weight 0"
                        );
                        open += 1;
                    } else {
                        assert_eq!(
                            w, 0.0,
                            "masked pair ({i},{j}) of cell {cell} has weight {w}"
                        );
                        zeros += 1;
                    }
                }
            }
        }
    }
    assert!(zeros > 0 && open > 0);
}

#[test]
fn masked_pairs_get_zero_attention_weight() {
    attention_check(&common::tiny_config(VOCAB), true);
}

#[test]
fn full_attention_opens_the_graph_but_not_padding() {
    let config = ModelConfig {
        full_attention: true,
        ..common::tiny_config(VOCAB)
    };
    attention_check(&config, false);
}

#[test]
fn a_cells_output_does_not_depend_on_its_batch() {
    let device = Device::flex();
    device.seed(4);
    let config = ModelConfig {
        position_embedding: true,
        ..common::tiny_config(VOCAB)
    };
    let model = config.init(&device).expect("config");
    let inputs = inputs();
    let refs: Vec<&ModelInput> = inputs.iter().collect();
    let together = predict(&model, &refs, config.max_len, 16, &device);
    for (i, input) in inputs.iter().enumerate() {
        let alone = predict(&model, &[input], config.max_len, 1, &device);
        let diff = alone[0]
            .iter()
            .zip(&together[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "cell {i}: batched and alone differ by {diff}");
    }
}

#[test]
fn padding_tokens_are_invisible() {
    let device = Device::flex();
    device.seed(6);
    let config = common::tiny_config(VOCAB);
    let model = config.init(&device).expect("config");
    let inputs = inputs();
    let mut host = collate(inputs.iter().map(|i| (i, None)), config.max_len);
    let run = |host: &coral_training::batch::HostBatch| {
        let b = host.to_device(&device);
        model
            .forward(b.tokens, b.segments, b.mask)
            .p_stage
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32")
    };
    let before = run(&host);
    // Scribble over every padding position.
    for cell in 0..host.size {
        for pos in inputs[cell].len()..host.len {
            host.tokens[cell * host.len + pos] = 42;
            host.segments[cell * host.len + pos] = 1;
        }
    }
    let after = run(&host);
    let diff = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-6, "padding changed the output by {diff}");
}
