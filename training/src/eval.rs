//! Inference and validation with a trained model (no autodiff, no dropout).

use burn::module::Module;
use burn::prelude::*;
use coral_core::{ModelInput, Stage};

use crate::batch::{collate, sample_negatives, sorted_batches};
use crate::loss::{coral_loss, LossConfig};
use crate::metrics::{LossMean, ValidationMetrics};
use crate::model::{CoralModel, ModelConfig};
use crate::rng::{mix, SplitMix64};

/// Stage probabilities (IMPORT, WRANGLE, EXPLORE, MODEL, EVALUATE, NONE) for each input, in
/// input order. Inputs longer than `max_len` are truncated to it; inputs must be valid
/// ([`crate::batch::validate_input`]).
pub fn predict(
    model: &CoralModel,
    inputs: &[&ModelInput],
    max_len: usize,
    batch_size: usize,
    device: &Device,
) -> Vec<[f32; Stage::OUTPUTS]> {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let lengths: Vec<usize> = inputs.iter().map(|i| i.len().min(max_len)).collect();
    let mut out = vec![[0.0f32; Stage::OUTPUTS]; inputs.len()];
    for indices in sorted_batches(&lengths, batch_size) {
        let host = collate(indices.iter().map(|&i| (inputs[i], None)), max_len);
        let batch = host.to_device(&device);
        let probs = model
            .forward(batch.tokens, batch.segments, batch.mask)
            .p_stage
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        for (row, &i) in indices.iter().enumerate() {
            if let Some(p) = probs.get(row * Stage::OUTPUTS..(row + 1) * Stage::OUTPUTS) {
                out[i].copy_from_slice(p);
            }
        }
    }
    out
}

/// The predicted stage: argmax over the five real stages (the dummy stage never wins).
pub fn predicted_stage(probs: &[f32; Stage::OUTPUTS]) -> Stage {
    let mut best = 0;
    for i in 1..Stage::ALL.len() {
        if probs[i] > probs[best] {
            best = i;
        }
    }
    Stage::ALL[best]
}

/// Loss (with the full, post-warm-up weights) and weak-label accuracy over `samples`.
/// Negatives are drawn deterministically, so two evaluations of one model agree.
pub fn evaluate(
    model: &CoralModel,
    samples: &[(&ModelInput, Option<Stage>)],
    model_config: &ModelConfig,
    loss_config: &LossConfig,
    batch_size: usize,
    device: &Device,
) -> ValidationMetrics {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let weights = loss_config.weights_at(u64::MAX, model_config);
    let lengths: Vec<usize> = samples
        .iter()
        .map(|(i, _)| i.len().min(model_config.max_len))
        .collect();
    let mut loss = LossMean::default();
    let (mut labelled, mut correct) = (0usize, 0usize);
    for (n, indices) in sorted_batches(&lengths, batch_size).iter().enumerate() {
        let host = collate(indices.iter().map(|&i| samples[i]), model_config.max_len);
        let mut rng = SplitMix64::new(mix(n as u64 ^ 0xE7A1));
        let negatives = sample_negatives(host.size, loss_config.negatives, &mut rng);
        let batch = host.to_device(&device);
        let out = model.forward(batch.tokens, batch.segments, batch.mask);
        let terms = coral_loss(
            &out,
            model.topic_embeddings.val(),
            &batch.labels,
            &negatives,
            weights,
            loss_config.normalize_hinge,
        );
        loss.add(&terms.values());
        let probs = out
            .p_stage
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        for (row, label) in batch.labels.iter().enumerate() {
            let Some(label) = label else { continue };
            let Some(p) = probs.get(row * Stage::OUTPUTS..(row + 1) * Stage::OUTPUTS) else {
                continue;
            };
            let mut arr = [0.0f32; Stage::OUTPUTS];
            arr.copy_from_slice(p);
            labelled += 1;
            if predicted_stage(&arr) == *label {
                correct += 1;
            }
        }
    }
    ValidationMetrics {
        cells: samples.len(),
        loss: loss.mean(),
        labelled,
        weak_accuracy: (labelled > 0).then(|| correct as f64 / labelled as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_stage_ignores_none() {
        assert_eq!(
            predicted_stage(&[0.1, 0.2, 0.05, 0.05, 0.1, 0.5]),
            Stage::Wrangle
        );
        assert_eq!(predicted_stage(&[0.2; 6]), Stage::Import);
    }
}
